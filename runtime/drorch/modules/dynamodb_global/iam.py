"""What the dynamodb-global module may call in a staging account.

Table reads and the ``ReplicationLatency`` metric in the account's regions (the
module reads both in the recovery region only). A drill's writes are
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
            statement(
                "DynamoDbGlobalReadLatency",
                ["cloudwatch:GetMetricStatistics"],
                "*",
                condition=in_regions(regions),
            ),
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
