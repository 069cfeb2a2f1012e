"""The dynamodb-global module: DynamoDB global tables (see ``adapter``)."""

from drorch.modules.dynamodb_global.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    DynamoDbGlobalModule,
)

MODULE = DynamoDbGlobalModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "DynamoDbGlobalModule"]
