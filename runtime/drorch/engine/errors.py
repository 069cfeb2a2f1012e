"""Errors the state machines catch by name.

A Lambda handler that raises one of these reports ``errorType`` = the class
name, which is the ``Error`` an ASL ``Catch`` or ``Retry`` matches on.
"""

from __future__ import annotations

from drorch.errors import DrorchError


class EngineError(DrorchError):
    """Base class of the errors with an ASL name."""


class ExecutionConflict(EngineError):
    """Another execution of the same application holds the application's lock."""


class ManifestInvalid(EngineError):
    """The execution's manifest does not load or validate."""


class WaveFailed(EngineError):
    """A wave failed and its failure policy is ``stop``."""


class GateRejected(EngineError):
    """A human rejected a gate (also the error of the SendTaskFailure that ends the wait)."""


class Cancelled(EngineError):
    """An operator cancelled the execution."""


class ModuleFailed(EngineError):
    """A module group's phase ended FAILED in a staging account."""


class EmptySelection(EngineError):
    """A module group's selector matched nothing and the manifest does not allow that."""


class PlanTooLarge(EngineError):
    """The plan would not fit a Step Functions payload (drorch's budget under 64 KiB)."""


class PreconditionFailed(EngineError):
    """An operation's precondition does not hold (e.g. a failback with nothing failed over):
    refused before the first change."""


class ReadinessBlocked(EngineError):
    """A readiness BLOCKER stops the operation before anything changes (no ``--force``)."""


class InvalidTransition(DrorchError):
    """A status change the canonical lifecycle does not allow (e.g. reopening a finished run)."""


class GateNotFound(DrorchError):
    """No gate with that number is open for the execution."""


ASL_ERRORS = (
    ExecutionConflict,
    ManifestInvalid,
    WaveFailed,
    GateRejected,
    Cancelled,
    ModuleFailed,
    EmptySelection,
    PlanTooLarge,
    PreconditionFailed,
    ReadinessBlocked,
)
