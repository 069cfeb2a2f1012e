"""Event-driven completion end to end: DRS launch results and RDS's role-change events wake
the executors, and polling takes over when the events are lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import yaml

from drorch.cli.sandbox_run import sandbox_hub
from drorch.engine import clock
from drorch.engine.asl import EVENT_FALLBACK_SECONDS
from drorch.modules.aurora_global.sandbox import TIMINGS as AURORA_TIMINGS
from drorch.sandbox import eventbridge, sqs_lambda
from tests.conftest import ACCOUNTS_DIR
from tests.e2e.conftest import drs_jobs, manifest_text
from tests.e2e.inbox import bus_inbox

STAGING = {"data": "333333333333", "app": "222222222222", "web": "111111111111"}


def approve_all(gate):
    return True


def _drill(hub):
    hub.client.upload_manifest("events.yaml", manifest_text(approvalWorkflow={"required": False}))
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    final = hub.client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    return final


def _lags(hub, final):
    """Per DRS wave: seconds (simulated) between the job's end and the status check that
    saw it (the servers' finishedAt)."""
    found = {}
    for wave, account in STAGING.items():
        (job,) = drs_jobs(hub, account)
        ended = clock.parse(job["endDateTime"])
        seen = max(
            clock.parse(r["finishedAt"])
            for r in final["resources"]
            if r["phase"] == "ACTIVATE"
            and r["accountId"] == account
            and r["groupId"].endswith("-servers")
        )
        found[wave] = (seen - ended).total_seconds()
    return found


def test_launch_results_end_the_wait_within_two_seconds(hub):
    runtime = hub.sandbox.state.lambda_runtime
    final = _drill(hub)
    lags = _lags(hub, final)
    # finishedAt is kept to the second (the job's end to the millisecond): -1 < lag
    assert all(-1 < lag <= 2 for lag in lags.values()), lags
    # the events went staging default bus -> hub bus -> completion queue -> drorch-waiter,
    # in batches of what arrived within a second (each batch one invocation)
    batches = [n for arn, n in sqs_lambda.invocations if arn.endswith(":function:drorch-waiter")]
    servers = sum(
        1
        for r in final["resources"]
        if r["phase"] == "ACTIVATE" and r["groupId"].endswith("-servers")
    )
    assert sum(batches) == servers >= 10
    assert runtime.invocations.get("drorch-waiter", 0) <= len(batches) + 2 * len(STAGING)
    assert eventbridge.failures == []


def test_polling_takes_over_when_the_events_are_lost(hub):
    hub.sandbox.faults.drop_events("aws.drs")
    runtime = hub.sandbox.state.lambda_runtime
    before = runtime.invocations.get("drorch-waiter", 0)
    final = _drill(hub)
    lags = _lags(hub, final)
    # each wave ends at a fallback status check, not at the launch
    assert all(2 < lag <= EVENT_FALLBACK_SECONDS for lag in lags.values()), lags
    # only the executors' registrations reached drorch-waiter: no event did
    registrations = runtime.invocations.get("drorch-waiter", 0) - before
    assert 0 < registrations <= 3 * 3


# --- RDS: an Aurora global failover ------------------------------------------------------------
DATA = STAGING["data"]
AURORA_MANIFEST = {
    "manifestVersion": "2.0",
    "application": "claims",
    "customer": "acme",
    "environment": "production",
    "approvalWorkflow": {"required": False},
    "failurePolicy": "stop",
    "pollSeconds": 30,
    "waves": [
        {
            "waveNumber": 1,
            "waveName": "data",
            "technologies": [
                {
                    "type": "aurora-global",
                    "name": "claims-db",
                    "selector": {"ids": ["acme-claims-db-dr"], "accounts": ["staging-data"]},
                    "parameters": {"mode": "failover"},
                }
            ],
        }
    ],
}


@pytest.fixture
def aurora_hub() -> Iterator:
    """A hub of its own: a failover changes the global database's writer, which the shared
    hub's checkpoint does not put back."""
    with sandbox_hub("three-tier", ACCOUNTS_DIR, strict=True) as running:
        yield running
        assert running.sandbox.state.fidelity.violations == []


@pytest.fixture
def rds_events(aurora_hub) -> Iterator:
    """What the hub's bus gets from RDS (forwarded by the staging accounts)."""
    hub = aurora_hub.deployment
    session = aurora_hub.sandbox.admin_session(hub.account_id, hub.region)
    with bus_inbox(session, "rds-events", {"source": ["aws.rds"]}) as drain:
        yield drain


def _aurora_failover(hub):
    hub.client.upload_manifest("events.yaml", yaml.safe_dump(AURORA_MANIFEST, sort_keys=False))
    execution_id = hub.client.start_execution("claims", "failover", poll_seconds=30)
    final = hub.client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    (activated,) = [r for r in final["resources"] if r["phase"] == "ACTIVATE"]
    assert activated["status"] == "SUCCEEDED" and activated["detail"]["mode"] == "failover"
    return activated


def test_the_global_failover_event_ends_the_wait_within_two_seconds(aurora_hub, rds_events):
    hub = aurora_hub
    runtime = hub.sandbox.state.lambda_runtime
    before = runtime.invocations.get("drorch-waiter", 0)
    activated = _aurora_failover(hub)
    # RDS sent "Global failover ... completed" for the target cluster, in AWS's shape
    (event,) = [e for e in rds_events() if e["detail"]["EventID"] == "RDS-EVENT-0238"]
    assert event["detail-type"] == "RDS DB Cluster Event" and event["account"] == DATA
    detail = event["detail"]
    assert detail["SourceType"] == "CLUSTER" and detail["EventCategories"] == ["global-failover"]
    assert detail["SourceIdentifier"] == "acme-claims-db-dr"
    assert event["resources"] == [detail["SourceArn"]]
    assert detail["Message"].startswith("Global failover to DB cluster acme-claims-db-dr in Region")
    # the status check that saw the new writer ran when the event arrived, not a poll later
    # (finishedAt is kept to the second, the event's Date to the millisecond)
    lag = (clock.parse(activated["finishedAt"]) - clock.parse(detail["Date"])).total_seconds()
    assert -1 < lag <= 2, lag
    # the executor registered its wait, the event answered it
    assert runtime.invocations.get("drorch-waiter", 0) - before >= 2
    assert eventbridge.failures == []


def test_polling_takes_over_when_the_rds_events_are_lost(aurora_hub, rds_events):
    hub = aurora_hub
    hub.sandbox.faults.drop_events("aws.rds")
    activated = _aurora_failover(hub)
    assert rds_events() == []  # no RDS event reached the hub
    started = clock.parse(activated["startedAt"])
    ended = started + timedelta(seconds=AURORA_TIMINGS.failover_seconds)
    lag = (clock.parse(activated["finishedAt"]) - ended).total_seconds()
    # the wave ends at a fallback status check, not when the writer flipped
    assert 2 < lag <= EVENT_FALLBACK_SECONDS, lag
