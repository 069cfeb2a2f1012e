"""The embedded AWS sandbox (SPEC §9). Not deployed to Lambda."""

from drorch.sandbox.clock import SimClock
from drorch.sandbox.core import Hub, ProvisionedAccount, Sandbox
from drorch.sandbox.faults import FaultPlan
from drorch.sandbox.state import DrsQuotas, DrsTimings

__all__ = [
    "DrsQuotas",
    "DrsTimings",
    "FaultPlan",
    "Hub",
    "ProvisionedAccount",
    "Sandbox",
    "SimClock",
]
