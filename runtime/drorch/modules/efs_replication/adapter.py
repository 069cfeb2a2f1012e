"""The efs-replication module: EFS file systems replicated to the recovery region.

A resource is the *destination* of an EFS replication: the read-only replica in the
recovery region (the account's region), ``elasticfilesystem:file-system``. Discovery
makes direct calls there (``DescribeFileSystems``, ``DescribeReplicationConfigurations``)
by the selector's ids (file system ids or ARNs) and tags (the file systems' own tags). A
file system that is the *source* of a replication out of the recovery region is a
primary, not a replica: it is excluded and said so (after a failback, the recovery
file system is one).

Phases (each ``start`` + ``status``; status asks EFS, never a timer):

* INSTANTIATE — nothing (the replica exists already); the result says so.
* ACTIVATE (failover) — deletes the replication configuration the replica is the
  destination of: ``DeleteReplicationConfiguration`` with the *source* file system's id,
  called in the recovery region (the destination's; the API takes the request from
  either side, and the recovery region is the side that is up when the source region is
  not). ``deletionMode`` ``ALL_CONFIGURATIONS`` (default) removes both sides; when the
  source region cannot be reached, run it with ``LOCAL_CONFIGURATION_ONLY``. Done when
  ``DescribeReplicationConfigurations`` no longer lists a configuration for the replica
  and the file system is ``available`` with ``ReplicationOverwriteProtection``
  ``ENABLED`` (writable). The detail records the source and destination file system
  ids and regions, and the last replicated time (what the failover may have lost);
  REPLICATE reads them back from ``AccountContext.recorded``. A retried start finds the
  configuration ``DELETING`` and does not delete it again; a deletion still
  ``DELETING`` after ``maxWaitSeconds`` fails the file system.
* CLEANUP — nothing: a drill restores nothing, and a failover leaves nothing behind.
* REPLICATE (failback) — replicates the recovery file system back over the original
  source, as AWS documents a failback: ``UpdateFileSystemProtection``
  ``ReplicationOverwriteProtection=DISABLED`` on the original file system (in the source
  region), then ``CreateReplicationConfiguration`` from the recovery file system to it
  (called in the recovery region). Done when the new replication is ``ENABLED``. The
  original file system comes from what the failover recorded; without that record the
  phase fails and says so rather than guess.
* ACTIVATE of a failback (``AccountContext.operation`` ``failback``, after its REPLICATE)
  — moves production back: once the replication back to the original is ``ENABLED``
  (caught up), it deletes it (``DeleteReplicationConfiguration`` of the recovery file
  system, in the recovery region) and waits until the original is writable; then, with
  ``replicateAfterFailback`` (default), it replicates the original to the recovery file
  system again (``UpdateFileSystemProtection`` ``DISABLED`` on the recovery file system,
  ``CreateReplicationConfiguration`` in the source region): the state before the
  failover, ready for the next drill.

Drill: ACTIVATE only reads. It checks that the replication is ``ENABLED`` and that the
destination's ``LastReplicatedTimestamp`` is within ``rpoSeconds`` of the engine's
clock; a replication in ``ERROR`` (or paused, or being deleted) fails the drill with
EFS's status message. It restores nothing (EFS has no copy of a replica that does not
end the replication) and creates nothing, so CLEANUP has nothing to delete. The drill
client refuses every call in ``DISRUPTIVE_CALLS`` before it is sent, and a drill-only
role has no EFS write at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    LayerMapping,
    Module,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    error_code,
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.efs_replication import iam
from drorch.modules.efs_replication.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "elasticfilesystem:file-system"
STATE_VERSION = 1
POLL_SECONDS = 60
NOT_REPLICATED = "ReplicationNotFound"
NOT_FOUND = "FileSystemNotFound"

# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "DeleteReplicationConfiguration": always,
    "CreateReplicationConfiguration": always,
    "UpdateFileSystemProtection": always,
    "DeleteFileSystem": always,
    "PutFileSystemPolicy": always,
    "UpdateFileSystem": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def bare_id(value: str) -> str:
    """``fs-...`` from a file system id or ARN."""
    return value.rsplit("/", 1)[-1]


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.astimezone(UTC).timestamp()
    return float(value)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def layer_tags(value: Any) -> dict[str, str]:
    """Layers ``Tags``: a mapping or a list of ``{"Key", "Value"}``."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {
            str(t["Key"]): str(t.get("Value", ""))
            for t in value
            if isinstance(t, Mapping) and "Key" in t
        }
    return {}


def layer_mapping(module: Module, resource: Mapping[str, Any], where: str) -> LayerMapping:
    params = dict(resource.get("parameters") or {})
    selector: dict[str, Any] = {}
    ids: list[str] = []
    for key in ("FileSystemId", "FileSystemIds", "DestinationFileSystemId"):
        value = params.pop(key, None)
        ids += [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]
    if ids:
        selector["ids"] = list(dict.fromkeys(ids))
    tags = layer_tags(params.pop("Tags", None))
    if tags:
        selector["tags"] = tags
    unmapped, reasons, notes = [], {}, []
    if params.pop("SourceFileSystemId", None):
        notes.append(
            "SourceFileSystemId is read from EFS (the replica's replication configuration)"
        )
    known = set(module.parameters_schema.get("properties", {}))
    kept = {k: v for k, v in params.items() if k in known}
    for key in params:
        if key not in known:
            unmapped.append(f"{where}.parameters.{key}")
    technology: dict[str, Any] = {"type": module.type, "parameters": kept}
    if selector:
        technology["selector"] = selector
    return LayerMapping(technology=technology, unmapped=unmapped, notes=notes, reasons=reasons)


class EfsReplicationModule(ResourceModule):
    type = "efs-replication"
    service = "efs"
    state_version = STATE_VERSION
    name_key = "name"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "EFS replication: fail over by deleting the replication configuration (the replica "
        "becomes writable); fail back by replicating to the original file system"
    )
    drill = (
        "Reads only: checks the replication to the recovery region is ENABLED and its last "
        "replicated time is within rpoSeconds. Nothing is restored or created, so CLEANUP has "
        "nothing to do; the drill client refuses DeleteReplicationConfiguration and every "
        "other EFS write before it is sent."
    )
    aliases = ("EFS", "EfsReplication", "efs_replication", "EFSReplication")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "the replica's file system id (fs-...) or ARN in the recovery region"
    probes = PROBES
    sandbox_extension = "drorch.modules.efs_replication.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """A layers ``EFS`` resource: ``FileSystemId``/``FileSystemIds``/
        ``DestinationFileSystemId`` (the replica) -> selector ids, ``Tags`` -> selector tags;
        ``SourceFileSystemId`` is read from the replication configuration."""
        return layer_mapping(self, resource, where)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = {bare_id(i) for i in selector_field(selector, "ids")}
        client = ctx.client("efs")
        try:
            file_systems = [
                f
                for page in client.get_paginator("describe_file_systems").paginate()
                for f in page.get("FileSystems", [])
            ]
            replications = [
                r
                for page in client.get_paginator("describe_replication_configurations").paginate()
                for r in page.get("Replications", [])
            ]
        except ClientError as error:
            self.fail(error, ctx, "listing EFS file systems")
        sources = {
            r["SourceFileSystemId"]: r["Destinations"][0]["Region"]
            for r in replications
            if r.get("SourceFileSystemRegion") == ctx.region and r.get("Destinations")
        }
        for file_system in file_systems:
            fs_id = file_system["FileSystemId"]
            if ids and fs_id not in ids:
                continue
            tags = {t["Key"]: t.get("Value", "") for t in file_system.get("Tags", [])}
            if not tags_match(tags, wanted_tags):
                continue
            arn = file_system["FileSystemArn"]
            name = file_system.get("Name") or fs_id
            if fs_id in sources:
                found.excluded.append(
                    Exclusion(
                        fs_id,
                        arn,
                        ctx.account_id,
                        ctx.region,
                        name,
                        (
                            f"the source of a replication to {sources[fs_id]}: a primary, "
                            "not a replica",
                        ),
                    )
                )
                continue
            found.append(
                Resource(fs_id, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
            )
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def new_item(self, resource: Resource) -> dict[str, Any]:
        return {"name": resource.name}

    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"startedAt": ctx.now, "operation": ctx.operation, "waitSeconds": POLL_SECONDS}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            try:
                if phase == "INSTANTIATE":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "nothing to pre-warm: the replica exists already",
                    }
                elif phase == "CLEANUP":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "nothing to remove: a drill creates nothing, a failover "
                        "leaves nothing behind",
                    }
                elif phase == "ACTIVATE" and not drill and ctx.operation == "failback":
                    self._start_switch_back(ctx, client, resource.id, item)
                elif phase == "ACTIVATE" and not drill:
                    self._start_failover(ctx, client, resource.id, item, params)
                elif phase == "REPLICATE":
                    self._start_failback(ctx, client, resource.id, item, drill)
            except ClientError as error:
                self.fail(error, ctx, f"starting {phase} of {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        drill = bool(state.get("drill"))
        client = self.client(ctx, drill)
        params = state.get("params") or {}
        for fs_id, item in state["items"].items():
            if "result" in item:
                continue
            try:
                if phase == "ACTIVATE" and drill:
                    self._check_drill(ctx, client, fs_id, item, params, state)
                elif phase == "ACTIVATE" and state.get("operation") == "failback":
                    self._check_switch_back(ctx, client, fs_id, item, params, state)
                elif phase == "ACTIVATE":
                    self._check_failover(ctx, client, fs_id, item, params, state)
                elif phase == "REPLICATE":
                    self._check_failback(ctx, client, fs_id, item, params, state)
            except ClientError as error:
                self.fail(error, ctx, f"checking {phase} of {fs_id}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------

    @staticmethod
    def _replication(client: Any, fs_id: str) -> dict[str, Any] | None:
        """The replication configuration ``fs_id`` is part of, or None."""
        try:
            found = client.describe_replication_configurations(FileSystemId=fs_id)
        except ClientError as error:
            if error_code(error) == NOT_REPLICATED:
                return None
            raise
        replications = found.get("Replications") or []
        return replications[0] if replications else None

    @staticmethod
    def _file_system(client: Any, fs_id: str) -> dict[str, Any] | None:
        try:
            return client.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                return None
            raise

    @staticmethod
    def _waited_too_long(ctx: AccountContext, state: Mapping, params: Mapping) -> float | None:
        started, now = state.get("startedAt"), ctx.now
        if started is None or now is None:
            return None
        waited = now - started
        return waited if waited > params.get("maxWaitSeconds", 7200) else None

    @staticmethod
    def _links(replication: Mapping[str, Any]) -> dict[str, Any]:
        destination = (replication.get("Destinations") or [{}])[0]
        found: dict[str, Any] = {
            "sourceFileSystemId": replication["SourceFileSystemId"],
            "sourceRegion": replication["SourceFileSystemRegion"],
            "destinationFileSystemId": destination.get("FileSystemId", ""),
            "destinationRegion": destination.get("Region", ""),
            "replicationStatus": destination.get("Status", ""),
        }
        last = destination.get("LastReplicatedTimestamp")
        if last is not None:
            found["lastReplicated"] = _iso(_seconds(last))
        return found

    # --- ACTIVATE: drill ------------------------------------------------------------------------
    def _check_drill(
        self,
        ctx: AccountContext,
        client: Any,
        fs_id: str,
        item: dict,
        params: Mapping,
        state: Mapping,
    ) -> None:
        replication = self._replication(client, fs_id)
        if replication is None:
            item["result"] = {
                "status": FAILED,
                "error": f"{fs_id} is not replicated: no replication configuration names it",
            }
            return
        links = self._links(replication)
        if links["destinationFileSystemId"] != fs_id:
            item["result"] = {
                "status": FAILED,
                "error": f"{fs_id} is the source of the replication, not its replica",
                **links,
            }
            return
        status = links["replicationStatus"]
        if status == "ENABLING":
            waited = self._waited_too_long(ctx, state, params)
            if waited is None:
                item["live"] = links
                return
            item["result"] = {
                "status": FAILED,
                "error": f"the replication is still ENABLING after {waited:g} s",
                **links,
            }
            return
        if status != "ENABLED":
            message = replication["Destinations"][0].get("StatusMessage", "")
            item["result"] = {
                "status": FAILED,
                "error": f"the replication is {status}" + (f": {message}" if message else ""),
                **links,
            }
            return
        last = replication["Destinations"][0].get("LastReplicatedTimestamp")
        if last is None or ctx.now is None:
            item["result"] = {
                "status": FAILED,
                "error": "no LastReplicatedTimestamp (or no engine clock) to judge the RPO by",
                **links,
            }
            return
        behind = max(0.0, ctx.now - _seconds(last))
        result = {"status": SUCCEEDED, **links, "secondsBehind": round(behind, 3)}
        if behind > params["rpoSeconds"]:
            result.update(
                status=FAILED,
                error=f"last replicated {behind:g} s ago, beyond rpoSeconds "
                f"{params['rpoSeconds']:g}",
            )
        item["result"] = result

    # --- ACTIVATE: failover ---------------------------------------------------------------------
    def _start_failover(
        self, ctx: AccountContext, client: Any, fs_id: str, item: dict, params: Mapping
    ) -> None:
        replication = self._replication(client, fs_id)
        if replication is None:
            # a failover that already happened (or a file system that was never replicated):
            # status checks it is writable
            item["note"] = "no replication configuration: nothing to delete"
            return
        links = self._links(replication)
        item["links"] = links
        if links["destinationFileSystemId"] != fs_id:
            item["result"] = {
                "status": FAILED,
                "error": f"{fs_id} is the source of the replication to "
                f"{links['destinationRegion']}, not its replica: nothing to fail over",
                **links,
            }
            return
        if links["replicationStatus"] == "DELETING":  # a retried start: it is being deleted
            return
        client.delete_replication_configuration(
            SourceFileSystemId=links["sourceFileSystemId"], DeletionMode=params["deletionMode"]
        )

    def _check_failover(
        self,
        ctx: AccountContext,
        client: Any,
        fs_id: str,
        item: dict,
        params: Mapping,
        state: Mapping,
    ) -> None:
        links = item.get("links") or {}
        recorded = {k: v for k, v in links.items() if k != "replicationStatus"}
        replication = self._replication(client, fs_id)
        if replication is not None:
            now = self._links(replication)
            waited = self._waited_too_long(ctx, state, params)
            if waited is not None:
                item["result"] = {
                    "status": FAILED,
                    "error": f"the replication is still {now['replicationStatus']} after "
                    f"{waited:g} s",
                    **recorded,
                }
            else:
                item["live"] = {**recorded, "replicationStatus": now["replicationStatus"]}
            return
        described = self._file_system(client, fs_id)
        if described is None:
            item["result"] = {"status": FAILED, "error": f"no file system {fs_id} here"}
            return
        protection = (described.get("FileSystemProtection") or {}).get(
            "ReplicationOverwriteProtection", ""
        )
        lifecycle = described.get("LifeCycleState", "")
        if lifecycle != "available" or protection == "REPLICATING":
            item["live"] = {**recorded, "lifeCycleState": lifecycle, "protection": protection}
            return
        result = {
            "status": SUCCEEDED,
            **recorded,
            "writable": True,
            "replicationOverwriteProtection": protection,
        }
        if "note" in item:
            result["note"] = item["note"]
        item["result"] = result

    # --- REPLICATE: failback --------------------------------------------------------------------
    def _start_failback(
        self, ctx: AccountContext, client: Any, fs_id: str, item: dict, drill: bool
    ) -> None:
        recorded = ctx.recorded.get(fs_id) or {}
        original, region = recorded.get("sourceFileSystemId"), recorded.get("sourceRegion")
        if not original or not region:
            item["result"] = {
                "status": FAILED,
                "error": "no failover of this file system was recorded "
                f"({ctx.recorded_from or 'no earlier run'}): the original file system to fail "
                "back to is not known",
            }
            return
        item["target"] = {"fileSystemId": original, "region": region}
        replication = self._replication(client, fs_id)
        if replication is not None:
            links = self._links(replication)
            if links["sourceFileSystemId"] == fs_id and (
                links["destinationFileSystemId"],
                links["destinationRegion"],
            ) == (original, region):
                return  # a retried start: the reverse replication exists
            item["result"] = {
                "status": FAILED,
                "error": f"{fs_id} is already part of a replication "
                f"({links['sourceFileSystemId']} -> {links['destinationFileSystemId']})",
                **links,
            }
            return
        there = self.client(ctx, drill, region)
        described = self._file_system(there, original)
        if described is None:
            item["result"] = {
                "status": FAILED,
                "error": f"the original file system {original} is gone from {region}: "
                "replicate to a new one (CreateReplicationConfiguration without a "
                "FileSystemId; drorch does not)",
            }
            return
        protection = (described.get("FileSystemProtection") or {}).get(
            "ReplicationOverwriteProtection"
        )
        if protection != "DISABLED":
            there.update_file_system_protection(
                FileSystemId=original, ReplicationOverwriteProtection="DISABLED"
            )
        client.create_replication_configuration(
            SourceFileSystemId=fs_id,
            Destinations=[{"Region": region, "FileSystemId": original}],
        )

    def _check_failback(
        self,
        ctx: AccountContext,
        client: Any,
        fs_id: str,
        item: dict,
        params: Mapping,
        state: Mapping,
    ) -> None:
        target = item["target"]
        replication = self._replication(client, fs_id)
        if replication is None:
            item["result"] = {
                "status": FAILED,
                "error": f"the replication from {fs_id} to {target['fileSystemId']} is gone",
            }
            return
        links = self._links(replication)
        status = links["replicationStatus"]
        if status == "ENABLED":
            item["result"] = {"status": SUCCEEDED, **links}
        elif status == "ENABLING":
            waited = self._waited_too_long(ctx, state, params)
            if waited is None:
                item["live"] = links
            else:
                item["result"] = {
                    "status": FAILED,
                    "error": f"the replication is still ENABLING after {waited:g} s",
                    **links,
                }
        else:
            message = replication["Destinations"][0].get("StatusMessage", "")
            item["result"] = {
                "status": FAILED,
                "error": f"the replication is {status}" + (f": {message}" if message else ""),
                **links,
            }

    # --- ACTIVATE of a failback: production back to the original file system -----------------
    def _start_switch_back(self, ctx: AccountContext, client: Any, fs_id: str, item: dict) -> None:
        replication = self._replication(client, fs_id)
        if replication is None:
            item["result"] = {
                "status": FAILED,
                "error": f"{fs_id} replicates to no file system: run REPLICATE (the failback "
                "creates the replication back to the original file system) first",
            }
            return
        links = self._links(replication)
        if links["destinationFileSystemId"] == fs_id:  # a retried start, or nothing failed over
            item["stage"] = "reprotect"
            item["original"] = {
                "fileSystemId": links["sourceFileSystemId"],
                "region": links["sourceRegion"],
            }
            return
        item["original"] = {
            "fileSystemId": links["destinationFileSystemId"],
            "region": links["destinationRegion"],
        }
        item["stage"] = "sync"
        if links["replicationStatus"] == "ENABLED":
            client.delete_replication_configuration(SourceFileSystemId=fs_id)
            item["stage"] = "delete"
        elif links["replicationStatus"] == "DELETING":
            item["stage"] = "delete"

    def _check_switch_back(
        self,
        ctx: AccountContext,
        client: Any,
        fs_id: str,
        item: dict,
        params: Mapping,
        state: Mapping,
    ) -> None:
        """sync (the replication back is ENABLING) -> delete (it is DELETING; the original
        becomes writable) -> reprotect (the original replicates to this file system again)."""
        original, region = item["original"]["fileSystemId"], item["original"]["region"]
        base = {"originalFileSystemId": original, "originalRegion": region}
        replication = self._replication(client, fs_id)
        links = self._links(replication) if replication is not None else {}
        waited = self._waited_too_long(ctx, state, params)
        if item["stage"] == "sync":
            status = links.get("replicationStatus")
            if status == "ENABLED":
                client.delete_replication_configuration(SourceFileSystemId=fs_id)
                item["stage"] = "delete"
            elif status == "ENABLING" and waited is None:
                item["live"] = {**base, "stage": "sync", **links}
            else:
                item["result"] = {
                    "status": FAILED,
                    "error": f"the replication back to {original} is "
                    f"{status or 'gone'}" + (f" after {waited:g} s" if waited else ""),
                    **base,
                }
            return
        there = self.client(ctx, False, region)
        if item["stage"] == "delete":
            if replication is not None:
                if waited is not None:
                    item["result"] = {
                        "status": FAILED,
                        "error": f"the replication back is still "
                        f"{links['replicationStatus']} after {waited:g} s",
                        **base,
                    }
                else:
                    item["live"] = {**base, "stage": "delete", **links}
                return
            described = self._file_system(there, original)
            protection = ((described or {}).get("FileSystemProtection") or {}).get(
                "ReplicationOverwriteProtection"
            )
            if described is None or protection == "REPLICATING":
                item["live"] = {**base, "stage": "delete", "protection": protection}
                return
            item["switchedBackAt"] = ctx.now
            # the original is writable: it replicates to this file system again
            if params.get("replicateAfterFailback", True):
                described = self._file_system(client, fs_id) or {}
                mine = (described.get("FileSystemProtection") or {}).get(
                    "ReplicationOverwriteProtection"
                )
                if mine != "DISABLED":
                    client.update_file_system_protection(
                        FileSystemId=fs_id, ReplicationOverwriteProtection="DISABLED"
                    )
                there.create_replication_configuration(
                    SourceFileSystemId=original,
                    Destinations=[{"Region": ctx.region, "FileSystemId": fs_id}],
                )
                item["stage"] = "reprotect"
            else:
                item["result"] = {"status": SUCCEEDED, **base, "originalWritable": True}
            return
        # reprotect: done once the original replicates here again (the copy catches up after)
        if replication is not None and links.get("sourceFileSystemId") == original:
            item["result"] = {
                "status": SUCCEEDED,
                **base,
                "originalWritable": True,
                "replicationStatus": links["replicationStatus"],
            }
        else:
            item["result"] = {
                "status": FAILED,
                "error": f"{original} does not replicate to {fs_id} again",
                **base,
            }
