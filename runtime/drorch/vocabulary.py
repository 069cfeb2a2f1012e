"""drorch's one vocabulary (SPEC §3, §5): operations, phases and statuses.

The manifest, the modules, the engine, the history, the reports and the CLI all
import these names from here.
"""

from __future__ import annotations

OPERATIONS: tuple[str, ...] = ("drill", "failover", "failback", "cleanup")
DRILL = "drill"

INSTANTIATE, ACTIVATE, CLEANUP, REPLICATE = "INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"
PHASES: tuple[str, ...] = (INSTANTIATE, ACTIVATE, CLEANUP, REPLICATE)
DEFAULT_PHASES: dict[str, tuple[str, ...]] = {
    "drill": (INSTANTIATE, ACTIVATE),
    "failover": (INSTANTIATE, ACTIVATE),
    "failback": (REPLICATE, INSTANTIATE, ACTIVATE),
    "cleanup": (CLEANUP,),
}

# the canonical status of an execution, a wave, a module group or a resource
PENDING, RUNNING, PAUSED, WAITING_APPROVAL = "PENDING", "RUNNING", "PAUSED", "WAITING_APPROVAL"
SUCCEEDED, FAILED, CANCELLED = "SUCCEEDED", "FAILED", "CANCELLED"
CANONICAL_STATUSES: tuple[str, ...] = (
    PENDING,
    RUNNING,
    PAUSED,
    WAITING_APPROVAL,
    SUCCEEDED,
    FAILED,
    CANCELLED,
)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
# a resource the module chose not to act on (e.g. already recovered) counts as done; a module
# group in an account that an operator skipped after it failed (failurePolicy ask)
SKIPPED = "SKIPPED"
# a wave, or a member of one, that did not run because a wave it depends on (or its own wave)
# failed under failurePolicy isolate
BLOCKED = "BLOCKED"
MODULE_STATUSES: tuple[str, ...] = (RUNNING, SUCCEEDED, FAILED)
RESOURCE_STATUSES: tuple[str, ...] = (RUNNING, SUCCEEDED, FAILED, SKIPPED)
DONE = frozenset({SUCCEEDED, FAILED, SKIPPED})
