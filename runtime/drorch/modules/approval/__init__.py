"""The ``approval`` step (see ``adapter``)."""

from drorch.modules.approval.adapter import ApprovalStep

MODULE = ApprovalStep()

__all__ = ["ApprovalStep", "MODULE"]
