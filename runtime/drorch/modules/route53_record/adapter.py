"""The route53-record module: point a hosted zone's record sets at the recovery region.

A resource is a Route 53 hosted zone, found by its id, ARN or name, or by its tags
(``ListHostedZones``, ``ListTagsForResource``); the parameters name its record sets:
simple, failover, weighted or latency ones (``name``, ``type``, ``setIdentifier``,
``values`` + ``ttl`` or an ``alias`` target, ``weight``/``failover``/``region``,
``healthCheckId``). A name is relative to the zone unless it ends with a dot; an absolute
name outside the zone is left to the zone it belongs to (so one group can name records
of several zones).

Phases (``start`` reads, the first ``status`` writes, the later ones read
``GetChange``; a change is done when Route 53 says ``INSYNC``, never after a timer):

* INSTANTIATE — nothing to pre-warm (records are changed in ACTIVATE); says so.
* ACTIVATE — ``start`` reads the record sets it will change (``ListResourceRecordSets``)
  and keeps them, as they are, in the resource's ``detail.previous`` (absent ones as
  ``null``): failback restores them from there, never from a guess. The first
  ``status`` reads them again and UPSERTs, in one atomic ``ChangeResourceRecordSets``
  batch per zone, only the record sets that differ from the parameters (a record set
  with no ``healthCheckId`` keeps the health check it has); then ``GetChange`` until
  ``INSYNC``. A refused batch (``InvalidChangeBatch``) fails the zone, naming Route 53's
  reason; ``PriorRequestNotComplete`` is tried again at the next poll.
* CLEANUP — deletes the drill records (``drillRecords``, and those the recorded ACTIVATE
  wrote) that exist; production records are never touched.
* REPLICATE (failback) — puts back what the failover's ACTIVATE recorded
  (``AccountContext.recorded``): each record set as it was, and a record set that did
  not exist before is deleted. Nothing recorded: the zone fails and says so. The
  ACTIVATE of a failback (``AccountContext.operation``) changes nothing: the records
  are back already.

Drill: only ``drillRecords`` are written — record sets whose name's first label is
``drill`` or ``drill-*`` and that are not among ``records`` — so a drill can check that
drorch can change the zone (and, with a drill health check or client, that the name
resolves) without moving production traffic. Without ``drillRecords`` a drill writes
nothing and says so. The drill client refuses, before it is sent, any
``ChangeResourceRecordSets`` with a change to a name that is not a declared drill record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    DrillSafetyError,
    Exclusion,
    Finding,
    LayerMapping,
    ModuleIam,
    Resource,
    StatusResult,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.resource import ResourceModule
from drorch.modules.route53_record import iam
from drorch.modules.route53_record.probes import PROBES, readiness

RESOURCE_TYPE = "route53:hostedzone"
STATE_VERSION = 1
INSYNC = "INSYNC"
RETRY_LATER = frozenset({"PriorRequestNotComplete"})
ROUTING_KEYS = ("SetIdentifier", "Weight", "Failover", "Region", "MultiValueAnswer")


def fqdn(name: str) -> str:
    """A record name as Route 53 answers it: lower case, with a trailing dot, ``*`` unescaped."""
    return name.replace("\\052", "*").rstrip(".").lower() + "."


def qualify(name: str, zone: str) -> str | None:
    """The full name of a parameter's record ``name`` in ``zone``; None when an absolute
    name (ending with a dot) is not in the zone."""
    zone = fqdn(zone)
    if name.strip() == "@":
        return zone
    full = fqdn(name)
    if full == zone or full.endswith("." + zone):
        return full
    if name.endswith("."):
        return None
    return f"{full[:-1]}.{zone}"


def is_drill_name(name: str) -> bool:
    """Whether a record name is a drill record's: its first label is drill or drill-*."""
    first = fqdn(name).split(".", 1)[0]
    return first == "drill" or first.startswith("drill-")


def _changes_disruptive(params: Mapping[str, Any]) -> bool:
    changes = (params.get("ChangeBatch") or {}).get("Changes") or []
    return not changes or any(
        not is_drill_name(str((c.get("ResourceRecordSet") or {}).get("Name", ""))) for c in changes
    )


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "ChangeResourceRecordSets": _changes_disruptive,  # of any record but a drill record
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def key_of(rrset: Mapping[str, Any]) -> str:
    """``name type [set identifier]``: one record set of a zone."""
    return " ".join(
        p for p in (fqdn(rrset["Name"]), rrset["Type"], str(rrset.get("SetIdentifier") or "")) if p
    )


def canonical(rrset: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What Route 53 serves of a record set, to compare a wanted one with the one there."""
    if rrset is None:
        return None
    found: dict[str, Any] = {"Name": fqdn(rrset["Name"]), "Type": rrset["Type"]}
    for key in (*ROUTING_KEYS, "TTL", "HealthCheckId"):
        if rrset.get(key) is not None:
            found[key] = rrset[key]
    if rrset.get("ResourceRecords"):
        found["ResourceRecords"] = sorted(r["Value"] for r in rrset["ResourceRecords"])
    alias = rrset.get("AliasTarget")
    if alias:
        found.pop("TTL", None)
        found["AliasTarget"] = {
            "HostedZoneId": alias["HostedZoneId"],
            "DNSName": fqdn(alias["DNSName"]),
            "EvaluateTargetHealth": bool(alias.get("EvaluateTargetHealth")),
        }
    return found


def record_set(record: Mapping[str, Any], name: str, zone_id: str) -> dict[str, Any]:
    """A parameter's record as a Route 53 ResourceRecordSet."""
    rrset: dict[str, Any] = {"Name": name, "Type": record["type"]}
    for key, field in (
        ("setIdentifier", "SetIdentifier"),
        ("weight", "Weight"),
        ("failover", "Failover"),
        ("region", "Region"),
        ("healthCheckId", "HealthCheckId"),
    ):
        if key in record:
            rrset[field] = record[key]
    if "alias" in record:
        alias = record["alias"]
        rrset["AliasTarget"] = {
            "HostedZoneId": alias.get("hostedZoneId") or zone_id,
            "DNSName": fqdn(alias["dnsName"]),
            "EvaluateTargetHealth": bool(alias.get("evaluateTargetHealth", False)),
        }
    else:
        rrset["TTL"] = record["ttl"]
        rrset["ResourceRecords"] = [{"Value": v} for v in record["values"]]
    return rrset


def _zone_id(value: str) -> str:
    return value.split("/")[-1]


class Route53RecordModule(ResourceModule):
    type = "route53-record"
    state_version = STATE_VERSION
    regional = False
    name_key = "zone"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "Route 53 record sets (simple, failover, weighted, latency): UPSERT them to point at "
        "the recovery region, recording what they were for failback"
    )
    drill = (
        "Writes only the drillRecords the manifest declares (names under a drill label, none "
        "of them a production record) and CLEANUP deletes them; without drillRecords a drill "
        "writes nothing. The drill client refuses any ChangeResourceRecordSets touching "
        "another name before it is sent, so production traffic never moves."
    )
    aliases = ("R53Record", "Route53Record", "route53_record")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "hosted zone id (Z...), its ARN, or the zone's name"
    probes = PROBES
    sandbox_extension = "drorch.modules.route53_record.sandbox"
    # seed 004's R53Record gives its parameters as a list of records (see from_layer)
    layer_parameters_list = True

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    # --- layers format (seed 004 R53Record) -------------------------------------------------
    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """Seed 004's ``R53Record``: ``parameters`` is a list of ``{R53RecordName,
        RecordType, Alias ("Yes"), RecordValue, HostedZoneId}``, UPSERTed with TTL 60."""
        params = resource.get("parameters")
        if not isinstance(params, list):
            return super().from_layer(resource, where)
        records: list[dict[str, Any]] = []
        zones: list[str] = []
        unmapped: list[str] = []
        notes: list[str] = []
        known = {"R53RecordName", "RecordType", "Alias", "RecordValue", "HostedZoneId"}
        for index, item in enumerate(params):
            at = f"{where}.parameters[{index}]"
            if not isinstance(item, Mapping) or not item.get("R53RecordName"):
                unmapped.append(at)
                continue
            unmapped += [f"{at}.{k}" for k in item if k not in known]
            record: dict[str, Any] = {
                "name": fqdn(str(item["R53RecordName"])),
                "type": str(item.get("RecordType") or "A"),
            }
            if str(item.get("Alias", "")).lower() == "yes":
                record["alias"] = {"dnsName": str(item.get("RecordValue", ""))}
                notes.append(
                    f"{at}: alias to {item.get('RecordValue')!r} in the same hosted zone; "
                    "set alias.hostedZoneId if the target is an AWS resource (ALB, CloudFront)"
                )
            else:
                record["ttl"] = 60
                record["values"] = [str(item.get("RecordValue", ""))]
            records.append(record)
            zone = str(item.get("HostedZoneId") or "")
            if zone and _zone_id(zone) not in zones:
                zones.append(_zone_id(zone))
        technology: dict[str, Any] = {"type": self.type, "parameters": {"records": records}}
        if zones:
            technology["selector"] = {"ids": zones}
        return LayerMapping(technology=technology, unmapped=unmapped, notes=notes)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = {str(i) for i in selector_field(selector, "ids")}
        by_id = {_zone_id(i) for i in ids}
        by_name = {fqdn(i) for i in ids}
        client = self._client(ctx, False)
        try:
            zones = [
                z
                for page in client.get_paginator("list_hosted_zones").paginate()
                for z in page.get("HostedZones", [])
            ]
            for zone in zones:
                zone_id = _zone_id(zone["Id"])
                name = zone["Name"].rstrip(".")
                if ids and zone_id not in by_id and fqdn(zone["Name"]) not in by_name:
                    continue
                listed = client.list_tags_for_resource(
                    ResourceType="hostedzone", ResourceId=zone_id
                )
                tags = {
                    t["Key"]: t.get("Value", "")
                    for t in listed.get("ResourceTagSet", {}).get("Tags", [])
                }
                if not tags_match(tags, wanted_tags):
                    continue
                arn = f"arn:aws:route53:::hostedzone/{zone_id}"
                found.append(
                    Resource(zone_id, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                )
        except ClientError as error:
            self.fail(error, ctx, "listing hosted zones (ListHostedZones, ListTagsForResource)")
        seen = {r.id for r in found} | {fqdn(r.name) for r in found}
        for wanted in sorted(ids):
            if _zone_id(wanted) not in seen and fqdn(wanted) not in seen:
                found.excluded.append(
                    Exclusion(
                        wanted, "", ctx.account_id, ctx.region, wanted, ("no such hosted zone",)
                    )
                )
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        params, items, drill = self.prepare(ctx, phase, resources, params, drill, idempotency_key)
        self._check_drill_records(params)
        state: dict[str, Any] = {
            "v": self.state_version,
            "phase": phase,
            "drill": drill,
            "items": {r.id: {"zone": r.name} for r in items},
        }
        allowed: set[str] = set()
        client = self._client(ctx, False)
        for resource in items:
            item = state["items"][resource.id]
            try:
                if not item["zone"]:
                    item["zone"] = self._zone_name(client, resource.id)
                target, note = self._target(ctx, phase, drill, resource.id, item["zone"], params)
                if target is None:
                    item["result"] = note
                    continue
                allowed |= {t["name"] for t in target if is_drill_name(t["name"])}
                item["target"] = target
                item.update(note)
                if phase == "ACTIVATE":
                    current = self._read(client, resource.id, target)
                    item["previous"] = [
                        {**self._key(t), "recordSet": current.get(t["key"])} for t in target
                    ]
            except ClientError as error:
                self.fail(error, ctx, f"reading the record sets of zone {resource.id}")
        state["allowed"] = sorted(allowed)
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        drill = bool(state.get("drill"))
        client = self._client(ctx, drill, set(state.get("allowed") or ()))
        for zone_id, item in state["items"].items():
            if "result" in item:
                continue
            try:
                if "changeId" in item:
                    self._check_change(client, zone_id, item)
                else:
                    self._submit(ctx, client, zone_id, item, drill)
            except ClientError as error:
                self.fail(error, ctx, f"changing the record sets of zone {zone_id}")
        return self.result(state)

    # --- what each phase wants ------------------------------------------------------------
    def _check_drill_records(self, params: Mapping[str, Any]) -> None:
        production = {fqdn(r["name"]) for r in params.get("records") or []}
        for index, record in enumerate(params.get("drillRecords") or []):
            where = f"$.parameters.drillRecords[{index}].name"
            if not is_drill_name(record["name"]):
                raise InputError(
                    f"{self.type}: {where}: {record['name']!r} is not a drill record name",
                    hint="a drill record's first label is drill or drill-*, e.g. drill.www",
                )
            if fqdn(record["name"]) in production:
                raise InputError(f"{self.type}: {where}: {record['name']!r} is also in records")

    def _target(
        self,
        ctx: AccountContext,
        phase: str,
        drill: bool,
        zone_id: str,
        zone: str,
        params: Mapping[str, Any],
    ) -> tuple[list[dict[str, Any]] | None, dict[str, Any]]:
        """What the record sets of a zone must be after the phase (a recordSet of None:
        absent), or None and the resource's result when there is nothing to do."""
        if phase == "INSTANTIATE":
            return None, {
                "status": SKIPPED,
                "note": "nothing to pre-warm: ACTIVATE changes records",
            }
        if phase == "ACTIVATE" and ctx.operation == "failback":
            return None, {
                "status": SKIPPED,
                "note": "a failback puts the records back in REPLICATE: ACTIVATE changes none",
            }
        if phase == "ACTIVATE":
            records = params.get("drillRecords" if drill else "records") or []
            wanted = []
            for record in records:
                name = qualify(record["name"], zone)
                if name is not None:
                    rrset = record_set(record, name, zone_id)
                    keep = "healthCheckId" not in record
                    wanted.append(self._entry(rrset, rrset, keep))
            if not wanted:
                why = (
                    "a drill without drillRecords changes no record"
                    if drill
                    else f"no record of zone {zone} in the parameters"
                )
                return None, {"status": SKIPPED, "note": why}
            return wanted, {}
        recorded = ctx.recorded.get(zone_id) or {}
        if phase == "CLEANUP":
            names: dict[str, dict[str, Any]] = {}
            for record in params.get("drillRecords") or []:
                name = qualify(record["name"], zone)
                if name is not None:
                    rrset = record_set(record, name, zone_id)
                    names[key_of(rrset)] = self._entry(rrset, None)
            if recorded.get("drill"):
                for written in recorded.get("written") or []:
                    if is_drill_name(written["name"]):
                        names.setdefault(written["key"], {**written, "recordSet": None})
            if not names:
                return None, {"status": SKIPPED, "note": "no drill record declared or recorded"}
            return list(names.values()), {}
        # REPLICATE: what the failover's ACTIVATE recorded
        if not recorded or "previous" not in recorded:
            return None, {
                "status": FAILED,
                "error": f"nothing recorded of what a failover changed in zone {zone}: "
                "put its record sets back by hand (drorch does not guess them)",
            }
        if recorded.get("drill"):
            return None, {
                "status": SKIPPED,
                "note": "the run recorded was a drill: it changed no production record",
                "recordedFrom": ctx.recorded_from,
            }
        return [{**p, "keepHealthCheck": False} for p in recorded["previous"]], {
            "recordedFrom": ctx.recorded_from
        }

    @staticmethod
    def _entry(
        key_from: Mapping[str, Any], rrset: Mapping[str, Any] | None, keep: bool = False
    ) -> dict[str, Any]:
        return {
            "key": key_of(key_from),
            "name": fqdn(key_from["Name"]),
            "type": key_from["Type"],
            "setIdentifier": key_from.get("SetIdentifier"),
            "recordSet": dict(rrset) if rrset is not None else None,
            "keepHealthCheck": keep,
        }

    @staticmethod
    def _key(target: Mapping[str, Any]) -> dict[str, Any]:
        return {k: target[k] for k in ("key", "name", "type", "setIdentifier")}

    # --- Route 53 -----------------------------------------------------------------------------
    def _client(self, ctx: AccountContext, drill: bool, allowed: set[str] | None = None) -> Any:
        return ctx.client("route53", guard=self.drill_guard(drill, allowed))

    def drill_guard(self, drill: bool, allowed: set[str] | None = None) -> Any:
        """The drill client's guard: refuses disruptive calls and, with ``allowed``, any
        change to a record name that is not one of the declared drill records."""
        base = super().drill_guard(drill)
        if base is None:
            return None

        def guard(operation: str, params: dict[str, Any]) -> None:
            base(operation, params)
            if operation != "ChangeResourceRecordSets" or allowed is None:
                return
            names = {fqdn(c["ResourceRecordSet"]["Name"]) for c in params["ChangeBatch"]["Changes"]}
            if names - allowed:
                raise DrillSafetyError(
                    f"{self.type}: ChangeResourceRecordSets of {', '.join(sorted(names - allowed))} "
                    "is not a declared drill record and was refused during a drill"
                )

        return guard

    @staticmethod
    def _zone_name(client: Any, zone_id: str) -> str:
        return client.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"].rstrip(".")

    @staticmethod
    def _read(
        client: Any, zone_id: str, target: Sequence[Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """The record sets of the zone the target names, by key (absent ones left out)."""
        found: dict[str, dict[str, Any]] = {}
        for name, kind in sorted({(t["name"], t["type"]) for t in target}):
            kwargs: dict[str, Any] = {
                "HostedZoneId": zone_id,
                "StartRecordName": name,
                "StartRecordType": kind,
                "MaxItems": "100",
            }
            while True:
                page = client.list_resource_record_sets(**kwargs)
                sets = page.get("ResourceRecordSets", [])
                for rrset in sets:
                    if fqdn(rrset["Name"]) == name and rrset["Type"] == kind:
                        found[key_of(rrset)] = rrset
                more = page.get("IsTruncated") and page.get("NextRecordName")
                if not more or fqdn(page["NextRecordName"]) != name:
                    break
                if page.get("NextRecordType") != kind:
                    break
                kwargs["StartRecordName"] = page["NextRecordName"]
                kwargs["StartRecordType"] = page["NextRecordType"]
                if page.get("NextRecordIdentifier"):
                    kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]
        return found

    def _submit(
        self, ctx: AccountContext, client: Any, zone_id: str, item: dict, drill: bool
    ) -> None:
        """One atomic batch of the changes still needed (none: the zone is as wanted)."""
        target = item["target"]
        current = self._read(client, zone_id, target)
        changes = []
        for entry in target:
            now = current.get(entry["key"])
            wanted = entry["recordSet"]
            if wanted is None:
                if now is not None:
                    changes.append({"Action": "DELETE", "ResourceRecordSet": now})
                continue
            wanted = dict(wanted)
            if entry.get("keepHealthCheck") and now and now.get("HealthCheckId"):
                wanted.setdefault("HealthCheckId", now["HealthCheckId"])
            if canonical(now) != canonical(wanted):
                changes.append({"Action": "UPSERT", "ResourceRecordSet": wanted})
        item["changed"] = [f"{c['Action']} {key_of(c['ResourceRecordSet'])}" for c in changes]
        if drill and item.get("target") and any(e["recordSet"] for e in target):
            item["written"] = [self._key(e) for e in target if e["recordSet"] is not None]
        if not changes:
            item["result"] = self._done(item, note="the record sets were already as wanted")
            return
        try:
            answer = client.change_resource_record_sets(
                HostedZoneId=zone_id,
                ChangeBatch={
                    "Comment": f"drorch {ctx.execution_id or 'run'}: "
                    + ("drill records" if drill else "disaster recovery"),
                    "Changes": changes,
                },
            )
        except ClientError as error:
            raise_if_fatal(error, ctx, f"ChangeResourceRecordSets in zone {zone_id}")
            if error_code(error) in RETRY_LATER:
                item.pop("changed", None)
                item["live"] = {"waiting": error_code(error)}
                return
            item["result"] = self._done(
                item,
                status=FAILED,
                error=f"ChangeResourceRecordSets refused: {error_code(error)}: "
                f"{error_message(error)}",
            )
            return
        info = answer["ChangeInfo"]
        item["changeId"] = info["Id"].split("/")[-1]
        item["live"] = {"changeId": item["changeId"], "changeStatus": info["Status"]}
        if info["Status"] == INSYNC:
            item["result"] = self._done(item)

    def _check_change(self, client: Any, zone_id: str, item: dict) -> None:
        info = client.get_change(Id=item["changeId"])["ChangeInfo"]
        if info["Status"] == INSYNC:
            item["result"] = self._done(item)
        else:
            item["live"] = {"changeId": item["changeId"], "changeStatus": info["Status"]}

    @staticmethod
    def _done(item: Mapping[str, Any], status: str = SUCCEEDED, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = {"status": status, "zone": item["zone"]}
        for key in ("changed", "changeId", "previous", "written", "recordedFrom"):
            if key in item:
                result[key] = item[key]
        if "changeId" in item and status == SUCCEEDED:
            result["changeStatus"] = INSYNC
        return {**result, **extra}

    # --- shared -------------------------------------------------------------------------------
    def result(self, state: dict[str, Any]) -> StatusResult:
        found = super().result(state)
        for resource in found.resources:
            resource.detail["drill"] = bool(state.get("drill"))
        return found
