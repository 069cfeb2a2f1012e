"""The manifest as typed, immutable Python: what the engine plans and runs from.

Built by :func:`drorch.manifest.load_manifest`, which validates first; every
default (application name, phases, dependencies, group names, failure policy) is
resolved here so that nothing downstream has to know the manifest's spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drorch.errors import InputError

OPERATIONS: tuple[str, ...] = ("drill", "failover", "failback", "cleanup")
PHASES: tuple[str, ...] = ("INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE")
DEFAULT_PHASES: dict[str, tuple[str, ...]] = {
    "drill": ("INSTANTIATE", "ACTIVATE"),
    "failover": ("INSTANTIATE", "ACTIVATE"),
    "failback": ("REPLICATE", "INSTANTIATE", "ACTIVATE"),
    "cleanup": ("CLEANUP",),
}
FAILURE_POLICIES: tuple[str, ...] = ("stop", "continue")
ACTION_TYPES: tuple[str, ...] = ("ssm-automation", "lambda")

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


@dataclass(frozen=True)
class ModuleGroup:
    """One module and its resources in one wave; ``id`` is unique in the manifest."""

    id: str
    type: str
    name: str
    selector: Selector
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WaveAction:
    """An SSM Automation document or a Lambda function run before/after a wave."""

    type: str  # "ssm-automation" | "lambda"
    name: str
    document_name: str | None = None
    document_version: str | None = None
    function_arn: str | None = None
    # ssm-automation: document parameters (name -> list of strings); lambda: the payload
    parameters: dict[str, Any] = field(default_factory=dict)
    accounts: tuple[str, ...] = ()  # empty = the hub account
    timeout_minutes: int = DEFAULT_ACTION_TIMEOUT_MINUTES


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
    pre_actions: tuple[WaveAction, ...] = ()
    post_actions: tuple[WaveAction, ...] = ()


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
    health_checks: tuple[dict[str, Any], ...] = ()

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
        """Every module group, wave by wave."""
        return tuple(group for wave in self.waves for group in wave.groups)
