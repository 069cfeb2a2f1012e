"""FSx backups and restores in the sandbox: moto 5.2 has FSx file systems and backups, but
no lifecycles (a backup stays CREATING, a file system has none), no CopyBackup and no
CreateFileSystemFromBackup, and answers members AWS never sends.

This extension answers, in moto's own FSx service (JSON 1.1, real wire shapes checked
against the botocore model by the interceptor):

* ``CreateBackup``: a ``USER_INITIATED`` backup, ``CREATING`` for
  :attr:`FsxTimings.backup_seconds`, then ``AVAILABLE``; it describes the file system as
  it was (``FileSystem``).
* ``CopyBackup`` (in the destination region, ``SourceRegion`` the source's): the source
  backup must be ``AVAILABLE`` (else ``BadRequest``; ``BackupNotFound`` when there is
  none); the copy is ``COPYING`` for :attr:`FsxTimings.copy_seconds`, then
  ``AVAILABLE``, with ``SourceBackupId``/``SourceBackupRegion``, the source's tags with
  ``CopyTags``. A repeated ``ClientRequestToken`` answers the first copy.
* ``CreateFileSystemFromBackup``: the backup must be ``AVAILABLE`` in the caller's region;
  the new file system (type, capacity and storage type of the backed-up one) is
  ``CREATING`` for :attr:`FsxTimings.restore_seconds`, then ``AVAILABLE`` — or ``FAILED``
  with ``FailureDetails`` under ``sandbox.faults.fail_fsx_restore``. A repeated
  ``ClientRequestToken`` answers the first file system.
* ``DescribeBackups`` (filters ``file-system-id``, ``backup-type``, ``file-system-type``)
  and ``DescribeFileSystems``: the lifecycles above, only members the model has.
* ``DeleteFileSystem``: ``DELETING`` for :attr:`FsxTimings.delete_seconds`, then gone;
  a final backup is taken unless ``SkipFinalBackup``; a ``CREATING`` file system is
  refused (``BadRequest``).

Not simulated: data, networking (subnets are not checked), ONTAP volumes, KMS, file
systems made with ``CreateFileSystem`` take no time (they are ``AVAILABLE`` at once).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class FsxTimings:
    """How long FSx work takes, in simulated seconds."""

    backup_seconds: float = 600.0
    copy_seconds: float = 1200.0
    restore_seconds: float = 1800.0
    delete_seconds: float = 600.0


TIMINGS = FsxTimings()


@dataclass
class BackupInfo:
    ready: datetime
    created: datetime
    file_system: dict[str, Any]
    kind: str = "USER_INITIATED"
    source: tuple[str, str] | None = None  # (backup id, region) of a copy's source
    copying: bool = False


@dataclass
class FileSystemInfo:
    created: datetime
    ready: datetime
    failure: str | None = None
    deleting: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_LOCK = threading.RLock()
_BACKUPS: dict[tuple[str, str, str], BackupInfo] = {}  # (account, region, backup id)
_FILE_SYSTEMS: dict[tuple[str, str, str], FileSystemInfo] = {}  # (account, region, fs id)
_TOKENS: dict[tuple[str, str, str, str], str] = {}  # (account, region, operation, token) -> id
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _error(code: str, message: str, **members: Any) -> JsonRESTError:
    error = JsonRESTError(code, message)
    error.description = json.dumps({"__type": code, "message": message, **members})
    return error


def _backend(account_id: str, region: str) -> Any:
    from moto.fsx.models import fsx_backends

    return fsx_backends[account_id][region]


@functools.cache
def _shape(name: str) -> Any:
    from drorch.sandbox.botocore_models import service_model

    return service_model("fsx").shape_for(name)


def fit(shape: Any, value: Any) -> Any:
    """``value`` with only what ``shape`` allows: members it has, no nulls, no empty lists."""
    if shape.type_name == "structure" and isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if key not in shape.members or item is None:
                continue
            fitted = fit(shape.members[key], item)
            if fitted is None or fitted == [] or fitted == {}:
                continue
            kept[key] = fitted
        return kept
    if shape.type_name == "list" and isinstance(value, list):
        return [fit(shape.member, item) for item in value]
    return value


# --- what a file system and a backup look like ----------------------------------------------
def _settle(account_id: str, region: str) -> None:
    """Remove the file systems whose deletion is over."""
    now = _now()
    backend = _backend(account_id, region)
    for (account, where, fs_id), info in list(_FILE_SYSTEMS.items()):
        if (account, where) != (account_id, region) or info.deleting is None:
            continue
        if now >= info.deleting + timedelta(seconds=TIMINGS.delete_seconds):
            backend.file_systems.pop(fs_id, None)
            del _FILE_SYSTEMS[(account, where, fs_id)]


def _fs_info(account_id: str, region: str, fs_id: str) -> FileSystemInfo:
    key = (account_id, region, fs_id)
    if key not in _FILE_SYSTEMS:  # made by moto's CreateFileSystem: available at once
        _FILE_SYSTEMS[key] = FileSystemInfo(created=_now(), ready=_now())
    return _FILE_SYSTEMS[key]


def describe_file_system(account_id: str, region: str, file_system: Any) -> dict[str, Any]:
    info = _fs_info(account_id, region, file_system.file_system_id)
    now = _now()
    body = file_system.to_dict()
    body.update(OwnerId=account_id, CreationTime=info.created.timestamp())
    if info.deleting is not None:
        body["Lifecycle"] = "DELETING"
    elif now < info.ready:
        body["Lifecycle"] = "CREATING"
    elif info.failure:
        body["Lifecycle"] = "FAILED"
        body["FailureDetails"] = {"Message": info.failure}
    else:
        body["Lifecycle"] = "AVAILABLE"
    for key, shape in (
        ("WindowsConfiguration", "WindowsFileSystemConfiguration"),
        ("LustreConfiguration", "LustreFileSystemConfiguration"),
        ("OpenZFSConfiguration", "OpenZFSFileSystemConfiguration"),
    ):
        if key in body:
            body[key] = fit(_shape(shape), body[key])
    return fit(_shape("FileSystem"), body)


def describe_backup(account_id: str, region: str, backup: Any) -> dict[str, Any]:
    info = _BACKUPS[(account_id, region, backup.backup_id)]
    now = _now()
    if now >= info.ready:
        lifecycle = "AVAILABLE"
    else:
        lifecycle = "COPYING" if info.copying else "CREATING"
    body: dict[str, Any] = {
        "BackupId": backup.backup_id,
        "Lifecycle": lifecycle,
        "Type": info.kind,
        "CreationTime": info.created.timestamp(),
        "ResourceARN": backup.resource_arn,
        "Tags": _backend(account_id, region).list_tags_for_resource(backup.resource_arn),
        "FileSystem": info.file_system,
        "OwnerId": account_id,
        "ResourceType": "FILE_SYSTEM",
    }
    if lifecycle != "AVAILABLE":
        total = TIMINGS.copy_seconds if info.copying else TIMINGS.backup_seconds
        left = (info.ready - now).total_seconds()
        body["ProgressPercent"] = max(0, min(99, int(100 * (1 - left / total))))
    if info.source is not None:
        body["SourceBackupId"], body["SourceBackupRegion"] = info.source
    return fit(_shape("Backup"), body)


def _new_backup(
    account_id: str,
    region: str,
    file_system: dict[str, Any],
    seconds: float,
    tags: list[dict[str, str]] | None,
    token: str | None,
) -> Any:
    from moto.fsx.models import Backup

    backend = _backend(account_id, region)
    backup = Backup(
        account_id=account_id,
        region_name=region,
        file_system_id=file_system["FileSystemId"],
        client_request_token=token,
        volume_id=None,
        tags=tags or None,
        backend=backend,
    )
    backend.backups[backup.backup_id] = backup
    now = _now()
    _BACKUPS[(account_id, region, backup.backup_id)] = BackupInfo(
        ready=now + timedelta(seconds=seconds), created=now, file_system=file_system
    )
    return backup


def _body(self: Any) -> dict[str, Any]:
    return json.loads(self.body or "{}")


def _repeated(account_id: str, region: str, operation: str, token: str | None) -> str | None:
    return _TOKENS.get((account_id, region, operation, token)) if token else None


# --- the wire: methods wrapped on moto's FSx responses ----------------------------------------
def create_backup(self: Any) -> str:
    account_id, region, params = self.current_account, self.region, _body(self)
    with _LOCK:
        _settle(account_id, region)
        file_system = _backend(account_id, region).file_systems.get(params.get("FileSystemId"))
        if file_system is None:
            raise _error(
                "FileSystemNotFound", f"File system {params.get('FileSystemId')} not found"
            )
        described = describe_file_system(account_id, region, file_system)
        if described["Lifecycle"] != "AVAILABLE":
            raise _error("BadRequest", f"File system is {described['Lifecycle']}, not AVAILABLE")
        backup = _new_backup(
            account_id,
            region,
            described,
            TIMINGS.backup_seconds,
            params.get("Tags"),
            params.get("ClientRequestToken"),
        )
        return json.dumps({"Backup": describe_backup(account_id, region, backup)})


def copy_backup(self: Any) -> str:
    account_id, region, params = self.current_account, self.region, _body(self)
    token = params.get("ClientRequestToken")
    source_region = params.get("SourceRegion") or region
    source_id = params.get("SourceBackupId")
    with _LOCK:
        earlier = _repeated(account_id, region, "CopyBackup", token)
        if earlier is not None:
            backup = _backend(account_id, region).backups[earlier]
            return json.dumps({"Backup": describe_backup(account_id, region, backup)})
        source = _backend(account_id, source_region).backups.get(source_id)
        if source is None:
            raise _error("BackupNotFound", f"Backup {source_id} not found in {source_region}")
        described = describe_backup(account_id, source_region, source)
        if described["Lifecycle"] != "AVAILABLE":
            raise _error(
                "SourceBackupUnavailable",
                f"Source backup {source_id} is {described['Lifecycle']}",
                BackupId=source_id,
            )
        tags = list(params.get("Tags") or [])
        if params.get("CopyTags"):
            keys = {t["Key"] for t in tags}
            tags += [t for t in described.get("Tags", []) if t["Key"] not in keys]
        copy = _new_backup(
            account_id, region, described["FileSystem"], TIMINGS.copy_seconds, tags, token
        )
        info = _BACKUPS[(account_id, region, copy.backup_id)]
        info.copying, info.source = True, (source_id, source_region)
        if token:
            _TOKENS[(account_id, region, "CopyBackup", token)] = copy.backup_id
        return json.dumps({"Backup": describe_backup(account_id, region, copy)})


_CONFIGURATIONS = {
    "WINDOWS": "WindowsConfiguration",
    "LUSTRE": "LustreConfiguration",
    "OPENZFS": "OpenZFSConfiguration",
}


def create_file_system_from_backup(self: Any) -> str:
    account_id, region, params = self.current_account, self.region, _body(self)
    token = params.get("ClientRequestToken")
    backup_id = params.get("BackupId")
    with _LOCK:
        backend = _backend(account_id, region)
        earlier = _repeated(account_id, region, "CreateFileSystemFromBackup", token)
        if earlier is not None:
            file_system = backend.file_systems[earlier]
            return json.dumps({"FileSystem": describe_file_system(account_id, region, file_system)})
        backup = backend.backups.get(backup_id)
        if backup is None:
            raise _error("BackupNotFound", f"Backup {backup_id} not found")
        described = describe_backup(account_id, region, backup)
        if described["Lifecycle"] != "AVAILABLE":
            raise _error("BadRequest", f"Backup {backup_id} is {described['Lifecycle']}")
        source = described["FileSystem"]
        kind = source.get("FileSystemType", "LUSTRE")
        if kind not in _CONFIGURATIONS:
            raise _error("BadRequest", f"A {kind} file system cannot be created from a backup")
        configuration = params.get(_CONFIGURATIONS[kind]) or source.get(_CONFIGURATIONS[kind])
        file_system = backend.create_file_system(
            client_request_token=token,
            file_system_type=kind,
            storage_capacity=params.get("StorageCapacity") or source.get("StorageCapacity"),
            storage_type=params.get("StorageType") or source.get("StorageType", "SSD"),
            subnet_ids=params.get("SubnetIds"),
            security_group_ids=params.get("SecurityGroupIds"),
            tags=params.get("Tags"),
            kms_key_id=params.get("KmsKeyId"),
            windows_configuration=configuration if kind == "WINDOWS" else None,
            lustre_configuration=configuration if kind == "LUSTRE" else None,
            ontap_configuration=None,
            file_system_type_version=params.get("FileSystemTypeVersion"),
            open_zfs_configuration=configuration if kind == "OPENZFS" else None,
        )
        now = _now()
        fault = STATE.faults.storage_fault_for(
            "fsx-restore", account_id, region, (backup_id,), consume=True
        )
        _FILE_SYSTEMS[(account_id, region, file_system.file_system_id)] = FileSystemInfo(
            created=now,
            ready=now + timedelta(seconds=TIMINGS.restore_seconds),
            failure=fault.message if fault is not None else None,
        )
        if token:
            _TOKENS[(account_id, region, "CreateFileSystemFromBackup", token)] = (
                file_system.file_system_id
            )
        return json.dumps({"FileSystem": describe_file_system(account_id, region, file_system)})


def describe_file_systems(self: Any) -> str:
    account_id, region, params = self.current_account, self.region, _body(self)
    wanted = params.get("FileSystemIds") or []
    with _LOCK:
        _settle(account_id, region)
        backend = _backend(account_id, region)
        missing = [i for i in wanted if i not in backend.file_systems]
        if missing:
            raise _error("FileSystemNotFound", f"File system {missing[0]} not found")
        chosen = [backend.file_systems[i] for i in wanted] or list(backend.file_systems.values())
        return json.dumps(
            {"FileSystems": [describe_file_system(account_id, region, f) for f in chosen]}
        )


_FILTERS = {
    "file-system-id": lambda d: d["FileSystem"].get("FileSystemId"),
    "backup-type": lambda d: d["Type"],
    "file-system-type": lambda d: d["FileSystem"].get("FileSystemType"),
}


def describe_backups(self: Any) -> str:
    account_id, region, params = self.current_account, self.region, _body(self)
    wanted = params.get("BackupIds") or []
    with _LOCK:
        backend = _backend(account_id, region)
        missing = [i for i in wanted if i not in backend.backups]
        if missing:
            raise _error("BackupNotFound", f"Backup {missing[0]} not found")
        chosen = [backend.backups[i] for i in wanted] or list(backend.backups.values())
        described = [describe_backup(account_id, region, b) for b in chosen]
        for item in params.get("Filters") or []:
            read = _FILTERS.get(item.get("Name"))
            if read is not None:
                described = [d for d in described if read(d) in item.get("Values", [])]
        return json.dumps({"Backups": described})


def delete_file_system(self: Any) -> str:
    account_id, region, params = self.current_account, self.region, _body(self)
    fs_id = params.get("FileSystemId")
    with _LOCK:
        _settle(account_id, region)
        file_system = _backend(account_id, region).file_systems.get(fs_id)
        if file_system is None:
            raise _error("FileSystemNotFound", f"File system {fs_id} not found")
        described = describe_file_system(account_id, region, file_system)
        info = _fs_info(account_id, region, fs_id)
        answer: dict[str, Any] = {"FileSystemId": fs_id, "Lifecycle": "DELETING"}
        if described["Lifecycle"] == "CREATING":
            raise _error("BadRequest", f"File system {fs_id} is CREATING: it cannot be deleted")
        if info.deleting is None:
            kind = described.get("FileSystemType", "")
            options = params.get(_CONFIGURATIONS.get(kind, ""), {}) or {}
            if kind in _CONFIGURATIONS and not options.get("SkipFinalBackup"):
                final = _new_backup(
                    account_id, region, described, 0, options.get("FinalBackupTags"), None
                )
                _BACKUPS[(account_id, region, final.backup_id)].kind = "USER_INITIATED"
                response = {"FinalBackupId": final.backup_id}
                if options.get("FinalBackupTags"):
                    response["FinalBackupTags"] = options["FinalBackupTags"]
                name = {"OPENZFS": "OpenZFSResponse"}.get(kind, f"{kind.title()}Response")
                answer[name] = response
            info.deleting = _now()
        return json.dumps(answer)


def as_if_long_ago(account_id: str, region: str, *ids: str) -> None:
    """Make seeded file systems and backups (by id) look made an hour ago: AVAILABLE."""
    ago = _now() - timedelta(hours=1)
    with _LOCK:
        for made in ids:
            if made in _backend(account_id, region).file_systems:
                _fs_info(account_id, region, made)
        for key, info in _BACKUPS.items():
            if key[:2] == (account_id, region) and key[2] in ids:
                info.ready = min(info.ready, ago)
                info.created = min(info.created, ago)
        for key, fs in _FILE_SYSTEMS.items():
            if key[:2] == (account_id, region) and key[2] in ids:
                fs.ready = min(fs.ready, ago)
                fs.created = min(fs.created, ago)


OPERATIONS = {
    "CreateBackup": create_backup,
    "CopyBackup": copy_backup,
    "CreateFileSystemFromBackup": create_file_system_from_backup,
    "DescribeFileSystems": describe_file_systems,
    "DescribeBackups": describe_backups,
    "DeleteFileSystem": delete_file_system,
}


def install() -> None:
    from moto.core.utils import camelcase_to_underscores
    from moto.fsx.responses import FSxResponse

    for operation, method in OPERATIONS.items():
        name = camelcase_to_underscores(operation)
        if hasattr(FSxResponse, name):
            _ORIGINAL[name] = getattr(FSxResponse, name)
        setattr(FSxResponse, name, method)


def _clear() -> None:
    with _LOCK:
        _BACKUPS.clear()
        _FILE_SYSTEMS.clear()
        _TOKENS.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"fsx": tuple(OPERATIONS)},
    start=start,
)
