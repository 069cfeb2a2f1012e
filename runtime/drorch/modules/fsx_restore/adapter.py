"""The fsx module: FSx file systems restored from backups in the recovery region.

A resource is a protected FSx file system, ``fsx:file-system``, named by its id
(``fs-...``) or ARN. It usually lives in the source region; what the recovery region
holds is its backups (copied there by an AWS Backup copy rule or ``CopyBackup``). So
discovery makes direct calls in the recovery region (the account's region):
``DescribeBackups``, grouped by the backed-up file system (``Backup.FileSystem``), and
selected by the selector's ids and by that file system's tags (as the backup describes
it). A file system named in ``ids`` with no backup here is still a resource (ACTIVATE
may copy one with ``copyFromRegion``). drorch's own drill copies are never resources.

Phases (each ``start`` + ``status``; status reads ``DescribeFileSystems``/
``DescribeBackups``, never a timer):

* INSTANTIATE — nothing (there is nothing to pre-warm for a restore); the result says so.
* ACTIVATE (failover) — restores the file system in the recovery region: the newest
  ``AVAILABLE`` backup of it there, or — with ``copyFromRegion`` and none here — first a
  ``CopyBackup`` of its newest ``AVAILABLE`` backup in that region (waited for while it is
  ``COPYING``); then ``CreateFileSystemFromBackup`` into ``subnetIds`` (or the subnets tagged
  ``subnetTags``, one per Availability Zone), tagged
  ``drorch:recovered-from=<file system id>`` and with the source's ``Name``. Both
  creates carry a ``ClientRequestToken`` made from the idempotency key, so a retried
  start gets the first copy and the first file system back instead of making new ones.
  Done when the new file system's ``Lifecycle`` is ``AVAILABLE``; ``FAILED`` fails the
  resource with FSx's ``FailureDetails``. The detail records the recovered file system
  id, its DNS name, and the backup used (and its time: what the failover may lose).
  With ``maxBackupAgeSeconds``, a newest backup older than that fails the file system
  before anything is created.
* CLEANUP — deletes this group's drill copies (file systems tagged
  ``drorch:drill-copy-of=<file system id>`` and named ``drorch-drill-*``, found by
  ``DescribeFileSystems``), skipping a final backup, and waits until they are gone. The
  recovered file system of a failover is production and is never deleted.
* REPLICATE, and ACTIVATE of a failback (``AccountContext.operation`` ``failback``) —
  nothing: FSx has no replication to reverse, and a failback must not restore again in
  the recovery region. Fail back by backing up the recovered file system and copying that
  backup to the original region (AWS Backup or ``CreateBackup`` + ``CopyBackup``), then
  restoring it there; the results say so.

Drill: ACTIVATE restores the same way into an isolated drill copy: a new file system named
``drorch-drill-<hash>-<file system id>`` (the hash comes from the idempotency key) and
tagged ``drorch:drill-copy-of``, which CLEANUP deletes. A restore only reads its backup and
a copy only reads its source backup, so production is never changed. ``DeleteFileSystem``
is the one disruptive call: the drill client refuses it unless its ``ClientRequestToken``
is a drill-copy token (``drorch-drill-...``), which the module gives only to a deletion of
a file system it has just read as tagged and named a drill copy.
"""

from __future__ import annotations

import hashlib
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
    Finding,
    LayerMapping,
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
from drorch.modules.efs_replication.adapter import layer_tags
from drorch.modules.fsx_restore import iam
from drorch.modules.fsx_restore.probes import COPY_TAG, PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "fsx:file-system"
STATE_VERSION = 1
POLL_SECONDS = 120
DRILL_PREFIX = "drorch-drill-"
RECOVERED_TAG = "drorch:recovered-from"
CONFIGURATIONS = {
    "WINDOWS": "WindowsConfiguration",
    "LUSTRE": "LustreConfiguration",
    "OPENZFS": "OpenZFSConfiguration",
}
# what a restore takes from the backed-up file system when ``configuration`` is absent
DERIVED = {
    "WINDOWS": ("DeploymentType", "ThroughputCapacity"),
    "OPENZFS": ("DeploymentType", "ThroughputCapacity"),
}

# layers parameters -> this module's
LAYER_PARAMETERS = {
    "SubnetIds": "subnetIds",
    "SecurityGroupIds": "securityGroupIds",
    "StorageType": "storageType",
    "SourceRegion": "copyFromRegion",
}


def _delete_disruptive(params: Mapping[str, Any]) -> bool:
    return not str(params.get("ClientRequestToken", "")).startswith(DRILL_PREFIX)


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "DeleteFileSystem": _delete_disruptive,  # of anything but a drill copy
    "DeleteBackup": always,
    "UpdateFileSystem": always,
    "DeleteVolume": always,
    "UpdateVolume": always,
    "RestoreVolumeFromSnapshot": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def token(key: str, fs_id: str, what: str) -> str:
    """The ClientRequestToken of one create for one phase start (63 characters at most)."""
    return f"drorch-{what}-{_digest(key, fs_id, what)[:32]}"


def copy_name(key: str, fs_id: str) -> str:
    """The Name of the drill copy of ``fs_id`` for one phase start."""
    return f"{DRILL_PREFIX}{_digest(key, fs_id)[:8]}-{fs_id}"


def _tags(items: Sequence[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or []}


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.astimezone(UTC).timestamp()
    return float(value)


def _iso(value: Any) -> str:
    return datetime.fromtimestamp(_epoch(value), UTC).isoformat().replace("+00:00", "Z")


def _fs_id(value: str) -> str:
    return value.rsplit("/", 1)[-1]


def _summary(file_system: Mapping[str, Any]) -> dict[str, Any]:
    """What a restore needs of the backed-up file system (JSON, for the module state)."""
    kind = file_system.get("FileSystemType", "")
    found: dict[str, Any] = {"FileSystemType": kind, "Tags": list(file_system.get("Tags", []))}
    if kind in DERIVED:
        described = file_system.get(CONFIGURATIONS[kind]) or {}
        found[CONFIGURATIONS[kind]] = {k: described[k] for k in DERIVED[kind] if k in described}
    return found


class FsxModule(ResourceModule):
    type = "fsx"
    service = "fsx"
    state_version = STATE_VERSION
    name_key = "name"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "FSx (Windows, Lustre, OpenZFS): restore a file system in the recovery region from "
        "its newest backup there (copied from the source region if asked)"
    )
    drill = (
        "Restores the newest backup into a new drorch-drill-* file system tagged "
        "drorch:drill-copy-of, which CLEANUP deletes. A restore only reads its backup; the "
        "drill client refuses DeleteFileSystem of anything but a drill copy, and every other "
        "FSx change, before it is sent."
    )
    aliases = ("FSx", "FSxRestore", "fsx_restore", "FSxBackupRestore")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "the protected file system's id (fs-...) or ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.fsx_restore.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """A layers ``FSx`` resource: ``FileSystemId``/``FileSystemIds`` -> selector ids,
        ``Tags`` -> selector tags, ``SubnetIds``/``SecurityGroupIds``/``StorageType``/
        ``SourceRegion`` -> subnetIds/securityGroupIds/storageType/copyFromRegion; a
        ``BackupId`` is not kept (drorch restores the newest AVAILABLE backup)."""
        params = dict(resource.get("parameters") or {})
        selector: dict[str, Any] = {}
        ids: list[str] = []
        for key in ("FileSystemId", "FileSystemIds"):
            value = params.pop(key, None)
            ids += [
                str(v) for v in (value if isinstance(value, list) else [value] if value else [])
            ]
        if ids:
            selector["ids"] = list(dict.fromkeys(ids))
        tags = layer_tags(params.pop("Tags", None))
        if tags:
            selector["tags"] = tags
        kept: dict[str, Any] = {}
        for key, name in LAYER_PARAMETERS.items():
            if key in params:
                kept[name] = params.pop(key)
        unmapped, reasons = [], {}
        if "BackupId" in params:
            params.pop("BackupId")
            path = f"{where}.parameters.BackupId"
            unmapped.append(path)
            reasons[path] = "drorch restores the newest AVAILABLE backup in the recovery region"
        known = set(self.parameters_schema.get("properties", {}))
        kept.update({k: v for k, v in params.items() if k in known})
        unmapped += [f"{where}.parameters.{k}" for k in params if k not in known]
        technology: dict[str, Any] = {"type": self.type, "parameters": kept}
        if selector:
            technology["selector"] = selector
        return LayerMapping(technology=technology, unmapped=unmapped, reasons=reasons)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        named = {_fs_id(i): i for i in selector_field(selector, "ids")}
        try:
            backups = self._backups(ctx.client("fsx"))
        except ClientError as error:
            self.fail(error, ctx, "listing FSx backups (DescribeBackups)")
        seen: dict[str, dict[str, Any]] = {}
        for backup in sorted(backups, key=lambda b: _epoch(b["CreationTime"])):
            seen[backup["FileSystem"]["FileSystemId"]] = backup["FileSystem"]
        for fs_id, described in seen.items():
            tags = _tags(described.get("Tags"))
            if COPY_TAG in tags or (named and fs_id not in named):
                continue
            if not tags_match(tags, wanted_tags):
                continue
            arn = described.get("ResourceARN", "")
            region = arn.split(":")[3] if arn.count(":") >= 5 else ""
            found.append(
                Resource(
                    fs_id,
                    arn,
                    ctx.account_id,
                    region,
                    tags.get("Name", fs_id),
                    tags,
                    RESOURCE_TYPE,
                )
            )
        for fs_id, given in named.items():
            if fs_id in seen or wanted_tags:
                continue
            parts = given.split(":")
            region = parts[3] if len(parts) > 5 else ""
            arn = given if given.startswith("arn:") else ""
            found.append(Resource(fs_id, arn, ctx.account_id, region, fs_id, {}, RESOURCE_TYPE))
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def new_item(self, resource: Resource) -> dict[str, Any]:
        return {"name": resource.name}

    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"key": key, "waitSeconds": POLL_SECONDS}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            try:
                if phase == "INSTANTIATE":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "nothing to pre-warm: a restore makes the file system",
                    }
                elif phase == "REPLICATE":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "FSx has no replication to reverse: back up the recovery file "
                        "system and copy the backup to the original region to fail back",
                    }
                elif phase == "ACTIVATE" and ctx.operation == "failback":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "a failback restores nothing in the recovery region: back up "
                        f"the file system tagged {RECOVERED_TAG}={resource.id} and copy the "
                        "backup to the original region, then restore it there (drorch does not)",
                    }
                elif phase == "ACTIVATE":
                    self._start_restore(ctx, client, resource, item, params, state)
                elif phase == "CLEANUP":
                    self._start_cleanup(ctx, client, resource.id, item)
            except ClientError as error:
                self.fail(error, ctx, f"starting {phase} of {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        for fs_id, item in state["items"].items():
            if "result" in item:
                continue
            try:
                if phase == "ACTIVATE":
                    self._check_restore(ctx, client, fs_id, item, state)
                elif phase == "CLEANUP":
                    self._check_cleanup(ctx, client, fs_id, item)
            except ClientError as error:
                self.fail(error, ctx, f"checking {phase} of {fs_id}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------

    @staticmethod
    def _backups(client: Any, fs_id: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if fs_id:
            kwargs["Filters"] = [{"Name": "file-system-id", "Values": [fs_id]}]
        return [
            b
            for page in client.get_paginator("describe_backups").paginate(**kwargs)
            for b in page.get("Backups", [])
        ]

    @staticmethod
    def _newest(backups: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        available = [b for b in backups if b["Lifecycle"] == "AVAILABLE"]
        return max(available, key=lambda b: _epoch(b["CreationTime"])) if available else None

    @staticmethod
    def _file_system(client: Any, fs_id: str) -> dict[str, Any] | None:
        try:
            return client.describe_file_systems(FileSystemIds=[fs_id])["FileSystems"][0]
        except ClientError as error:
            if error_code(error) == "FileSystemNotFound":
                return None
            raise

    # --- ACTIVATE -----------------------------------------------------------------------------
    def _start_restore(
        self,
        ctx: AccountContext,
        client: Any,
        resource: Resource,
        item: dict,
        params: Mapping,
        state: Mapping,
    ) -> None:
        fs_id, key = resource.id, state["key"]
        newest = self._newest(self._backups(client, fs_id))
        source_region = params.get("copyFromRegion")
        if newest is None and source_region:
            there = self.client(ctx, state["drill"], source_region)
            original = self._newest(self._backups(there, fs_id))
            if original is None:
                item["result"] = {
                    "status": FAILED,
                    "error": f"no AVAILABLE backup of {fs_id} in {ctx.region} nor in "
                    f"{source_region}",
                }
                return
            if self._too_old(ctx, original, params, item):
                return
            copied = client.copy_backup(
                SourceBackupId=original["BackupId"],
                SourceRegion=source_region,
                CopyTags=True,
                ClientRequestToken=token(key, fs_id, "copy"),
            )["Backup"]
            item.update(copyOf=original["BackupId"], backupId=copied["BackupId"])
            item["backupTime"] = _iso(original["CreationTime"])
            item["source"] = _summary(copied.get("FileSystem") or original["FileSystem"])
            return  # status restores once the copy is AVAILABLE
        if newest is None:
            item["result"] = {
                "status": FAILED,
                "error": f"no AVAILABLE backup of {fs_id} in {ctx.region}: copy one here, or set "
                "copyFromRegion to copy the newest from the source region",
            }
            return
        item.update(backupId=newest["BackupId"], backupTime=_iso(newest["CreationTime"]))
        item["source"] = _summary(newest["FileSystem"])
        if self._too_old(ctx, newest, params, item):
            return
        self._create(ctx, client, fs_id, item, params, state)

    @staticmethod
    def _too_old(ctx: AccountContext, backup: Mapping, params: Mapping, item: dict) -> bool:
        """Whether the backup is older than maxBackupAgeSeconds (then the item has failed)."""
        limit = params.get("maxBackupAgeSeconds")
        if limit is None or ctx.now is None:
            return False
        age = ctx.now - _epoch(backup["CreationTime"])
        if age <= limit:
            return False
        item["result"] = {
            "status": FAILED,
            "error": f"the newest backup {backup['BackupId']} is {age:g} s old, "
            f"beyond maxBackupAgeSeconds {limit:g}",
            "backupId": backup["BackupId"],
            "backupTime": _iso(backup["CreationTime"]),
        }
        return True

    @staticmethod
    def _tagged_subnets(ctx: AccountContext, tags: Mapping[str, str], count: int) -> list[str]:
        """``count`` subnets with these tags, in different Availability Zones, zone order."""
        ec2 = ctx.client("ec2")
        filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in sorted(tags.items())]
        subnets = [
            s
            for page in ec2.get_paginator("describe_subnets").paginate(Filters=filters)
            for s in page.get("Subnets", [])
        ]
        chosen: dict[str, str] = {}
        for subnet in sorted(subnets, key=lambda s: (s["AvailabilityZone"], s["SubnetId"])):
            chosen.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        found = list(chosen.values())[:count]
        return found if len(found) == count else []

    def _create(
        self,
        ctx: AccountContext,
        client: Any,
        fs_id: str,
        item: dict,
        params: Mapping,
        state: Mapping,
    ) -> None:
        key, drill, source = state["key"], state["drill"], item["source"]
        kind = source.get("FileSystemType", "")
        if kind not in CONFIGURATIONS:
            item["result"] = {
                "status": FAILED,
                "error": f"a {kind or 'file system of unknown type'} cannot be restored with "
                "CreateFileSystemFromBackup (ONTAP restores volumes)",
            }
            return
        source_tags = _tags(source.get("Tags"))
        if drill:
            name = copy_name(key, fs_id)
            tags = {"Name": name, COPY_TAG: fs_id}
        else:
            name = source_tags.get("Name", fs_id)
            tags = {"Name": name, RECOVERED_TAG: fs_id}
        configuration = params.get("configuration")
        if configuration is None and kind in DERIVED:
            described = source.get(CONFIGURATIONS[kind]) or {}
            configuration = {k: described[k] for k in DERIVED[kind] if k in described}
        configuration = dict(configuration or {})
        multi_az = str(configuration.get("DeploymentType", "")).startswith("MULTI_AZ")
        subnets = list(params.get("subnetIds") or [])
        if not subnets:
            subnets = self._tagged_subnets(ctx, params["subnetTags"], 2 if multi_az else 1)
            if not subnets:
                item["result"] = {
                    "status": FAILED,
                    "error": f"no subnet in {ctx.region} is tagged "
                    + ", ".join(f"{k}={v}" for k, v in sorted(params["subnetTags"].items()))
                    + (" in two Availability Zones (a Multi-AZ deployment)" if multi_az else ""),
                }
                return
        if multi_az and kind in ("WINDOWS", "OPENZFS"):
            configuration.setdefault("PreferredSubnetId", subnets[0])
        kwargs: dict[str, Any] = {
            "BackupId": item["backupId"],
            "ClientRequestToken": token(key, fs_id, "restore"),
            "SubnetIds": subnets,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if params.get("securityGroupIds"):
            kwargs["SecurityGroupIds"] = list(params["securityGroupIds"])
        if params.get("storageType"):
            kwargs["StorageType"] = params["storageType"]
        if configuration:
            kwargs[CONFIGURATIONS[kind]] = configuration
        created = client.create_file_system_from_backup(**kwargs)["FileSystem"]
        item["fileSystemId"] = created["FileSystemId"]
        item["copyName"] = name

    def _check_restore(
        self, ctx: AccountContext, client: Any, fs_id: str, item: dict, state: Mapping
    ) -> None:
        base = {"backupId": item.get("backupId"), "backupTime": item.get("backupTime")}
        if "copyOf" in item:
            base["copiedFrom"] = item["copyOf"]
        if "fileSystemId" not in item:  # a copy in progress
            [copied] = client.describe_backups(BackupIds=[item["backupId"]])["Backups"]
            if copied["Lifecycle"] in ("COPYING", "CREATING", "PENDING", "TRANSFERRING"):
                item["live"] = {**base, "copyLifecycle": copied["Lifecycle"]}
                return
            if copied["Lifecycle"] != "AVAILABLE":
                message = (copied.get("FailureDetails") or {}).get("Message", "")
                item["result"] = {
                    "status": FAILED,
                    "error": f"the backup copy is {copied['Lifecycle']}"
                    + (f": {message}" if message else ""),
                    **base,
                }
                return
            self._create(ctx, client, fs_id, item, state["params"], state)
            if "result" in item:
                return
        described = self._file_system(client, item["fileSystemId"])
        made = "drillCopy" if state["drill"] else "recoveredFileSystemId"
        base[made] = item["fileSystemId"]
        if described is None:
            item["result"] = {
                "status": FAILED,
                "error": f"the restored file system {item['fileSystemId']} is gone",
                **base,
            }
            return
        lifecycle = described["Lifecycle"]
        if lifecycle in ("CREATING", "UPDATING"):
            item["live"] = {**base, "lifecycle": lifecycle}
        elif lifecycle == "AVAILABLE":
            item["result"] = {
                "status": SUCCEEDED,
                **base,
                "name": item["copyName"],
                "dnsName": described.get("DNSName", ""),
            }
        else:
            message = (described.get("FailureDetails") or {}).get("Message", "")
            item["result"] = {
                "status": FAILED,
                "error": f"the restored file system is {lifecycle}"
                + (f": {message}" if message else ""),
                **base,
            }

    # --- CLEANUP ------------------------------------------------------------------------------
    def _copies(self, client: Any, fs_id: str) -> list[dict[str, Any]]:
        pages = client.get_paginator("describe_file_systems").paginate()
        return [
            f
            for page in pages
            for f in page.get("FileSystems", [])
            if _tags(f.get("Tags")).get(COPY_TAG) == fs_id
            and _tags(f.get("Tags")).get("Name", "").startswith(DRILL_PREFIX)
        ]

    def _delete(self, client: Any, copy: Mapping[str, Any]) -> None:
        """Delete one drill copy (read just before as tagged and named one), no final backup."""
        kwargs: dict[str, Any] = {
            "FileSystemId": copy["FileSystemId"],
            "ClientRequestToken": f"{DRILL_PREFIX}{_digest(copy['FileSystemId'])[:32]}",
        }
        kind = copy.get("FileSystemType", "")
        if kind in CONFIGURATIONS:
            kwargs[CONFIGURATIONS[kind]] = {"SkipFinalBackup": True}
        client.delete_file_system(**kwargs)

    def _start_cleanup(self, ctx: AccountContext, client: Any, fs_id: str, item: dict) -> None:
        copies = self._copies(client, fs_id)
        for copy in copies:
            if copy["Lifecycle"] in ("AVAILABLE", "FAILED", "MISCONFIGURED"):
                self._delete(client, copy)
        item["copies"] = sorted(c["FileSystemId"] for c in copies)
        if not copies:
            item["result"] = {"status": SUCCEEDED, "deleted": [], "note": "no drill copies"}

    def _check_cleanup(self, ctx: AccountContext, client: Any, fs_id: str, item: dict) -> None:
        left = []
        for copy in self._copies(client, fs_id):
            if copy["FileSystemId"] not in item["copies"]:
                continue
            left.append(copy["FileSystemId"])
            if copy["Lifecycle"] in ("AVAILABLE", "FAILED", "MISCONFIGURED"):
                self._delete(client, copy)  # was still being created: delete it now
        if left:
            item["live"] = {"deleting": left}
        else:
            item["result"] = {"status": SUCCEEDED, "deleted": item["copies"]}
