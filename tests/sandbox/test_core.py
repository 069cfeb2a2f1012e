"""The sandbox itself: accounts, identities, trust, clock and wire faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from drorch import names
from drorch.sandbox import SimClock

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_default_credentials_are_the_hub_operator(sandbox):
    identity = boto3.client("sts").get_caller_identity()
    assert identity["Account"] == sandbox.hub.account_id
    assert identity["Arn"].endswith(f"user/{names.OPERATOR_USER}")


def test_accounts_are_isolated(sandbox):
    one = sandbox.admin_session("111111111111", "us-east-2")
    two = sandbox.admin_session("222222222222", "us-east-2")
    one.client("s3").create_bucket(
        Bucket="only-in-one", CreateBucketConfiguration={"LocationConstraint": "us-east-2"}
    )
    assert [b["Name"] for b in one.client("s3").list_buckets()["Buckets"]] == ["only-in-one"]
    assert two.client("s3").list_buckets()["Buckets"] == []
    assert one.client("sts").get_caller_identity()["Account"] == "111111111111"


def _role_with_external_id(sandbox, account_id: str, external_id: str) -> str:
    iam = sandbox.admin_session(account_id).client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "AWS": names.role_arn(sandbox.hub.account_id, names.ORCHESTRATOR_ROLE)
                },
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }
    return iam.create_role(RoleName="trusting", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]


def test_assume_role_requires_the_external_id(sandbox):
    arn = _role_with_external_id(sandbox, "111111111111", "secret-ext-id")
    sts = boto3.client("sts", config=NO_RETRY)
    for kwargs in ({}, {"ExternalId": "wrong"}):
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn=arn, RoleSessionName="test", **kwargs)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert "not authorized to perform: sts:AssumeRole" in str(caught.value)
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="test", ExternalId="secret-ext-id")
    assert creds["AssumedRoleUser"]["Arn"].startswith("arn:aws:sts::111111111111:assumed-role/")


def test_clock_is_manual_and_monotonic():
    clock = SimClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    clock.advance(90)
    assert clock.elapsed() == 90
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.set_speed(0)
    assert clock.elapsed() == 90


def test_scaled_clock_runs_faster_than_real_time():
    clock = SimClock(speed=1000)
    before = clock.elapsed()
    # no sleep: a busy loop of real work long enough for the monotonic clock to move
    while clock.elapsed() - before < 1:
        pass
    assert clock.elapsed() - before >= 1


def test_throttling_is_retried_by_botocore(sandbox):
    sandbox.faults.throttle("ec2", "DescribeVpcs", times=1)
    response = boto3.client("ec2").describe_vpcs()
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert sandbox.faults.call_count("ec2", "DescribeVpcs") == 2


@pytest.mark.parametrize(
    ("service", "operation", "call", "code"),
    [
        ("ec2", "DescribeVpcs", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),
        ("s3", "ListBuckets", lambda c: c.list_buckets(), "SlowDown"),
        ("dynamodb", "ListTables", lambda c: c.list_tables(), "ThrottlingException"),
        ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity(), "Throttling"),
        ("drs", "DescribeJobs", lambda c: c.describe_jobs(), "ThrottlingException"),
    ],
)
def test_throttling_speaks_each_protocol(sandbox, service, operation, call, code):
    sandbox.faults.throttle(service, operation, times=1)
    with pytest.raises(ClientError) as caught:
        call(boto3.client(service, config=NO_RETRY))
    assert caught.value.response["Error"]["Code"] == code


def test_access_denied_scoped_to_one_account(sandbox):
    sandbox.faults.deny("ec2", "DescribeVpcs", account="111111111111")
    with pytest.raises(ClientError) as caught:
        sandbox.admin_session("111111111111").client("ec2").describe_vpcs()
    assert caught.value.response["Error"]["Code"] == "UnauthorizedOperation"
    sandbox.admin_session("222222222222").client("ec2").describe_vpcs()


def test_fault_counts_run_out(sandbox):
    rule = sandbox.faults.deny("sts", "GetCallerIdentity", times=1)
    client = boto3.client("sts", config=NO_RETRY)
    with pytest.raises(ClientError):
        client.get_caller_identity()
    client.get_caller_identity()
    assert rule.hits == 1


def test_a_second_sandbox_starts_empty():
    from drorch.sandbox import Sandbox

    with Sandbox() as first:
        first.admin_session("111111111111").client("sqs").create_queue(QueueName="left-over")
    with Sandbox() as second:
        queues = second.admin_session("111111111111").client("sqs").list_queues()
        assert "QueueUrls" not in queues


def test_drs_work_due_shows_in_ec2_without_a_drs_call(sandbox):
    """Simulated time alone launches the recovery instance: EC2 sees it at once."""
    from drorch.sandbox.drs.models import drs_backends

    session = sandbox.admin_session("111111111111", "us-east-2")
    drs = session.client("drs")
    drs.initialize_service()
    server = drs_backends["111111111111"]["us-east-2"].add_source_server(
        hostname="web-1", ip="10.0.0.10"
    )
    drs.start_recovery(isDrill=True, sourceServers=[{"sourceServerID": server.source_server_id}])
    ec2 = session.client("ec2")
    running = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    assert ec2.describe_instances(Filters=running)["Reservations"] == []
    sandbox.advance(3600)
    reservations = ec2.describe_instances(Filters=running)["Reservations"]
    tags = {t["Key"]: t["Value"] for t in reservations[0]["Instances"][0]["Tags"]}
    assert tags["AWSElasticDisasterRecoverySourceServerID"] == server.source_server_id


def test_ami_catalog_holds_the_amazon_linux_latest_images(sandbox):
    """The small catalog still resolves the public 'latest AMI' parameters scenarios use."""
    session = sandbox.admin_session("111111111111", "us-east-2")
    name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    image = session.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    images = session.client("ec2").describe_images(ImageIds=[image])["Images"]
    assert [i["ImageId"] for i in images] == [image]


def test_clearing_the_fault_plan_drops_the_modules_rules_too():
    from drorch.sandbox.faults import LAZY_RULES, FaultPlan

    plan = FaultPlan()
    plan.fail_ecs_tasks("svc")
    plan.fail_replay("archive")
    plan.fail_nodegroup_update("ng")
    assert {"compute_faults", "serverless_faults", "capacity_faults"} <= set(vars(plan))
    plan.clear()
    assert not set(LAZY_RULES) & set(vars(plan))
