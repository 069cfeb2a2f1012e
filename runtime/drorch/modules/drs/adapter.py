"""The DRS module: AWS Elastic Disaster Recovery source servers.

Phases (each ``start`` + ``status``; the executor calls ``status`` until done):

* INSTANTIATE — apply the layered launch settings (``accounts/drs/``, see
  :mod:`drorch.modules.drs.settings`): ``GetLaunchConfiguration``, then
  ``UpdateLaunchConfiguration`` of only what differs (nothing when the settings
  are in place), the replaced values recorded for CLEANUP; finishes in ``start``
  (the executor skips its poll). EC2 launch-template settings are out of scope.
* ACTIVATE — ``StartRecovery`` (``isDrill`` in a drill) in batches sized to
  the quotas; batches that do not fit yet stay queued and are started by later
  ``status`` calls as jobs finish. Each job is tagged
  ``drorch:idempotency-key=<key>-<batch>`` and a retried start reuses it.
  Optionally launches from a chosen point-in-time snapshot.
* CLEANUP — ``TerminateRecoveryInstances`` of the group's *drill* instances
  (recovery instances of a real failover are never touched), after restoring the
  launch settings the run it follows replaced.
* REPLICATE (failback, never in a drill) — ``ReverseReplication`` per recovery
  instance whose source was in AWS (an on-premises source waits for its
  Failback Client), then, once the reversed replication is ready,
  ``StartFailbackLaunch``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    LayerMapping,
    Module,
    ModuleError,
    ModuleIam,
    Resource,
    ResourceResult,
    StatusResult,
    aggregate_status,
    always,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.drs import iam
from drorch.modules.drs import readiness as readiness_of
from drorch.modules.drs.jobs import (
    FAILBACK,
    LAUNCH,
    TERMINATE,
    JobRunner,
    Limits,
    add_batches,
    chunks,
    launch_result_awaits,
    new_runner_state,
)
from drorch.modules.drs.probes import PROBES, readiness
from drorch.modules.drs.settings import (
    LaunchSettingsStore,
    default_settings_dir,
    launch_settings_schema,
    settings_changes,
)
from drorch.modules.routing import not_mine

RESOURCE_TYPE = "drs:source-server"
STATE_VERSION = 1
# Replication states a server can be recovered from with current data.
RECOVERABLE_STATES = frozenset({"CONTINUOUS", "BACKLOG", "CREATING_SNAPSHOT", "RESCAN"})
GONE_EC2_STATES = frozenset({"TERMINATED", "SHUTTING-DOWN", "NOT_FOUND"})
FILTER_MAX_IDS = 200
ISO_TIMESTAMP = r"[1-9][0-9]*-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([0-1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?Z"


def _start_recovery_disruptive(params: Mapping[str, Any]) -> bool:
    return not params.get("isDrill", False)


# API calls that change production; never made in a drill (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "StartRecovery": _start_recovery_disruptive,  # with isDrill false
    "ReverseReplication": always,
    "StartFailbackLaunch": always,
    "DisconnectRecoveryInstance": always,
    "StopReplication": always,
    "DeleteSourceServer": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))
PARAMETERS_SCHEMA["properties"]["launchSettings"] = {
    **{k: v for k, v in launch_settings_schema().items() if not k.startswith("$")},
    "description": PARAMETERS_SCHEMA["properties"]["launchSettings"]["description"],
}


def _hostname(server: Mapping[str, Any]) -> str:
    hints = (server.get("sourceProperties") or {}).get("identificationHints") or {}
    return hints.get("hostname") or hints.get("fqdn") or server["sourceServerID"]


def identifiers(server: Mapping[str, Any]) -> set[str]:
    """Every name ``selector.ids`` may give a source server: its id, ARN, hostname, FQDN
    and source EC2 instance id (``manifest convert`` writes a layer's HostNames)."""
    hints = (server.get("sourceProperties") or {}).get("identificationHints") or {}
    named = {
        server.get("sourceServerID"),
        server.get("arn"),
        hints.get("hostname"),
        hints.get("fqdn"),
        hints.get("awsInstanceID"),
    }
    return {n for n in named if n}


def replication_problems(server: Mapping[str, Any]) -> list[str]:
    """Why a source server cannot be recovered with current data (empty: it can)."""
    info = server.get("dataReplicationInfo") or {}
    state = info.get("dataReplicationState", "UNKNOWN")
    if state in RECOVERABLE_STATES:
        return []
    reason = f"replication is {state}, not healthy enough to recover"
    error = info.get("dataReplicationError") or {}
    if error.get("error"):
        reason += f" ({error['error']}{': ' + error['rawError'] if error.get('rawError') else ''})"
    if info.get("lagDuration"):
        reason += f"; lag {info['lagDuration']}"
    return [reason]


def _as_resource(item: Resource | Mapping[str, Any], ctx: AccountContext) -> Resource:
    if isinstance(item, Resource):
        return item
    return Resource.from_dict(item, account_id=ctx.account_id, type=RESOURCE_TYPE)


def _region_of(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return (parts[3], parts[4]) if len(parts) > 5 else ("", "")


class DrsModule(Module):
    type = "drs"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = "AWS Elastic Disaster Recovery source servers: launch, track, clean up, fail back"
    drill = (
        "StartRecovery with isDrill=true launches drill instances in the recovery subnets; "
        "replication continues and the source servers are untouched. CLEANUP terminates "
        "only drill instances. The drill client refuses a non-drill StartRecovery, "
        "ReverseReplication and StartFailbackLaunch before they are sent."
    )
    aliases = ("DRS", "enhanced_drs", "EnhancedDRS", "drs_recovery")
    resource_types = (RESOURCE_TYPE,)
    identified_by = (
        "source server id (s-...), its ARN, its hostname or FQDN, or its source EC2 "
        "instance id (i-...)"
    )
    strategies = ("drs",)  # a server tagged for another strategy is excluded (routing)
    probes = PROBES
    sandbox_extension = "drorch.modules.drs.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """Replication healthy and within the RPO target, launch template valid."""
        return readiness_of.server_findings(ctx, resources, params)

    def exclusion_readiness(
        self, ctx: AccountContext, excluded: Sequence[Mapping[str, Any]]
    ) -> list[Finding]:
        """A server left out for broken replication is a BLOCKER (failover, drill)."""
        default = super().exclusion_readiness(ctx, excluded)
        return readiness_of.exclusion_findings(ctx, excluded, default)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        from drorch.modules.drs.layers import from_layer

        return from_layer(self, resource, where)

    def __init__(self, settings_dir: Path | str | None = None) -> None:
        self._settings_dir = Path(settings_dir) if settings_dir is not None else None

    def settings_store(self) -> LaunchSettingsStore:
        return LaunchSettingsStore(self._settings_dir or default_settings_dir())

    # --- discovery ------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = set(selector_field(selector, "ids"))
        drs = ctx.client("drs")
        kwargs: dict[str, Any] = {}
        if ids and len(ids) <= FILTER_MAX_IDS and all(i.startswith("s-") for i in ids):
            kwargs["filters"] = {"sourceServerIDs": sorted(ids)}
        try:
            servers = [
                server
                for page in drs.get_paginator("describe_source_servers").paginate(**kwargs)
                for server in page.get("items", [])
            ]
        except ClientError as error:
            self._raise(error, ctx, "listing DRS source servers")
        for server in servers:
            server_id, arn = server["sourceServerID"], server.get("arn", "")
            matched = identifiers(server) & ids
            if ids and not matched:
                continue
            tags = server.get("tags") or {}
            if not tags_match(tags, wanted_tags):
                continue
            name = _hostname(server)
            elsewhere = not_mine(self, tags)  # tagged sql-ag, rds, ...: never launched here
            if elsewhere:
                found.excluded.append(
                    Exclusion(server_id, arn, ctx.account_id, ctx.region, name, (elsewhere,))
                )
                continue
            problems = replication_problems(server)
            if problems:
                found.excluded.append(
                    Exclusion(server_id, arn, ctx.account_id, ctx.region, name, tuple(problems))
                )
                continue
            found.append(
                Resource(
                    server_id,
                    arn,
                    ctx.account_id,
                    ctx.region,
                    name,
                    dict(tags),
                    RESOURCE_TYPE,
                    matched_by=", ".join(sorted(matched)),
                )
            )
        found.sort(key=lambda r: (r.name, r.id))
        return found

    # --- preconditions ----------------------------------------------------------------
    def preconditions(
        self, ctx: AccountContext, operation: str, resources: Sequence[Resource]
    ) -> list[str]:
        """A failback needs the servers' recovery instances from a failover (non-drill, not
        terminated) and replication back from them that is not broken."""
        if operation != "failback" or not resources:
            return []
        names = {r.id: r.name or r.id for r in resources}
        drs = ctx.client("drs")
        call = f"drs:DescribeRecoveryInstances in account {ctx.account_id} ({ctx.region})"
        try:
            instances = self._recovery_instances(drs, servers=list(names))
        except ClientError as error:
            raise_if_fatal(error, ctx, "describing recovery instances before a failback")
            return [f"{call} failed: {error_message(error)}"]
        live = [
            i
            for i in instances
            if i["sourceServerID"] in names
            and not i.get("isDrill")
            and str(i.get("ec2InstanceState", "")).upper() not in GONE_EC2_STATES
        ]
        if not live:
            return [
                f"none of the {len(names)} server(s) ({', '.join(sorted(names.values())[:5])}"
                f"{' ...' if len(names) > 5 else ''}) has a recovery instance from a failover "
                f"({call}): nothing to fail back"
            ]
        problems = []
        for instance in sorted(live, key=lambda i: i["recoveryInstanceID"]):
            failback = (instance.get("failback") or {}).get("state", "")
            replication = (instance.get("dataReplicationInfo") or {}).get("dataReplicationState")
            broken = failback == "FAILBACK_ERROR" or replication in ("DISCONNECTED", "STALLED")
            if broken:
                problems.append(
                    f"recovery instance {instance['recoveryInstanceID']} of "
                    f"{names[instance['sourceServerID']]}: reverse replication is not healthy "
                    f"(failback {failback or '-'}, replication {replication or '-'}; {call})"
                )
        return problems

    # --- start / status ---------------------------------------------------------------
    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        drill = bool(drill or ctx.drill)
        self.check_phase(phase, drill)
        params = self.validate_parameters(params, "$.parameters")
        items = sorted((_as_resource(r, ctx) for r in resources), key=lambda r: r.id)
        if not idempotency_key:
            raise ModuleError("drs: an idempotency key is required to start a phase")
        state: dict[str, Any] = {
            "v": STATE_VERSION,
            "phase": phase,
            "drill": drill,
            "key": idempotency_key,
            "names": {r.id: r.name for r in items},
            "results": {},
        }
        if phase == "INSTANTIATE":
            self._instantiate(ctx, items, params, state)
        elif phase == "ACTIVATE":
            self._start_activate(ctx, items, params, state)
        elif phase == "CLEANUP":
            self._start_cleanup(ctx, items, params, state)
        else:
            self._start_replicate(ctx, items, params, state)
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        if state.get("phase") != phase:
            raise ModuleError(f"drs: state is for phase {state.get('phase')}, not {phase}")
        if phase == "INSTANTIATE":
            return self._result(state, finished=True)
        if phase == "ACTIVATE":
            return self._status_activate(ctx, state)
        if phase == "CLEANUP":
            return self._status_cleanup(ctx, state)
        return self._status_replicate(ctx, state)

    def awaits(self, phase: str, state: Mapping[str, Any]) -> list[dict[str, Any]]:
        """ACTIVATE's running launch jobs: their launch results end the executor's wait."""
        if phase != "ACTIVATE" or not state.get("runner"):
            return []
        return launch_result_awaits(state["runner"], state.get("results") or {})

    # --- shared -------------------------------------------------------------------------
    def _raise(self, error: ClientError, ctx: AccountContext, doing: str) -> NoReturn:
        raise_if_fatal(error, ctx, doing)
        if error_code(error) == "UninitializedAccountException":
            raise ModuleError(
                f"Elastic Disaster Recovery is not initialized in account {ctx.account_id} "
                f"({ctx.region})",
                hint="initialize DRS there (drorch's staging stack does) or fix the selector",
            ) from error
        raise ModuleError(
            f"drs: {doing} failed in account {ctx.account_id}: {error_message(error)}"
        ) from error

    def _client(
        self, ctx: AccountContext, state: Mapping[str, Any], region: str | None = None
    ) -> Any:
        return ctx.client("drs", region=region, guard=self.drill_guard(bool(state.get("drill"))))

    def _result(
        self, state: dict[str, Any], finished: bool, running: Mapping[str, dict] | None = None
    ) -> StatusResult:
        """Resource results: final ones from state, live ones from ``running``."""
        running = running or {}
        resources = []
        for server_id, name in sorted(state["names"].items(), key=lambda kv: (kv[1], kv[0])):
            result = state["results"].get(server_id) or running.get(server_id)
            if result is None:
                if finished:
                    result = {"status": FAILED, "error": "the module lost track of this server"}
                else:
                    result = {"status": RUNNING}
            detail = {k: v for k, v in result.items() if k not in ("status", "error")}
            if state.get("restored", {}).get(server_id):
                detail["launchSettingsRestored"] = state["restored"][server_id]
            resources.append(
                ResourceResult(server_id, name, result["status"], detail, result.get("error"))
            )
        status = aggregate_status((r.status for r in resources), finished)
        return StatusResult(status, resources, state)

    def _recovery_instances(
        self, drs: Any, *, ids: Iterable[str] = (), servers: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        field, values = (
            ("recoveryInstanceIDs", sorted(set(ids)))
            if ids
            else ("sourceServerIDs", sorted(set(servers)))
        )
        found: list[dict[str, Any]] = []
        paginator = drs.get_paginator("describe_recovery_instances")
        for part in chunks(values, FILTER_MAX_IDS):
            for page in paginator.paginate(filters={field: part}):
                found.extend(page.get("items", []))
        return found

    @staticmethod
    def _limits(params: Mapping[str, Any]) -> Limits:
        return Limits(
            servers_per_job=params["maxServersPerJob"],
            concurrent_jobs=params["maxConcurrentJobs"],
            servers_in_active_jobs=params["maxServersInActiveJobs"],
        )

    # --- INSTANTIATE --------------------------------------------------------------------
    def _instantiate(
        self, ctx: AccountContext, items: list[Resource], params: dict[str, Any], state: dict
    ) -> None:
        """Each server's layered launch settings, written only where they differ from its
        launch configuration (GetLaunchConfiguration first): a drill whose settings are in
        place makes no UpdateLaunchConfiguration call. The values replaced are recorded
        (``previousLaunchSettings``) for CLEANUP to restore. Finishes in ``start``."""
        store = self.settings_store()
        # resolve everything first: a bad settings file changes nothing
        resolved = {
            r.id: store.resolve(
                ctx.account_id, ctx.account_name, r.tags, params.get("launchSettings")
            )
            for r in items
        }
        drs = self._client(ctx, state)
        for resource in items:
            layered = resolved[resource.id]
            if not layered.settings:
                state["results"][resource.id] = {
                    "status": SKIPPED,
                    "layers": [],
                    "note": "no launch settings apply",
                }
                continue
            try:
                result = self._apply_settings(drs, resource.id, layered.settings)
            except ClientError as error:
                raise_if_fatal(error, ctx, "updating a DRS launch configuration")
                state["results"][resource.id] = {
                    "status": FAILED,
                    "layers": list(layered.layers),
                    "error": f"{error.operation_name}: {error_message(error)}",
                }
                continue
            state["results"][resource.id] = {"layers": list(layered.layers), **result}
        state["finished"] = True

    @staticmethod
    def _apply_settings(
        drs: Any, server_id: str, wanted: Mapping[str, Any], exact: bool = False
    ) -> dict[str, Any]:
        """Write what differs of ``wanted``; the result says what changed and what it was."""
        current = drs.get_launch_configuration(sourceServerID=server_id)
        changes = settings_changes(current, wanted, exact)
        result: dict[str, Any] = {
            "status": SUCCEEDED,
            "ec2LaunchTemplateId": current.get("ec2LaunchTemplateID"),
        }
        if not changes:
            result["note"] = "launch settings already as wanted"
            return result
        drs.update_launch_configuration(sourceServerID=server_id, **changes)
        result["changed"] = sorted(changes)
        previous = {k: current[k] for k in changes if current.get(k) is not None}
        if previous:
            result["previousLaunchSettings"] = previous
        return result

    def _restore_settings(self, ctx: AccountContext, drs: Any, state: dict[str, Any]) -> None:
        """CLEANUP: put back the launch settings the run it follows replaced (recorded by its
        INSTANTIATE), writing only what differs now."""
        restored: dict[str, list[str]] = {}
        for server_id in sorted(state["names"]):
            previous = (ctx.recorded.get(server_id) or {}).get("previousLaunchSettings")
            if not isinstance(previous, Mapping) or not previous:
                continue
            try:
                result = self._apply_settings(drs, server_id, previous, exact=True)
            except ClientError as error:
                raise_if_fatal(error, ctx, "restoring a DRS launch configuration")
                state["results"][server_id] = {
                    "status": FAILED,
                    "error": f"restoring the launch settings {ctx.recorded_from} replaced: "
                    f"{error.operation_name}: {error_message(error)}",
                }
                continue
            restored[server_id] = result.get("changed", [])
        state["restored"] = restored

    # --- ACTIVATE -----------------------------------------------------------------------
    def _start_activate(
        self, ctx: AccountContext, items: list[Resource], params: dict[str, Any], state: dict
    ) -> None:
        if ctx.operation == "failback":  # the launch towards the primary is REPLICATE's
            for resource in items:
                state["results"][resource.id] = {
                    "status": SKIPPED,
                    "note": "a failback launches with StartFailbackLaunch in REPLICATE; "
                    "ACTIVATE launches nothing in the recovery region",
                }
            state["runner"] = new_runner_state(LAUNCH, state["key"], self._limits(params), [])
            state["finished"] = True
            return
        drs = self._client(ctx, state)
        limits = self._limits(params)
        ids = [r.id for r in items]
        state["snapshots"] = {}
        choice = params.get("recoverySnapshot")
        if choice:
            for server_id in ids:
                snapshot = self._choose_snapshot(ctx, drs, server_id, choice)
                if snapshot:
                    state["snapshots"][server_id] = snapshot
                else:
                    when = "any time" if choice == "latest" else f"or before {choice}"
                    state["results"][server_id] = {
                        "status": FAILED,
                        "error": f"no recovery snapshot at {when}",
                    }
            ids = [i for i in ids if i not in state["results"]]
        state["runner"] = new_runner_state(
            LAUNCH, state["key"], limits, chunks(ids, limits.batch_size)
        )
        self._advance_launch(ctx, drs, state)

    def _choose_snapshot(
        self, ctx: AccountContext, drs: Any, server_id: str, choice: str
    ) -> str | None:
        kwargs: dict[str, Any] = {"sourceServerID": server_id, "order": "DESC", "maxResults": 1}
        if choice != "latest":
            kwargs["filters"] = {"toDateTime": choice}
        try:
            items = drs.describe_recovery_snapshots(**kwargs).get("items", [])
        except ClientError as error:
            raise_if_fatal(error, ctx, "describing DRS recovery snapshots")
            return None
        return items[0]["snapshotID"] if items else None

    def _launch_starter(self, state: dict[str, Any]) -> Any:
        drill = bool(state["drill"])
        snapshots = state.get("snapshots", {})

        def start(drs: Any, items: list[str], tags: dict[str, str]) -> dict[str, Any]:
            servers = []
            for server_id in items:
                entry = {"sourceServerID": server_id}
                if server_id in snapshots:
                    entry["recoverySnapshotID"] = snapshots[server_id]
                servers.append(entry)
            tags = {**tags, "drorch:operation": "drill" if drill else "recovery"}
            return drs.start_recovery(sourceServers=servers, isDrill=drill, tags=tags)["job"]

        return start

    def _advance_launch(
        self, ctx: AccountContext, drs: Any, state: dict[str, Any]
    ) -> dict[str, dict]:
        runner = JobRunner(ctx, drs, state["runner"], self._launch_starter(state))
        outcomes = runner.advance(known=set(state["results"]))
        launched = [o.recovery_instance_id for o in outcomes if o.final and o.recovery_instance_id]
        instances = {}
        if launched:
            try:
                instances = {
                    i["recoveryInstanceID"]: i for i in self._recovery_instances(drs, ids=launched)
                }
            except ClientError as error:
                self._raise(error, ctx, "describing recovery instances")
        running: dict[str, dict] = {}
        for outcome in outcomes:
            result: dict[str, Any] = {"status": outcome.status, "jobId": outcome.job_id}
            if outcome.launch_status:
                result["launchStatus"] = outcome.launch_status
            if outcome.item in state.get("snapshots", {}):
                result["recoverySnapshotId"] = state["snapshots"][outcome.item]
            if outcome.recovery_instance_id:
                result["recoveryInstanceId"] = outcome.recovery_instance_id
                instance = instances.get(outcome.recovery_instance_id)
                if instance:
                    result["ec2InstanceId"] = instance.get("ec2InstanceID")
                    result["ec2InstanceState"] = instance.get("ec2InstanceState")
                    result["isDrill"] = instance.get("isDrill")
            if outcome.error:
                result["error"] = outcome.error
            if outcome.final:
                state["results"][outcome.item] = result
            else:
                running[outcome.item] = result
        for item in runner.queued_items():
            running[item] = {"status": RUNNING, "queued": True}
        state["finished"] = runner.finished
        return running

    def _status_activate(self, ctx: AccountContext, state: dict[str, Any]) -> StatusResult:
        drs = self._client(ctx, state)
        running = self._advance_launch(ctx, drs, state)
        return self._result(state, finished=state["finished"], running=running)

    # --- CLEANUP ------------------------------------------------------------------------
    def _start_cleanup(
        self, ctx: AccountContext, items: list[Resource], params: dict[str, Any], state: dict
    ) -> None:
        drs = self._client(ctx, state)
        limits = self._limits(params)
        self._restore_settings(ctx, drs, state)
        try:
            instances = self._recovery_instances(drs, servers=[r.id for r in items])
        except ClientError as error:
            self._raise(error, ctx, "describing recovery instances")
        owner: dict[str, str] = {}
        kept: dict[str, list[str]] = {}
        for instance in instances:
            server_id, instance_id = instance["sourceServerID"], instance["recoveryInstanceID"]
            if server_id not in state["names"]:
                continue
            if not instance.get("isDrill"):
                kept.setdefault(server_id, []).append(instance_id)  # a real recovery: keep it
            elif instance.get("ec2InstanceState") not in GONE_EC2_STATES:
                owner[instance_id] = server_id
        for server_id in state["names"]:
            if server_id not in owner.values() and server_id not in state["results"]:
                state["results"][server_id] = {
                    "status": SKIPPED,
                    "note": "no drill recovery instance to terminate",
                    **({"keptRecoveryInstances": kept[server_id]} if server_id in kept else {}),
                }
        state["owner"] = owner
        state["items"] = {}
        state["runner"] = new_runner_state(
            TERMINATE, state["key"], limits, chunks(sorted(owner), limits.batch_size)
        )
        self._advance_owned(ctx, drs, state, starter=self._terminate_starter)

    @staticmethod
    def _terminate_starter(drs: Any, items: list[str], tags: dict[str, str]) -> dict[str, Any]:
        return drs.terminate_recovery_instances(recoveryInstanceIDs=items)["job"]

    def _advance_owned(
        self, ctx: AccountContext, drs: Any, state: dict[str, Any], starter: Any
    ) -> dict[str, dict]:
        """Run the jobs of items owned by servers (recovery instances); per-server results."""
        runner = JobRunner(ctx, drs, state["runner"], starter)
        live: dict[str, dict] = {}
        for outcome in runner.advance(known=set(state["items"])):
            entry: dict[str, Any] = {"status": outcome.status, "jobId": outcome.job_id}
            if outcome.error:
                entry["error"] = outcome.error
            if outcome.final:
                state["items"][outcome.item] = entry
            else:
                live[outcome.item] = entry
        for item in runner.queued_items():
            live.setdefault(item, {"status": RUNNING, "queued": True})
        state["finished"] = runner.finished and not state.get("waiting")
        return self._per_server(state, live)

    def _per_server(self, state: dict[str, Any], live: Mapping[str, dict]) -> dict[str, dict]:
        """Fold item results into their servers: final ones into state, the rest returned."""
        by_server: dict[str, list[tuple[str, dict]]] = {}
        for item, server_id in state["owner"].items():
            entry = state["items"].get(item) or live.get(item) or state.get("waiting", {}).get(item)
            by_server.setdefault(server_id, []).append((item, entry or {"status": RUNNING}))
        running: dict[str, dict] = {}
        for server_id, entries in by_server.items():
            if server_id in state["results"]:
                continue
            statuses = {e["status"] for _, e in entries}
            final = all(item in state["items"] for item, _ in entries)
            status = aggregate_status(statuses, finished=final)
            result: dict[str, Any] = {
                "status": status,
                "recoveryInstances": {item: e["status"] for item, e in entries},
                **(
                    {
                        "failbackStates": {
                            i: e["failbackState"] for i, e in entries if "failbackState" in e
                        }
                    }
                    if any("failbackState" in e for _, e in entries)
                    else {}
                ),
                "jobIds": sorted({e["jobId"] for _, e in entries if e.get("jobId")}),
            }
            errors = [f"{item}: {e['error']}" for item, e in entries if e.get("error")]
            if errors:
                result["error"] = "; ".join(errors)
            if final:
                state["results"][server_id] = result
            else:
                running[server_id] = result
        return running

    def _status_cleanup(self, ctx: AccountContext, state: dict[str, Any]) -> StatusResult:
        drs = self._client(ctx, state)
        running = self._advance_owned(ctx, drs, state, starter=self._terminate_starter)
        return self._result(state, finished=state["finished"], running=running)

    # --- REPLICATE (failback) ---------------------------------------------------------------
    def _start_replicate(
        self, ctx: AccountContext, items: list[Resource], params: dict[str, Any], state: dict
    ) -> None:
        drs = self._client(ctx, state)
        limits = self._limits(params)
        try:
            instances = self._recovery_instances(drs, servers=[r.id for r in items])
        except ClientError as error:
            self._raise(error, ctx, "describing recovery instances")
        state["owner"] = {}
        state["items"] = {}
        state["waiting"] = {}
        for instance in sorted(instances, key=lambda i: i["recoveryInstanceID"]):
            server_id, instance_id = instance["sourceServerID"], instance["recoveryInstanceID"]
            if server_id not in state["names"] or instance.get("isDrill"):
                continue
            state["owner"][instance_id] = server_id
            failback = (instance.get("failback") or {}).get("state", "FAILBACK_NOT_STARTED")
            if failback == "FAILBACK_COMPLETED":
                state["items"][instance_id] = {"status": SUCCEEDED, "note": "already failed back"}
                continue
            wait: dict[str, Any] = {"status": RUNNING, "failbackState": failback}
            if instance.get("originEnvironment") != "AWS":
                wait["mode"] = "failback-client"  # on premises: the Failback Client replicates
            else:
                wait["mode"] = "reverse-replication"
                try:
                    arn = drs.reverse_replication(recoveryInstanceID=instance_id)[
                        "reversedDirectionSourceServerArn"
                    ]
                except ClientError as error:
                    raise_if_fatal(error, ctx, "reversing replication")
                    state["items"][instance_id] = {
                        "status": FAILED,
                        "error": f"ReverseReplication: {error_message(error)}",
                    }
                    continue
                wait["reversedSourceServerArn"] = arn
            state["waiting"][instance_id] = wait
        for server_id in state["names"]:
            if server_id not in state["owner"].values():
                state["results"][server_id] = {
                    "status": SKIPPED,
                    "note": "no recovery instance (from a failover) to fail back from",
                }
        state["runner"] = new_runner_state(FAILBACK, f"{state['key']}-failback", limits, [])
        self._advance_owned(ctx, drs, state, starter=self._failback_starter)

    @staticmethod
    def _failback_starter(drs: Any, items: list[str], tags: dict[str, str]) -> dict[str, Any]:
        return drs.start_failback_launch(recoveryInstanceIDs=items, tags=tags)["job"]

    def _reversed_replicating(self, ctx: AccountContext, state: dict, arn: str) -> str | None:
        """The reversed source server's replication state (None if it cannot be seen)."""
        region, account = _region_of(arn)
        if not region or account != ctx.account_id:
            return None
        try:
            page = self._client(ctx, state, region=region).describe_source_servers(
                filters={"sourceServerIDs": [arn.rsplit("/", 1)[-1]]}
            )
        except ClientError as error:
            raise_if_fatal(error, ctx, "describing the reversed source server")
            return None
        items = page.get("items", [])
        return (
            (items[0].get("dataReplicationInfo") or {}).get("dataReplicationState")
            if items
            else None
        )

    def _status_replicate(self, ctx: AccountContext, state: dict[str, Any]) -> StatusResult:
        drs = self._client(ctx, state)
        waiting = state["waiting"]
        if waiting:
            try:
                described = {
                    i["recoveryInstanceID"]: i
                    for i in self._recovery_instances(drs, ids=list(waiting))
                }
            except ClientError as error:
                self._raise(error, ctx, "describing recovery instances")
            ready = []
            for instance_id, wait in sorted(waiting.items()):
                instance = described.get(instance_id)
                if instance is None:
                    state["items"][instance_id] = {
                        "status": FAILED,
                        "error": "the recovery instance no longer exists",
                    }
                    continue
                failback = (instance.get("failback") or {}).get("state", "FAILBACK_NOT_STARTED")
                wait["failbackState"] = failback
                if failback == "FAILBACK_COMPLETED":
                    state["items"][instance_id] = {"status": SUCCEEDED, "failbackState": failback}
                elif failback == "FAILBACK_ERROR":
                    state["items"][instance_id] = {
                        "status": FAILED,
                        "error": "failback replication is in error (FAILBACK_ERROR)",
                    }
                elif failback == "FAILBACK_READY_FOR_LAUNCH":
                    arn = wait.get("reversedSourceServerArn")
                    replication = self._reversed_replicating(ctx, state, arn) if arn else None
                    wait["reversedReplicationState"] = replication
                    if replication is None or replication in RECOVERABLE_STATES:
                        ready.append(instance_id)
            for instance_id in list(waiting):
                if instance_id in state["items"] or instance_id in ready:
                    del waiting[instance_id]
            if ready:
                add_batches(state["runner"], ready)
        running = self._advance_owned(ctx, drs, state, starter=self._failback_starter)
        return self._result(state, finished=state["finished"], running=running)
