"""EFS replication in the sandbox: moto 5.2 has EFS file systems, but no replication
configurations and no file system protection.

This extension adds to moto's own EFS service (rest-json, real request URIs and wire
shapes, checked against the botocore model by the interceptor):

* ``CreateReplicationConfiguration`` (``POST /2015-02-01/file-systems/{id}/replication-
  configuration``, in the source's region): one destination, in another region. With a
  ``FileSystemId`` the destination must exist there with replication overwrite
  protection ``DISABLED`` (else ``ValidationException``); without one, a new file
  system is created there. The destination is ``ENABLING`` for
  :attr:`EfsTimings.enable_seconds` (the first copy), then ``ENABLED``; meanwhile and
  after, its ``FileSystemProtection`` is ``REPLICATING`` (read-only).
* ``DescribeReplicationConfigurations`` (``GET .../file-systems/replication-
  configurations``): the configurations with a source or destination in the caller's
  region (one file system's, with ``FileSystemId``; ``ReplicationNotFound`` if it has
  none). An ``ENABLED`` destination's ``LastReplicatedTimestamp`` is
  :attr:`EfsTimings.lag_seconds` ago.
* ``DeleteReplicationConfiguration`` (``DELETE .../{SourceFileSystemId}/replication-
  configuration``), from the source's or the destination's region: the configuration is
  ``DELETING`` for :attr:`EfsTimings.delete_seconds`, then gone, and the destination is
  writable with its protection ``ENABLED`` again. ``deletionMode``
  ``LOCAL_CONFIGURATION_ONLY`` deletes it the same way (one configuration is modelled).
* ``UpdateFileSystemProtection`` (``PUT .../{id}/protection``): ``ENABLED``/``DISABLED``;
  ``ReplicationAlreadyExists`` for a file system that is a replication's destination.
* ``DescribeFileSystems`` answers ``FileSystemProtection``; ``DeleteFileSystem`` of a
  file system in a replication is refused (``FileSystemInUse``).

Faults (``sandbox.faults``): ``fail_efs_replication`` (the destination reports ``ERROR``
with a ``StatusMessage``), ``stick_efs_replication_deletion`` (a deleted configuration
stays ``DELETING``), ``lag_efs_replication`` (LastReplicatedTimestamp further behind).

Not simulated: file data (nothing is copied), cross-account replication, ``RoleArn``,
pausing, the 15-minute replication schedule (the lag is a constant).
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
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
class EfsTimings:
    """How long EFS replication work takes, in simulated seconds."""

    enable_seconds: float = 900.0  # the first copy to the destination
    delete_seconds: float = 300.0  # deleting a configuration, destination made writable
    lag_seconds: float = 120.0  # LastReplicatedTimestamp behind now when healthy


TIMINGS = EfsTimings()


class EfsError(JsonRESTError):
    """An EFS error with the ``ErrorCode`` member its model requires."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message)
        self.code = status
        self.description = json.dumps({"ErrorCode": code, "Message": message})


@dataclass
class Replication:
    account_id: str
    source_region: str
    source_id: str
    destination_region: str
    destination_id: str
    created: datetime
    original_source_arn: str
    enabled_from: datetime
    deleting_from: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def source_arn(self) -> str:
        return _arn(self.account_id, self.source_region, self.source_id)


_LOCK = threading.RLock()
_REPLICATIONS: dict[tuple[str, str], Replication] = {}  # (account, source id) -> configuration
_PROTECTION: dict[tuple[str, str, str], str] = {}  # (account, region, id) -> ENABLED/DISABLED
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _arn(account_id: str, region: str, file_system_id: str) -> str:
    return f"arn:aws:elasticfilesystem:{region}:{account_id}:file-system/{file_system_id}"


def _backend(account_id: str, region: str) -> Any:
    from moto.efs.models import efs_backends

    return efs_backends[account_id][region]


def _file_system(account_id: str, region: str, file_system_id: str) -> Any:
    found = _backend(account_id, region).file_systems_by_id.get(file_system_id)
    if found is None:
        raise EfsError("FileSystemNotFound", f"File system '{file_system_id}' does not exist.", 404)
    return found


def _bare_id(value: str) -> str:
    return value.rsplit("/", 1)[-1]


def _fault(kind: str, replication: Replication) -> Any:
    return STATE.faults.storage_fault_for(
        kind,
        replication.account_id,
        replication.destination_region,
        (replication.source_id, replication.destination_id),
    )


def _settle(now: datetime) -> None:
    """Finish the deletions that are due (a stuck one waits until its fault is cleared)."""
    for key, replication in list(_REPLICATIONS.items()):
        started = replication.deleting_from
        if started is None or now < started + timedelta(seconds=TIMINGS.delete_seconds):
            continue
        if _fault("efs-stuck-delete", replication) is not None:
            continue
        del _REPLICATIONS[key]
        _PROTECTION[
            (replication.account_id, replication.destination_region, replication.destination_id)
        ] = "ENABLED"


def replication_of(account_id: str, region: str, file_system_id: str) -> Replication | None:
    """The configuration ``file_system_id`` (in ``region``) is the source or destination of."""
    with _LOCK:
        _settle(_now())
        for replication in _REPLICATIONS.values():
            if replication.account_id != account_id:
                continue
            if (replication.source_region, replication.source_id) == (region, file_system_id):
                return replication
            if (replication.destination_region, replication.destination_id) == (
                region,
                file_system_id,
            ):
                return replication
    return None


def protection(account_id: str, region: str, file_system_id: str) -> str:
    replication = replication_of(account_id, region, file_system_id)
    if replication is not None and (
        replication.destination_region,
        replication.destination_id,
    ) == (region, file_system_id):
        return "REPLICATING"
    return _PROTECTION.get((account_id, region, file_system_id), "ENABLED")


def describe(replication: Replication, now: datetime) -> dict[str, Any]:
    """A ReplicationConfigurationDescription."""
    destination: dict[str, Any] = {
        "FileSystemId": replication.destination_id,
        "Region": replication.destination_region,
        "OwnerId": replication.account_id,
    }
    error = _fault("efs-error", replication)
    if replication.deleting_from is not None:
        destination["Status"] = "DELETING"
    elif error is not None:
        destination["Status"] = "ERROR"
        destination["StatusMessage"] = error.message
    elif now < replication.enabled_from:
        destination["Status"] = "ENABLING"
    else:
        destination["Status"] = "ENABLED"
    if now >= replication.enabled_from:
        lag = _fault("efs-lag", replication)
        behind = lag.seconds if lag is not None else TIMINGS.lag_seconds
        last = max(replication.enabled_from, now - timedelta(seconds=behind))
        destination["LastReplicatedTimestamp"] = last.timestamp()
    return {
        "SourceFileSystemId": replication.source_id,
        "SourceFileSystemRegion": replication.source_region,
        "SourceFileSystemArn": replication.source_arn(),
        "OriginalSourceFileSystemArn": replication.original_source_arn,
        "CreationTime": replication.created.timestamp(),
        "Destinations": [destination],
        "SourceFileSystemOwnerId": replication.account_id,
    }


def _json(body: dict[str, Any] | None, status: int = 200) -> tuple[str, dict[str, Any]]:
    return json.dumps(body) if body is not None else "", {
        "status": status,
        "Content-Type": "application/json",
    }


# --- the wire: methods added to moto's EFS responses --------------------------------------
def create_replication_configuration(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    source_id = _bare_id(self._get_param("SourceFileSystemId"))
    destinations = self._get_param("Destinations") or []
    with _LOCK:
        _file_system(account_id, region, source_id)
        if len(destinations) != 1:
            raise EfsError("ValidationException", "Exactly one destination is allowed.", 400)
        if replication_of(account_id, region, source_id) is not None:
            raise EfsError(
                "ValidationException",
                f"File system {source_id} is already part of a replication configuration.",
                400,
            )
        wanted = destinations[0]
        target_region = wanted.get("Region") or region
        target_id = wanted.get("FileSystemId")
        now = _now()
        if target_id:
            target_id = _bare_id(target_id)
            _file_system(account_id, target_region, target_id)
            if replication_of(account_id, target_region, target_id) is not None:
                raise EfsError(
                    "ValidationException",
                    f"File system {target_id} is already part of a replication configuration.",
                    400,
                )
            if _PROTECTION.get((account_id, target_region, target_id), "ENABLED") != "DISABLED":
                raise EfsError(
                    "ValidationException",
                    f"Replication overwrite protection must be disabled on destination file "
                    f"system {target_id}.",
                    400,
                )
        else:
            source = _file_system(account_id, region, source_id)
            created = _backend(account_id, target_region).create_file_system(
                creation_token=str(uuid.uuid4()),
                performance_mode=source.performance_mode,
                encrypted=True,
                kms_key_id=wanted.get("KmsKeyId"),
                throughput_mode=source.throughput_mode,
                provisioned_throughput_in_mibps=source.provisioned_throughput_in_mibps,
                availability_zone_name=wanted.get("AvailabilityZoneName"),
                backup=False,
                tags=[],
            )
            target_id = created.file_system_id
        original = replication_of_original(account_id, region, source_id)
        replication = Replication(
            account_id=account_id,
            source_region=region,
            source_id=source_id,
            destination_region=target_region,
            destination_id=target_id,
            created=now,
            original_source_arn=original or _arn(account_id, region, source_id),
            enabled_from=now + timedelta(seconds=TIMINGS.enable_seconds),
        )
        _REPLICATIONS[(account_id, source_id)] = replication
        return _json(describe(replication, now))


_ORIGINS: dict[tuple[str, str, str], str] = {}  # a failed-over destination -> original source


def replication_of_original(account_id: str, region: str, file_system_id: str) -> str | None:
    return _ORIGINS.get((account_id, region, file_system_id))


def describe_replication_configurations(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    wanted = self._get_param("FileSystemId")
    now = _now()
    with _LOCK:
        _settle(now)
        if wanted:
            wanted = _bare_id(wanted)
            _file_system(account_id, region, wanted)
            found = replication_of(account_id, region, wanted)
            if found is None:
                raise EfsError(
                    "ReplicationNotFound",
                    f"No replication configuration found for file system {wanted}.",
                    404,
                )
            chosen = [found]
        else:
            chosen = [
                r
                for r in _REPLICATIONS.values()
                if r.account_id == account_id and region in (r.source_region, r.destination_region)
            ]
        return _json({"Replications": [describe(r, now) for r in chosen]})


def delete_replication_configuration(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    source_id = _bare_id(self._get_param("SourceFileSystemId"))
    mode = self.querystring.get("deletionMode", ["ALL_CONFIGURATIONS"])[0]
    with _LOCK:
        _settle(_now())
        replication = _REPLICATIONS.get((account_id, source_id))
        if replication is None or region not in (
            replication.source_region,
            replication.destination_region,
        ):
            raise EfsError(
                "ReplicationNotFound",
                f"No replication configuration found for file system {source_id}.",
                404,
            )
        if mode == "LOCAL_CONFIGURATION_ONLY" and (
            replication.source_region == replication.destination_region
        ):
            raise EfsError(
                "BadRequest",
                "LOCAL_CONFIGURATION_ONLY is not supported for same-Region replication.",
                400,
            )
        if replication.deleting_from is None:
            replication.deleting_from = _now()
            _ORIGINS[(account_id, replication.destination_region, replication.destination_id)] = (
                replication.original_source_arn
            )
        return _json(None, 204)


def update_file_system_protection(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    file_system_id = _bare_id(self._get_param("FileSystemId"))
    value = self._get_param("ReplicationOverwriteProtection")
    with _LOCK:
        _file_system(account_id, region, file_system_id)
        if protection(account_id, region, file_system_id) == "REPLICATING":
            raise EfsError(
                "ReplicationAlreadyExists",
                f"File system {file_system_id} is the destination of a replication.",
                409,
            )
        if value not in ("ENABLED", "DISABLED"):
            raise EfsError("BadRequest", f"Invalid ReplicationOverwriteProtection {value}.", 400)
        _PROTECTION[(account_id, region, file_system_id)] = value
        return _json({"ReplicationOverwriteProtection": value})


def describe_file_systems(self: Any) -> Any:
    wanted = self._get_param("FileSystemId")
    if wanted:
        _file_system(self.current_account, self.region, _bare_id(wanted))
    return _ORIGINAL["describe_file_systems"](self)


def delete_file_system(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    file_system_id = _bare_id(self._get_param("FileSystemId"))
    with _LOCK:
        _file_system(account_id, region, file_system_id)
        if replication_of(account_id, region, file_system_id) is not None:
            raise EfsError(
                "FileSystemInUse",
                f"File system {file_system_id} is part of a replication configuration: "
                "delete the configuration first.",
                409,
            )
        answer = _ORIGINAL["delete_file_system"](self)
        _PROTECTION.pop((account_id, region, file_system_id), None)
        return answer


def info_json(self: Any) -> dict[str, Any]:
    """moto's FileSystem.info_json with the sandbox's FileSystemProtection."""
    members = _description_members()
    body = {k: v for k, v in _ORIGINAL["info_json"](self).items() if k in members and v is not None}
    region = self.file_system_arn.split(":")[3]
    body["FileSystemProtection"] = {
        "ReplicationOverwriteProtection": protection(self.owner_id, region, self.file_system_id)
    }
    return body


@functools.cache
def _description_members() -> frozenset[str]:
    """What a FileSystemDescription may hold (moto adds members AWS does not send)."""
    from drorch.sandbox.botocore_models import service_model

    return frozenset(service_model("efs").shape_for("FileSystemDescription").members)


def as_if_long_ago(account_id: str, source_id: str) -> None:
    """Make a seeded replication look created an hour ago: ENABLED. Scenario seeds describe
    a steady state."""
    with _LOCK:
        replication = _REPLICATIONS.get((account_id, source_id))
        if replication is not None:
            ago = _now() - timedelta(hours=1)
            replication.created = min(replication.created, ago)
            replication.enabled_from = min(replication.enabled_from, ago)


OPERATIONS = {
    "CreateReplicationConfiguration": create_replication_configuration,
    "DescribeReplicationConfigurations": describe_replication_configurations,
    "DeleteReplicationConfiguration": delete_replication_configuration,
    "UpdateFileSystemProtection": update_file_system_protection,
    "DescribeFileSystems": describe_file_systems,
    "DeleteFileSystem": delete_file_system,
}


def install() -> None:
    from moto.core.utils import camelcase_to_underscores
    from moto.efs.models import FileSystem
    from moto.efs.responses import EFSResponse

    _ORIGINAL["info_json"] = FileSystem.info_json
    FileSystem.info_json = info_json  # type: ignore[method-assign]
    for operation, method in OPERATIONS.items():
        name = camelcase_to_underscores(operation)
        if hasattr(EFSResponse, name):
            _ORIGINAL[name] = getattr(EFSResponse, name)
        setattr(EFSResponse, name, method)


def _clear() -> None:
    with _LOCK:
        _REPLICATIONS.clear()
        _PROTECTION.clear()
        _ORIGINS.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"efs": tuple(OPERATIONS)},
    start=start,
)
