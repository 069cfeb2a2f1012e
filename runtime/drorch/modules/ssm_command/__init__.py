"""The ``ssm-command`` step (see ``adapter``)."""

from drorch.modules.ssm_command.adapter import SsmCommandStep

MODULE = SsmCommandStep()

__all__ = ["MODULE", "SsmCommandStep"]
