"""The payloads that pass between the state machines (``drorch.engine.asl``) and the Lambda
handlers, in one place.

Each is a ``TypedDict``: what a state sends (``...Request``) and what the handler returns
(``...Answer``). The ASL selects fields by these names (``ResultSelector``/``Parameters``),
so a field renamed here must be renamed there; ``tests/engine/test_contracts.py`` checks
that every field the ASL reads from an answer is declared here. Payloads carry keys and
counts only; lists of resources live in S3 (``drorch.names`` has the layout).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

Operation = Literal["drill", "failover", "failback", "cleanup"]
Phase = Literal["INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"]
# SKIPPED: an operator skipped the failed step; BLOCKED: not run, its wave failed or is
# blocked under failurePolicy isolate
ModuleStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "BLOCKED"]
GateKind = Literal["approval", "wave", "resume", "step", "failure"]


class ManifestRef(TypedDict):
    bucket: str
    key: str
    versionId: str


# --- master ---------------------------------------------------------------------------------
class MasterInput(TypedDict):
    """What ``Client.start_execution`` (or the SSM document, or a schedule) starts with."""

    executionId: str
    application: str
    operation: Operation
    manifest: ManifestRef
    pollSeconds: NotRequired[int]
    requestedBy: str
    force: NotRequired[bool]  # go on despite readiness BLOCKERs (recorded with who)


class InitialiseAnswer(TypedDict):
    executionId: str
    application: str
    operation: Operation
    phases: list[Phase]
    pollSeconds: int
    startedAt: str
    accounts: list[str]  # the staging accounts the Discover Map discovers in, one each


class ReadinessAnswer(TypedDict):
    verdict: Literal["READY", "WARNINGS", "BLOCKED"]
    blockers: int
    warnings: int
    forced: bool


class DiscoverAnswer(TypedDict):
    discovered: int
    excluded: int
    skipped: int


class PlanItem(TypedDict):
    """A module group, wave action or health check in a wave level."""

    groupId: str
    accounts: list[str]  # staging account ids, or names.HUB_TARGET
    # actions and checks: what their failure does to the later actions of the level
    failurePolicy: NotRequired[Literal["fail", "continue", "ask", "isolate"]]


class PlanLevel(TypedDict):
    level: int
    waves: list[str]
    pauseBefore: bool
    pauseAfter: bool
    pre: list[PlanItem]  # wave actions, run in order before the groups
    groups: list[PlanItem]  # module groups, in parallel
    post: list[PlanItem]  # wave actions, in order, after the groups succeed
    checks: list[PlanItem]  # health checks, in parallel, after the post-wave actions
    after: bool  # whether there are post-wave actions or checks


class PlanPhase(TypedDict):
    phase: Phase
    approval: bool
    approvalTimeoutSeconds: int
    levels: list[PlanLevel]


class ReadinessShard(TypedDict):
    """One page of one account's resources the readiness evaluation probes."""

    accountId: str
    page: int


class PlanAnswer(TypedDict):
    phases: list[PlanPhase]
    readiness: list[ReadinessShard]  # the master's Readiness Map (drorch.engine.readiness)


class GateRequest(TypedDict):
    executionId: str
    kind: GateKind
    phase: Phase
    token: str
    level: NotRequired[int]
    waves: NotRequired[list[str]]
    position: NotRequired[str]
    groupId: NotRequired[str]  # step and failure gates
    accountId: NotRequired[str]  # step and failure gates
    attempt: NotRequired[int]  # failure gates: the attempt that failed


class GateAnswer(TypedDict):
    gate: int
    kind: GateKind


class CheckpointRequest(TypedDict):
    action: Literal["before-level", "after-step", "after-groups", "after-level"]
    executionId: str
    phase: Phase
    level: NotRequired[PlanLevel | int]
    groupId: NotRequired[str]  # after-step
    accounts: NotRequired[list[str]]  # after-step


class BeforeLevelAnswer(TypedDict):
    paused: bool
    cancelled: bool


class CurrentLevelAnswer(TypedDict):
    """current-level: the level's whole state back, with ``level`` as the plan stands now."""

    executionId: str
    operation: str
    pollSeconds: int
    phase: Phase
    level: PlanLevel
    check: BeforeLevelAnswer


class FailedAnswer(TypedDict):
    """after-step and after-groups: did something fail?"""

    failed: bool


class AfterLevelAnswer(TypedDict):
    level: int
    waves: dict[str, str]
    failed: list[str]


class FinaliseAnswer(TypedDict):
    executionId: str
    status: str
    report: dict[str, str]
    durationSeconds: int | None
    resources: dict[str, int]
    wavesFailed: int


class FailAnswer(TypedDict):
    executionId: str
    status: str
    error: str
    cause: str
    lockReleased: bool


# --- lifecycle and executor ------------------------------------------------------------------
class LifecycleInput(TypedDict):
    executionId: str
    operation: Operation
    pollSeconds: int
    phase: Phase
    groupId: str
    accounts: list[str]


class ExecutorInput(TypedDict):
    executionId: str
    operation: Operation
    pollSeconds: int
    phase: Phase
    groupId: str
    accountId: str


class ModuleRequest(TypedDict):
    """What module_start and module_status read from the executor's state."""

    executionId: str
    groupId: str
    accountId: str
    phase: Phase
    pollSeconds: NotRequired[int]
    decision: NotRequired[dict[str, Any]]  # an approval step's gate answer (module_status)
    # a failed step's decision (failurePolicy ask): {"decision": "retry"|"skip", "attempt"}
    # or the Catch's {"Error", "Cause"} when the wait timed out or was cancelled
    failureDecision: NotRequired[dict[str, Any]]


class ModuleAnswer(TypedDict):
    """module_start and module_status: where the phase is, and how long the executor's
    Wait state waits before the next status call."""

    status: ModuleStatus
    deadline: int
    counts: dict[str, int]
    waitSeconds: int
    gate: bool  # the module waits for a person (an approval step)
    gateTimeoutSeconds: int
    ask: bool  # FAILED, and an operator decides: retry or skip (failurePolicy ask)
    attempt: int  # 1, then 2, 3... after each retry
    # what the executor may wait on events for instead of polling (``{"key", "expect"}``
    # each, see drorch.engine.waiters); empty: it polls
    awaits: list[dict[str, Any]]
    summary: NotRequired[str]
    reason: NotRequired[str]


# the fields each state reads from a handler's answer (the ASL's ResultSelector)
ANSWERS: dict[str, type] = {
    "initialise": InitialiseAnswer,
    "discover": DiscoverAnswer,
    "plan": PlanAnswer,
    "readiness": ReadinessAnswer,
    "gate": GateAnswer,
    "module_start": ModuleAnswer,
    "module_status": ModuleAnswer,
    "finalise": FinaliseAnswer,
    "fail": FailAnswer,
}
CHECKPOINT_ANSWERS: dict[str, type] = {
    "before-level": BeforeLevelAnswer,
    "current-level": CurrentLevelAnswer,
    "after-step": FailedAnswer,
    "after-groups": FailedAnswer,
    "after-level": AfterLevelAnswer,
}
