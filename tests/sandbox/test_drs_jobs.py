"""The fake DRS through boto3: launch and terminate jobs on the simulated clock.

The sandbox runs strict: every DRS response is checked against the botocore
model by ``drorch.sandbox.fidelity`` and a violation fails the call.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.conftest import Env

REGION = "us-east-2"
# Default DrsTimings: start 30s, snapshot 60s, conversion 240s, launch 120s.
TO_STARTED = 30
TO_LAUNCHED = 30 + 60 + 240 + 120


@pytest.fixture
def drs(env: Env) -> Any:
    env.drs.initialize_service()
    return env.drs


def job_of(drs: Any, job_id: str) -> dict[str, Any]:
    return drs.describe_jobs(filters={"jobIDs": [job_id]})["items"][0]


def events(drs: Any, job_id: str) -> list[str]:
    return [item["event"] for item in drs.describe_job_log_items(jobID=job_id)["items"]]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    return excinfo.value.response


def test_every_operation_but_initialize_needs_an_initialized_account(env: Env) -> None:
    drs = env.drs
    for call in (
        lambda: drs.describe_source_servers(),
        lambda: drs.describe_jobs(),
        lambda: drs.start_recovery(sourceServers=[{"sourceServerID": "s-1234567890abcdef0"}]),
        lambda: drs.describe_recovery_instances(),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "UninitializedAccountException"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    drs.initialize_service()
    drs.initialize_service()  # idempotent
    assert drs.describe_source_servers()["items"] == []


def test_drill_progresses_on_the_clock_and_launches_a_tagged_ec2_instance(
    env: Env, drs: Any
) -> None:
    sandbox = env.sandbox
    drs.create_launch_configuration_template(copyPrivateIp=True, copyTags=True)
    server = env.seed(
        tags={"App": "shop", "aws:reserved": "no"}, source_instance_id="i-0aa11bb22cc33dd44"
    )
    job = drs.start_recovery(
        sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True, tags={"run": "1"}
    )["job"]
    assert job["type"] == "LAUNCH" and job["initiatedBy"] == "START_DRILL"
    assert job["status"] == "PENDING" and job["tags"] == {"run": "1"}
    assert job["participatingServers"][0]["launchStatus"] == "PENDING"

    sandbox.advance(TO_STARTED)
    assert job_of(drs, job["jobID"])["status"] == "STARTED"
    sandbox.advance(60)  # snapshot done, conversion starts
    assert job_of(drs, job["jobID"])["participatingServers"][0]["launchStatus"] == "IN_PROGRESS"
    source = drs.describe_source_servers()["items"][0]
    assert source["lastLaunchResult"] == "PENDING"
    assert source["lifeCycle"]["lastLaunch"]["initiated"]["type"] == "DRILL"
    sandbox.advance(240 + 119)
    assert job_of(drs, job["jobID"])["status"] == "STARTED"
    sandbox.advance(1)
    done = job_of(drs, job["jobID"])
    assert done["status"] == "COMPLETED" and "endDateTime" in done
    participant = done["participatingServers"][0]
    assert participant["launchStatus"] == "LAUNCHED"
    instance_id = participant["recoveryInstanceID"]

    assert events(drs, job["jobID"]) == [
        "JOB_START",
        "SNAPSHOT_START",
        "SNAPSHOT_END",
        "CONVERSION_START",
        "CONVERSION_END",
        "LAUNCH_START",
        "JOB_END",
    ]
    source = drs.describe_source_servers()["items"][0]
    assert source["recoveryInstanceId"] == instance_id
    assert source["lastLaunchResult"] == "SUCCEEDED"
    assert source["lifeCycle"]["lastLaunch"] == {
        "initiated": {
            "apiCallDateTime": job["creationDateTime"],
            "jobID": job["jobID"],
            "type": "DRILL",
        },
        "status": "LAUNCHED",
    }
    recovery = drs.describe_recovery_instances()["items"][0]
    assert recovery["recoveryInstanceID"] == recovery["ec2InstanceID"] == instance_id
    assert recovery["isDrill"] is True and recovery["jobID"] == job["jobID"]
    assert recovery["ec2InstanceState"] == "RUNNING"
    assert recovery["originEnvironment"] == "AWS"

    ec2 = env.ec2()
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags["AWSElasticDisasterRecoveryManaged"] == "drs.amazonaws.com"
    assert tags["AWSElasticDisasterRecoverySourceServerID"] == server.source_server_id
    assert tags["drs.amazonaws.com-job"] == job["jobID"]
    assert tags["Name"] == "web-1" and tags["App"] == "shop"  # copyTags
    assert "aws:reserved" not in tags
    assert instance["PrivateIpAddress"] == "172.31.0.50"  # copyPrivateIp, fits the default subnet
    assert instance["InstanceType"] == "m5.large"


def test_recovery_then_terminate_job_terminates_the_ec2_instance(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    server = env.seed(ip="10.99.0.7")  # copyPrivateIp off and the IP fits no subnet anyway
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server.source_server_id}])["job"]
    assert job["initiatedBy"] == "START_RECOVERY"
    sandbox.advance(TO_LAUNCHED)
    recovery = drs.describe_recovery_instances()["items"][0]
    assert recovery["isDrill"] is False
    instance_id = recovery["recoveryInstanceID"]

    terminate = drs.terminate_recovery_instances(recoveryInstanceIDs=[instance_id])["job"]
    assert terminate["type"] == "TERMINATE"
    assert terminate["initiatedBy"] == "TERMINATE_RECOVERY_INSTANCES"
    assert terminate["participatingServers"] == [
        {
            "sourceServerID": server.source_server_id,
            "recoveryInstanceID": instance_id,
            "launchStatus": "PENDING",
            "launchActionsStatus": {"runs": []},
        }
    ]
    ec2 = env.ec2()
    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "running"
    sandbox.advance(30 + 60)
    finished = job_of(drs, terminate["jobID"])
    assert finished["status"] == "COMPLETED"
    assert finished["participatingServers"][0]["launchStatus"] == "TERMINATED"
    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "terminated"
    assert events(drs, terminate["jobID"]) == [
        "JOB_START",
        "CLEANUP_START",
        "CLEANUP_END",
        "JOB_END",
    ]
    assert drs.describe_recovery_instances()["items"] == []
    source = drs.describe_source_servers()["items"][0]
    assert "recoveryInstanceId" not in source
    assert source["lifeCycle"]["lastLaunch"]["status"] == "TERMINATED"


def test_a_new_drill_replaces_the_previous_drill_instance(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    server = env.seed()
    first = drs.start_recovery(
        sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True
    )
    sandbox.advance(TO_LAUNCHED)
    old = job_of(drs, first["job"]["jobID"])["participatingServers"][0]["recoveryInstanceID"]
    drs.start_recovery(sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True)
    sandbox.advance(TO_LAUNCHED)
    instances = drs.describe_recovery_instances()["items"]
    assert [i["recoveryInstanceID"] for i in instances] != [old] and len(instances) == 1
    ec2 = env.ec2()
    state = ec2.describe_instances(InstanceIds=[old])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "terminated"


def test_launch_failure_fault_fails_one_server_only(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    good, bad = env.seed("app-1"), env.seed("app-2", ip="172.31.0.51")
    sandbox.faults.fail_launch("app-2", reason="Insufficient capacity (simulated)")
    job = drs.start_recovery(
        sourceServers=[
            {"sourceServerID": good.source_server_id},
            {"sourceServerID": bad.source_server_id},
        ]
    )["job"]
    sandbox.advance(TO_LAUNCHED)
    finished = job_of(drs, job["jobID"])
    statuses = {p["sourceServerID"]: p for p in finished["participatingServers"]}
    assert finished["status"] == "COMPLETED"
    assert statuses[good.source_server_id]["launchStatus"] == "LAUNCHED"
    assert statuses[bad.source_server_id]["launchStatus"] == "FAILED"
    assert "recoveryInstanceID" not in statuses[bad.source_server_id]
    failed = [
        item
        for item in drs.describe_job_log_items(jobID=job["jobID"])["items"]
        if item["event"] == "LAUNCH_FAILED"
    ]
    assert failed == [
        {
            "logDateTime": finished["endDateTime"],
            "event": "LAUNCH_FAILED",
            "eventData": {
                "sourceServerID": bad.source_server_id,
                "rawError": "Insufficient capacity (simulated)",
            },
        }
    ]
    servers = {s["sourceServerID"]: s for s in drs.describe_source_servers()["items"]}
    assert servers[bad.source_server_id]["lastLaunchResult"] == "FAILED"
    assert servers[good.source_server_id]["lastLaunchResult"] == "SUCCEEDED"
    assert len(drs.describe_recovery_instances()["items"]) == 1


def test_job_failure_fault_fails_every_server_and_launches_nothing(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    servers = [env.seed(f"db-{n}", ip=f"172.31.0.{60 + n}") for n in range(2)]
    sandbox.faults.fail_job("LAUNCH", reason="Snapshot quota reached (simulated)")
    job = drs.start_recovery(
        sourceServers=[{"sourceServerID": s.source_server_id} for s in servers]
    )["job"]
    sandbox.advance(TO_LAUNCHED)
    finished = job_of(drs, job["jobID"])
    assert finished["status"] == "COMPLETED"
    assert {p["launchStatus"] for p in finished["participatingServers"]} == {"FAILED"}
    assert events(drs, job["jobID"]).count("SNAPSHOT_FAIL") == 2
    assert drs.describe_recovery_instances()["items"] == []
    # The fault was for one job: the next one succeeds.
    again = drs.start_recovery(sourceServers=[{"sourceServerID": servers[0].source_server_id}])
    sandbox.advance(TO_LAUNCHED)
    statuses = job_of(drs, again["job"]["jobID"])["participatingServers"]
    assert [p["launchStatus"] for p in statuses] == ["LAUNCHED"]


def test_slow_jobs_fault_stretches_every_phase(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    server = env.seed()
    sandbox.faults.slow_jobs(3.0)
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server.source_server_id}])["job"]
    sandbox.advance(TO_STARTED * 3 - 1)
    assert job_of(drs, job["jobID"])["status"] == "PENDING"
    sandbox.advance(TO_LAUNCHED * 3 - (TO_STARTED * 3 - 1) - 1)
    assert job_of(drs, job["jobID"])["status"] == "STARTED"
    sandbox.advance(1)
    assert job_of(drs, job["jobID"])["status"] == "COMPLETED"


def test_a_server_in_an_active_job_conflicts_and_active_jobs_cannot_be_deleted(
    env: Env, drs: Any
) -> None:
    sandbox = env.sandbox
    server = env.seed()
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server.source_server_id}])["job"]
    with pytest.raises(ClientError) as excinfo:
        drs.start_recovery(
            sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True
        )
    response = error_of(excinfo)
    assert response["Error"]["Code"] == "ConflictException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert response["resourceId"] == server.source_server_id
    with pytest.raises(drs.exceptions.ConflictException):
        drs.delete_job(jobID=job["jobID"])
    sandbox.advance(TO_LAUNCHED)
    drs.delete_job(jobID=job["jobID"])
    assert drs.describe_jobs()["items"] == []
    with pytest.raises(drs.exceptions.ResourceNotFoundException):
        drs.delete_job(jobID=job["jobID"])


def test_unknown_source_servers_are_skipped_not_refused(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    server = env.seed()
    ghost = "s-00000000000000000"
    job = drs.start_recovery(
        sourceServers=[{"sourceServerID": server.source_server_id}, {"sourceServerID": ghost}]
    )["job"]
    assert [p["sourceServerID"] for p in job["participatingServers"]] == [server.source_server_id]
    sandbox.advance(TO_STARTED)
    skipped = [
        item
        for item in drs.describe_job_log_items(jobID=job["jobID"])["items"]
        if item["event"] == "SERVER_SKIPPED"
    ]
    assert skipped[0]["eventData"]["sourceServerID"] == ghost


def test_job_log_items_and_jobs_paginate(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    servers = [env.seed(f"node-{n}", ip=f"172.31.1.{n + 10}") for n in range(3)]
    job_ids = [
        drs.start_recovery(sourceServers=[{"sourceServerID": s.source_server_id}], isDrill=True)[
            "job"
        ]["jobID"]
        for s in servers
    ]
    sandbox.advance(TO_LAUNCHED)
    pages = list(drs.get_paginator("describe_jobs").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["items"]) for p in pages] == [2, 1]
    assert [j["jobID"] for p in pages for j in p["items"]] == job_ids
    log = drs.get_paginator("describe_job_log_items").paginate(
        jobID=job_ids[0], PaginationConfig={"PageSize": 3}
    )
    assert [i["event"] for p in log for i in p["items"]] == events(drs, job_ids[0])
    created = job_of(drs, job_ids[0])["creationDateTime"]
    assert len(drs.describe_jobs(filters={"fromDate": created})["items"]) == 3
    assert drs.describe_jobs(filters={"toDate": "2000-01-01T00:00:00Z"})["items"] == []
    with pytest.raises(drs.exceptions.ValidationException):
        drs.describe_jobs(nextToken="not-a-token")


def test_launch_into_an_existing_instance(env: Env, drs: Any) -> None:
    sandbox = env.sandbox
    ec2 = env.ec2()
    target = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]
    server = env.seed()
    with pytest.raises(ClientError) as excinfo:
        drs.update_launch_configuration(
            sourceServerID=server.source_server_id,
            launchIntoInstanceProperties={"launchIntoEC2InstanceID": target},
        )
    response = error_of(excinfo)
    assert response["Error"]["Code"] == "ValidationException"
    assert "AWSDRS=AllowLaunchingIntoThisInstance" in response["Error"]["Message"]
    ec2.create_tags(
        Resources=[target], Tags=[{"Key": "AWSDRS", "Value": "AllowLaunchingIntoThisInstance"}]
    )
    config = drs.update_launch_configuration(
        sourceServerID=server.source_server_id,
        launchIntoInstanceProperties={"launchIntoEC2InstanceID": target},
    )
    assert config["launchIntoInstanceProperties"] == {"launchIntoEC2InstanceID": target}
    job = drs.start_recovery(sourceServers=[{"sourceServerID": server.source_server_id}])["job"]
    sandbox.advance(TO_LAUNCHED)
    assert job_of(drs, job["jobID"])["participatingServers"][0]["recoveryInstanceID"] == target
    assert len(ec2.describe_instances()["Reservations"]) == 1
