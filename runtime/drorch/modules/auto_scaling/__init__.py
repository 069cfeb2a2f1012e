"""The auto-scaling module: EC2 Auto Scaling group sizes in the recovery region (see
``adapter``)."""

from drorch.modules.auto_scaling.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    AutoScalingModule,
)

MODULE = AutoScalingModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "AutoScalingModule"]
