"""DRS in the sandbox does what the DRS documentation says.

Sources: *AWS Elastic Disaster Recovery API Reference*
(https://docs.aws.amazon.com/drs/latest/APIReference/) for the operations and shapes,
*AWS Elastic Disaster Recovery endpoints and quotas*
(https://docs.aws.amazon.com/general/latest/gr/drs.html) for the quotas.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.sandbox.state import DrsQuotas
from tests.sandbox.conftest import Env

TO_LAUNCHED = 30 + 60 + 240 + 120  # the default DrsTimings of a launch job


def servers(env: Any, count: int) -> list[Any]:
    env.drs.initialize_service()
    return [env.seed(f"srv-{n}", ip=f"172.31.9.{n + 10}") for n in range(count)]


def job(env: Any, job_id: str) -> dict[str, Any]:
    return env.drs.describe_jobs(filters={"jobIDs": [job_id]})["items"][0]


# --- launch configuration -------------------------------------------------------------------
def test_recovery_mode_is_kept(env):
    """API_UpdateLaunchConfiguration / API_CreateLaunchConfigurationTemplate: recoveryMode
    (FAST | OPTIMAL) is a member of the request and of the answer: the value set is the
    value read back (GetLaunchConfiguration, DescribeLaunchConfigurationTemplates)."""
    (server,) = servers(env, 1)
    sid = server.source_server_id
    updated = env.drs.update_launch_configuration(sourceServerID=sid, recoveryMode="FAST")
    assert updated["recoveryMode"] == "FAST"
    assert env.drs.get_launch_configuration(sourceServerID=sid)["recoveryMode"] == "FAST"
    template = env.drs.create_launch_configuration_template(recoveryMode="OPTIMAL")[
        "launchConfigurationTemplate"
    ]
    assert template["recoveryMode"] == "OPTIMAL"
    tid = template["launchConfigurationTemplateID"]
    env.drs.update_launch_configuration_template(
        launchConfigurationTemplateID=tid, recoveryMode="FAST"
    )
    (listed,) = env.drs.describe_launch_configuration_templates(
        launchConfigurationTemplateIDs=[tid]
    )["items"]
    assert listed["recoveryMode"] == "FAST"


# --- jobs ---------------------------------------------------------------------------------
def test_a_finished_job_still_lists_its_participating_servers(env):
    """API_Job: participatingServers is "A list of servers that the Job is acting upon",
    and API_ParticipatingServer's launchStatus has the final values LAUNCHED, FAILED and
    TERMINATED, which only a finished job can show: DescribeJobs keeps listing the servers
    (with their final launchStatus and recoveryInstanceID) after the job is COMPLETED."""
    (server,) = servers(env, 1)
    started = env.drs.start_recovery(
        sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True
    )["job"]
    env.sandbox.advance(TO_LAUNCHED)
    finished = job(env, started["jobID"])
    assert finished["status"] == "COMPLETED"
    (participant,) = finished["participatingServers"]
    assert participant["sourceServerID"] == server.source_server_id
    assert participant["launchStatus"] == "LAUNCHED"
    assert participant["recoveryInstanceID"].startswith("i-")


# --- quotas -------------------------------------------------------------------------------------
@pytest.fixture
def small(env):
    """The same quotas, made small enough to reach in a test."""
    saved = env.sandbox.state.drs_quotas
    env.sandbox.state.drs_quotas = DrsQuotas(
        max_servers_per_job=2,
        max_concurrent_jobs=1,
        max_servers_in_active_jobs=2,
        max_replicating_source_servers=3,
    )
    yield env
    env.sandbox.state.drs_quotas = saved


def test_default_quotas_are_the_documented_ones():
    """Quotas page: max source servers in a single job 100, max concurrent jobs 20, max
    source servers in all active jobs 500, max replicating source servers 300."""
    quotas = DrsQuotas()
    assert (
        quotas.max_servers_per_job,
        quotas.max_concurrent_jobs,
        quotas.max_servers_in_active_jobs,
        quotas.max_replicating_source_servers,
    ) == (100, 20, 500, 300)


def test_replicating_source_servers_quota(small):
    """Quotas page: "Max replicating source servers" per account. A server more cannot
    start replicating (an agent installation fails; StartReplication is refused)."""
    env = small
    live = servers(env, 3)
    with pytest.raises(Exception, match="replicates 3 source servers"):
        env.seed("one-too-many", ip="172.31.9.99")
    stopped = env.seed("stopped", ip="172.31.9.98", replication_state="STOPPED")
    with pytest.raises(ClientError) as caught:
        env.drs.start_replication(sourceServerID=stopped.source_server_id)
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    env.drs.stop_replication(sourceServerID=live[0].source_server_id)
    env.drs.start_replication(sourceServerID=stopped.source_server_id)  # room again


def test_job_quotas_answer_service_quota_exceeded(small):
    """Quotas page: servers per job and concurrent jobs; API_StartRecovery:
    ServiceQuotaExceededException (HTTP 402) names the quota."""
    env = small
    ids = [s.source_server_id for s in servers(env, 3)]
    with pytest.raises(ClientError) as caught:
        env.drs.start_recovery(sourceServers=[{"sourceServerID": i} for i in ids], isDrill=True)
    assert caught.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    env.drs.start_recovery(sourceServers=[{"sourceServerID": ids[0]}], isDrill=True)
    with pytest.raises(ClientError) as caught:  # a second concurrent job
        env.drs.start_recovery(sourceServers=[{"sourceServerID": ids[1]}], isDrill=True)
    assert caught.value.response["quotaCode"] == "sandbox-max-concurrent-jobs"


# --- post-launch actions ---------------------------------------------------------------------
def test_launch_actions_round_trip(env):
    """API_PutLaunchAction / API_ListLaunchActions / API_DeleteLaunchAction on a source
    server: the action put is listed, then deleted; an unknown resource is
    ResourceNotFoundException."""
    (server,) = servers(env, 1)
    sid = server.source_server_id
    action_id = "0b6f6cd0-2a3c-4e1f-9d55-0123456789ab"
    put = env.drs.put_launch_action(
        resourceId=sid,
        actionId=action_id,
        actionCode="AWS-CreateImage",
        order=2,
        name="ami",
        active=True,
        actionVersion="$DEFAULT",
        optional=True,
        category="OTHER",
        parameters={"InstanceId": {"type": "DYNAMIC", "value": "InstanceId"}},
        description="take an AMI",
    )
    assert put["type"] == "SSM_AUTOMATION" and put["resourceId"] == sid
    assert [a["actionId"] for a in env.drs.list_launch_actions(resourceId=sid)["items"]] == [
        action_id
    ]
    env.drs.delete_launch_action(resourceId=sid, actionId=action_id)
    assert env.drs.list_launch_actions(resourceId=sid)["items"] == []
    with pytest.raises(ClientError) as caught:
        env.drs.list_launch_actions(resourceId="s-0123456789abcdef0")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


# --- recovery plans -----------------------------------------------------------------------------
def plan_with(env: Any, *steps: dict[str, Any]) -> str:
    plan = env.drs.create_recovery_plan(name="tiers", description="web after db")["recoveryPlan"]
    assert plan["status"] == "ACTIVE"
    for index, configuration in enumerate(steps, 1):
        env.drs.create_recovery_plan_step(
            recoveryPlanArn=plan["recoveryPlanArn"],
            stepName=f"step {index}",
            configuration=configuration,
        )
    return plan["recoveryPlanArn"]


def launch(*arns: str, impact: str = "CRITICAL") -> dict[str, Any]:
    return {
        "serverStepConfiguration": {
            "servers": [{"serverArn": arn, "impactLevel": impact} for arn in arns]
        }
    }


def test_recovery_plan_runs_its_steps_in_order_on_the_simulated_clock(env):
    """API_CreateRecoveryPlan, API_CreateRecoveryPlanStep, API_StartRecoveryPlanExecution,
    API_GetRecoveryPlanExecution, API_ListRecoveryPlanExecutionSteps: a plan's steps run in
    order, a server step as a DRS launch job (a drill in DRILL mode) and a wait step for its
    minutes; the execution is COMPLETED when the last step is."""
    db, web = servers(env, 2)
    arn = plan_with(
        env, launch(db.arn), {"waitStepConfiguration": {"waitDurationMinutes": 5}}, launch(web.arn)
    )
    assert [
        s["stepOrder"]
        for s in env.drs.list_recovery_plan_steps(recoveryPlanArn=arn)["recoveryPlanSteps"]
    ] == [1, 2, 3]
    execution = env.drs.start_recovery_plan_execution(recoveryPlanArn=arn, mode="DRILL")[
        "recoveryPlanExecution"
    ]
    execution_arn = execution["recoveryPlanExecutionArn"]
    assert execution["status"] == "IN_PROGRESS"

    def statuses() -> list[str]:
        steps = env.drs.list_recovery_plan_execution_steps(recoveryPlanExecutionArn=execution_arn)
        return [s["status"] for s in steps["recoveryPlanExecutionSteps"]]

    assert statuses() == ["EXECUTING", "NOT_STARTED", "NOT_STARTED"]
    first = env.drs.list_recovery_plan_execution_steps(recoveryPlanExecutionArn=execution_arn)[
        "recoveryPlanExecutionSteps"
    ][0]
    (server,) = first["configuration"]["executionServerStepConfiguration"]["servers"]
    assert job(env, server["jobID"])["initiatedBy"] == "START_DRILL"
    env.sandbox.advance(TO_LAUNCHED)
    assert statuses() == ["COMPLETED", "WAITING", "NOT_STARTED"]
    env.sandbox.advance(5 * 60)
    assert statuses() == ["COMPLETED", "COMPLETED", "EXECUTING"]
    env.sandbox.advance(TO_LAUNCHED)
    assert statuses() == ["COMPLETED", "COMPLETED", "COMPLETED"]
    done = env.drs.get_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn)[
        "recoveryPlanExecution"
    ]
    assert done["status"] == "COMPLETED" and "completedAt" in done
    listed = env.drs.list_recovery_plan_executions(recoveryPlanArn=arn)["recoveryPlanExecutions"]
    assert [e["status"] for e in listed] == ["COMPLETED"]


def test_a_critical_launch_failure_fails_the_execution_and_retry_runs_the_step_again(env):
    """API_RecoveryPlanServer impactLevel (CRITICAL | OPTIONAL) and
    API_RetryRecoveryPlanExecutionStep: a critical server that fails to launch fails its
    step and the execution; retrying the step runs it again with attempt 2."""
    (server,) = servers(env, 1)
    env.sandbox.faults.fail_launch("srv-0", account=env.account)
    arn = plan_with(env, launch(server.arn))
    execution_arn = env.drs.start_recovery_plan_execution(recoveryPlanArn=arn, mode="RECOVERY")[
        "recoveryPlanExecution"
    ]["recoveryPlanExecutionArn"]
    env.sandbox.advance(TO_LAUNCHED)
    failed = env.drs.get_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn)[
        "recoveryPlanExecution"
    ]
    assert failed["status"] == "FAILED" and failed["errorDetail"]["code"] == "LAUNCH_FAILED"
    step_arn = env.drs.list_recovery_plan_execution_steps(recoveryPlanExecutionArn=execution_arn)[
        "recoveryPlanExecutionSteps"
    ][0]["recoveryPlanExecutionStepArn"]
    env.sandbox.faults.clear()
    retried = env.drs.retry_recovery_plan_execution_step(recoveryPlanExecutionStepArn=step_arn)
    assert retried["recoveryPlanExecutionStep"]["attempt"] == 2
    env.sandbox.advance(TO_LAUNCHED)
    assert (
        env.drs.get_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn)[
            "recoveryPlanExecution"
        ]["status"]
        == "COMPLETED"
    )


def test_plan_conflicts_and_cancel(env):
    """API_DeleteRecoveryPlan / API_DeleteRecoveryPlanExecution: ConflictException while an
    execution runs; API_CancelRecoveryPlanExecution: CANCELLING, then CANCELLED with the
    steps not started SKIPPED; API_ReorderRecoveryPlanSteps takes every step once."""
    a, b = servers(env, 2)
    arn = plan_with(env, launch(a.arn), launch(b.arn, impact="OPTIONAL"))
    steps = env.drs.list_recovery_plan_steps(recoveryPlanArn=arn)["recoveryPlanSteps"]
    reordered = env.drs.reorder_recovery_plan_steps(
        recoveryPlanArn=arn, orderedStepArns=[s["recoveryPlanStepArn"] for s in reversed(steps)]
    )["recoveryPlanSteps"]
    assert [s["stepName"] for s in reordered] == ["step 2", "step 1"]
    with pytest.raises(ClientError) as caught:
        env.drs.reorder_recovery_plan_steps(
            recoveryPlanArn=arn, orderedStepArns=[steps[0]["recoveryPlanStepArn"]]
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    execution_arn = env.drs.start_recovery_plan_execution(recoveryPlanArn=arn, mode="DRILL")[
        "recoveryPlanExecution"
    ]["recoveryPlanExecutionArn"]
    for call in (
        lambda: env.drs.delete_recovery_plan(recoveryPlanArn=arn),
        lambda: env.drs.delete_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ConflictException"
    cancelling = env.drs.cancel_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn)
    assert cancelling["recoveryPlanExecution"]["status"] == "CANCELLING"
    env.sandbox.advance(TO_LAUNCHED)
    cancelled = env.drs.get_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn)
    assert cancelled["recoveryPlanExecution"]["status"] == "CANCELLED"
    steps = env.drs.list_recovery_plan_execution_steps(recoveryPlanExecutionArn=execution_arn)
    assert [s["status"] for s in steps["recoveryPlanExecutionSteps"]] == ["COMPLETED", "SKIPPED"]
    env.drs.delete_recovery_plan_execution(recoveryPlanExecutionArn=execution_arn)
    env.drs.delete_recovery_plan(recoveryPlanArn=arn)
    assert env.drs.list_recovery_plans()["recoveryPlans"] == []


# --- source networks ----------------------------------------------------------------------------
def test_source_network_life_cycle(env):
    """API_CreateSourceNetwork ("Create a new Source Network resource for a provided VPC
    ID"), API_StartSourceNetworkReplication ("would make the Source Network protected"),
    API_StopSourceNetworkReplication, API_DescribeSourceNetworks (filters),
    API_DeleteSourceNetwork; an unknown VPC is ResourceNotFoundException, the same VPC
    twice is ConflictException."""
    env.drs.initialize_service()
    vpc = env.ec2().create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    origin = {"originAccountID": env.account, "originRegion": "us-east-2"}
    network_id = env.drs.create_source_network(vpcID=vpc, **origin)["sourceNetworkID"]
    for vpc_id, code in (
        (vpc, "ConflictException"),
        ("vpc-0123456789abcdef0", "ResourceNotFoundException"),
    ):
        with pytest.raises(ClientError) as caught:
            env.drs.create_source_network(vpcID=vpc_id, **origin)
        assert caught.value.response["Error"]["Code"] == code
    (listed,) = env.drs.describe_source_networks(filters={"sourceNetworkIDs": [network_id]})[
        "items"
    ]
    assert (listed["sourceVpcID"], listed["replicationStatus"]) == (vpc, "STOPPED")
    started = env.drs.start_source_network_replication(sourceNetworkID=network_id)
    assert started["sourceNetwork"]["replicationStatus"] == "PROTECTED"
    with pytest.raises(ClientError) as caught:
        env.drs.delete_source_network(sourceNetworkID=network_id)
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    env.drs.stop_source_network_replication(sourceNetworkID=network_id)
    env.drs.delete_source_network(sourceNetworkID=network_id)
    assert env.drs.describe_source_networks()["items"] == []


NETWORK_DEPLOY = 30 + 180  # job start, then the stack (DrsTimings.network_deploy_seconds)


def _protected_network(env: Any) -> tuple[str, str]:
    env.drs.initialize_service()
    ec2 = env.ec2()
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    for cidr, zone in (("10.60.1.0/24", "us-east-2a"), ("10.60.2.0/24", "us-east-2b")):
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)
    origin = {"originAccountID": env.account, "originRegion": "us-east-2"}
    network_id = env.drs.create_source_network(vpcID=vpc, **origin)["sourceNetworkID"]
    env.drs.start_source_network_replication(sourceNetworkID=network_id)
    return network_id, vpc


def _network(env: Any, network_id: str) -> dict[str, Any]:
    return env.drs.describe_source_networks(filters={"sourceNetworkIDs": [network_id]})["items"][0]


def test_a_source_network_is_recovered_as_a_cloudformation_stack(env):
    """API_StartSourceNetworkRecovery ("Deploy VPC for the specified Source Network ...
    The VPC will be deployed using a dedicated CloudFormation stack"): a LAUNCH job whose
    participatingResources name the network, initiated by CREATE_NETWORK_RECOVERY, then
    UPDATE_NETWORK_RECOVERY for the same stack; the network's launchedVpcID, cfnStackName
    and lastRecovery (API_SourceNetwork, API_RecoveryLifeCycle) follow.
    API_ExportSourceNetworkCfnTemplate ("Export the Source Network CloudFormation template
    to an S3 bucket") answers the template's s3DestinationUrl."""
    network_id, vpc = _protected_network(env)
    url = env.drs.export_source_network_cfn_template(sourceNetworkID=network_id)["s3DestinationUrl"]
    bucket, key = url.removeprefix("https://").split(".s3.")[0], url.rsplit("/", 1)[1]
    s3 = env.sandbox.admin_session(env.account, "us-east-2").client("s3")
    template = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert template["Resources"]["Vpc"]["Properties"]["CidrBlock"] == "10.60.0.0/16"
    assert len([r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]) == 2

    started = env.drs.start_source_network_recovery(
        sourceNetworks=[{"sourceNetworkID": network_id, "cfnStackName": "recovered-net"}],
        tags={"Purpose": "drill"},
    )["job"]
    assert (started["type"], started["initiatedBy"], started["status"]) == (
        "LAUNCH",
        "CREATE_NETWORK_RECOVERY",
        "PENDING",
    )
    assert started["participatingResources"] == [
        {"participatingResourceID": {"sourceNetworkID": network_id}, "launchStatus": "PENDING"}
    ]
    assert _network(env, network_id)["lastRecovery"]["lastRecoveryResult"] == "IN_PROGRESS"
    with pytest.raises(ClientError) as caught:  # one active job per network
        env.drs.start_source_network_recovery(sourceNetworks=[{"sourceNetworkID": network_id}])
    assert caught.value.response["Error"]["Code"] == "ConflictException"

    env.sandbox.advance(NETWORK_DEPLOY)
    ended = job(env, started["jobID"])
    assert ended["status"] == "COMPLETED"
    assert ended["participatingResources"][0]["launchStatus"] == "LAUNCHED"
    network = _network(env, network_id)
    assert network["cfnStackName"] == "recovered-net"
    assert network["lastRecovery"]["lastRecoveryResult"] == "SUCCESS"
    launched = network["launchedVpcID"]
    assert launched != vpc
    ec2 = env.ec2()
    assert ec2.describe_vpcs(VpcIds=[launched])["Vpcs"][0]["CidrBlock"] == "10.60.0.0/16"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [launched]}])["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == ["10.60.1.0/24", "10.60.2.0/24"]
    cfn = env.sandbox.admin_session(env.account, "us-east-2").client("cloudformation")
    assert cfn.describe_stacks(StackName="recovered-net")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    events = [i["event"] for i in env.drs.describe_job_log_items(jobID=started["jobID"])["items"]]
    assert events == [
        "JOB_START",
        "DEPLOY_NETWORK_CONFIGURATION_START",
        "DEPLOY_NETWORK_CONFIGURATION_END",
        "UPDATE_LAUNCH_TEMPLATE_START",
        "UPDATE_LAUNCH_TEMPLATE_END",
        "JOB_END",
    ]
    again = env.drs.start_source_network_recovery(sourceNetworks=[{"sourceNetworkID": network_id}])[
        "job"
    ]
    assert again["initiatedBy"] == "UPDATE_NETWORK_RECOVERY"
    env.sandbox.advance(NETWORK_DEPLOY)
    assert _network(env, network_id)["launchedVpcID"] == launched  # the same stack


def test_a_source_network_is_associated_with_an_existing_stack(env):
    """API_AssociateSourceNetworkStack ("Associate a Source Network to an existing
    CloudFormation Stack ... Can be used for reverting to previously deployed
    CloudFormation stacks"): a job initiated by ASSOCIATE_NETWORK_RECOVERY, ending in
    lastRecoveryResult ASSOCIATE_SUCCESS; an unknown stack or network is
    ResourceNotFoundException."""
    network_id, _ = _protected_network(env)
    env.drs.start_source_network_recovery(
        sourceNetworks=[{"sourceNetworkID": network_id, "cfnStackName": "first"}]
    )
    env.sandbox.advance(NETWORK_DEPLOY)
    first = _network(env, network_id)["launchedVpcID"]
    env.drs.start_source_network_recovery(
        sourceNetworks=[{"sourceNetworkID": network_id, "cfnStackName": "second"}],
        deployAsNew=True,
    )
    env.sandbox.advance(NETWORK_DEPLOY)
    assert _network(env, network_id)["launchedVpcID"] != first

    associated = env.drs.associate_source_network_stack(
        sourceNetworkID=network_id, cfnStackName="first"
    )["job"]
    assert associated["initiatedBy"] == "ASSOCIATE_NETWORK_RECOVERY"
    env.sandbox.advance(60)
    network = _network(env, network_id)
    assert (network["cfnStackName"], network["launchedVpcID"]) == ("first", first)
    assert network["lastRecovery"]["lastRecoveryResult"] == "ASSOCIATE_SUCCESS"
    for arguments in (
        {"sourceNetworkID": network_id, "cfnStackName": "no-such-stack"},
        {"sourceNetworkID": "sn-0123456789abcdef0", "cfnStackName": "first"},
    ):
        with pytest.raises(ClientError) as caught:
            env.drs.associate_source_network_stack(**arguments)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_network_never_replicated_fails_its_recovery(env):
    """A source network whose settings were never copied (StartSourceNetworkReplication)
    has nothing to deploy: its part of the job FAILED, the log says why, and
    lastRecoveryResult is FAIL. An unknown network is a ValidationException (the
    operation declares no ResourceNotFoundException)."""
    env.drs.initialize_service()
    vpc = env.ec2().create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    network_id = env.drs.create_source_network(
        vpcID=vpc, originAccountID=env.account, originRegion="us-east-2"
    )["sourceNetworkID"]
    started = env.drs.start_source_network_recovery(
        sourceNetworks=[{"sourceNetworkID": network_id}]
    )["job"]
    env.sandbox.advance(NETWORK_DEPLOY)
    assert job(env, started["jobID"])["participatingResources"][0]["launchStatus"] == "FAILED"
    logged = env.drs.describe_job_log_items(jobID=started["jobID"])["items"]
    failed = [i for i in logged if i["event"] == "DEPLOY_NETWORK_CONFIGURATION_FAILED"]
    assert "never replicated" in failed[0]["eventData"]["rawError"]
    assert _network(env, network_id)["lastRecovery"]["lastRecoveryResult"] == "FAIL"
    with pytest.raises(ClientError) as caught:
        env.drs.start_source_network_recovery(
            sourceNetworks=[{"sourceNetworkID": "sn-0123456789abcdef0"}]
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_an_extended_source_server_stands_for_a_staging_accounts_server(env, shared_sandbox):
    """API_CreateExtendedSourceServer ("Create an extended source server in the target
    Account based on the source server in staging account"): stagingArea EXTENDED naming
    the staging account and server; API_ListStagingAccounts then lists that account; an
    unknown server is ResourceNotFoundException, extending one twice a
    ValidationException."""
    staging = env.account
    original = servers(env, 1)[0]
    target = Env(shared_sandbox, str(int(staging) + 500000))
    target.drs.initialize_service()
    listed = target.drs.list_extensible_source_servers(stagingAccountID=staging)["items"]
    assert [s["arn"] for s in listed] == [original.arn]

    extended = target.drs.create_extended_source_server(
        sourceServerArn=original.arn, tags={"App": "claims"}
    )["sourceServer"]
    assert extended["stagingArea"] == {
        "status": "EXTENDED",
        "stagingAccountID": staging,
        "stagingSourceServerArn": original.arn,
    }
    assert extended["arn"].split(":")[4] == target.account
    assert extended["sourceProperties"]["identificationHints"]["hostname"] == "srv-0"
    assert extended["tags"] == {"App": "claims"}
    assert target.drs.list_staging_accounts()["accounts"] == [{"accountID": staging}]
    for arn, code in (
        (original.arn, "ValidationException"),
        (original.arn[:-17] + "0" * 17, "ResourceNotFoundException"),
    ):
        with pytest.raises(ClientError) as caught:
            target.drs.create_extended_source_server(sourceServerArn=arn)
        assert caught.value.response["Error"]["Code"] == code
