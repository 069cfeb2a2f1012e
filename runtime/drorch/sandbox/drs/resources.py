"""The DRS resources the fake keeps, and how each one reads on the wire.

Every ``describe`` method returns a plain dict shaped exactly like the model's
structure (members omitted rather than null), for moto's serializer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drorch.sandbox.drs import snapshots
from drorch.sandbox.drs.util import iso, iso_duration
from drorch.sandbox.state import STATE

# Simulated durations of replication set-up (scaled by the slow-jobs fault).

INITIATION_STEPS = [
    "WAIT",
    "CREATE_SECURITY_GROUP",
    "LAUNCH_REPLICATION_SERVER",
    "BOOT_REPLICATION_SERVER",
    "AUTHENTICATE_WITH_SERVICE",
    "DOWNLOAD_REPLICATION_SOFTWARE",
    "CREATE_STAGING_DISKS",
    "ATTACH_STAGING_DISKS",
    "PAIR_REPLICATION_SERVER_WITH_AGENT",
    "CONNECT_AGENT_TO_REPLICATION_SERVER",
    "START_DATA_TRANSFER",
]
FAILBACK_STEPS = [
    "LINK_FAILBACK_CLIENT_WITH_RECOVERY_INSTANCE",
    "COMPLETE_VOLUME_MAPPING",
    "ESTABLISH_RECOVERY_INSTANCE_COMMUNICATION",
    "DOWNLOAD_REPLICATION_SOFTWARE_TO_FAILBACK_CLIENT",
    "CONFIGURE_REPLICATION_SOFTWARE",
    "PAIR_AGENT_WITH_REPLICATION_SOFTWARE",
    "ESTABLISH_AGENT_REPLICATOR_SOFTWARE_COMMUNICATION",
]
# Replication states in which data keeps flowing (new snapshots keep appearing).
FLOWING = {"CONTINUOUS", "BACKLOG", "RESCAN", "CREATING_SNAPSHOT"}


@dataclass
class LastLaunch:
    job_id: str
    launch_type: str  # RECOVERY | DRILL
    api_call: datetime
    status: str = "PENDING"  # LaunchStatus


@dataclass
class SourceServer:
    account_id: str
    region: str
    source_server_id: str
    arn: str
    hostname: str
    fqdn: str
    ip: str
    mac_address: str
    os_type: str
    os_name: str
    cpus: int
    ram_bytes: int
    disks: list[tuple[str, int]]
    recommended_instance_type: str
    origin_region: str
    origin_account_id: str
    source_instance_id: str | None
    hardware_id: str
    tags: dict[str, str]
    added_at: datetime
    replication_state: str
    # INITIATING/INITIAL_SYNC progress: when the sync started and when it completes.
    sync_started: datetime | None = None
    sync_done: datetime | None = None
    stalled_since: datetime | None = None
    windows: list[snapshots.ReplicationWindow] = field(default_factory=list)
    on_demand_snapshots: list[datetime] = field(default_factory=list)
    replication_configuration: dict[str, Any] = field(default_factory=dict)
    launch_configuration: dict[str, Any] = field(default_factory=dict)
    recovery_instance_id: str | None = None
    last_launch: LastLaunch | None = None
    replication_direction: str = "FAILOVER"
    reversed_direction_arn: str | None = None
    agent_version: str = "4.6.5.0"
    staging_source_server_arn: str | None = None  # an extended source server's original

    @property
    def is_windows(self) -> bool:
        return self.os_type.upper() == "WINDOWS"

    @property
    def in_aws(self) -> bool:
        return self.source_instance_id is not None

    def state_at(self, now: datetime) -> str:
        if self.replication_state in ("INITIATING", "INITIAL_SYNC") and self.sync_done:
            if now >= self.sync_done:
                return "CONTINUOUS"
            assert self.sync_started is not None
            initiating_end = self.sync_started + (self.sync_done - self.sync_started) * (
                _initiating_share()
            )
            return "INITIATING" if now < initiating_end else "INITIAL_SYNC"
        return self.replication_state

    def snapshot_instants(self, now: datetime) -> list[datetime]:
        policy = self.replication_configuration.get("pitPolicy") or snapshots.DEFAULT_PIT_POLICY
        return snapshots.pit_instants(policy, self.windows, self.on_demand_snapshots, now)

    def _replicated_disks(self, state: str, now: datetime) -> list[dict[str, Any]]:
        disks = []
        for device, size in self.disks:
            total = 0 if state == "DISCONNECTED" else size
            replicated = total
            if state == "INITIATING":
                replicated = 0
            elif state == "INITIAL_SYNC" and self.sync_done and self.sync_started:
                span = (self.sync_done - self.sync_started).total_seconds() or 1.0
                done = min(1.0, max(0.0, (now - self.sync_started).total_seconds() / span))
                replicated = int(total * done)
            disks.append(
                {
                    "deviceName": device,
                    "totalStorageBytes": total,
                    "replicatedStorageBytes": replicated,
                    "rescannedStorageBytes": 0,
                    "backloggedStorageBytes": 0,
                    "volumeStatus": "REGULAR",
                }
            )
        return disks

    def _initiation(self, state: str, now: datetime) -> dict[str, Any]:
        start = self.sync_started or self.added_at
        statuses = ["SUCCEEDED"] * len(INITIATION_STEPS)
        if state == "INITIATING" and self.sync_done:
            span = (self.sync_done - start).total_seconds() * (_initiating_share())
            done = int(len(INITIATION_STEPS) * (now - start).total_seconds() / (span or 1.0))
            done = min(done, len(INITIATION_STEPS) - 1)
            statuses = (
                ["SUCCEEDED"] * done
                + ["IN_PROGRESS"]
                + ["NOT_STARTED"] * (len(INITIATION_STEPS) - done - 1)
            )
        return {
            "startDateTime": iso(start),
            "steps": [
                {"name": name, "status": status}
                for name, status in zip(INITIATION_STEPS, statuses, strict=True)
            ],
        }

    def data_replication_info(self, now: datetime) -> dict[str, Any]:
        state = self.state_at(now)
        info: dict[str, Any] = {
            "dataReplicationState": state,
            "replicatedDisks": self._replicated_disks(state, now),
        }
        if state != "DISCONNECTED":
            info["dataReplicationInitiation"] = self._initiation(state, now)
            info["stagingAvailabilityZone"] = f"{self.region}a"
        if state in FLOWING:  # caught up, unless a fault says it lags (faults.lag_replication)
            lag = STATE.faults.replication_lag_for(
                self.account_id, self.region, self.source_server_id, self.hostname
            )
            info["lagDuration"] = iso_duration(lag or 0)
        elif state in ("STALLED", "STOPPED", "PAUSED") and self.windows:
            last = self.windows[-1].end or self.stalled_since or now
            info["lagDuration"] = iso_duration((now - last).total_seconds())
        if state == "INITIAL_SYNC" and self.sync_done:
            info["etaDateTime"] = iso(self.sync_done)
        if state == "STALLED":
            info["dataReplicationError"] = {
                "error": "UNSTABLE_NETWORK",
                "rawError": "The replication agent lost its connection to the replication server",
            }
        return info

    def last_launch_result(self) -> str:
        if self.last_launch is None:
            return "NOT_STARTED"
        return {
            "PENDING": "PENDING",
            "IN_PROGRESS": "PENDING",
            "LAUNCHED": "SUCCEEDED",
            "TERMINATED": "SUCCEEDED",
            "FAILED": "FAILED",
        }[self.last_launch.status]

    def staging_area(self) -> dict[str, Any]:
        if not self.staging_source_server_arn:
            return {"status": "NOT_EXTENDED"}
        return {
            "status": "EXTENDED",
            "stagingAccountID": self.staging_source_server_arn.split(":")[4],
            "stagingSourceServerArn": self.staging_source_server_arn,
        }

    def describe(self, now: datetime) -> dict[str, Any]:
        hints: dict[str, Any] = {"hostname": self.hostname, "fqdn": self.fqdn}
        if self.source_instance_id:
            hints["awsInstanceID"] = self.source_instance_id
        life: dict[str, Any] = {
            "addedToServiceDateTime": iso(self.added_at),
            "lastSeenByServiceDateTime": iso(now),
        }
        if self.windows:
            first = self.windows[0].start
            if first <= now:
                life["firstByteDateTime"] = iso(first)
                life["elapsedReplicationDuration"] = iso_duration((now - first).total_seconds())
        if self.last_launch is not None:
            life["lastLaunch"] = {
                "initiated": {
                    "apiCallDateTime": iso(self.last_launch.api_call),
                    "jobID": self.last_launch.job_id,
                    "type": self.last_launch.launch_type,
                },
                "status": self.last_launch.status,
            }
        item: dict[str, Any] = {
            "sourceServerID": self.source_server_id,
            "arn": self.arn,
            "tags": dict(self.tags),
            "lastLaunchResult": self.last_launch_result(),
            "dataReplicationInfo": self.data_replication_info(now),
            "lifeCycle": life,
            "sourceProperties": {
                "lastUpdatedDateTime": iso(self.added_at),
                "recommendedInstanceType": self.recommended_instance_type,
                "identificationHints": hints,
                "networkInterfaces": [
                    {"macAddress": self.mac_address, "ips": [self.ip], "isPrimary": True}
                ],
                "disks": [{"deviceName": d, "bytes": size} for d, size in self.disks],
                "cpus": [{"cores": self.cpus, "modelName": "Intel(R) Xeon(R) Platinum 8259CL CPU"}],
                "ramBytes": self.ram_bytes,
                "os": {"fullString": self.os_name},
                "supportsNitroInstances": True,
            },
            "stagingArea": self.staging_area(),
            "sourceCloudProperties": {
                "originAccountID": self.origin_account_id,
                "originRegion": self.origin_region,
                "originAvailabilityZone": f"{self.origin_region}a",
            },
            "replicationDirection": self.replication_direction,
            "agentVersion": self.agent_version,
        }
        if self.recovery_instance_id:
            item["recoveryInstanceId"] = self.recovery_instance_id
        if self.reversed_direction_arn:
            item["reversedDirectionSourceServerArn"] = self.reversed_direction_arn
        return item


@dataclass
class FailbackConfiguration:
    name: str
    bandwidth_throttling: int = 0
    use_private_ip: bool = False
    internet_protocol: str = "IPV4"


@dataclass
class RecoveryInstance:
    recovery_instance_id: str  # the EC2 instance id, as in DRS
    arn: str
    source_server_id: str
    job_id: str
    is_drill: bool
    origin_environment: str
    origin_availability_zone: str
    hostname: str
    fqdn: str
    os_name: str
    cpus: int
    ram_bytes: int
    disks: list[tuple[str, int]]
    volumes: dict[str, str]
    created_at: datetime
    snapshot_time: datetime
    tags: dict[str, str] = field(default_factory=dict)
    disconnected: bool = False
    failback_state: str = "FAILBACK_NOT_STARTED"
    failback_started: datetime | None = None
    failback_ready: datetime | None = None
    failback_job_id: str | None = None
    failback_launch_type: str | None = None
    failback_configuration: FailbackConfiguration | None = None

    def failback_state_at(self, now: datetime) -> str:
        if (
            self.failback_state == "FAILBACK_IN_PROGRESS"
            and self.failback_ready is not None
            and now >= self.failback_ready
        ):
            return "FAILBACK_READY_FOR_LAUNCH"
        return self.failback_state

    def _replication_state(self, now: datetime) -> str:
        if self.disconnected:
            return "DISCONNECTED"
        state = self.failback_state_at(now)
        if state == "FAILBACK_IN_PROGRESS":
            return "INITIAL_SYNC"
        if state in ("FAILBACK_READY_FOR_LAUNCH", "FAILBACK_COMPLETED"):
            return "CONTINUOUS"
        return "NOT_STARTED"

    def describe(self, now: datetime, instance: Any | None, ec2_state: str) -> dict[str, Any]:
        replication = self._replication_state(now)
        steps_done = replication in ("CONTINUOUS",)
        info: dict[str, Any] = {
            "dataReplicationState": replication,
            "replicatedDisks": [
                {
                    "deviceName": device,
                    "totalStorageBytes": 0 if replication == "DISCONNECTED" else size,
                    "replicatedStorageBytes": size if steps_done else 0,
                    "rescannedStorageBytes": 0,
                    "backloggedStorageBytes": 0,
                }
                for device, size in self.disks
            ],
        }
        if replication in ("INITIAL_SYNC", "CONTINUOUS"):
            info["dataReplicationInitiation"] = {
                "startDateTime": iso(self.failback_started or now),
                "steps": [
                    {"name": name, "status": "SUCCEEDED" if steps_done else "IN_PROGRESS"}
                    for name in FAILBACK_STEPS
                ],
            }
        failback: dict[str, Any] = {
            "state": self.failback_state_at(now),
            "failbackToOriginalServer": self.origin_environment == "AWS",
        }
        if self.failback_job_id:
            failback["failbackJobID"] = self.failback_job_id
        if self.failback_launch_type:
            failback["failbackLaunchType"] = self.failback_launch_type
        if self.failback_started:
            failback["failbackInitiationTime"] = iso(self.failback_started)
            failback["failbackClientID"] = f"fbc-{self.recovery_instance_id[2:]}"
        properties: dict[str, Any] = {
            "lastUpdatedDateTime": iso(self.created_at),
            "identificationHints": {
                "hostname": self.hostname,
                "fqdn": self.fqdn,
                "awsInstanceID": self.recovery_instance_id,
            },
            # No ebsVolumeID: the model caps EbsVolumeID at 19 characters, which
            # today's 21-character volume ids exceed (see self.volumes for them).
            "disks": [{"internalDeviceName": device, "bytes": size} for device, size in self.disks],
            "cpus": [{"cores": self.cpus, "modelName": "Intel(R) Xeon(R) Platinum 8259CL CPU"}],
            "ramBytes": self.ram_bytes,
            "os": {"fullString": self.os_name},
        }
        if instance is not None:
            properties["networkInterfaces"] = [
                {
                    "macAddress": nic.mac_address,
                    "ips": [ip for ip in [nic.private_ip_address] if ip],
                    "isPrimary": index == 0,
                }
                for index, nic in sorted(instance.nics.items())
            ]
        return {
            "ec2InstanceID": self.recovery_instance_id,
            "ec2InstanceState": ec2_state,
            "jobID": self.job_id,
            "recoveryInstanceID": self.recovery_instance_id,
            "sourceServerID": self.source_server_id,
            "arn": self.arn,
            "tags": dict(self.tags),
            "failback": failback,
            "dataReplicationInfo": info,
            "recoveryInstanceProperties": properties,
            "pointInTimeSnapshotDateTime": iso(self.snapshot_time),
            "isDrill": self.is_drill,
            "originEnvironment": self.origin_environment,
            "originAvailabilityZone": self.origin_availability_zone,
        }


@dataclass
class Participant:
    source_server_id: str
    recovery_instance_id: str | None = None
    launch_status: str = "PENDING"

    def describe(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "sourceServerID": self.source_server_id,
            "launchStatus": self.launch_status,
            "launchActionsStatus": {"runs": []},
        }
        if self.recovery_instance_id:
            item["recoveryInstanceID"] = self.recovery_instance_id
        return item


@dataclass(order=True)
class Step:
    """Something a job does at a moment of simulated time."""

    at: datetime
    seq: int
    action: str = field(compare=False)
    key: str | None = field(default=None, compare=False)  # which participant
    data: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Job:
    job_id: str
    arn: str
    job_type: str  # LAUNCH | TERMINATE
    initiated_by: str
    created_at: datetime
    start_at: datetime
    end_at: datetime
    tags: dict[str, str]
    participants: dict[str, Participant]
    steps: list[Step]
    is_drill: bool = False
    log: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, str] = field(default_factory=dict)  # source network -> launch status

    def status_at(self, now: datetime) -> str:
        if now < self.start_at:
            return "PENDING"
        if now < self.end_at or self.steps:
            return "STARTED"
        return "COMPLETED"

    def active_at(self, now: datetime) -> bool:
        return self.status_at(now) != "COMPLETED"

    def describe(self, now: datetime) -> dict[str, Any]:
        status = self.status_at(now)
        item: dict[str, Any] = {
            "jobID": self.job_id,
            "arn": self.arn,
            "type": self.job_type,
            "initiatedBy": self.initiated_by,
            "creationDateTime": iso(self.created_at),
            "status": status,
            "participatingServers": [p.describe() for p in self.participants.values()],
            "tags": dict(self.tags),
        }
        if self.resources:
            item["participatingResources"] = [
                {"participatingResourceID": {"sourceNetworkID": key}, "launchStatus": status}
                for key, status in self.resources.items()
            ]
        if status == "COMPLETED":
            item["endDateTime"] = iso(self.end_at)
        return item


def _initiating_share() -> float:
    """The part of replication set-up spent initiating (before the initial sync)."""
    timings = STATE.drs_timings
    total = timings.replication_initiating_seconds + timings.initial_sync_seconds
    return timings.replication_initiating_seconds / total if total else 1.0
