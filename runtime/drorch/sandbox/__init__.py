"""The embedded AWS sandbox (SPEC §9). Not deployed to Lambda."""

import os
from pathlib import Path

# A small AMI catalog instead of moto's ~1,200 images per EC2 account/region
# (see scripts/build_ami_catalog.py). It must be set before moto.ec2 is imported;
# set MOTO_AMIS_PATH yourself to use another catalog.
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(__file__).with_name("amis.json")))

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
