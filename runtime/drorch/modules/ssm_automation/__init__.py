"""The ``ssm-automation`` step (see ``adapter``)."""

from drorch.modules.ssm_automation.adapter import SsmAutomationStep

MODULE = SsmAutomationStep()

__all__ = ["MODULE", "SsmAutomationStep"]
