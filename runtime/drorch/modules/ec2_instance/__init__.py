"""The ec2-instance module: start or stop EC2 instances in the recovery region (see
``adapter``)."""

from drorch.modules.ec2_instance.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    Ec2InstanceModule,
)

MODULE = Ec2InstanceModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "Ec2InstanceModule"]
