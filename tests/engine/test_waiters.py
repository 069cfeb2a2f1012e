"""Event-driven completion's waiter items: which events count for which wait."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from drorch.engine.waiters import (
    RDS_ENDINGS,
    Waiters,
    drs_job_key,
    queued_events,
    rds_key,
    results_of,
)
from tests.tables import pk_sk

ARN = "arn:aws:rds:us-east-2:333333333333:cluster:acme-claims-db-dr"


def rds_event(event_id: str, date: str, arn: str = ARN, event: str = "e-1") -> dict[str, Any]:
    """An RDS event as EventBridge delivers it (AWS's sample shape)."""
    return {
        "version": "0",
        "id": event,
        "detail-type": "RDS DB Cluster Event",
        "source": "aws.rds",
        "account": "333333333333",
        "time": date[:19] + "Z",
        "region": "us-east-2",
        "resources": [arn],
        "detail": {
            "EventCategories": ["global-failover"],
            "SourceType": "CLUSTER",
            "SourceArn": arn,
            "Date": date,
            "Message": "Global failover to DB cluster acme-claims-db-dr in Region us-east-2 completed.",
            "SourceIdentifier": arn.rsplit(":", 1)[-1],
            "EventID": event_id,
        },
    }


class Answers:
    """Step Functions' SendTaskSuccess, as seen by the waiter: the tokens it answered."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        self.tokens.append(taskToken)
        return {}


@pytest.fixture
def waiters() -> Iterator[Waiters]:
    # a table of its own: inside the package's running sandbox (same xdist worker) this
    # mock_aws() does not reset moto, whose tables outlive the test
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-2")
        table = dynamodb.create_table(TableName=f"waiters-{uuid.uuid4().hex[:12]}", **pk_sk())
        yield Waiters(table, Answers())


def test_the_rds_events_that_end_a_role_change_are_results_for_their_source():
    finished = rds_event("RDS-EVENT-0238", "2026-12-02T17:33:07.250Z")
    assert results_of(finished) == [(rds_key(ARN), "e-1", "2026-12-02T17:33:07.250Z")]
    # "Global switchover ... started" ends nothing: it wakes no one
    assert "RDS-EVENT-0181" not in RDS_ENDINGS
    assert results_of(rds_event("RDS-EVENT-0181", "2026-12-02T17:30:00.000Z")) == []
    # another service's event with the same words is not RDS's
    assert results_of({**finished, "source": "custom.rds"}) == []


def test_an_earlier_operations_event_does_not_end_a_new_wait(waiters):
    # last week's drill of the same cluster left its event in the item
    waiters.record(results_of(rds_event("RDS-EVENT-0185", "2026-11-25T10:00:00.000Z")))
    awaits = [{"key": rds_key(ARN), "expect": 1, "after": "2026-12-02T17:30:37.000Z"}]
    assert waiters.register("token-1", awaits) is False
    assert waiters.sfn.tokens == []
    # this failover's own event answers it
    event = rds_event("RDS-EVENT-0238", "2026-12-02T17:33:07.000Z", event="e-2")
    assert waiters.record(results_of(event)) == 1
    assert waiters.sfn.tokens == ["token-1"]


def test_an_event_between_the_status_check_and_the_registration_answers_at_once(waiters):
    waiters.record(results_of(rds_event("RDS-EVENT-0238", "2026-12-02T17:33:07.000Z")))
    awaits = [{"key": rds_key(ARN), "expect": 1, "after": "2026-12-02T17:33:06.500Z"}]
    assert waiters.register("token-1", awaits) is True
    assert waiters.sfn.tokens == ["token-1"]


def test_waits_without_after_count_every_result_as_before(waiters):
    # a DRS launch job: its key is new for each job, every result counts
    launch = {
        "source": "aws.drs",
        "detail-type": "DRS Source Server Launch Result",
        "time": "2026-12-02T17:00:00Z",
        "resources": ["arn:aws:drs:us-east-2:333333333333:source-server/s-1"],
        "detail": {"state": "RECOVERY_LAUNCH_SUCCEEDED", "job-id": "drsjob-1", "is-drill": "TRUE"},
    }
    waiters.record(results_of(launch))
    assert waiters.register("token-1", [{"key": "drs-job/drsjob-1", "expect": 1}]) is True


def _drs_result(job: str, server: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"evt-{server}",
        "detail-type": "DRS Source Server Launch Result",
        "source": "aws.drs",
        "account": "111111111111",
        "time": "2026-12-03T07:00:00Z",
        "region": "us-east-2",
        "resources": [f"arn:aws:drs:us-east-2:111111111111:source-server/{server}"],
        "detail": {"state": "LAUNCH_SUCCEEDED", "job-id": job},
    }


def test_a_queued_batch_is_every_event_in_it_and_names_the_unreadable():
    batch = {
        "Records": [
            {"messageId": "m1", "body": json.dumps(_drs_result("drsjob-1", "s-1"))},
            {"messageId": "m2", "body": "not json"},
            {"messageId": "m3", "body": json.dumps(_drs_result("drsjob-1", "s-2"))},
            {"messageId": "m4", "body": "[1, 2]"},
        ]
    }
    events, unreadable = queued_events(batch)
    assert [e["id"] for e in events] == ["evt-s-1", "evt-s-2"]
    assert unreadable == ["m2", "m4"]
    assert queued_events({}) == ([], [])


def test_a_batch_answers_a_job_wait_once_with_one_write_per_key(waiters):
    token = "token-job-1"
    assert not waiters.register(token, [{"key": drs_job_key("drsjob-1"), "expect": 3}])
    writes = []
    update = waiters.table.update_item
    waiters.table.update_item = lambda **kw: writes.append(kw) or update(**kw)
    results = [
        r for server in ("s-1", "s-2", "s-3") for r in results_of(_drs_result("drsjob-1", server))
    ]
    assert waiters.record(results) == 1
    assert waiters.sfn.tokens == [token]
    assert sum("ADD seen" in w["UpdateExpression"] for w in writes) == 1
