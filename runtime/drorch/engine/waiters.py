"""Event-driven completion: an executor's task token, answered by the service's own event.

An executor whose module waits on work that announces its end on EventBridge (a DRS
launch job: one "DRS Source Server Launch Result" per server; an RDS role change,
promotion or reboot: the RDS event that ends it, :data:`RDS_ENDINGS`) does not poll at
its interval. Its ``WaitForEvent`` state (``.waitForTaskToken``) hands the ``drorch-waiter``
function its task token and what it waits for (:func:`register`); the hub bus's rule
sends the forwarded events to the same function (:func:`record`), which answers the
token once every result the executor waits for has arrived. The executor then runs
its normal status check. The state's timeout (:data:`drorch.engine.asl.EVENT_FALLBACK_SECONDS`)
is the fallback when events are lost: the status check runs anyway.

The hub's rule does not invoke the function once per event: at 10,000 servers a drill
sends 10,000 launch results. It queues them (:data:`drorch.names.COMPLETION_QUEUE`), and
Lambda's SQS poller hands the function up to :data:`QUEUE_BATCH_SIZE` events at a time,
gathered for at most :data:`QUEUE_BATCH_WINDOW_SECONDS` (:func:`queued_events`): the
invocations follow the bursts of events (a job's launches end together), not the servers,
and each key's results are written once per batch.

One item per awaited thing in the history table (``pk = WAIT#<key>``, ``sk = WAIT``):
``seen`` (the results that arrived, a string set), ``expect`` (how many the executor
waits for), ``tokens`` (token id -> token). Both sides update the item atomically
and read it back, so an event that arrives between the status check and the
registration is not missed: the registration sees it in ``seen`` and answers at once.

An RDS resource's key (:func:`rds_key`) outlives one operation: the next drill of the same
cluster waits on it again, with the earlier events still in ``seen``. Such a wait says
``after`` (the moment of the status check that asked for it): an event counts for it only
if it happened after that (``eventAt``, the newest event's own time), so an old event
never answers a new wait.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws, clock

SK = "WAIT"
RETENTION_DAYS = 8  # a little longer than an executor can wait (its gates' 7 days)
DRS_LAUNCH_RESULT = "DRS Source Server Launch Result"
RDS_SOURCE = "aws.rds"
RDS_DETAIL_TYPES = ("RDS DB Cluster Event", "RDS DB Instance Event")
# the RDS events (AWS's "event categories and event messages") that end, or abort, an
# operation a module waits on; each wakes the waits on its source (``detail.SourceArn``)
RDS_ENDINGS = {
    "RDS-EVENT-0185": "global switchover finished",
    "RDS-EVENT-0186": "global switchover cancelled",
    "RDS-EVENT-0187": "global switchover failed",
    "RDS-EVENT-0238": "global failover completed",
    "RDS-EVENT-0239": "global failover failed",
    "RDS-EVENT-0006": "DB instance restarted (a promoted replica, a reboot)",
    "RDS-EVENT-0049": "Multi-AZ instance failover completed",
    "RDS-EVENT-0005": "DB instance created (a reader added to a cluster)",
}
# the events the hub's rule sends to drorch-waiter (stacks/hub.py)
EVENT_PATTERN = {
    "$or": [
        {"source": ["aws.drs"], "detail-type": [DRS_LAUNCH_RESULT]},
        {
            "source": [RDS_SOURCE],
            "detail-type": list(RDS_DETAIL_TYPES),
            "detail": {"EventID": sorted(RDS_ENDINGS)},
        },
    ]
}
# Lambda's SQS poller: events per invocation, and how long it gathers them (the detection
# lag it adds; the events of one job's launches arrive within moments of each other)
QUEUE_BATCH_SIZE = 100
QUEUE_BATCH_WINDOW_SECONDS = 1
# SendTaskSuccess on a token whose task has ended (answered already, timed out, stopped)
GONE = frozenset({"TaskDoesNotExist", "TaskTimedOut", "InvalidToken"})


def drs_job_key(job_id: str) -> str:
    return f"drs-job/{job_id}"


def rds_key(arn: str) -> str:
    """The key of the waits on an RDS DB cluster or instance (its ARN)."""
    return f"rds/{arn}"


def pk(key: str) -> str:
    return f"WAIT#{key}"


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def results_of(event: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(key, result id, when it happened) of each result an EventBridge event carries;
    empty for others.

    A "DRS Source Server Launch Result" (``detail.job-id``, the source server's ARN in
    ``resources``) is one server's result in that job. An RDS event in
    :data:`RDS_ENDINGS` is one result (its event id) for its source's key, at
    ``detail.Date``.
    """
    detail = event.get("detail") or {}
    source, detail_type = event.get("source"), event.get("detail-type")
    if source == "aws.drs" and detail_type == DRS_LAUNCH_RESULT:
        job_id = detail.get("job-id")
        servers = [str(r).rsplit("/", 1)[-1] for r in event.get("resources") or []]
        at = str(event.get("time") or clock.iso())
        if job_id and servers:
            return [(drs_job_key(str(job_id)), server, at) for server in servers]
    if source == RDS_SOURCE and detail_type in RDS_DETAIL_TYPES:
        arn = detail.get("SourceArn")
        if detail.get("EventID") in RDS_ENDINGS and arn and event.get("id"):
            at = str(detail.get("Date") or event.get("time") or clock.iso())
            return [(rds_key(str(arn)), str(event["id"]), at)]
    return []


def queued_events(batch: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The EventBridge events in an SQS batch (each record's body), and the message ids of
    records whose body is not an event (a poison message: retrying cannot help it)."""
    events: list[dict[str, Any]] = []
    unreadable: list[str] = []
    for record in batch.get("Records") or []:
        try:
            event = json.loads(record.get("body") or "")
        except (TypeError, ValueError):
            event = None
        if isinstance(event, dict):
            events.append(event)
        else:
            unreadable.append(str(record.get("messageId")))
    return events, unreadable


def _happened(at: str | None, after: str | None) -> bool:
    """Whether an event at ``at`` counts for a wait that began at ``after`` (ISO times)."""
    if after is None:
        return True
    return at is not None and clock.parse(at) >= clock.parse(after)


class Waiters:
    """The waiter items (``table``: a boto3 ``dynamodb.Table``) and the tokens they answer
    (``sfn``: a boto3 ``stepfunctions`` client)."""

    def __init__(self, table: Any, sfn: Any) -> None:
        self.table = table
        self.sfn = sfn

    @classmethod
    def from_env(cls) -> Waiters:
        """The hub's history table and Step Functions, with the function's own credentials."""
        return cls(aws.table(names.env_config().history_table), aws.client("stepfunctions"))

    def _expiry(self) -> int:
        return clock.epoch(clock.now() + timedelta(days=RETENTION_DAYS))

    def register(self, token: str, awaits: Sequence[Mapping[str, Any]]) -> bool:
        """Wait on ``awaits`` (``{"key", "expect"}`` each, and ``after`` where old events
        must not count) with ``token``; answers the token at once (returns True) when one
        of them has all its results already."""
        if not awaits:
            raise ValueError("register: nothing to wait for (awaits is empty)")
        tid = token_id(token)
        keys = [str(entry["key"]) for entry in awaits]
        for key, entry in zip(keys, awaits, strict=True):
            expect = int(entry["expect"])
            if expect < 1:
                raise ValueError(f"register: {key} expects {expect} results; at least 1")
            self.table.update_item(
                Key={"pk": pk(key), "sk": SK},
                UpdateExpression="SET #tokens = if_not_exists(#tokens, :none), "
                "expect = :expect, expiresAt = :expires",
                ExpressionAttributeNames={"#tokens": "tokens"},
                ExpressionAttributeValues={
                    ":none": {},
                    ":expect": expect,
                    ":expires": self._expiry(),
                },
            )
            # the token's write returns the item: a result recorded before it is seen here,
            # one recorded after it sees the token (record reads the item back too)
            item = self.table.update_item(
                Key={"pk": pk(key), "sk": SK},
                UpdateExpression="SET #tokens.#tid = :token",
                ExpressionAttributeNames={"#tokens": "tokens", "#tid": tid},
                ExpressionAttributeValues={":token": token},
                ReturnValues="ALL_NEW",
            )["Attributes"]
            if len(item.get("seen") or ()) >= expect and _happened(
                item.get("eventAt"), entry.get("after")
            ):
                self._answer({tid: token}, key, keys)
                return True
        return False

    def record(self, results: Iterable[tuple[str, str, str]]) -> int:
        """Record results (key, result id, when it happened); answers the tokens of every
        key whose expected results have all arrived. Returns how many tokens were answered."""
        by_key: dict[str, set[str]] = {}
        latest: dict[str, str] = {}
        for key, result, at in results:
            by_key.setdefault(key, set()).add(result)
            if key not in latest or clock.parse(at) > clock.parse(latest[key]):
                latest[key] = at
        answered = 0
        for key, ids in by_key.items():
            item = self.table.update_item(
                Key={"pk": pk(key), "sk": SK},
                UpdateExpression="ADD seen :ids SET expiresAt = :expires, lastEventAt = :now, "
                "eventAt = :at",
                ExpressionAttributeValues={
                    ":ids": ids,
                    ":expires": self._expiry(),
                    ":now": clock.iso(),
                    ":at": latest[key],
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
            expect = item.get("expect")
            tokens = dict(item.get("tokens") or {})
            if expect is None or not tokens or len(item.get("seen") or ()) < int(expect):
                continue
            answered += self._answer(tokens, key, [key])
        return answered

    def _answer(self, tokens: Mapping[str, str], key: str, keys: Sequence[str]) -> int:
        """SendTaskSuccess to each token (one already answered or timed out is skipped),
        then forget the tokens under ``keys``."""
        sent = 0
        output = json.dumps({"woken": key, "at": clock.iso()})
        for token in tokens.values():
            try:
                self.sfn.send_task_success(taskToken=token, output=output)
                sent += 1
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in GONE:
                    raise
        for other in keys:
            for tid in tokens:
                self.table.update_item(
                    Key={"pk": pk(other), "sk": SK},
                    UpdateExpression="REMOVE #tokens.#tid",
                    ExpressionAttributeNames={"#tokens": "tokens", "#tid": tid},
                )
        return sent
