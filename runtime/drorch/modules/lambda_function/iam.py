"""What the lambda-function module may call in a staging account.

Reads of functions, their concurrency, provisioned concurrency and event source
mappings in the account's regions. A drill only reads; a failover or cleanup changes
reserved and provisioned concurrency and switches event source mappings.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    # function:* also reaches the qualified ARNs (function:<name>:<alias or version>)
    functions = arns("lambda", account_id, regions, "function:*")
    mappings = arns("lambda", account_id, regions, "event-source-mapping:*")
    return ModuleIam(
        read=[
            statement(
                "LambdaFunctionRead",
                [
                    "lambda:GetFunction",
                    "lambda:GetFunctionConcurrency",
                    "lambda:GetProvisionedConcurrencyConfig",
                    "lambda:ListTags",
                ],
                functions,
            ),
            statement("LambdaFunctionReadMappings", ["lambda:GetEventSourceMapping"], mappings),
            statement(
                "LambdaFunctionList",
                ["lambda:ListFunctions", "lambda:ListEventSourceMappings"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        write=[
            statement(
                "LambdaFunctionCapacity",
                [
                    "lambda:PutFunctionConcurrency",
                    "lambda:DeleteFunctionConcurrency",
                    "lambda:PutProvisionedConcurrencyConfig",
                    "lambda:DeleteProvisionedConcurrencyConfig",
                ],
                functions,
            ),
            statement(
                "LambdaFunctionSwitchMappings", ["lambda:UpdateEventSourceMapping"], mappings
            ),
        ],
    )
