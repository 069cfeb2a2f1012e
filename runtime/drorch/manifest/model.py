"""The manifest as typed, immutable Python: what the engine plans and runs from.

Built by :func:`drorch.manifest.load_manifest`, which validates first; every
default (application name, phases, dependencies, group names, failure policy) is
resolved here so that nothing downstream has to know the manifest's spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drorch.errors import InputError
from drorch.tags import CRITICAL as CRITICAL  # the impact values the dr:impact tag takes too
from drorch.tags import OPTIONAL as OPTIONAL
from drorch.vocabulary import DEFAULT_PHASES as DEFAULT_PHASES
from drorch.vocabulary import OPERATIONS
from drorch.vocabulary import PHASES as PHASES

# a wave's (and the manifest's) failure policy; "fail" is another name of "stop"
FAILURE_POLICIES: tuple[str, ...] = ("stop", "continue", "ask", "isolate")
FAILURE_POLICY_ALIASES = {"fail": "stop"}

DEFAULT_POLL_SECONDS = 30
DEFAULT_FAILURE_POLICY = "stop"
DEFAULT_WAVE_TIMEOUT_MINUTES = 120
DEFAULT_APPROVAL_TIMEOUT_MINUTES = 60
DEFAULT_APPROVAL_PHASES: tuple[str, ...] = ("ACTIVATE",)
DEFAULT_ACTION_TIMEOUT_MINUTES = 30


@dataclass(frozen=True)
class Selector:
    """Which resources a module group recovers: the AND of every criterion given."""

    tags: dict[str, str] = field(default_factory=dict)
    resource_types: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # staging-account names or ids; empty = all
    regions: tuple[str, ...] = ()  # empty = each account's source region
    ids: tuple[str, ...] = ()  # explicit ARNs or ids

    def describe(self) -> str:
        """The selector as one line, for messages and the plan."""
        parts = [f"{k}={v}" for k, v in self.tags.items()]
        for label, values in (
            ("ids", self.ids),
            ("types", self.resource_types),
            ("accounts", self.accounts),
            ("regions", self.regions),
        ):
            if values:
                parts.append(f"{label}: {', '.join(values)}")
        return "; ".join(parts) or "(empty)"


# What a module group is for: the wave's resources, or a step/check around them.
ROLES: tuple[str, ...] = ("module", "pre", "post", "check")
# a member's (module group, action, check): fail its wave, only warn, or ask an operator
STEP_FAILURE_POLICIES: tuple[str, ...] = ("fail", "continue", "ask")
END_OF_RUN = "end-of-run"  # the pseudo-wave of the manifest's top-level health checks


@dataclass(frozen=True)
class ModuleGroup:
    """One module and its resources in one wave; ``id`` is unique in the manifest.

    Wave actions and health checks are module groups too (``role`` pre, post or
    check), run by the same executor; their module is a step or check module, and
    the engine makes one resource of each per account it runs in."""

    id: str
    type: str
    name: str
    selector: Selector
    parameters: dict[str, Any] = field(default_factory=dict)
    role: str = "module"
    # fail | continue | ask (an optional member's is continue: it never fails its wave)
    failure_policy: str = "fail"
    impact: str = CRITICAL  # or OPTIONAL
    run_in_drill: bool | None = None  # None: the module's default
    phases: tuple[str, ...] = ()  # steps and checks: the phases they run in (empty: default)
    timeout_minutes: int | None = None  # None: the wave's
    # the TRS technology category (``database``, ...) the group was made from: it hands
    # the module only the resources of the module's dr:recovery-strategy values
    # (drorch.modules.routing); "" for a group the manifest names itself
    routed_from: str = ""
    # the manifest's technology entry it was made from (its name): the groups routed from one
    # TRS category share it, and a technology selecting nothing is an error unless allowEmpty
    technology: str = ""
    allow_empty: bool = False

    @property
    def is_step(self) -> bool:
        return self.role != "module"

    @property
    def optional(self) -> bool:
        return self.impact == OPTIONAL


@dataclass(frozen=True)
class Wave:
    name: str
    number: int
    depends_on: tuple[str, ...]  # wave names, defaults resolved
    pause_before: bool = False
    pause_after: bool = False
    timeout_minutes: int = DEFAULT_WAVE_TIMEOUT_MINUTES
    failure_policy: str = DEFAULT_FAILURE_POLICY  # the manifest's unless overridden
    groups: tuple[ModuleGroup, ...] = ()
    pre_actions: tuple[ModuleGroup, ...] = ()
    post_actions: tuple[ModuleGroup, ...] = ()
    health_checks: tuple[ModuleGroup, ...] = ()
    rto_target_minutes: int | None = None  # the manifest's own target for this wave

    @property
    def all_groups(self) -> tuple[ModuleGroup, ...]:
        """Pre-wave actions, module groups, post-wave actions, health checks."""
        return (*self.pre_actions, *self.groups, *self.post_actions, *self.health_checks)


@dataclass(frozen=True)
class Approval:
    required: bool = False
    phases: tuple[str, ...] = DEFAULT_APPROVAL_PHASES
    timeout_minutes: int = DEFAULT_APPROVAL_TIMEOUT_MINUTES
    approvers: tuple[str, ...] = ()

    def gates(self, phase: str) -> bool:
        """Whether ``phase`` waits for an approval."""
        return self.required and phase in self.phases


@dataclass(frozen=True)
class Notifications:
    sns_topic_arn: str | None = None
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    application: str
    customer: str
    environment: str
    manifest_version: str
    phases: dict[str, tuple[str, ...]]  # every operation -> its phases (defaults resolved)
    approval: Approval
    notifications: Notifications
    failure_policy: str
    poll_seconds: int
    waves: tuple[Wave, ...]  # ordered by waveNumber
    health_checks: tuple[ModuleGroup, ...] = ()  # at the end of the run (pseudo-wave END_OF_RUN)
    rto_target_minutes: int | None = None  # the application's RTO target (rtoTargetMinutes)

    def phases_for(self, operation: str) -> tuple[str, ...]:
        """The phases ``operation`` runs, in order; InputError if it runs none."""
        if operation not in OPERATIONS:
            raise InputError(
                f"unknown operation {operation!r}",
                hint=f"use one of {', '.join(OPERATIONS)}",
            )
        phases = self.phases.get(operation, ())
        if not phases:
            raise InputError(
                f"manifest {self.application!r} runs no phase for operation {operation!r}",
                hint="add the operation's phases to the manifest's `phases`",
            )
        return phases

    def wave(self, name: str) -> Wave:
        for wave in self.waves:
            if wave.name == name:
                return wave
        raise KeyError(name)

    @property
    def groups(self) -> tuple[ModuleGroup, ...]:
        """Every module group, wave by wave, with the wave actions and health checks, and
        the end-of-run health checks last."""
        return (
            *(group for wave in self.waves for group in wave.all_groups),
            *self.health_checks,
        )
