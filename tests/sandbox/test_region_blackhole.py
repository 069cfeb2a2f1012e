"""A blackholed region (issue 11, item 7): every call to it fails as unreachable."""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1})


def test_every_service_in_a_blackholed_region_is_unreachable_and_others_answer(env):
    session = env.sandbox.admin_session(env.account, "us-east-1")  # its STS call first
    env.sandbox.faults.blackhole_region("us-east-1")
    for service, call in (
        ("rds", lambda c: c.describe_db_clusters()),
        ("ec2", lambda c: c.describe_vpcs()),
        ("drs", lambda c: c.describe_jobs()),
    ):
        with pytest.raises(EndpointConnectionError, match="us-east-1"):
            call(session.client(service, config=NO_RETRY))
    env.sandbox.admin_session(env.account, "us-east-2").client("ec2").describe_vpcs()
    env.sandbox.faults.clear()  # the region is back
    session.client("ec2", config=NO_RETRY).describe_vpcs()


def test_a_blackhole_scoped_to_one_account(env):
    env.sandbox.faults.blackhole_region("us-east-1", account=env.account)
    with pytest.raises(EndpointConnectionError):
        env.sandbox.admin_session(env.account, "us-east-1").client(
            "ec2", config=NO_RETRY
        ).describe_vpcs()
    env.sandbox.admin_session("111111111111", "us-east-1").client("ec2").describe_vpcs()


def test_botocore_retries_then_gives_up(env):
    client = env.sandbox.admin_session(env.account, "us-east-1").client(
        "ec2", config=Config(retries={"mode": "standard", "max_attempts": 3})
    )
    env.sandbox.faults.blackhole_region("us-east-1")
    before = env.sandbox.faults.call_count("ec2", "DescribeVpcs", region="us-east-1")
    with pytest.raises(EndpointConnectionError):
        client.describe_vpcs()
    # tried more than once (botocore treats a connection error as transient), then raised
    assert env.sandbox.faults.call_count("ec2", "DescribeVpcs", region="us-east-1") > before + 1
