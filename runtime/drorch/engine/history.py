"""Execution history in DynamoDB (``drorch-history``).

One partition per execution (``pk = EXEC#<executionId>``):

* ``sk = EXEC``: the execution (status, who, when, manifest, error, flags);
* ``sk = WAVE#<phase>#<level>#<wave>``: a wave's status and timings in a phase;
* ``sk = MOD#<phase>#<groupId>#<accountId>``: a module group's outcome in one account;
* ``sk = RES#<phase>#<groupId>#<accountId>#<resourceId>``: one resource's outcome;
* ``sk = GATE#<n>``: an approval, wave pause or resume gate, its task token and decision;
* ``sk = EDIT#<n>``: a plan edit during the run (who, when, which waves, what changed);
* ``sk = PROG#<phase>`` and ``sk = PROG#<phase>#<wave>``: how many resources of a phase (of
  a wave in a phase) are in each status, kept by atomic ``ADD`` as resources change;
* ``sk = CHG#<microseconds>#<phase>#<groupId>#<accountId>#<step>``: one executor step's
  resource changes, keyed by when they were written (what ``describe`` shows as the recent
  changes: read newest first, from a little before the last one read).

Progress reads (:meth:`History.progress`, :meth:`History.changes`) cost a few requests
whatever the number of resources; the ``RES#`` items are read on demand, a page at a time
(:meth:`History.resources_page`), and once by the report.

Statuses use the canonical vocabulary; an execution's status only moves along
:data:`TRANSITIONS`, enforced by conditional writes, so a finished execution can
never be reopened. Finished executions expire (TTL ``expiresAt``) after
:data:`RETENTION_DAYS`.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws, clock
from drorch.engine.errors import GateNotFound, InvalidTransition
from drorch.errors import DrorchError
from drorch.vocabulary import (
    CANCELLED,
    CANONICAL_STATUSES,
    FAILED,
    PAUSED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    TERMINAL,
    WAITING_APPROVAL,
)

STATUSES = CANONICAL_STATUSES
# where an execution may go from each status (terminal statuses go nowhere)
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, FAILED, CANCELLED}),
    RUNNING: frozenset({PAUSED, WAITING_APPROVAL, SUCCEEDED, FAILED, CANCELLED}),
    PAUSED: frozenset({RUNNING, WAITING_APPROVAL, FAILED, CANCELLED}),
    WAITING_APPROVAL: frozenset({RUNNING, PAUSED, FAILED, CANCELLED}),
}
RETENTION_DAYS = 90
# progress items are written during the run and expire a little after their execution would
CHILD_RETENTION_DAYS = RETENTION_DAYS + 7
FLAGS = ("paused", "cancelRequested")


class ExecutionNotFound(DrorchError):
    """No execution with that id in the history."""


def can_transition(current: str, new: str) -> bool:
    """Whether an execution in ``current`` may move to ``new`` (staying put is allowed)."""
    return current == new or new in TRANSITIONS.get(current, frozenset())


def _to_dynamo(value: Any) -> Any:
    """JSON-like data as DynamoDB accepts it (floats as Decimal, other types as strings)."""
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


def plain(value: Any) -> Any:
    """DynamoDB data back to JSON types (Decimal -> int or float, sets -> lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(v) for v in value]
    return value


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def by_kind(items: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, list]]:
    """An execution's history items as its ``EXEC`` item and the others by sort-key kind
    (``WAVE``, ``MOD``, ``RES``, ``GATE``, ``EDIT``, ...)."""
    execution: dict[str, Any] = {}
    kinds: dict[str, list] = {}
    for item in items:
        sk = str(item.get("sk", ""))
        if sk == "EXEC":
            execution = dict(item)
        else:
            kinds.setdefault(sk.split("#", 1)[0], []).append(item)
    return execution, kinds


def wave_sk(phase: str, level: int, wave: str) -> str:
    return f"WAVE#{phase}#{level}#{wave}"


def module_sk(phase: str, group_id: str, account_id: str) -> str:
    return f"MOD#{phase}#{group_id}#{account_id}"


def resource_sk(phase: str, group_id: str, account_id: str, resource_id: str) -> str:
    return f"RES#{phase}#{group_id}#{account_id}#{resource_id}"


def gate_sk(number: int) -> str:
    return f"GATE#{number}"


def progress_sk(phase: str, wave: str | None = None) -> str:
    return f"PROG#{phase}" if wave is None else f"PROG#{phase}#{wave}"


def change_sk(written: int, phase: str, group_id: str, account_id: str, step: int) -> str:
    """``written``: microseconds since the epoch (the writer's clock, for order)."""
    return f"CHG#{written:017d}#{phase}#{group_id}#{account_id}#{step:09d}"


def change_time(sk: str) -> int:
    return int(sk.split("#", 2)[1])


# what a progress item holds besides its counts
PROGRESS_FIELDS = frozenset({"pk", "sk", "executionId", "phase", "wave", "expiresAt"})
CHANGES_KEPT = 200  # resource changes one change item lists (the counts take them all)
CHANGES_READ = 100  # the newest changes one progress read returns
# a transaction that meets another one on a counter is tried again (AWS answers
# TransactionConflict in the cancellation reasons; throttling likewise)
TRANSACT_ATTEMPTS = 6
RETRIED_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


def count_deltas(changes: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How the status counts move: each change leaves its ``before`` status (a new resource,
    ``before`` None, adds to ``total``) for its ``status``."""
    deltas: Counter[str] = Counter()
    for change in changes:
        before, after = change.get("before"), change.get("status")
        if before == after:
            continue
        if before is None:
            deltas["total"] += 1
        else:
            deltas[str(before).lower()] -= 1
        deltas[str(after).lower()] += 1
    return {k: v for k, v in deltas.items() if v}


def progress_counts(item: Mapping[str, Any]) -> dict[str, int]:
    """A progress item's counts (statuses in lower case, and ``total``)."""
    return {
        str(k): int(v)
        for k, v in item.items()
        if k not in PROGRESS_FIELDS and isinstance(v, int | float | Decimal)
    }


def edit_sk(revision: int) -> str:
    return f"EDIT#{revision:04d}"


class EditRefused(DrorchError):
    """A plan edit lost a race: a wave it changes started, or another edit came first."""


@dataclass
class History:
    """The history table of one hub (``table`` is a boto3 ``dynamodb.Table``)."""

    table: Any

    @classmethod
    def from_config(cls, config: names.EnvConfig, session: Any = None) -> History:
        return cls(aws.table(config.history_table, session))

    # --- keys and plumbing ------------------------------------------------------
    @staticmethod
    def pk(execution_id: str) -> str:
        return f"EXEC#{execution_id}"

    def _key(self, execution_id: str, sk: str) -> dict[str, str]:
        return {"pk": self.pk(execution_id), "sk": sk}

    def _query(self, execution_id: str, prefix: str) -> Iterator[dict[str, Any]]:
        condition = Key("pk").eq(self.pk(execution_id))
        if prefix:
            condition = condition & Key("sk").begins_with(prefix)
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield plain(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _child_expiry() -> int:
        return clock.epoch(clock.now() + timedelta(days=CHILD_RETENTION_DAYS))

    def _update(
        self,
        execution_id: str,
        sk: str,
        values: dict[str, Any],
        *,
        if_not_exists: Iterable[str] = (),
        remove: Iterable[str] = (),
        condition: str | None = None,
        extra_values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """SET ``values`` (and ``if_not_exists`` ones only when absent); returns the new item."""
        keep = set(if_not_exists)
        names_: dict[str, str] = {}
        vals: dict[str, Any] = {}
        sets = []
        for index, (attribute, value) in enumerate(values.items()):
            names_[f"#a{index}"] = attribute
            vals[f":v{index}"] = _to_dynamo(value)
            if attribute in keep:
                sets.append(f"#a{index} = if_not_exists(#a{index}, :v{index})")
            else:
                sets.append(f"#a{index} = :v{index}")
        expression = "SET " + ", ".join(sets)
        removed = list(remove)
        if removed:
            for index, attribute in enumerate(removed):
                names_[f"#r{index}"] = attribute
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
        kwargs: dict[str, Any] = {
            "Key": self._key(execution_id, sk),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names_,
            "ExpressionAttributeValues": vals,
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            kwargs["ConditionExpression"] = condition
            for key, value in (extra_values or {}).items():
                vals[key] = _to_dynamo(value)
            if "#status" in condition:
                names_.setdefault("#status", "status")
        return plain(self.table.update_item(**kwargs)["Attributes"])

    # --- executions ---------------------------------------------------------------
    def create_execution(
        self,
        execution_id: str,
        *,
        application: str,
        operation: str,
        requested_by: str,
        manifest: dict[str, Any],
        status: str = RUNNING,
        **attributes: Any,
    ) -> dict[str, Any]:
        """Write the execution item; a retry with the same id returns the existing one."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        item = {
            **self._key(execution_id, "EXEC"),
            "executionId": execution_id,
            "application": application,
            "operation": operation,
            "status": status,
            "startedAt": clock.iso(),
            "requestedBy": requested_by or "unknown",
            "manifest": manifest,
            "paused": False,
            "cancelRequested": False,
            **attributes,
        }
        if status in TERMINAL:
            item["finishedAt"] = item["startedAt"]
            item["expiresAt"] = clock.epoch(clock.now() + timedelta(days=RETENTION_DAYS))
        try:
            self.table.put_item(
                Item=_to_dynamo(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise
            return self.require_execution(execution_id)
        return plain(_to_dynamo(item))

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        found = self.table.get_item(Key=self._key(execution_id, "EXEC"), ConsistentRead=True)
        return plain(found["Item"]) if "Item" in found else None

    def require_execution(self, execution_id: str) -> dict[str, Any]:
        found = self.execution(execution_id)
        if found is None:
            raise ExecutionNotFound(f"execution {execution_id} is not in the history")
        return found

    def set_status(
        self,
        execution_id: str,
        status: str,
        *,
        error: str | None = None,
        cause: str | None = None,
        **attributes: Any,
    ) -> dict[str, Any]:
        """Move the execution to ``status``; raises InvalidTransition if the lifecycle forbids it."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        allowed_from = [s for s in STATUSES if can_transition(s, status)]
        values: dict[str, Any] = {"status": status, "updatedAt": clock.iso(), **attributes}
        if error is not None:
            values["error"] = error
        if cause is not None:
            values["cause"] = cause
        keep: list[str] = []
        if status in TERMINAL:
            values["finishedAt"] = clock.iso()
            values["expiresAt"] = clock.epoch(clock.now() + timedelta(days=RETENTION_DAYS))
            values["paused"] = False
            keep = ["finishedAt", "expiresAt"]
        placeholders = {f":from{i}": s for i, s in enumerate(allowed_from)}
        condition = f"#status IN ({', '.join(placeholders)})"
        try:
            return self._update(
                execution_id,
                "EXEC",
                values,
                if_not_exists=keep,
                condition=condition,
                extra_values=placeholders,
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
        current = self.require_execution(execution_id)
        raise InvalidTransition(
            f"execution {execution_id} is {current['status']}; it cannot become {status}",
            hint="a finished execution is never reopened; start a new one"
            if current["status"] in TERMINAL
            else None,
        )

    def update_execution(self, execution_id: str, **attributes: Any) -> dict[str, Any]:
        """Record facts about an existing execution (counts, phases, report keys)."""
        try:
            return self._update(
                execution_id,
                "EXEC",
                attributes,
                condition="attribute_exists(pk)",
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                raise ExecutionNotFound(f"execution {execution_id} is not in the history") from exc
            raise

    def set_flag(self, execution_id: str, flag: str, value: bool) -> dict[str, Any]:
        """Set ``paused`` or ``cancelRequested`` on an unfinished execution."""
        if flag not in FLAGS:
            raise ValueError(f"unknown flag {flag!r}; expected one of {', '.join(FLAGS)}")
        placeholders = {f":open{i}": s for i, s in enumerate(sorted(TRANSITIONS))}
        try:
            return self._update(
                execution_id,
                "EXEC",
                {flag: value, "updatedAt": clock.iso()},
                condition=f"#status IN ({', '.join(placeholders)})",
                extra_values=placeholders,
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
        current = self.require_execution(execution_id)
        raise InvalidTransition(
            f"execution {execution_id} is {current['status']}; it is finished and cannot be "
            f"{'paused' if flag == 'paused' else 'cancelled'}"
        )

    def list_executions(
        self, *, status: str | None = None, application: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Newest first, through the GSIs (progress items share ``status``: only EXEC kept)."""
        kwargs: dict[str, Any] = {"ScanIndexForward": False}
        only_exec = Attr("sk").eq("EXEC")
        if application:
            kwargs["IndexName"] = "by-application"
            kwargs["KeyConditionExpression"] = Key("application").eq(application)
            kwargs["FilterExpression"] = (
                only_exec & Attr("status").eq(status) if status else only_exec
            )
        elif status:
            kwargs["IndexName"] = "by-status"
            kwargs["KeyConditionExpression"] = Key("status").eq(status)
            kwargs["FilterExpression"] = only_exec
        else:
            return self._scan_executions(limit)
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            page = self.table.query(**kwargs)
            found.extend(plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]

    def _scan_executions(self, limit: int) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"FilterExpression": Attr("sk").eq("EXEC")}
        found: list[dict[str, Any]] = []
        while True:
            page = self.table.scan(**kwargs)
            found.extend(plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        found.sort(key=lambda i: i.get("startedAt", ""), reverse=True)
        return found[:limit]

    def items(self, execution_id: str) -> list[dict[str, Any]]:
        """Every item of the execution (for the report)."""
        return list(self._query(execution_id, ""))

    def report_items(
        self, execution_id: str, resource_groups: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """The items a report of a large estate reads: the execution, its waves, module
        groups, gates and plan edits, and only the resources of ``resource_groups`` (its
        wave actions and checks), a query each: nothing that grows with the estate."""
        found = [
            item
            for prefix in ("EXEC", "WAVE#", "MOD#", "GATE#", "EDIT#")
            for item in self._query(execution_id, prefix)
            if prefix != "EXEC" or item["sk"] == "EXEC"
        ]
        wanted = set(resource_groups)
        for phase in {str(item["phase"]) for item in found if str(item["sk"]).startswith("MOD#")}:
            for group_id in sorted(wanted):
                found += self._query(execution_id, f"RES#{phase}#{group_id}#")
        return found

    def resources_of_running_modules(self, execution_id: str) -> list[dict[str, Any]]:
        """The resource items of the module groups still RUNNING in an account (a query
        each): what the end of a failed run closes, without reading every resource."""
        found: list[dict[str, Any]] = []
        for module in self.modules(execution_id):
            if module.get("status") == RUNNING:
                prefix = module_sk(module["phase"], module["groupId"], module["accountId"])
                found += self._query(execution_id, "RES#" + prefix.removeprefix("MOD#") + "#")
        return found

    def resource_total(self, execution_id: str) -> int:
        """How many resources the execution's phases counted (the progress items)."""
        return sum(int(p["counts"].get("total", 0)) for p in self.progress(execution_id).values())

    # --- waves --------------------------------------------------------------------
    def plan_wave(
        self,
        execution_id: str,
        phase: str,
        level: int,
        wave: str,
        rto_target_minutes: int | None = None,
    ) -> dict[str, Any]:
        """A wave the plan will run: PENDING until it starts (kept as is on a retry)."""
        values: dict[str, Any] = {
            "executionId": execution_id,
            "phase": phase,
            "level": level,
            "wave": wave,
            "status": PENDING,
            "expiresAt": self._child_expiry(),
        }
        if rto_target_minutes is not None:
            values["rtoTargetMinutes"] = rto_target_minutes
        return self._update(
            execution_id, wave_sk(phase, level, wave), values, if_not_exists=["status"]
        )

    def wave_started(self, execution_id: str, phase: str, level: int, wave: str) -> dict[str, Any]:
        return self._update(
            execution_id,
            wave_sk(phase, level, wave),
            {
                "executionId": execution_id,
                "phase": phase,
                "level": level,
                "wave": wave,
                "status": RUNNING,
                "startedAt": clock.iso(),
                "expiresAt": self._child_expiry(),
            },
            if_not_exists=["startedAt"],
        )

    def wave_finished(
        self,
        execution_id: str,
        phase: str,
        level: int,
        wave: str,
        status: str,
        *,
        started_at: str | None = None,
        **attributes: Any,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "executionId": execution_id,
            "phase": phase,
            "level": level,
            "wave": wave,
            "status": status,
            "finishedAt": clock.iso(),
            "expiresAt": self._child_expiry(),
            **attributes,
        }
        keep = ["finishedAt"]
        if started_at:
            values["startedAt"] = started_at
            keep.append("startedAt")
        return self._update(execution_id, wave_sk(phase, level, wave), values, if_not_exists=keep)

    def waves(self, execution_id: str, phase: str | None = None) -> list[dict[str, Any]]:
        prefix = f"WAVE#{phase}#" if phase else "WAVE#"
        return sorted(self._query(execution_id, prefix), key=lambda w: (w["level"], w["wave"]))

    # --- module groups in accounts -----------------------------------------------------
    def put_module(
        self,
        execution_id: str,
        phase: str,
        group_id: str,
        account_id: str,
        *,
        clear: Iterable[str] = (),
        **attributes: Any,
    ) -> dict[str, Any]:
        """Record a module group's progress in one account (``clear``: attributes of an
        earlier attempt to remove)."""
        values = {
            "executionId": execution_id,
            "phase": phase,
            "groupId": group_id,
            "accountId": account_id,
            "expiresAt": self._child_expiry(),
            **{k: v for k, v in attributes.items() if v is not None},
        }
        keep = ["startedAt"] if "startedAt" in values else []
        return self._update(
            execution_id,
            module_sk(phase, group_id, account_id),
            values,
            if_not_exists=keep,
            remove=[c for c in clear if c not in values],
        )

    def modules(self, execution_id: str, phase: str | None = None) -> list[dict[str, Any]]:
        return list(self._query(execution_id, f"MOD#{phase}#" if phase else "MOD#"))

    # --- resources ------------------------------------------------------------------
    def put_resources(self, execution_id: str, resources: Iterable[dict[str, Any]]) -> int:
        """Write resource items (each with phase, groupId, accountId, resourceId, status...)."""
        count = 0
        expires = self._child_expiry()
        with self.table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for resource in resources:
                sk = resource_sk(
                    resource["phase"],
                    resource["groupId"],
                    resource["accountId"],
                    resource["resourceId"],
                )
                item = {
                    **self._key(execution_id, sk),
                    "executionId": execution_id,
                    "expiresAt": expires,
                    **resource,
                }
                batch.put_item(Item=_to_dynamo(item))
                count += 1
        return count

    def resources(self, execution_id: str, phase: str | None = None) -> list[dict[str, Any]]:
        return list(self._query(execution_id, f"RES#{phase}#" if phase else "RES#"))

    def resources_page(
        self, execution_id: str, *, page_size: int = 100, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of resource items, in key order, and the token of the next (None: last)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(self.pk(execution_id))
            & Key("sk").begins_with("RES#"),
            "Limit": page_size,
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = {"pk": self.pk(execution_id), "sk": next_token}
        page = self.table.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        return [plain(i) for i in page.get("Items", [])], (last["sk"] if last else None)

    # --- progress: counts by status, and the recent changes -----------------------------
    def record_changes(
        self,
        execution_id: str,
        phase: str,
        wave: str,
        group_id: str,
        account_id: str,
        changes: list[dict[str, Any]],
        *,
        step: int | None = None,
    ) -> bool:
        """Count resource changes (each ``{resourceId, status, before, ...}``) into the phase's
        and the wave's progress, and log them, in one transaction. ``step`` numbers an
        executor's calls: a step it already recorded (a retried call) is not counted twice
        (returns False). Without ``step`` (the end of a failed run) it always counts."""
        if not changes:
            return True
        at = clock.iso()
        expires = self._child_expiry()
        deltas = count_deltas(changes)
        kept = [
            {k: (str(v)[:300] if k == "error" else v) for k, v in c.items() if v is not None}
            for c in changes[:CHANGES_KEPT]
        ]
        # the table's client takes Python values (boto3 serialises them, as for the table)
        serialise = _to_dynamo
        pk = self.pk(execution_id)

        def key(sk: str) -> dict[str, Any]:
            return {"pk": pk, "sk": sk}

        def counter(sk: str, labels: dict[str, str]) -> dict[str, Any]:
            names_ = {f"#k{i}": k for i, k in enumerate(deltas)}
            values = {f":d{i}": serialise(v) for i, v in enumerate(deltas.values())}
            sets = ["executionId = :x", "expiresAt = :e"]
            values |= {":x": serialise(execution_id), ":e": serialise(expires)}
            for i, (attribute, value) in enumerate(labels.items()):
                names_[f"#l{i}"] = attribute
                values[f":l{i}"] = serialise(value)
                sets.append(f"#l{i} = :l{i}")
            expression = "SET " + ", ".join(sets)
            if deltas:
                expression += " ADD " + ", ".join(f"#k{i} :d{i}" for i in range(len(deltas)))
            return {
                "Update": {
                    "TableName": self.table.name,
                    "Key": key(sk),
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": names_,
                    "ExpressionAttributeValues": values,
                }
            }

        log_item = {
            "pk": pk,
            "sk": change_sk(time.time_ns() // 1000, phase, group_id, account_id, step or 0),
            "executionId": execution_id,
            "at": at,
            "phase": phase,
            "wave": wave,
            "groupId": group_id,
            "accountId": account_id,
            "changes": kept,
            "more": max(0, len(changes) - len(kept)),
            "expiresAt": expires,
        }
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": _to_dynamo(log_item),
                }
            },
            counter(progress_sk(phase), {"phase": phase}),
            counter(progress_sk(phase, wave), {"phase": phase, "wave": wave}),
        ]
        if step is not None:  # the executor's mark: this step is counted once
            items.append(
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": key(module_sk(phase, group_id, account_id)),
                        "UpdateExpression": "SET countedStep = :s",
                        "ConditionExpression": "attribute_not_exists(countedStep) "
                        "OR countedStep < :s",
                        "ExpressionAttributeValues": {":s": serialise(step)},
                    }
                }
            )
        client = self.table.meta.client
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                client.transact_write_items(TransactItems=items)
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", []) or []]
                if (
                    step is not None
                    and len(reasons) == len(items)
                    and (reasons[-1] == "ConditionalCheckFailed")
                ):
                    return False  # this step was counted by an earlier try
                if not RETRIED_REASONS.intersection(reasons) or attempt == TRANSACT_ATTEMPTS - 1:
                    raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter only
        return False  # pragma: no cover - the loop returns or raises

    def put_closed(self, execution_id: str, closed: list[dict[str, Any]]) -> int:
        """Write resources that were RUNNING with the status they end with, counted in the
        progress of their phase and wave (the end of a failed or abandoned run)."""
        self.put_resources(execution_id, closed)
        by_group: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
        for item in closed:
            where = (item["phase"], item.get("wave", ""), item["groupId"], item["accountId"])
            by_group.setdefault(where, []).append(
                {
                    "resourceId": item["resourceId"],
                    "name": item.get("name"),
                    "status": item["status"],
                    "before": RUNNING,
                    "error": item.get("error"),
                }
            )
        for (phase, wave, group_id, account_id), changes in by_group.items():
            self.record_changes(execution_id, phase, wave, group_id, account_id, changes)
        return len(closed)

    def progress(self, execution_id: str) -> dict[str, dict[str, Any]]:
        """Counts by status of each phase and of each wave in it (one query, a few items):
        ``{phase: {"counts": {...}, "waves": {wave: {...}}}}``."""
        found: dict[str, dict[str, Any]] = {}
        for item in self._query(execution_id, "PROG#"):
            entry = found.setdefault(item["phase"], {"counts": {}, "waves": {}})
            if "wave" in item:
                entry["waves"][item["wave"]] = progress_counts(item)
            else:
                entry["counts"] = progress_counts(item)
        return found

    def changes(
        self, execution_id: str, since: int = 0, limit: int = CHANGES_READ
    ) -> list[dict[str, Any]]:
        """Change items written from ``since`` (microseconds since the epoch) on: at most
        ``limit``, the newest, oldest first (one query)."""
        condition = Key("pk").eq(self.pk(execution_id)) & Key("sk").between(
            f"CHG#{since:017d}", "CHG#~"
        )
        page = self.table.query(
            KeyConditionExpression=condition,
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [plain(i) for i in reversed(page.get("Items", []))]

    def recorded_details(
        self, execution_id: str, group_id: str, account_id: str
    ) -> dict[str, dict[str, Any]]:
        """What a module group recorded for each resource in one account: resource id ->
        its last ``detail`` in INSTANTIATE and ACTIVATE, merged (ACTIVATE's keys win; what
        CLEANUP and REPLICATE restore from)."""
        found: dict[str, dict[str, Any]] = {}
        for phase in ("INSTANTIATE", "ACTIVATE"):  # ACTIVATE's detail wins
            prefix = f"RES#{phase}#{group_id}#{account_id}#"
            # a plan edit ran the group as <groupId>.r<N> (drorch.engine.plan_edit)
            edited = self._query(execution_id, f"RES#{phase}#{group_id}.r")
            for item in [*self._query(execution_id, prefix), *edited]:
                detail = item.get("detail")
                if item.get("accountId") == account_id and isinstance(detail, dict) and detail:
                    found.setdefault(str(item["resourceId"]), {}).update(detail)
        return found

    # --- plan edits -----------------------------------------------------------------
    def record_plan_edit(
        self,
        execution_id: str,
        revision: int,
        waves: Iterable[tuple[str, int, str, int | None]],
        edit: dict[str, Any],
    ) -> None:
        """Commit plan revision ``revision`` in one transaction, or nothing: every wave it
        changes (phase, level, wave, new RTO target) still not started, the execution still
        running at revision ``revision - 1``, and the edit recorded (``EDIT#<n>``)."""
        # the Table resource's client serializes Python values itself (boto3's DynamoDB
        # transformation): plain values here, never {"S": ...}
        serialize = _to_dynamo
        pk = self.pk(execution_id)

        def key(sk: str) -> dict[str, Any]:
            return {"pk": serialize(pk), "sk": serialize(sk)}

        items: list[dict[str, Any]] = []
        for phase, level, wave, target in waves:
            update: dict[str, Any] = {
                "TableName": self.table.name,
                "Key": key(wave_sk(phase, level, wave)),
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(startedAt)",
            }
            if target is None:
                update["UpdateExpression"] = "REMOVE rtoTargetMinutes"
            else:
                update["UpdateExpression"] = "SET rtoTargetMinutes = :t"
                update["ExpressionAttributeValues"] = {":t": serialize(target)}
            items.append({"Update": update})
        now = clock.iso()
        previous = {":previous": serialize(revision - 1)} if revision > 1 else {}
        open_statuses = {f":open{i}": serialize(s) for i, s in enumerate(sorted(TRANSITIONS))}
        items.append(
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": key("EXEC"),
                    "UpdateExpression": "SET planRevision = :revision, updatedAt = :now, "
                    "editedManifest = :manifest",
                    "ConditionExpression": f"#status IN ({', '.join(open_statuses)}) AND "
                    + (
                        "planRevision = :previous"
                        if revision > 1
                        else "attribute_not_exists(planRevision)"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":revision": serialize(revision),
                        ":now": serialize(now),
                        ":manifest": serialize(edit.get("manifest") or {}),
                        **previous,
                        **open_statuses,
                    },
                }
            }
        )
        record = {
            "pk": pk,
            "sk": edit_sk(revision),
            "executionId": execution_id,
            "revision": revision,
            "editedAt": now,
            "expiresAt": self._child_expiry(),
            **edit,
        }
        items.append(
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": _to_dynamo(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        try:
            self.table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise EditRefused(self._why_refused(execution_id, revision, waves)) from exc

    def _why_refused(
        self, execution_id: str, revision: int, waves: Iterable[tuple[str, int, str, Any]]
    ) -> str:
        current = self.require_execution(execution_id)
        if current["status"] in TERMINAL:
            return f"execution {execution_id} finished meanwhile ({current['status']})"
        if int(current.get("planRevision") or 0) != revision - 1:
            return (
                f"another plan edit of {execution_id} came first (revision "
                f"{current.get('planRevision')}): look at the plan again and repeat the edit"
            )
        started = {
            (w["phase"], w["wave"]): w.get("startedAt")
            for w in self.waves(execution_id)
            if w.get("startedAt")
        }
        late = sorted({wave for phase, _, wave, _ in waves if (phase, wave) in started})
        return (
            f"wave(s) {', '.join(late)} started meanwhile: only waves not yet started can be edited"
            if late
            else "the history refused the edit (a wave item is missing)"
        )

    def plan_edits(self, execution_id: str) -> list[dict[str, Any]]:
        return sorted(self._query(execution_id, "EDIT#"), key=lambda e: e["revision"])

    # --- gates ------------------------------------------------------------------------
    def next_gate_number(self, execution_id: str) -> int:
        updated = self.table.update_item(
            Key=self._key(execution_id, "EXEC"),
            UpdateExpression="ADD gateCount :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(updated["Attributes"]["gateCount"])

    def put_gate(self, execution_id: str, number: int, **attributes: Any) -> dict[str, Any]:
        values = {
            "executionId": execution_id,
            "gate": number,
            "expiresAt": self._child_expiry(),
            **attributes,
        }
        return self._update(execution_id, gate_sk(number), values)

    def gate(self, execution_id: str, number: int) -> dict[str, Any] | None:
        found = self.table.get_item(
            Key=self._key(execution_id, gate_sk(number)), ConsistentRead=True
        )
        return plain(found["Item"]) if "Item" in found else None

    def gates(self, execution_id: str) -> list[dict[str, Any]]:
        return sorted(self._query(execution_id, "GATE#"), key=lambda g: g["gate"])

    def decide_gate(
        self,
        execution_id: str,
        number: int,
        decision: str,
        decided_by: str,
        comment: str = "",
    ) -> dict[str, Any]:
        """Record a decision once: a second decision on the same gate is refused."""
        try:
            return self._update(
                execution_id,
                gate_sk(number),
                {
                    "decision": decision,
                    "decidedBy": decided_by,
                    "decidedAt": clock.iso(),
                    "comment": comment,
                },
                condition="attribute_exists(pk) AND attribute_not_exists(decision)",
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
        existing = self.gate(execution_id, number)
        if existing is None:
            raise GateNotFound(f"execution {execution_id} has no gate {number}")
        raise InvalidTransition(
            f"gate {number} of execution {execution_id} was already {existing['decision']} "
            f"by {existing.get('decidedBy', 'unknown')} at {existing.get('decidedAt', '?')}"
        )
