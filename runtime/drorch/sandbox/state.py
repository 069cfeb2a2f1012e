"""Process-wide state shared by the sandbox's fake services.

moto keeps its backends in module-level ``BackendDict`` objects, so the fakes
that drorch adds (DRS, Resource Explorer) are process-wide too. They read the
simulated clock, the injected faults and the configurable quotas from here;
:class:`drorch.sandbox.Sandbox` replaces them when it starts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from drorch.sandbox.clock import SimClock
from drorch.sandbox.faults import FaultPlan
from drorch.sandbox.lambda_runtime import LambdaRuntime


@dataclass
class DrsQuotas:
    """DRS service quotas the fake enforces (defaults are the AWS defaults)."""

    max_servers_per_job: int = 100
    max_concurrent_jobs: int = 20
    max_servers_in_active_jobs: int = 500
    max_source_servers: int = 3000
    # "Max replicating source servers per account": 300 (AWS Elastic Disaster Recovery
    # endpoints and quotas, https://docs.aws.amazon.com/general/latest/gr/drs.html)
    max_replicating_source_servers: int = 300


@dataclass
class DrsTimings:
    """How long DRS work takes, in simulated seconds."""

    job_start_delay: float = 30.0  # PENDING -> STARTED
    snapshot_seconds: float = 60.0  # taking the point-in-time snapshot
    conversion_seconds: float = 240.0  # conversion server work per server
    launch_seconds: float = 120.0  # boot of the recovery instance
    terminate_seconds: float = 60.0
    replication_initiating_seconds: float = 120.0  # agent connects, replication server starts
    initial_sync_seconds: float = 600.0  # first full copy of the disks
    network_deploy_seconds: float = 180.0  # a source network's CloudFormation stack
    # real DRS work never takes the same time twice: each duration of a launch (job start,
    # snapshot, conversion, boot) is varied by up to +-variation of it, per server and job
    variation: float = 0.0

    def vary(self, seconds: float, *key: object) -> float:
        """``seconds`` varied by up to +-``variation``: the same key, the same answer."""
        if not self.variation:
            return seconds
        digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
        unit = int.from_bytes(digest[:8], "big") / 2**64  # [0, 1)
        return seconds * (1 + self.variation * (2 * unit - 1))


@dataclass
class FidelityMonitor:
    """Which services' raw responses are checked against their model, and what was found.

    ``strict`` raises :class:`drorch.sandbox.fidelity.FidelityError` in the caller
    (tests run strict); otherwise violations are only recorded.
    """

    services: set[str] = field(default_factory=lambda: {"drs", "resource-explorer-2"})
    strict: bool = False
    violations: list[str] = field(default_factory=list)


@dataclass
class SandboxState:
    clock: SimClock = field(default_factory=SimClock)
    faults: FaultPlan = field(default_factory=FaultPlan)
    drs_quotas: DrsQuotas = field(default_factory=DrsQuotas)
    drs_timings: DrsTimings = field(default_factory=DrsTimings)
    fidelity: FidelityMonitor = field(default_factory=FidelityMonitor)
    lambda_runtime: LambdaRuntime = field(default_factory=LambdaRuntime)
    # the access key moto's Step Functions interpreter's calls are re-signed with
    service_access_key: str | None = None


STATE = SandboxState()


def reset_state(
    clock: SimClock | None = None,
    drs_quotas: DrsQuotas | None = None,
    drs_timings: DrsTimings | None = None,
    strict: bool = False,
) -> SandboxState:
    STATE.clock = clock or SimClock()
    STATE.faults = FaultPlan()
    STATE.drs_quotas = drs_quotas or DrsQuotas()
    STATE.drs_timings = drs_timings or DrsTimings()
    STATE.fidelity = FidelityMonitor(strict=strict)
    STATE.lambda_runtime = LambdaRuntime()
    STATE.service_access_key = None
    return STATE
