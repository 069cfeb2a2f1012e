"""The lambda-function module: Lambda capacity and event source mappings (see ``adapter``)."""

from drorch.modules.lambda_function.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    LambdaFunctionModule,
)

MODULE = LambdaFunctionModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "LambdaFunctionModule"]
