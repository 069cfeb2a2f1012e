"""The eventbridge-archive module: replay archived events after a failover.

A resource is an EventBridge archive in the recovery region (the account's region), named
by its name or ARN in the selector's ids. Archives carry no tags: an archive has the tags
of the event bus it archives (``ListTagsForResource`` of the bus; ``dr:enabled`` and the
other taxonomy tags are read there), and a tag selector picks the archives of the buses
with those tags (``ListArchives``).

The pattern it serves: events reach the recovery region's bus (cross-region forwarding
or a global endpoint) and are archived there while its rules stand by; after a failover,
the events of the last minutes before it — those the failed region received but may not
have processed — are replayed to the now active rules.

Phases (each ``start`` + ``status``; status reads ``DescribeReplay``, never a timer):

* INSTANTIATE — verifies the archive: ENABLED, and its retention covers the window.
* ACTIVATE — starts a replay (``StartReplay``) of the window — ``minutesBeforeNow``
  minutes before the engine's clock, or ``eventStartTime``..``eventEndTime`` — to the
  archive's own bus (AWS replays to no other; ``destinationEventBusArn`` is checked
  against it), limited to ``ruleArns`` when given; done when the replay is COMPLETED,
  failed when it is FAILED or CANCELLED (its ``StateReason`` is the error). The replay's
  name is derived from the idempotency key (``drorch-<hash>-<archive>``, 64 characters at
  most), so a retried start finds its replay instead of replaying twice.
* CLEANUP, REPLICATE — nothing: a replay cannot be undone, and archives are not
  replicated; SKIPPED.

Drill: a replay into the bus would re-deliver events to its production targets, and AWS
replays to no other bus than the archive's own, so a drill cannot replay into a separate
drill bus. A drill therefore only verifies the archive, unless ``drillRuleArns`` names
drill-only rules (``drorch-drill-*``, whose targets are drill targets) of the bus: then the
replay is made with ``Destination.FilterArns`` set to those rules only. The drill client
refuses a ``StartReplay`` without ``FilterArns``, or with any rule not named
``drorch-drill-*``, before it is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.errors import InputError
from drorch.modules.base import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Finding,
    LayerMapping,
    ModuleError,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.eventbridge_archive import iam
from drorch.modules.eventbridge_archive.iam import REPLAY_PREFIX
from drorch.modules.eventbridge_archive.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "events:archive"
STATE_VERSION = 1
NOT_FOUND = "ResourceNotFoundException"
DRILL_RULE_PREFIX = "drorch-drill-"
WAITING = frozenset({"STARTING", "RUNNING", "CANCELLING"})
REPLAY_NAME_MAX = 64


def _rule_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _replay_disruptive(params: Mapping[str, Any]) -> bool:
    """A replay is drill-safe only when it reaches drill-only rules and nothing else."""
    rules = (params.get("Destination") or {}).get("FilterArns") or []
    return not rules or any(not _rule_name(r).startswith(DRILL_RULE_PREFIX) for r in rules)


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "StartReplay": _replay_disruptive,
    "CancelReplay": always,
    "UpdateArchive": always,
    "DeleteArchive": always,
    "PutEvents": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def replay_name(key: str, archive: str) -> str:
    """The replay of ``archive`` for one phase start: ``drorch-<12 hex>-<archive>``."""
    digest = hashlib.sha256(f"{key}|{archive}".encode()).hexdigest()[:12]
    return f"{REPLAY_PREFIX}{digest}-{archive}"[:REPLAY_NAME_MAX]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventBridgeArchiveModule(ResourceModule):
    type = "eventbridge-archive"
    service = "events"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "EventBridge archives: replay the events of a window before the failover to the "
        "recovery region's bus, and wait until the replay is COMPLETED"
    )
    drill = (
        "Verifies the archive only (ENABLED, retention covers the window): a replay would "
        "re-deliver events to production targets, and AWS replays only to the archive's own "
        "bus. With drillRuleArns, replays to those drill-only rules (drorch-drill-*) only; "
        "the drill client refuses any other StartReplay before it is sent."
    )
    aliases = ("EventArchive", "EventBridgeArchive", "eventbridge_archive")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "archive name or ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.eventbridge_archive.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``ArchiveName`` -> selector ids, ``EventStartTime``/``EventEndTime`` -> the
        window, ``ReplayWindowMinutes`` -> minutesBeforeNow, ``Destination.Arn`` (or
        ``DestinationArn``) -> destinationEventBusArn, ``Destination.FilterArns`` (or
        ``FilterArns``) -> ruleArns."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        mapped = technology["parameters"]
        names = params.pop("ArchiveName", None)
        if names:
            technology["selector"] = {"ids": names if isinstance(names, list) else [names]}
        for source, target in (
            ("EventStartTime", "eventStartTime"),
            ("EventEndTime", "eventEndTime"),
            ("ReplayWindowMinutes", "minutesBeforeNow"),
            ("DestinationArn", "destinationEventBusArn"),
            ("FilterArns", "ruleArns"),
        ):
            if source in params:
                mapped[target] = params.pop(source)
        destination = params.pop("Destination", None)
        if isinstance(destination, Mapping):
            if destination.get("Arn"):
                mapped["destinationEventBusArn"] = destination["Arn"]
            if destination.get("FilterArns"):
                mapped["ruleArns"] = list(destination["FilterArns"])
        known = set(self.parameters_schema["properties"])
        mapped.update({k: v for k, v in params.items() if k in known})
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology=technology, unmapped=unmapped)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = list(selector_field(selector, "ids"))
        client = ctx.client("events")
        try:
            if ids:
                archives = []
                for value in ids:
                    if value.startswith("arn:"):
                        if value.split(":")[3] != ctx.region:
                            continue
                        value = value.rsplit("/", 1)[-1]
                    try:
                        archives.append(client.describe_archive(ArchiveName=value))
                    except ClientError as error:
                        if error_code(error) != NOT_FOUND:
                            raise
            else:
                archives = self._archives(client)
            bus_tags: dict[str, dict[str, str]] = {}
            for archive in archives:
                bus = archive["EventSourceArn"]
                if bus not in bus_tags:  # an archive has no tags: it carries its bus's
                    bus_tags[bus] = {
                        t["Key"]: t["Value"]
                        for t in client.list_tags_for_resource(ResourceARN=bus).get("Tags", [])
                    }
                tags = bus_tags[bus]
                if not tags_match(tags, wanted_tags):
                    continue
                name = archive["ArchiveName"]
                arn = f"arn:aws:events:{ctx.region}:{ctx.account_id}:archive/{name}"
                found.append(
                    Resource(name, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                )
        except ClientError as error:
            self.fail(error, ctx, "listing EventBridge archives")
        found.sort(key=lambda r: r.id)
        return found

    @staticmethod
    def _archives(client: Any) -> list[dict[str, Any]]:
        archives, token = [], None
        while True:
            page = client.list_archives(**({"NextToken": token} if token else {}))
            archives += page.get("Archives", [])
            token = page.get("NextToken")
            if not token:
                return archives

    # --- start / status -----------------------------------------------------------------
    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        replaying = phase == "ACTIVATE" and (not drill or params.get("drillRuleArns"))
        window = state["window"] = self._window(ctx, params, required=bool(replaying))
        client = self.client(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            try:
                if phase in ("CLEANUP", "REPLICATE"):
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "nothing to do: a replay cannot be undone, archives do not "
                        "replicate",
                    }
                elif replaying:
                    self._start_replay(ctx, client, resource.id, item, params, window, drill, key)
                else:
                    self._verify(ctx, client, resource.id, item, params, window, drill)
            except ClientError as error:
                self.fail(error, ctx, f"reading archive {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        for archive, item in state["items"].items():
            if "result" in item:
                continue
            try:
                self._check_replay(client, item)
            except ClientError as error:
                self.fail(error, ctx, f"reading replay {item.get('replay')} of {archive}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------

    def _window(
        self, ctx: AccountContext, params: Mapping[str, Any], required: bool
    ) -> dict[str, str] | None:
        if params.get("eventStartTime"):
            start, end = _instant(params["eventStartTime"]), _instant(params["eventEndTime"])
            if start >= end:
                raise InputError(
                    f"{self.type}: $.parameters.eventStartTime must be before eventEndTime"
                )
            return {"start": _iso(start), "end": _iso(end)}
        if params.get("minutesBeforeNow"):
            if ctx.now is None:
                raise ModuleError(f"{self.type}: no engine clock to place the window with")
            end = datetime.fromtimestamp(ctx.now, UTC)
            start = end - timedelta(minutes=params["minutesBeforeNow"])
            return {"start": _iso(start), "end": _iso(end)}
        if required:
            raise InputError(
                f"{self.type}: $.parameters: a replay needs a window: minutesBeforeNow, or "
                "eventStartTime and eventEndTime"
            )
        return None

    # --- verification ---------------------------------------------------------------------------
    def _archive_problem(
        self, ctx: AccountContext, described: Mapping, params: Mapping, window: Mapping | None
    ) -> str:
        if described.get("State") != "ENABLED":
            return f"the archive is {described.get('State')}"
        wanted = params.get("destinationEventBusArn")
        if wanted and wanted != described["EventSourceArn"]:
            return (
                f"destinationEventBusArn {wanted} is not the archive's bus "
                f"{described['EventSourceArn']}: EventBridge replays only to that bus"
            )
        retention = described.get("RetentionDays") or 0
        if window and retention and ctx.now is not None:
            oldest = datetime.fromtimestamp(ctx.now, UTC) - timedelta(days=retention)
            if _instant(window["start"]) < oldest:
                return (
                    f"the window starts {window['start']}, before the archive's retention "
                    f"of {retention} days"
                )
        return ""

    def _verify(
        self,
        ctx: AccountContext,
        client: Any,
        archive: str,
        item: dict,
        params: Mapping,
        window: Mapping | None,
        drill: bool,
    ) -> None:
        described = self._describe_archive(client, archive, item)
        if described is None:
            return
        result: dict[str, Any] = {
            "status": SUCCEEDED,
            "state": described.get("State"),
            "eventCount": described.get("EventCount", 0),
            "eventBusArn": described["EventSourceArn"],
        }
        if drill:
            result["note"] = (
                "verified only: a replay would re-deliver events to the bus's production targets"
            )
        problem = self._archive_problem(ctx, described, params, window)
        if problem:
            result.update(status=FAILED, error=problem)
        item["result"] = result

    def _describe_archive(self, client: Any, archive: str, item: dict) -> dict | None:
        try:
            return client.describe_archive(ArchiveName=archive)
        except ClientError as error:
            if error_code(error) != NOT_FOUND:
                raise
        item["result"] = {"status": FAILED, "error": f"no archive {archive} here"}
        return None

    # --- ACTIVATE: the replay -------------------------------------------------------------------
    def _start_replay(
        self,
        ctx: AccountContext,
        client: Any,
        archive: str,
        item: dict,
        params: Mapping,
        window: Mapping,
        drill: bool,
        key: str,
    ) -> None:
        name = replay_name(key, archive)
        item["replay"] = name
        made = client.list_replays(NamePrefix=name).get("Replays", [])
        if any(r.get("ReplayName") == name for r in made):
            return  # a retried start: the replay is made
        described = self._describe_archive(client, archive, item)
        if described is None:
            return
        problem = self._archive_problem(ctx, described, params, window)
        if problem:
            item["result"] = {"status": FAILED, "error": problem}
            return
        destination: dict[str, Any] = {"Arn": described["EventSourceArn"]}
        rules = params.get("drillRuleArns") if drill else params.get("ruleArns")
        if rules:
            destination["FilterArns"] = list(rules)
        try:
            client.start_replay(
                ReplayName=name,
                Description=f"drorch {ctx.execution_id or 'replay'} of {archive}"[:512],
                EventSourceArn=described["ArchiveArn"],
                EventStartTime=_instant(window["start"]),
                EventEndTime=_instant(window["end"]),
                Destination=destination,
            )
        except ClientError as error:
            if error_code(error) == "ResourceAlreadyExistsException":
                return  # started by an earlier attempt of this start
            raise_if_fatal(error, ctx, f"starting a replay of {archive}")
            item["result"] = {
                "status": FAILED,
                "error": f"StartReplay refused: {error_code(error)}: {error_message(error)}",
            }

    def _check_replay(self, client: Any, item: dict) -> None:
        described = client.describe_replay(ReplayName=item["replay"])
        state = described.get("State", "")
        live = {
            "replay": item["replay"],
            "replayState": state,
            "eventStartTime": _iso(described["EventStartTime"]),
            "eventEndTime": _iso(described["EventEndTime"]),
            "destination": described.get("Destination", {}),
        }
        if state in WAITING:
            item["live"] = live
        elif state == "COMPLETED":
            last = described.get("EventLastReplayedTime")
            item["result"] = {
                "status": SUCCEEDED,
                **live,
                **({"eventLastReplayedTime": _iso(last)} if last else {}),
            }
        else:
            reason = described.get("StateReason") or "no reason given"
            item["result"] = {
                "status": FAILED,
                "error": f"replay {item['replay']} ended {state}: {reason}",
                **live,
            }
