"""The ``lambda-invoke`` step (see ``adapter``)."""

from drorch.modules.lambda_invoke.adapter import LambdaInvokeStep

MODULE = LambdaInvokeStep()

__all__ = ["MODULE", "LambdaInvokeStep"]
