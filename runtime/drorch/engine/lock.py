"""The per-application lock (``drorch-locks``): two executions of one application never overlap.

The lock is an item ``{application, executionId, acquiredAt, expiresAt}`` written
with a conditional PutItem. It is taken over only when its holder is no longer
running (finished in the history, or never recorded) or past ``expiresAt`` — a
backstop for a hub that lost its fail path. Only the holder releases it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws, clock
from drorch.engine.errors import ExecutionConflict
from drorch.engine.history import TERMINAL, History, plain

LOCK_HOURS = 7 * 24  # a backstop only: the fail path and finalise release the lock


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass
class ApplicationLock:
    table: Any  # boto3 dynamodb.Table
    history: History | None = None  # to tell a live holder from a finished one

    @classmethod
    def from_config(
        cls, config: names.EnvConfig, history: History | None = None, session: Any = None
    ) -> ApplicationLock:
        return cls(aws.table(config.lock_table, session), history)

    def holder(self, application: str) -> dict[str, Any] | None:
        found = self.table.get_item(Key={"application": application}, ConsistentRead=True)
        return plain(found["Item"]) if "Item" in found else None

    def acquire(self, application: str, execution_id: str) -> dict[str, Any]:
        """Take the lock for ``execution_id`` (again, on a retry); ExecutionConflict if held."""
        now = clock.now()
        item = {
            "application": application,
            "executionId": execution_id,
            "acquiredAt": clock.iso(now),
            "expiresAt": clock.epoch(now + timedelta(hours=LOCK_HOURS)),
        }
        try:
            self.table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(application) OR executionId = :me "
                "OR expiresAt < :now",
                ExpressionAttributeValues={":me": execution_id, ":now": clock.epoch(now)},
            )
            return item
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
        current = self.holder(application)
        if current is None:  # released between our write and our read: try once more
            return self.acquire(application, execution_id)
        holder_id = current["executionId"]
        if self._holder_is_live(holder_id):
            started = ""
            if self.history is not None:
                record = self.history.execution(holder_id) or {}
                started = (
                    f" (status {record.get('status', '?')} since {record.get('startedAt', '?')})"
                )
            raise ExecutionConflict(
                f"application {application!r} is locked by execution {holder_id}{started}",
                hint=f"wait for it to finish, or cancel it: drorch cancel {holder_id}",
            )
        try:  # the holder finished without releasing: take over from exactly that holder
            self.table.put_item(
                Item=item,
                ConditionExpression="executionId = :holder",
                ExpressionAttributeValues={":holder": holder_id},
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
            raise ExecutionConflict(
                f"application {application!r} was locked by another execution meanwhile"
            ) from exc
        return item

    def _holder_is_live(self, holder_id: str) -> bool:
        if self.history is None:
            return True
        record = self.history.execution(holder_id)
        if record is None:
            # an execution takes the lock right after writing its record; none means a
            # start in progress at this very moment, so treat it as live
            return True
        return record["status"] not in TERMINAL

    def release(self, application: str, execution_id: str) -> bool:
        """Release if ``execution_id`` holds the lock; False (and nothing changed) otherwise."""
        try:
            self.table.delete_item(
                Key={"application": application},
                ConditionExpression="executionId = :me",
                ExpressionAttributeValues={":me": execution_id},
            )
            return True
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise
