"""The DRS module: AWS Elastic Disaster Recovery source servers (see ``adapter``)."""

from drorch.modules.drs.adapter import DISRUPTIVE_CALLS, RESOURCE_TYPE, DrsModule

MODULE = DrsModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "DrsModule"]
