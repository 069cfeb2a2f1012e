"""What the dynamodb-global module may call in a staging account.

Table reads in the account's regions; the ``ReplicationLatency`` metric, which
DynamoDB publishes in each *sending* replica's region, so it is read wherever the
table's other replicas are (``cloudwatch:GetMetricStatistics`` takes no resource, and a
global table's replicas need not be in the account's regions). A drill's writes are
limited to its own copies, named ``drorch-drill-*``: the restore (which needs the item
writes on the new table), tagging it and deleting it.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

DRILL_PREFIX = "drorch-drill-"
RESTORE_ITEM_WRITES = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    tables = arns("dynamodb", account_id, regions, "table/*")
    copies = arns("dynamodb", account_id, regions, f"table/{DRILL_PREFIX}*")
    return ModuleIam(
        read=[
            statement(
                "DynamoDbGlobalReadTables",
                [
                    "dynamodb:DescribeTable",
                    "dynamodb:ListTagsOfResource",
                    "dynamodb:DescribeContinuousBackups",
                ],
                tables,
            ),
            statement(
                "DynamoDbGlobalListTables",
                ["dynamodb:ListTables"],
                "*",
                condition=in_regions(regions),
            ),
            statement("DynamoDbGlobalReadLatency", ["cloudwatch:GetMetricStatistics"], "*"),
        ],
        drill_safe=[
            # the source replica is only read; the restore writes the new table
            statement("DynamoDbGlobalDrillRestore", ["dynamodb:RestoreTableToPointInTime"], tables),
            statement(
                "DynamoDbGlobalDrillCopies",
                [*RESTORE_ITEM_WRITES, "dynamodb:TagResource", "dynamodb:DeleteTable"],
                copies,
            ),
        ],
    )
