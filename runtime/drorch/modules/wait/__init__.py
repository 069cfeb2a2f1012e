"""The ``wait`` step (see ``adapter``)."""

from drorch.modules.wait.adapter import WaitStep

MODULE = WaitStep()

__all__ = ["MODULE", "WaitStep"]
