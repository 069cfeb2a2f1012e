"""The embedded AWS sandbox (SPEC §9). Not deployed to Lambda."""

import os

from drorch.sandbox.amis import catalog_path

# A small AMI catalog instead of moto's ~1,200 images per EC2 account/region
# (drorch.sandbox.amis). It must be set before moto.ec2 is imported; set
# MOTO_AMIS_PATH yourself to use another catalog.
if "MOTO_AMIS_PATH" not in os.environ:
    os.environ["MOTO_AMIS_PATH"] = str(catalog_path())

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
