"""The rds-instance module: RDS DB instances (not Aurora) (see ``adapter``)."""

from drorch.modules.rds_instance.adapter import DISRUPTIVE_CALLS, RESOURCE_TYPE, RdsInstanceModule

MODULE = RdsInstanceModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "RdsInstanceModule"]
