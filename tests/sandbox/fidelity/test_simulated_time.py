"""Retries and waits in the sandbox pass in simulated time, as they would pass in AWS.

Sources: *Retry behavior* in the AWS SDKs and Tools Reference Guide
(https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html): a
throttled call is retried after an exponential back-off with jitter, capped at 20 s in
standard mode; botocore waiters poll with the waiter model's delay
(https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#waiters).
In the sandbox those delays move the simulated clock; real time barely passes.
"""

from __future__ import annotations

import time

from botocore.config import Config
from botocore.waiter import WaiterModel, create_waiter_with_client

from tests.sandbox.conftest import REGION


def test_retry_back_off_passes_on_the_simulated_clock(env):
    """Five throttled answers, then success: the client retries with back-off (standard
    mode, 6 attempts); the clock moves by the back-off, real time does not."""
    client = env.sandbox.admin_session(env.account, REGION).client(
        "drs", config=Config(retries={"mode": "standard", "max_attempts": 6})
    )
    client.initialize_service()
    env.sandbox.faults.throttle("drs", "DescribeJobs", times=5, account=env.account)
    before, started = env.sandbox.now(), time.monotonic()
    answer = client.describe_jobs()
    real = time.monotonic() - started
    assert answer["ResponseMetadata"]["RetryAttempts"] == 5
    assert env.sandbox.now() > before  # the back-off passed in simulated time
    assert real < 2.0  # back-off of up to 1+2+4+8+16 s would take far longer for real


def test_waiter_delay_passes_on_the_simulated_clock(env):
    """A botocore waiter (delay 30 s) polls DescribeJobs until a drill's launch job is
    COMPLETED: each delay moves the simulated clock, so the job (about 450 simulated
    seconds) completes after a few polls, in well under a second of real time."""
    env.drs.initialize_service()
    server = env.seed("waited", ip="172.31.8.10")
    job_id = env.drs.start_recovery(
        sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True
    )["job"]["jobID"]
    model = WaiterModel(
        {
            "version": 2,
            "waiters": {
                "JobCompleted": {
                    "operation": "DescribeJobs",
                    "delay": 30,
                    "maxAttempts": 40,
                    "acceptors": [
                        {
                            "matcher": "pathAll",
                            "argument": "items[].status",
                            "expected": "COMPLETED",
                            "state": "success",
                        }
                    ],
                }
            },
        }
    )
    waiter = create_waiter_with_client("JobCompleted", model, env.drs)
    before, started = env.sandbox.now(), time.monotonic()
    waiter.wait(filters={"jobIDs": [job_id]})
    assert time.monotonic() - started < 5.0
    waited = (env.sandbox.now() - before).total_seconds()
    assert 420 <= waited <= 480  # the job's simulated duration, rounded up to 30 s polls
