"""The DRS backend: per account and region state, jobs on the simulated clock.

Work that takes time in DRS (a launch job, a terminate job, replication set-up)
is planned as timed :class:`~drorch.sandbox.drs.resources.Step` s when it starts
and carried out lazily: every request first calls :meth:`DrsBackend.settle`,
which applies, in time order, every step whose moment has passed on
``STATE.clock``. Nothing runs in the background and nothing sleeps.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.utilities.utils import get_partition

from drorch.sandbox.drs import ec2, snapshots
from drorch.sandbox.drs import events as drs_events
from drorch.sandbox.drs.exceptions import (
    QUOTA_CONCURRENT_JOBS,
    QUOTA_REPLICATING_SOURCE_SERVERS,
    QUOTA_SERVERS_IN_ACTIVE_JOBS,
    QUOTA_SERVERS_PER_JOB,
    QUOTA_SOURCE_SERVERS,
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    UninitializedAccountException,
    ValidationException,
)
from drorch.sandbox.drs.recovery_plans import RecoveryPlans
from drorch.sandbox.drs.resources import (
    FLOWING,
    FailbackConfiguration,
    Job,
    LastLaunch,
    Participant,
    RecoveryInstance,
    SourceServer,
    Step,
)
from drorch.sandbox.drs.source_networks import SourceNetworks
from drorch.sandbox.drs.util import iso, new_id, parse_iso, stable_id
from drorch.sandbox.drs.validation import field_error
from drorch.sandbox.state import STATE

GIB = 1024**3
DATA_REPLICATION_STATES = {
    "STOPPED",
    "INITIATING",
    "INITIAL_SYNC",
    "BACKLOG",
    "CREATING_SNAPSHOT",
    "CONTINUOUS",
    "PAUSED",
    "RESCAN",
    "STALLED",
    "DISCONNECTED",
}
# States of a source server that does not count as replicating (for the quota)
NOT_REPLICATING = {"STOPPED", "DISCONNECTED"}
# Seeded servers that are already replicating have this much history (the
# longest retention of DRS's default point-in-time policy).
DEFAULT_HISTORY = timedelta(days=7)

REPLICATION_DEFAULTS: dict[str, Any] = {
    "associateDefaultSecurityGroup": True,
    "replicationServersSecurityGroupsIDs": [],
    "replicationServerInstanceType": "t3.small",
    "useDedicatedReplicationServer": False,
    "defaultLargeStagingDiskType": "GP3",
    "ebsEncryption": "DEFAULT",
    "bandwidthThrottling": 0,
    "dataPlaneRouting": "PRIVATE_IP",
    "createPublicIP": False,
    "stagingAreaTags": {},
    "pitPolicy": snapshots.DEFAULT_PIT_POLICY,
    "autoReplicateNewDisks": True,
    "internetProtocol": "IPV4",
}
REPLICATION_FIELDS = [
    "stagingAreaSubnetId",
    *REPLICATION_DEFAULTS,
    "ebsEncryptionKeyArn",
]
LAUNCH_DEFAULTS: dict[str, Any] = {
    "launchDisposition": "STARTED",
    "targetInstanceTypeRightSizingMethod": "BASIC",
    "copyPrivateIp": False,
    "copyTags": False,
    "licensing": {"osByol": False},
    "postLaunchEnabled": False,
    "launchIntoSourceInstance": False,
}
# recoveryMode (FAST or OPTIMAL) has no documented default: it is kept when set and
# left out of the answers until then, as DRS does for optional members.
LAUNCH_OPTIONAL_FIELDS = ["recoveryMode"]
LAUNCH_TEMPLATE_FIELDS = [*LAUNCH_DEFAULTS, "exportBucketArn", *LAUNCH_OPTIONAL_FIELDS]
LAUNCH_CONFIGURATION_FIELDS = [
    "launchDisposition",
    "targetInstanceTypeRightSizingMethod",
    "copyPrivateIp",
    "copyTags",
    "licensing",
    "postLaunchEnabled",
]


@dataclass(frozen=True)
class _TemplateKind:
    """What tells replication and launch configuration templates apart."""

    title: str  # for messages: "<title> <id> not found"
    resource_type: str  # of ResourceNotFoundException
    arn_kind: str  # the resource part of the ARN
    id_prefix: str
    id_field: str
    defaults: dict[str, Any]
    fields: list[str]  # what a create or update request may set


REPLICATION_TEMPLATE = _TemplateKind(
    title="Replication configuration template",
    resource_type="REPLICATION_CONFIGURATION_TEMPLATE",
    arn_kind="replication-configuration-template",
    id_prefix="rct-",
    id_field="replicationConfigurationTemplateID",
    defaults=REPLICATION_DEFAULTS,
    fields=REPLICATION_FIELDS,
)
LAUNCH_TEMPLATE = _TemplateKind(
    title="Launch configuration template",
    resource_type="LAUNCH_CONFIGURATION_TEMPLATE",
    arn_kind="launch-configuration-template",
    id_prefix="lct-",
    id_field="launchConfigurationTemplateID",
    defaults=LAUNCH_DEFAULTS,
    fields=LAUNCH_TEMPLATE_FIELDS,
)

# One lock for every DRS backend: a request may touch two regions (reverse replication).
LOCK = threading.RLock()
_SEQUENCE = itertools.count()


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class DrsBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.initialized = False
        self.source_servers: dict[str, SourceServer] = {}
        self.jobs: dict[str, Job] = {}
        self.recovery_instances: dict[str, RecoveryInstance] = {}
        self.replication_templates: dict[str, dict[str, Any]] = {}
        self.launch_templates: dict[str, dict[str, Any]] = {}
        self.recovery_plans = RecoveryPlans(self)
        self.source_networks = SourceNetworks(self)
        # post-launch actions per resource (a source server or launch template), by id
        self.launch_actions: dict[str, dict[str, dict[str, Any]]] = {}

    # --- basics -------------------------------------------------------------
    def now(self) -> datetime:
        return STATE.clock.now()

    def arn(self, kind: str, resource_id: str) -> str:
        partition = get_partition(self.region_name)
        return f"arn:{partition}:drs:{self.region_name}:{self.account_id}:{kind}/{resource_id}"

    def _slowdown(self) -> float:
        return STATE.faults.slowdown_for(self.account_id, self.region_name)

    def _initial_sync_end(self, start: datetime) -> datetime:
        """When replication set up at ``start`` has finished its initial sync."""
        timings = STATE.drs_timings
        seconds = timings.replication_initiating_seconds + timings.initial_sync_seconds
        return start + timedelta(seconds=seconds * self._slowdown())

    def _start_initial_sync(self, server: SourceServer, now: datetime) -> None:
        server.sync_started = now
        server.sync_done = self._initial_sync_end(now)
        server.windows.append(snapshots.ReplicationWindow(server.sync_done))

    def _replicating_count(self, now: datetime) -> int:
        return sum(
            1
            for server in self.source_servers.values()
            if server.state_at(now) not in NOT_REPLICATING
        )

    def _check_replicating_quota(self) -> None:
        """The quota of replicating source servers per account (and Region, where DRS runs):
        installing the agent on one server more fails."""
        quota = STATE.drs_quotas.max_replicating_source_servers
        if self._replicating_count(self.now()) >= quota:
            raise ServiceQuotaExceededException(
                f"This account already replicates {quota} source servers in {self.region_name}",
                quota_code=QUOTA_REPLICATING_SOURCE_SERVERS,
                resource_type="SOURCE_SERVER",
            )

    def require_initialized(self) -> None:
        if not self.initialized:
            raise UninitializedAccountException()

    def initialize_service(self) -> None:
        self.initialized = True

    def _server(self, source_server_id: str) -> SourceServer:
        server = self.source_servers.get(source_server_id)
        if server is None:
            raise ResourceNotFoundException(
                f"Source server {source_server_id} not found",
                resource_id=source_server_id,
                resource_type="SOURCE_SERVER",
            )
        return server

    def _recovery_instance(self, recovery_instance_id: str) -> RecoveryInstance:
        instance = self.recovery_instances.get(recovery_instance_id)
        if instance is None:
            raise ResourceNotFoundException(
                f"Recovery instance {recovery_instance_id} not found",
                resource_id=recovery_instance_id,
                resource_type="RECOVERY_INSTANCE",
            )
        return instance

    # --- the clock ------------------------------------------------------------
    def settle(self) -> None:
        """Carry out every job step whose moment has come, in time order."""
        now = self.now()
        due: list[tuple[Step, Job]] = []
        for job in self.jobs.values():
            count = 0
            for step in job.steps:
                if step.at > now:
                    break
                due.append((step, job))
                count += 1
            if count:
                del job.steps[:count]
        due.sort(key=lambda pair: (pair[0].at, pair[0].seq))
        for step, job in due:
            self._apply(job, step)
        self.recovery_plans.advance(now)

    def _log(self, job: Job, step: Step, event: str, **data: Any) -> None:
        event_data = {k: v for k, v in data.items() if v}
        item: dict[str, Any] = {"logDateTime": iso(step.at), "event": event}
        if event_data:
            item["eventData"] = event_data
        job.log.append(item)

    def _apply(self, job: Job, step: Step) -> None:
        participant = job.participants.get(step.key) if step.key else None
        server_id = participant.source_server_id if participant else step.data.get("sourceServerID")
        server = self.source_servers.get(server_id) if server_id else None
        action = step.action
        event = step.data.get("event")
        raw_error = step.data.get("rawError")

        if action.startswith("network_"):
            self.source_networks.apply(job, step)
            return

        def set_status(status: str) -> None:
            assert participant is not None
            participant.launch_status = status
            if (
                server is not None
                and server.last_launch is not None
                and server.last_launch.job_id == job.job_id
            ):
                server.last_launch.status = status
            drs_events.launch_result(self, job, participant.source_server_id, status, step.at)

        if action == "log":
            self._log(job, step, event, sourceServerID=server_id, rawError=raw_error)
        elif action == "snapshot_taken":
            if server is not None:
                server.on_demand_snapshots.append(step.data["instant"])
            self._log(job, step, event, sourceServerID=server_id)
        elif action == "conversion_start":
            if participant and participant.launch_status == "PENDING":
                set_status("IN_PROGRESS")
            self._log(job, step, event, sourceServerID=server_id)
        elif action == "launch_start":
            assert participant is not None
            if participant.launch_status == "FAILED":
                return
            try:
                instance_id = self._launch(job, server, step.data["snapshot"])
            except _LaunchError as error:
                set_status("FAILED")
                self._log(job, step, "LAUNCH_START", sourceServerID=server_id)
                self._log(job, step, "LAUNCH_FAILED", sourceServerID=server_id, rawError=str(error))
                return
            participant.recovery_instance_id = instance_id
            self._log(
                job, step, "LAUNCH_START", sourceServerID=server_id, targetInstanceID=instance_id
            )
        elif action == "launched":
            if participant and participant.launch_status == "IN_PROGRESS":
                set_status("LAUNCHED")
        elif action == "failed":
            if participant and participant.launch_status != "FAILED":
                set_status("FAILED")
                self._log(job, step, event, sourceServerID=server_id, rawError=raw_error)
        elif action == "cleanup_end":
            assert participant is not None and participant.recovery_instance_id
            self._terminate_recovery_instance(participant.recovery_instance_id)
            participant.launch_status = "TERMINATED"
            self._log(job, step, event, sourceServerID=server_id)
        elif action == "failback_launched":
            assert participant is not None and participant.recovery_instance_id
            if participant.launch_status == "IN_PROGRESS":
                participant.launch_status = "LAUNCHED"
                recovery = self.recovery_instances.get(participant.recovery_instance_id)
                if recovery is not None:
                    recovery.failback_state = "FAILBACK_COMPLETED"
        else:  # pragma: no cover - a planning bug
            raise AssertionError(f"unknown DRS job step {action!r}")

    # --- source servers -------------------------------------------------------
    def add_source_server(
        self,
        *,
        hostname: str,
        ip: str,
        os_type: str = "LINUX",
        os_name: str = "",
        fqdn: str | None = None,
        cpus: int = 2,
        ram_bytes: int = 8 * GIB,
        disks: list[dict[str, Any]] | list[tuple[str, int]] | None = None,
        recommended_instance_type: str = "m5.large",
        replication_state: str = "CONTINUOUS",
        source_region: str = "us-east-1",
        source_account_id: str | None = None,
        source_instance_id: str | None = None,
        tags: dict[str, str] | None = None,
        hardware_id: str | None = None,
        replicating_since: datetime | None = None,
    ) -> SourceServer:
        """Seed a source server, as installing the replication agent on a machine would.

        ``disks`` is a list of ``{"deviceName": ..., "bytes": ...}`` (or tuples),
        the first being the boot disk. A server seeded as replicating has a week
        of point-in-time history unless ``replicating_since`` says otherwise.
        """
        with LOCK:
            return self._create_source_server(
                hostname=hostname,
                ip=ip,
                os_type=os_type,
                os_name=os_name,
                fqdn=fqdn,
                cpus=cpus,
                ram_bytes=ram_bytes,
                disks=disks,
                recommended_instance_type=recommended_instance_type,
                replication_state=replication_state,
                source_region=source_region,
                source_account_id=source_account_id,
                source_instance_id=source_instance_id,
                tags=tags,
                hardware_id=hardware_id,
                replicating_since=replicating_since,
            )

    def _create_source_server(
        self,
        *,
        hostname: str,
        ip: str,
        os_type: str,
        os_name: str,
        fqdn: str | None,
        cpus: int,
        ram_bytes: int,
        disks: Any,
        recommended_instance_type: str,
        replication_state: str,
        source_region: str,
        source_account_id: str | None,
        source_instance_id: str | None,
        tags: dict[str, str] | None,
        hardware_id: str | None,
        replicating_since: datetime | None,
        direction: str = "FAILOVER",
        reversed_arn: str | None = None,
    ) -> SourceServer:
        self.require_initialized()
        if replication_state not in DATA_REPLICATION_STATES:
            raise ValueError(
                f"replication_state must be one of {sorted(DATA_REPLICATION_STATES)}, "
                f"got {replication_state!r}"
            )
        if os_type.upper() not in ("LINUX", "WINDOWS"):
            raise ValueError(f"os_type must be LINUX or WINDOWS, got {os_type!r}")
        quota = STATE.drs_quotas.max_source_servers
        if len(self.source_servers) >= quota:
            raise ServiceQuotaExceededException(
                f"This account already has {quota} source servers in {self.region_name}",
                quota_code=QUOTA_SOURCE_SERVERS,
                resource_type="SOURCE_SERVER",
            )
        if replication_state not in NOT_REPLICATING:
            self._check_replicating_quota()
        windows_os = os_type.upper() == "WINDOWS"
        disk_list: list[tuple[str, int]] = []
        for disk in disks or [("c:0" if windows_os else "/dev/sda", 50 * GIB)]:
            if isinstance(disk, dict):
                disk_list.append((disk["deviceName"], int(disk["bytes"])))
            else:
                disk_list.append((disk[0], int(disk[1])))
        now = self.now()
        server_id = new_id("s-")
        server = SourceServer(
            account_id=self.account_id,
            region=self.region_name,
            source_server_id=server_id,
            arn=self.arn("source-server", server_id),
            hostname=hostname,
            fqdn=fqdn or hostname,
            ip=ip,
            mac_address=":".join(
                ["0a"] + [stable_id("", server_id)[i : i + 2] for i in range(0, 10, 2)]
            ),
            os_type=os_type.upper(),
            os_name=os_name
            or ("Microsoft Windows Server 2019 Datacenter" if windows_os else "Linux"),
            cpus=cpus,
            ram_bytes=ram_bytes,
            disks=disk_list,
            recommended_instance_type=recommended_instance_type,
            origin_region=source_region,
            origin_account_id=source_account_id or self.account_id,
            source_instance_id=source_instance_id,
            hardware_id=hardware_id or source_instance_id or stable_id("", hostname, length=32),
            tags=dict(tags or {}),
            added_at=now,
            replication_state=replication_state,
            replication_direction=direction,
            reversed_direction_arn=reversed_arn,
        )
        since = replicating_since or now - DEFAULT_HISTORY
        if replication_state in ("INITIATING", "INITIAL_SYNC"):
            self._start_initial_sync(server, now)
        elif replication_state in FLOWING or replication_state == "PAUSED":
            server.windows.append(snapshots.ReplicationWindow(since))
        elif replication_state in ("STALLED", "STOPPED"):
            server.windows.append(snapshots.ReplicationWindow(since, now))
            server.stalled_since = now
        server.replication_configuration = self._initial_replication_configuration(server)
        server.launch_configuration = self._initial_launch_configuration(server)
        self.source_servers[server_id] = server
        return server

    def _initial_replication_configuration(self, server: SourceServer) -> dict[str, Any]:
        template = next(iter(self.replication_templates.values()), None)
        config = _copy(REPLICATION_DEFAULTS)
        if template is not None:
            config.update({k: _copy(template[k]) for k in REPLICATION_FIELDS if k in template})
        config["sourceServerID"] = server.source_server_id
        config["name"] = server.hostname
        config["replicatedDisks"] = [
            {
                "deviceName": device,
                "isBootDisk": index == 0,
                "stagingDiskType": "AUTO",
                "optimizedStagingDiskType": "GP3",
                "iops": 0,
                "throughput": 0,
            }
            for index, (device, _) in enumerate(server.disks)
        ]
        return config

    def _initial_launch_configuration(self, server: SourceServer) -> dict[str, Any]:
        template = next(iter(self.launch_templates.values()), None)
        settings = _copy(LAUNCH_DEFAULTS)
        if template is not None:
            settings.update({k: _copy(template[k]) for k in LAUNCH_DEFAULTS if k in template})
        config = {k: settings[k] for k in LAUNCH_CONFIGURATION_FIELDS}
        if template is not None:
            config.update({k: template[k] for k in LAUNCH_OPTIONAL_FIELDS if k in template})
        config["sourceServerID"] = server.source_server_id
        config["name"] = server.hostname
        config["ec2LaunchTemplateID"] = ec2.create_launch_template(
            self.account_id,
            self.region_name,
            source_server_id=server.source_server_id,
            hostname=server.hostname,
            instance_type=server.recommended_instance_type,
        )
        return config

    def describe_source_servers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        now = self.now()
        ids = filters.get("sourceServerIDs")
        hardware = filters.get("hardwareId")
        staging = filters.get("stagingAccountIDs")
        items = []
        for server in self.source_servers.values():
            if ids and server.source_server_id not in ids:
                continue
            if hardware and server.hardware_id != hardware:
                continue
            if staging and self.account_id not in staging:
                continue
            items.append(server.describe(now))
        return items

    def _busy(self, now: datetime) -> tuple[set[str], set[str]]:
        """Source server ids and recovery instance ids taking part in active jobs."""
        servers: set[str] = set()
        instances: set[str] = set()
        for job in self.jobs.values():
            if not job.active_at(now):
                continue
            for participant in job.participants.values():
                servers.add(participant.source_server_id)
                if participant.recovery_instance_id:
                    instances.add(participant.recovery_instance_id)
        return servers, instances

    def _ensure_idle(self, server: SourceServer) -> None:
        if server.source_server_id in self._busy(self.now())[0]:
            raise ConflictException(
                f"Source server {server.source_server_id} is part of an active job",
                resource_id=server.source_server_id,
                resource_type="SOURCE_SERVER",
            )

    def delete_source_server(self, source_server_id: str) -> None:
        server = self._server(source_server_id)
        if server.state_at(self.now()) != "DISCONNECTED":
            raise ConflictException(
                f"Source server {source_server_id} must be disconnected before it is deleted",
                resource_id=source_server_id,
                resource_type="SOURCE_SERVER",
            )
        self._ensure_idle(server)
        ec2.delete_launch_template(
            self.account_id, self.region_name, server.launch_configuration["ec2LaunchTemplateID"]
        )
        del self.source_servers[source_server_id]

    def disconnect_source_server(self, source_server_id: str) -> dict[str, Any]:
        server = self._server(source_server_id)
        if server.recovery_instance_id and server.recovery_instance_id in self.recovery_instances:
            raise ConflictException(
                f"Source server {source_server_id} has recovery instance "
                f"{server.recovery_instance_id}; terminate or delete it before disconnecting",
                resource_id=source_server_id,
                resource_type="SOURCE_SERVER",
            )
        self._ensure_idle(server)
        server.replication_state = "DISCONNECTED"
        server.sync_started = server.sync_done = None
        server.windows.clear()
        server.on_demand_snapshots.clear()
        return server.describe(self.now())

    def start_replication(self, source_server_id: str) -> dict[str, Any]:
        server = self._server(source_server_id)
        now = self.now()
        state = server.state_at(now)
        if state != "STOPPED":
            raise ConflictException(
                f"Replication of source server {source_server_id} can only be started when it "
                f"is STOPPED (it is {state})",
                resource_id=source_server_id,
                resource_type="SOURCE_SERVER",
            )
        quota = STATE.drs_quotas.max_replicating_source_servers
        if self._replicating_count(now) >= quota:
            # StartReplication declares no ServiceQuotaExceededException: DRS refuses the
            # state change itself
            raise ConflictException(
                f"Replication of source server {source_server_id} cannot start: the account "
                f"already replicates {quota} source servers in {self.region_name} (the quota "
                "of replicating source servers)",
                resource_id=source_server_id,
                resource_type="SOURCE_SERVER",
            )
        server.replication_state = "CONTINUOUS"
        server.stalled_since = None
        server.windows.append(snapshots.ReplicationWindow(now))
        return server.describe(now)

    def stop_replication(self, source_server_id: str) -> dict[str, Any]:
        server = self._server(source_server_id)
        now = self.now()
        state = server.state_at(now)
        if state in ("STOPPED", "DISCONNECTED"):
            raise ConflictException(
                f"Replication of source server {source_server_id} is already {state}",
                resource_id=source_server_id,
                resource_type="SOURCE_SERVER",
            )
        self._ensure_idle(server)
        self._stop(server, now)
        return server.describe(now)

    def _stop(self, server: SourceServer, now: datetime) -> None:
        server.replication_state = "STOPPED"
        server.sync_started = server.sync_done = None
        server.windows = [w for w in server.windows if w.start <= now]
        if server.windows and server.windows[-1].end is None:
            server.windows[-1].end = now
        server.stalled_since = now

    def stall_replication(self, server: str) -> None:
        """Fault injection: the replication agent of ``server`` (id or hostname) loses its
        replication server; replication is STALLED from now and its lag grows with the clock
        (``RetryDataReplication`` restarts it, as in DRS)."""
        with LOCK:
            found = [
                s
                for s in self.source_servers.values()
                if server in (s.source_server_id, s.hostname)
            ]
            if not found:
                raise ValueError(
                    f"no source server {server!r} in {self.account_id} {self.region_name}"
                )
            now = self.now()
            for item in found:
                item.replication_state = "STALLED"
                item.sync_started = item.sync_done = None
                if item.windows and item.windows[-1].end is None:
                    item.windows[-1].end = now
                item.stalled_since = now

    def retry_data_replication(self, source_server_id: str) -> dict[str, Any]:
        server = self._server(source_server_id)
        now = self.now()
        state = server.state_at(now)
        if state != "STALLED":
            raise field_error(
                "sourceServerID",
                f"data replication of {source_server_id} can only be retried when it is "
                f"STALLED (it is {state})",
            )
        server.replication_state = "INITIATING"
        server.stalled_since = None
        self._start_initial_sync(server, now)
        return server.describe(now)

    # --- templates ------------------------------------------------------------
    def _check_network(self, config: dict[str, Any]) -> None:
        ec2_backend = ec2.backend(self.account_id, self.region_name)
        subnet = config.get("stagingAreaSubnetId")
        if subnet:
            known = {s.id for s in ec2_backend.describe_subnets()}
            if subnet not in known:
                raise field_error("stagingAreaSubnetId", f"subnet {subnet} does not exist")
        groups = config.get("replicationServersSecurityGroupsIDs") or []
        for index, group in enumerate(groups):
            if ec2_backend.get_security_group_from_id(group) is None:
                raise field_error(
                    f"replicationServersSecurityGroupsIDs[{index}]",
                    f"security group {group} does not exist",
                )

    @staticmethod
    def _check_encryption(config: dict[str, Any]) -> None:
        mode = config.get("ebsEncryption")
        if mode == "CUSTOM" and not config.get("ebsEncryptionKeyArn"):
            raise field_error("ebsEncryptionKeyArn", "is required when ebsEncryption is CUSTOM")
        if mode in ("DEFAULT", "NONE") and config.get("ebsEncryptionKeyArn"):
            raise field_error(
                "ebsEncryptionKeyArn", f"must not be set when ebsEncryption is {mode}"
            )

    @staticmethod
    def _normalise_pit_policy(policy: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rules = []
        used = {rule["ruleID"] for rule in policy if rule.get("ruleID")}
        next_id = itertools.count(1)
        for index, rule in enumerate(policy):
            if rule["interval"] > rule["retentionDuration"]:
                raise field_error(
                    f"pitPolicy[{index}]",
                    "interval must not be longer than retentionDuration",
                )
            rule_id = rule.get("ruleID")
            if not rule_id:
                rule_id = next(n for n in next_id if n not in used)
                used.add(rule_id)
            rules.append({**rule, "ruleID": rule_id, "enabled": rule.get("enabled", True)})
        if len({rule["ruleID"] for rule in rules}) != len(rules):
            raise field_error("pitPolicy", "rule ids must be unique")
        return rules

    def _validate_replication(self, config: dict[str, Any]) -> None:
        """Check replication settings, numbering their point-in-time rules (in place)."""
        config["pitPolicy"] = self._normalise_pit_policy(config["pitPolicy"])
        self._check_encryption(config)
        self._check_network(config)

    def _template_store(self, kind: _TemplateKind) -> dict[str, dict[str, Any]]:
        return self.replication_templates if kind is REPLICATION_TEMPLATE else self.launch_templates

    def _template(self, kind: _TemplateKind, template_id: str) -> dict[str, Any]:
        template = self._template_store(kind).get(template_id)
        if template is None:
            raise ResourceNotFoundException(
                f"{kind.title} {template_id} not found",
                resource_id=template_id,
                resource_type=kind.resource_type,
            )
        return template

    def _create_template(
        self,
        kind: _TemplateKind,
        params: dict[str, Any],
        validate: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        template_id = new_id(kind.id_prefix)
        template = _copy(kind.defaults)
        template.update({k: _copy(params[k]) for k in kind.fields if k in params})
        if validate is not None:
            validate(template)
        template[kind.id_field] = template_id
        template["arn"] = self.arn(kind.arn_kind, template_id)
        template["tags"] = dict(params.get("tags") or {})
        self._template_store(kind)[template_id] = template
        return _copy(template)

    def _describe_templates(self, kind: _TemplateKind, ids: list[str]) -> list[dict[str, Any]]:
        if ids:
            return [_copy(self._template(kind, i)) for i in ids]
        return [_copy(t) for t in self._template_store(kind).values()]

    def _delete_template(self, kind: _TemplateKind, template_id: str) -> None:
        self._template(kind, template_id)
        del self._template_store(kind)[template_id]

    def create_replication_configuration_template(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._create_template(REPLICATION_TEMPLATE, params, self._validate_replication)

    def describe_replication_configuration_templates(self, ids: list[str]) -> list[dict[str, Any]]:
        return self._describe_templates(REPLICATION_TEMPLATE, ids)

    def update_replication_configuration_template(self, params: dict[str, Any]) -> dict[str, Any]:
        template = self._template(
            REPLICATION_TEMPLATE, params["replicationConfigurationTemplateID"]
        )
        if params.get("arn") and params["arn"] != template["arn"]:
            raise field_error("arn", "does not match replicationConfigurationTemplateID")
        updated = {**template, **{k: _copy(params[k]) for k in REPLICATION_FIELDS if k in params}}
        self._validate_replication(updated)
        template.update(updated)
        return _copy(template)

    def delete_replication_configuration_template(self, template_id: str) -> None:
        self._delete_template(REPLICATION_TEMPLATE, template_id)

    def create_launch_configuration_template(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._create_template(LAUNCH_TEMPLATE, params)

    def describe_launch_configuration_templates(self, ids: list[str]) -> list[dict[str, Any]]:
        return self._describe_templates(LAUNCH_TEMPLATE, ids)

    def update_launch_configuration_template(self, params: dict[str, Any]) -> dict[str, Any]:
        template = self._template(LAUNCH_TEMPLATE, params["launchConfigurationTemplateID"])
        template.update({k: _copy(params[k]) for k in LAUNCH_TEMPLATE_FIELDS if k in params})
        return _copy(template)

    def delete_launch_configuration_template(self, template_id: str) -> None:
        self._delete_template(LAUNCH_TEMPLATE, template_id)

    # --- per-server configuration ---------------------------------------------
    def get_replication_configuration(self, source_server_id: str) -> dict[str, Any]:
        return _copy(self._server(source_server_id).replication_configuration)

    def update_replication_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        server = self._server(params["sourceServerID"])
        self._ensure_idle(server)
        config = server.replication_configuration
        updated = {
            **config,
            **{k: _copy(params[k]) for k in [*REPLICATION_FIELDS, "name"] if k in params},
        }
        if "replicatedDisks" in params:
            known = {device for device, _ in server.disks}
            for index, disk in enumerate(params["replicatedDisks"]):
                if disk.get("deviceName") not in known:
                    raise field_error(
                        f"replicatedDisks[{index}].deviceName",
                        f"{disk.get('deviceName')!r} is not a disk of {server.source_server_id} "
                        f"(disks: {', '.join(sorted(known))})",
                    )
            updated["replicatedDisks"] = _copy(params["replicatedDisks"])
        self._validate_replication(updated)
        config.clear()
        config.update(updated)
        return _copy(config)

    def get_launch_configuration(self, source_server_id: str) -> dict[str, Any]:
        return _copy(self._server(source_server_id).launch_configuration)

    def update_launch_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        server = self._server(params["sourceServerID"])
        self._ensure_idle(server)
        config = server.launch_configuration
        updated = {
            **config,
            **{
                k: _copy(params[k])
                for k in [*LAUNCH_CONFIGURATION_FIELDS, *LAUNCH_OPTIONAL_FIELDS, "name"]
                if k in params
            },
        }
        if "launchIntoInstanceProperties" in params:
            target = (params["launchIntoInstanceProperties"] or {}).get("launchIntoEC2InstanceID")
            if target:
                updated["launchIntoInstanceProperties"] = {"launchIntoEC2InstanceID": target}
            else:
                updated.pop("launchIntoInstanceProperties", None)
        target = (updated.get("launchIntoInstanceProperties") or {}).get("launchIntoEC2InstanceID")
        if target:
            self._check_launch_into(target, updated)
        config.clear()
        config.update(updated)
        return _copy(config)

    def _check_launch_into(self, instance_id: str, config: dict[str, Any]) -> None:
        field = "launchIntoInstanceProperties.launchIntoEC2InstanceID"
        instance = ec2.find_instance(self.account_id, self.region_name, instance_id)
        if instance is None or instance.state == "terminated":
            raise field_error(field, f"instance {instance_id} does not exist in {self.region_name}")
        key, value = ec2.LAUNCH_INTO_TAG
        tags = ec2.tags_of(instance)
        if tags.get(key) != value:
            raise field_error(field, f"instance {instance_id} must carry the tag {key}={value}")
        if config.get("copyPrivateIp") or config.get("copyTags"):
            raise field_error(
                field, "copyPrivateIp and copyTags must be off to launch into an existing instance"
            )

    # --- snapshots --------------------------------------------------------------
    def describe_recovery_snapshots(
        self, source_server_id: str, filters: dict[str, Any], order: str | None
    ) -> list[dict[str, Any]]:
        server = self.source_servers.get(source_server_id)
        if server is None:
            raise field_error("sourceServerID", f"source server {source_server_id} not found")
        start = filters.get("fromDateTime")
        end = filters.get("toDateTime")
        low = parse_iso(start, "filters.fromDateTime") if start else None
        high = parse_iso(end, "filters.toDateTime") if end else None
        devices = [device for device, _ in server.disks]
        items = []
        for instant in server.snapshot_instants(self.now()):
            taken = instant + snapshots.CAPTURE_DELAY
            if (low and taken < low) or (high and taken > high):
                continue
            items.append(snapshots.describe(source_server_id, instant, devices))
        if order == "DESC":
            items.reverse()
        return items

    # --- jobs -------------------------------------------------------------------
    def _check_job_size(self, job_size: int) -> None:
        quotas = STATE.drs_quotas
        if job_size > quotas.max_servers_per_job:
            raise ServiceQuotaExceededException(
                f"A job can include at most {quotas.max_servers_per_job} source servers; "
                f"this request has {job_size}",
                quota_code=QUOTA_SERVERS_PER_JOB,
                resource_type="JOB",
            )

    def _check_quotas(self, job_size: int) -> None:
        """The three launch quotas, for a new job of ``job_size`` servers."""
        quotas = STATE.drs_quotas
        self._check_job_size(job_size)
        now = self.now()
        active = [job for job in self.jobs.values() if job.active_at(now)]
        if len(active) >= quotas.max_concurrent_jobs:
            raise ServiceQuotaExceededException(
                f"At most {quotas.max_concurrent_jobs} jobs can be active at once; "
                f"{len(active)} are active",
                quota_code=QUOTA_CONCURRENT_JOBS,
                resource_type="JOB",
            )
        in_flight = sum(len(job.participants) for job in active)
        if in_flight + job_size > quotas.max_servers_in_active_jobs:
            raise ServiceQuotaExceededException(
                f"At most {quotas.max_servers_in_active_jobs} source servers can be in active "
                f"jobs; {in_flight} are, and this request adds {job_size}",
                quota_code=QUOTA_SERVERS_IN_ACTIVE_JOBS,
                resource_type="SOURCE_SERVER",
            )

    def _new_job(
        self,
        job_type: str,
        initiated_by: str,
        tags: dict[str, str] | None,
        participants: dict[str, Participant],
        plan: Any,
        is_drill: bool = False,
    ) -> Job:
        now = self.now()
        factor = self._slowdown()
        timings = STATE.drs_timings
        job_id = new_id("drsjob-")
        delay = timings.vary(timings.job_start_delay, job_id)
        start = now + timedelta(seconds=delay * factor)
        steps: list[Step] = []

        def at(moment: datetime, action: str, key: str | None = None, **data: Any) -> None:
            steps.append(Step(moment, next(_SEQUENCE), action, key, data))

        at(start, "log", event="JOB_START")
        end = plan(at, start, factor, timings)
        at(end, "log", event="JOB_END")
        job = Job(
            job_id=job_id,
            arn=self.arn("job", job_id),
            job_type=job_type,
            initiated_by=initiated_by,
            created_at=now,
            start_at=start,
            end_at=end,
            tags=dict(tags or {}),
            participants=participants,
            steps=sorted(steps),
            is_drill=is_drill,
        )
        self.jobs[job_id] = job
        return job

    def start_recovery(
        self, requested: list[dict[str, Any]], is_drill: bool, tags: dict[str, str] | None
    ) -> dict[str, Any]:
        entries: dict[str, str | None] = {}
        for item in requested:
            entries.setdefault(item["sourceServerID"], item.get("recoverySnapshotID"))
        self._check_job_size(len(entries))
        now = self.now()
        busy = self._busy(now)[0]
        chosen: list[tuple[SourceServer, datetime | None]] = []
        skipped: list[tuple[str, str]] = []
        for server_id, snapshot in entries.items():
            server = self.source_servers.get(server_id)
            if server is None:
                skipped.append((server_id, f"Source server {server_id} not found"))
                continue
            if server_id in busy:
                raise ConflictException(
                    f"Source server {server_id} is already part of an active job",
                    resource_id=server_id,
                    resource_type="SOURCE_SERVER",
                )
            instants = server.snapshot_instants(now)
            if snapshot:
                match = [i for i in instants if snapshots.snapshot_id(server_id, i) == snapshot]
                if not match:
                    skipped.append(
                        (server_id, f"Recovery snapshot {snapshot} not found for {server_id}")
                    )
                    continue
                chosen.append((server, match[0]))
            elif server.state_at(now) not in FLOWING and not instants:
                skipped.append(
                    (server_id, f"Source server {server_id} has no replicated data to launch from")
                )
            else:
                chosen.append((server, None))
        self._check_quotas(len(chosen))

        account, region = self.account_id, self.region_name
        job_failure = STATE.faults.job_failure_for(account, region, "LAUNCH")
        launch_failures = {
            server.source_server_id: STATE.faults.launch_failure_for(
                account, region, server.source_server_id, server.hostname
            )
            for server, _ in chosen
            if job_failure is None
        }

        def plan(at: Any, start: datetime, factor: float, timings: Any) -> datetime:
            end = start
            for server_id, reason in skipped:
                at(
                    start,
                    "log",
                    None,
                    event="SERVER_SKIPPED",
                    sourceServerID=server_id,
                    rawError=reason,
                )

            def took(seconds: float, *key: object) -> timedelta:
                return timedelta(seconds=timings.vary(seconds, *key, start) * factor)

            for server, instant in chosen:
                key = server.source_server_id
                snap_end = start + took(timings.snapshot_seconds, key, "snapshot")
                if instant is not None:
                    at(start, "log", key, event="USING_PREVIOUS_SNAPSHOT")
                    snap_end = start
                else:
                    at(start, "log", key, event="SNAPSHOT_START")
                if job_failure is not None:
                    fail_at = max(snap_end, start + timedelta(seconds=1))
                    event = "SNAPSHOT_FAIL" if instant is None else "CONVERSION_FAIL"
                    at(fail_at, "failed", key, event=event, rawError=job_failure)
                    end = max(end, fail_at)
                    continue
                if instant is None:
                    at(snap_end, "snapshot_taken", key, event="SNAPSHOT_END", instant=start)
                at(snap_end, "conversion_start", key, event="CONVERSION_START")
                converted = snap_end + took(timings.conversion_seconds, key, "conversion")
                at(converted, "log", key, event="CONVERSION_END")
                done = converted + took(timings.launch_seconds, key, "launch")
                if launch_failures.get(key):  # the instance never comes up
                    at(converted, "log", key, event="LAUNCH_START")
                    at(done, "failed", key, event="LAUNCH_FAILED", rawError=launch_failures[key])
                else:
                    at(converted, "launch_start", key, snapshot=instant or start)
                    at(done, "launched", key)
                end = max(end, done)
            return end

        participants = {
            server.source_server_id: Participant(server.source_server_id) for server, _ in chosen
        }
        job = self._new_job(
            "LAUNCH",
            "START_DRILL" if is_drill else "START_RECOVERY",
            tags,
            participants,
            plan,
            is_drill=is_drill,
        )
        for server, _ in chosen:
            server.last_launch = LastLaunch(job.job_id, "DRILL" if is_drill else "RECOVERY", now)
        return job.describe(now)

    def _launch(self, job: Job, server: SourceServer | None, snapshot_time: datetime) -> str:
        if server is None:
            raise _LaunchError("The source server was deleted before its launch")
        config = server.launch_configuration
        launch_into = (config.get("launchIntoInstanceProperties") or {}).get(
            "launchIntoEC2InstanceID"
        )
        if (
            launch_into
            and ec2.find_instance(self.account_id, self.region_name, launch_into) is None
        ):
            raise _LaunchError(f"Instance {launch_into} to launch into does not exist")
        template_id = config["ec2LaunchTemplateID"]
        if not launch_into and not ec2.launch_template_exists(
            self.account_id, self.region_name, template_id
        ):
            raise _LaunchError(f"EC2 launch template {template_id} does not exist")
        previous = self.recovery_instances.get(server.recovery_instance_id or "")
        try:
            launched = ec2.launch(
                self.account_id,
                self.region_name,
                ec2.LaunchRequest(
                    source_server_id=server.source_server_id,
                    job_id=job.job_id,
                    hostname=server.hostname,
                    ip=server.ip,
                    is_windows=server.is_windows,
                    disks=server.disks,
                    recommended_instance_type=server.recommended_instance_type,
                    launch_template_id=template_id,
                    right_sizing=config["targetInstanceTypeRightSizingMethod"],
                    copy_private_ip=config["copyPrivateIp"],
                    copy_tags=config["copyTags"],
                    launch_disposition=config["launchDisposition"],
                    source_tags=server.tags,
                    launch_into_instance_id=launch_into,
                ),
            )
        except Exception as error:  # noqa: BLE001 - EC2 said no: the launch fails, as in DRS
            raise _LaunchError(f"EC2 refused the launch: {error}") from error
        # A new drill replaces the server's previous drill instance.
        if (
            previous is not None
            and previous.is_drill
            and previous.recovery_instance_id != launched.instance_id
        ):
            self._terminate_recovery_instance(previous.recovery_instance_id)
        self.recovery_instances[launched.instance_id] = RecoveryInstance(
            recovery_instance_id=launched.instance_id,
            arn=self.arn("recovery-instance", launched.instance_id),
            source_server_id=server.source_server_id,
            job_id=job.job_id,
            is_drill=job.is_drill,
            origin_environment="AWS" if server.in_aws else "ON_PREMISES",
            origin_availability_zone=f"{server.origin_region}a",
            hostname=server.hostname,
            fqdn=server.fqdn,
            os_name=server.os_name,
            cpus=server.cpus,
            ram_bytes=server.ram_bytes,
            disks=list(server.disks),
            volumes=launched.volumes,
            created_at=self.now(),
            snapshot_time=snapshot_time,
        )
        server.recovery_instance_id = launched.instance_id
        return launched.instance_id

    def _terminate_recovery_instance(self, recovery_instance_id: str) -> None:
        ec2.terminate(self.account_id, self.region_name, recovery_instance_id)
        recovery = self.recovery_instances.pop(recovery_instance_id, None)
        if recovery is None:
            return
        server = self.source_servers.get(recovery.source_server_id)
        if server is not None and server.recovery_instance_id == recovery_instance_id:
            server.recovery_instance_id = None
            if server.last_launch is not None and server.last_launch.job_id == recovery.job_id:
                server.last_launch.status = "TERMINATED"

    def describe_jobs(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        now = self.now()
        ids = filters.get("jobIDs")
        low = (
            parse_iso(filters["fromDate"], "filters.fromDate") if filters.get("fromDate") else None
        )
        high = parse_iso(filters["toDate"], "filters.toDate") if filters.get("toDate") else None
        items = []
        for job in self.jobs.values():
            if ids and job.job_id not in ids:
                continue
            if (low and job.created_at < low) or (high and job.created_at > high):
                continue
            items.append(job.describe(now))
        return items

    def describe_job_log_items(self, job_id: str) -> list[dict[str, Any]]:
        job = self.jobs.get(job_id)
        if job is None:
            raise field_error("jobID", f"job {job_id} not found")
        return list(job.log)

    def delete_job(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            raise ResourceNotFoundException(
                f"Job {job_id} not found", resource_id=job_id, resource_type="JOB"
            )
        if job.active_at(self.now()):
            raise ConflictException(
                f"Job {job_id} is still {job.status_at(self.now())}; only completed jobs can "
                "be deleted",
                resource_id=job_id,
                resource_type="JOB",
            )
        del self.jobs[job_id]

    # --- recovery instances -------------------------------------------------------
    def describe_recovery_instances(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        now = self.now()
        ids = filters.get("recoveryInstanceIDs")
        servers = filters.get("sourceServerIDs")
        instances = ec2.instances_by_id(self.account_id, self.region_name)
        items = []
        for recovery in self.recovery_instances.values():
            if ids and recovery.recovery_instance_id not in ids:
                continue
            if servers and recovery.source_server_id not in servers:
                continue
            instance = instances.get(recovery.recovery_instance_id)
            items.append(recovery.describe(now, instance, ec2.state_of(instance)))
        return items

    def terminate_recovery_instances(self, ids: list[str]) -> dict[str, Any]:
        wanted = list(dict.fromkeys(ids))
        self._check_job_size(len(wanted))
        now = self.now()
        busy = self._busy(now)[1]
        chosen = []
        for recovery_id in wanted:
            recovery = self.recovery_instances.get(recovery_id)
            if recovery is None:
                continue
            if recovery_id in busy:
                raise ConflictException(
                    f"Recovery instance {recovery_id} is part of an active job",
                    resource_id=recovery_id,
                    resource_type="RECOVERY_INSTANCE",
                )
            chosen.append(recovery)
        self._check_quotas(len(chosen))
        failure = STATE.faults.job_failure_for(self.account_id, self.region_name, "TERMINATE")

        def plan(at: Any, start: datetime, factor: float, timings: Any) -> datetime:
            done = start + timedelta(seconds=timings.terminate_seconds * factor)
            for recovery in chosen:
                key = recovery.recovery_instance_id
                at(start, "log", key, event="CLEANUP_START")
                if failure is not None:
                    at(done, "failed", key, event="CLEANUP_FAIL", rawError=failure)
                else:
                    at(done, "cleanup_end", key, event="CLEANUP_END")
            return done

        participants = {
            r.recovery_instance_id: Participant(r.source_server_id, r.recovery_instance_id)
            for r in chosen
        }
        job = self._new_job("TERMINATE", "TERMINATE_RECOVERY_INSTANCES", None, participants, plan)
        return job.describe(now)

    def delete_recovery_instance(self, recovery_instance_id: str) -> None:
        recovery = self.recovery_instances.get(recovery_instance_id)
        if recovery is None:
            return  # the model declares no not-found error: deleting nothing succeeds
        if not recovery.disconnected:
            raise ConflictException(
                f"Recovery instance {recovery_instance_id} must be disconnected before it is "
                "deleted",
                resource_id=recovery_instance_id,
                resource_type="RECOVERY_INSTANCE",
            )
        self._ensure_instance_idle(recovery_instance_id)
        del self.recovery_instances[recovery_instance_id]
        server = self.source_servers.get(recovery.source_server_id)
        if server is not None and server.recovery_instance_id == recovery_instance_id:
            server.recovery_instance_id = None

    def _ensure_instance_idle(self, recovery_instance_id: str) -> None:
        if recovery_instance_id in self._busy(self.now())[1]:
            raise ConflictException(
                f"Recovery instance {recovery_instance_id} is part of an active job",
                resource_id=recovery_instance_id,
                resource_type="RECOVERY_INSTANCE",
            )

    def disconnect_recovery_instance(self, recovery_instance_id: str) -> None:
        recovery = self._recovery_instance(recovery_instance_id)
        self._ensure_instance_idle(recovery_instance_id)
        recovery.disconnected = True
        recovery.failback_state = "FAILBACK_NOT_STARTED"
        recovery.failback_started = recovery.failback_ready = None

    # --- failback -----------------------------------------------------------------
    def _start_failback_replication(self, recovery: RecoveryInstance, ready: datetime) -> None:
        recovery.failback_state = "FAILBACK_IN_PROGRESS"
        recovery.failback_started = self.now()
        recovery.failback_ready = ready
        recovery.disconnected = False

    def connect_failback_client(self, recovery_instance_id: str) -> None:
        """Sandbox seeding: a Failback Client booted on the original machine connects.

        The recovery instance then replicates back to it and becomes ready for
        StartFailbackLaunch once the initial sync is done.
        """
        with LOCK:
            self.settle()
            recovery = self._recovery_instance(recovery_instance_id)
            self._start_failback_replication(recovery, self._initial_sync_end(self.now()))

    def reverse_replication(self, recovery_instance_id: str) -> str:
        recovery = self._recovery_instance(recovery_instance_id)
        field = "recoveryInstanceID"
        if recovery.is_drill:
            raise field_error(
                field,
                f"{recovery_instance_id} is a drill instance; only "
                "instances launched for recovery can replicate back",
            )
        server = self._server(recovery.source_server_id)
        if not server.in_aws:
            raise field_error(
                field,
                f"source server {server.source_server_id} is not an EC2 instance; fail back "
                "with the Failback Client and StartFailbackLaunch instead",
            )
        self._ensure_instance_idle(recovery_instance_id)
        instance = ec2.find_instance(self.account_id, self.region_name, recovery_instance_id)
        if ec2.state_of(instance) in ("TERMINATED", "NOT_FOUND", "SHUTTING-DOWN"):
            raise ConflictException(
                f"Recovery instance {recovery_instance_id} is not running",
                resource_id=recovery_instance_id,
                resource_type="RECOVERY_INSTANCE",
            )
        target = drs_backends[server.origin_account_id][server.origin_region]
        if server.reversed_direction_arn:
            existing = server.reversed_direction_arn.rsplit("/", 1)[-1]
            if existing in target.source_servers:
                return server.reversed_direction_arn
        if not target.initialized:
            raise field_error(
                field,
                f"Elastic Disaster Recovery is not initialized in account "
                f"{server.origin_account_id} region {server.origin_region}",
            )
        reversed_server = target._create_source_server(
            hostname=server.hostname,
            ip=instance.private_ip or server.ip,
            os_type=server.os_type,
            os_name=server.os_name,
            fqdn=server.fqdn,
            cpus=server.cpus,
            ram_bytes=server.ram_bytes,
            disks=server.disks,
            recommended_instance_type=server.recommended_instance_type,
            replication_state="INITIATING",
            source_region=self.region_name,
            source_account_id=self.account_id,
            source_instance_id=recovery_instance_id,
            tags=server.tags,
            hardware_id=None,
            replicating_since=None,
            direction="FAILBACK",
            reversed_arn=server.arn,
        )
        template = next(iter(target.launch_templates.values()), {})
        if template.get("launchIntoSourceInstance") and server.source_instance_id:
            reversed_server.launch_configuration["launchIntoInstanceProperties"] = {
                "launchIntoEC2InstanceID": server.source_instance_id
            }
        server.reversed_direction_arn = reversed_server.arn
        self._stop(server, self.now())
        assert reversed_server.sync_done is not None
        self._start_failback_replication(recovery, reversed_server.sync_done)
        return reversed_server.arn

    def start_failback_launch(self, ids: list[str], tags: dict[str, str] | None) -> dict[str, Any]:
        wanted = list(dict.fromkeys(ids))
        now = self.now()
        chosen = []
        for index, recovery_id in enumerate(wanted):
            recovery = self.recovery_instances.get(recovery_id)
            if recovery is None:
                raise field_error(f"recoveryInstanceIDs[{index}]", f"{recovery_id} not found")
            state = recovery.failback_state_at(now)
            if state != "FAILBACK_READY_FOR_LAUNCH":
                raise ConflictException(
                    f"Recovery instance {recovery_id} is not ready for failback launch "
                    f"(failback state {state})",
                    resource_id=recovery_id,
                    resource_type="RECOVERY_INSTANCE",
                )
            self._ensure_instance_idle(recovery_id)
            chosen.append(recovery)
        self._check_quotas(len(chosen))
        failure = STATE.faults.job_failure_for(self.account_id, self.region_name, "LAUNCH")

        def plan(at: Any, start: datetime, factor: float, timings: Any) -> datetime:
            end = start
            for recovery in chosen:
                key = recovery.recovery_instance_id
                at(start, "log", key, event="SNAPSHOT_START")
                snap_end = start + timedelta(seconds=timings.snapshot_seconds * factor)
                if failure is not None:
                    at(snap_end, "failed", key, event="SNAPSHOT_FAIL", rawError=failure)
                    end = max(end, snap_end)
                    continue
                at(snap_end, "log", key, event="SNAPSHOT_END")
                at(snap_end, "conversion_start", key, event="LAUNCH_START")
                done = snap_end + timedelta(seconds=timings.launch_seconds * factor)
                at(done, "failback_launched", key)
                end = max(end, done)
            return end

        participants = {
            r.recovery_instance_id: Participant(r.source_server_id, r.recovery_instance_id)
            for r in chosen
        }
        job = self._new_job("LAUNCH", "FAILBACK", tags, participants, plan)
        for recovery in chosen:
            recovery.failback_job_id = job.job_id
            recovery.failback_launch_type = "RECOVERY"
        return job.describe(now)

    def stop_failback(self, recovery_instance_id: str) -> None:
        recovery = self._recovery_instance(recovery_instance_id)
        recovery.failback_state = "FAILBACK_NOT_STARTED"
        recovery.failback_started = recovery.failback_ready = None

    def get_failback_replication_configuration(self, recovery_instance_id: str) -> dict[str, Any]:
        recovery = self._recovery_instance(recovery_instance_id)
        config = recovery.failback_configuration or FailbackConfiguration(name=recovery.hostname)
        return {
            "recoveryInstanceID": recovery_instance_id,
            "name": config.name,
            "bandwidthThrottling": config.bandwidth_throttling,
            "usePrivateIP": config.use_private_ip,
            "internetProtocol": config.internet_protocol,
        }

    def update_failback_replication_configuration(self, params: dict[str, Any]) -> None:
        recovery = self._recovery_instance(params["recoveryInstanceID"])
        config = recovery.failback_configuration or FailbackConfiguration(name=recovery.hostname)
        if "name" in params:
            config.name = params["name"]
        if "bandwidthThrottling" in params:
            config.bandwidth_throttling = params["bandwidthThrottling"]
        if "usePrivateIP" in params:
            config.use_private_ip = params["usePrivateIP"]
        if "internetProtocol" in params:
            config.internet_protocol = params["internetProtocol"]
        recovery.failback_configuration = config

    # --- tags -----------------------------------------------------------------------
    def _tags_of(self, arn: str) -> dict[str, str]:
        parts = arn.split(":", 5)
        missing = ResourceNotFoundException(
            f"Resource {arn} not found", resource_id=arn, resource_type="RESOURCE"
        )
        if len(parts) != 6 or parts[2] != "drs":
            raise missing
        if parts[3] != self.region_name or parts[4] != self.account_id:
            raise missing
        for owner in (self.recovery_plans, self.source_networks):
            owned = owner.tags_of(arn)
            if owned is not None:
                return owned
        kind, _, resource_id = parts[5].partition("/")
        if kind == "source-server" and resource_id in self.source_servers:
            return self.source_servers[resource_id].tags
        if kind == "job" and resource_id in self.jobs:
            return self.jobs[resource_id].tags
        if kind == "recovery-instance" and resource_id in self.recovery_instances:
            return self.recovery_instances[resource_id].tags
        if (
            kind == "replication-configuration-template"
            and resource_id in self.replication_templates
        ):
            return self.replication_templates[resource_id]["tags"]
        if kind == "launch-configuration-template" and resource_id in self.launch_templates:
            return self.launch_templates[resource_id]["tags"]
        raise missing

    def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        return dict(self._tags_of(arn))

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        current = self._tags_of(arn)
        for key in tags:
            if key.lower().startswith("aws:"):
                raise field_error("tags", f"tag key {key!r} uses the reserved prefix aws:")
        if len({**current, **tags}) > 50:
            raise field_error("tags", "a resource can have at most 50 tags")
        current.update(tags)

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        current = self._tags_of(arn)
        for key in keys:
            current.pop(key, None)

    # --- post-launch actions ----------------------------------------------------------
    def _launch_action_store(self, resource_id: str) -> dict[str, dict[str, Any]]:
        known = resource_id in self.source_servers or resource_id in self.launch_templates
        if not known:
            kind = (
                "SOURCE_SERVER" if resource_id.startswith("s-") else "LAUNCH_CONFIGURATION_TEMPLATE"
            )
            raise ResourceNotFoundException(
                f"Resource {resource_id} not found", resource_id=resource_id, resource_type=kind
            )
        return self.launch_actions.setdefault(resource_id, {})

    def put_launch_action(self, params: dict[str, Any]) -> dict[str, Any]:
        store = self._launch_action_store(params["resourceId"])
        action = {
            k: _copy(params[k])
            for k in (
                "actionId",
                "actionCode",
                "name",
                "active",
                "order",
                "actionVersion",
                "optional",
                "parameters",
                "description",
                "category",
            )
            if k in params
        }
        # SSM Automation runbooks are what DRS's post-launch actions run (AWS-* documents
        # and the customer's own Automation documents)
        action["type"] = "SSM_AUTOMATION"
        store[action["actionId"]] = action
        return {"resourceId": params["resourceId"], **_copy(action)}

    def list_launch_actions(
        self, resource_id: str, filters: dict[str, Any]
    ) -> list[dict[str, Any]]:
        wanted = set(filters.get("actionIds") or [])
        store = self._launch_action_store(resource_id)
        actions = sorted(store.values(), key=lambda a: (a.get("order", 0), a["actionId"]))
        return [_copy(a) for a in actions if not wanted or a["actionId"] in wanted]

    def delete_launch_action(self, resource_id: str, action_id: str) -> None:
        store = self._launch_action_store(resource_id)
        if action_id not in store:
            raise ResourceNotFoundException(
                f"Launch action {action_id} not found on {resource_id}",
                resource_id=action_id,
                resource_type="LAUNCH_ACTION",
            )
        del store[action_id]

    # --- extended source servers ------------------------------------------------------
    def list_staging_accounts(self) -> list[dict[str, str]]:
        """The staging accounts of this account's extended source servers."""
        accounts = {
            server.staging_area()["stagingAccountID"]
            for server in self.source_servers.values()
            if server.staging_source_server_arn
        }
        return [{"accountID": account} for account in sorted(accounts)]

    def create_extended_source_server(
        self, staging_arn: str, tags: dict[str, str] | None
    ) -> dict[str, Any]:
        """A source server of this account that stands for one of a staging account (same
        Region): its properties and replicated data are the staging server's."""
        _, _, _, region, staging_account, resource = staging_arn.split(":", 5)
        server_id = resource.split("/", 1)[1]
        staging = drs_backends[staging_account][region] if region == self.region_name else None
        original = staging.source_servers.get(server_id) if staging is not None else None
        if original is None:
            raise ResourceNotFoundException(
                f"Source server {staging_arn} not found in {self.region_name}",
                resource_id=server_id,
                resource_type="SOURCE_SERVER",
            )
        for server in self.source_servers.values():
            if server.staging_source_server_arn == original.arn:
                raise field_error(
                    "sourceServerArn",
                    f"{original.arn} is already extended as {server.source_server_id}",
                )
        now = self.now()
        server = self._create_source_server(
            hostname=original.hostname,
            ip=original.ip,
            os_type=original.os_type,
            os_name=original.os_name,
            fqdn=original.fqdn,
            cpus=original.cpus,
            ram_bytes=original.ram_bytes,
            disks=list(original.disks),
            recommended_instance_type=original.recommended_instance_type,
            replication_state=original.state_at(now),
            source_region=original.origin_region,
            source_account_id=original.origin_account_id,
            source_instance_id=original.source_instance_id,
            tags=dict(tags or {}),
            hardware_id=original.hardware_id,
            replicating_since=None,
        )
        server.windows = copy.deepcopy(original.windows)  # the staging account's data
        server.staging_source_server_arn = original.arn
        return server.describe(now)

    def list_extensible_source_servers(self, staging_account_id: str) -> list[dict[str, Any]]:
        staging = drs_backends[staging_account_id][self.region_name]
        return [
            {"hostname": server.hostname, "arn": server.arn, "tags": dict(server.tags)}
            for server in staging.source_servers.values()
        ]


class _LaunchError(Exception):
    """A recovery instance could not be launched (the job logs LAUNCH_FAILED)."""


def next_due() -> datetime | None:
    """The earliest moment a DRS job step is due, in any account and region (None: none)."""
    with LOCK:
        moments = [
            job.steps[0].at
            for account_backends in list(drs_backends.values())
            for backend in list(account_backends.values())
            for job in list(backend.jobs.values())
            if job.steps
        ]
    return min(moments) if moments else None


def settle_all() -> None:
    """Advance every DRS backend to the current simulated time (for callers outside DRS)."""
    with LOCK:
        for account_backends in list(drs_backends.values()):
            for backend in list(account_backends.values()):
                backend.settle()


drs_backends = BackendDict(DrsBackend, "drs")

__all__ = ["LOCK", "DrsBackend", "ValidationException", "drs_backends", "next_due", "settle_all"]
