"""The fake DRS through boto3: templates, configuration, snapshots, tags, replication, failback.

The sandbox runs strict: every DRS response is checked against the botocore
model by ``drorch.sandbox.fidelity`` and a violation fails the call.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.conftest import Env

REGION = "us-east-2"
SOURCE_REGION = "us-east-1"
TO_LAUNCHED = 30 + 60 + 240 + 120
PIT = [
    {"interval": 10, "retentionDuration": 60, "units": "MINUTE", "enabled": True},
    {"interval": 1, "retentionDuration": 24, "units": "HOUR", "enabled": True},
    {"interval": 1, "retentionDuration": 7, "units": "DAY", "enabled": True},
]


@pytest.fixture
def env(env: Env) -> Env:
    """This module's tests start with DRS initialized."""
    env.drs.initialize_service()
    return env


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_templates_crud_validation_and_defaults_for_new_servers(env: Env) -> None:
    drs = env.drs
    ec2 = env.ec2()
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    common = {
        "stagingAreaSubnetId": subnet,
        "replicationServersSecurityGroupsIDs": [group],
        "bandwidthThrottling": 0,
        "stagingAreaTags": {"Purpose": "staging"},
        "pitPolicy": PIT,
    }
    with pytest.raises(ClientError) as excinfo:
        drs.create_replication_configuration_template(ebsEncryption="SOMETIMES", **common)
    error = excinfo.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["reason"] == "fieldValidationFailed"
    assert error["fieldList"][0]["name"] == "ebsEncryption"
    with pytest.raises(ClientError) as excinfo:
        drs.create_replication_configuration_template(ebsEncryption="CUSTOM", **common)
    assert excinfo.value.response["fieldList"][0]["name"] == "ebsEncryptionKeyArn"
    with pytest.raises(ClientError) as excinfo:
        drs.create_replication_configuration_template(
            ebsEncryption="DEFAULT", **{**common, "stagingAreaSubnetId": "subnet-0badc0ffee0badc0f"}
        )
    assert "does not exist" in excinfo.value.response["Error"]["Message"]

    rct = drs.create_replication_configuration_template(ebsEncryption="DEFAULT", **common)
    assert rct["replicationConfigurationTemplateID"].startswith("rct-")
    assert [rule["ruleID"] for rule in rct["pitPolicy"]] == [1, 2, 3]
    updated = drs.update_replication_configuration_template(
        replicationConfigurationTemplateID=rct["replicationConfigurationTemplateID"],
        bandwidthThrottling=100,
    )
    assert updated["bandwidthThrottling"] == 100 and updated["stagingAreaSubnetId"] == subnet
    lct = drs.create_launch_configuration_template(
        copyPrivateIp=True, launchDisposition="STOPPED", targetInstanceTypeRightSizingMethod="NONE"
    )["launchConfigurationTemplate"]
    assert lct["launchConfigurationTemplateID"].startswith("lct-")
    listed = drs.describe_launch_configuration_templates()["items"]
    assert [t["launchConfigurationTemplateID"] for t in listed] == [
        lct["launchConfigurationTemplateID"]
    ]

    server = env.seed()
    launch = drs.get_launch_configuration(sourceServerID=server.source_server_id)
    assert launch["copyPrivateIp"] is True and launch["launchDisposition"] == "STOPPED"
    assert launch["targetInstanceTypeRightSizingMethod"] == "NONE" and launch["name"] == "web-1"
    template = ec2.describe_launch_templates(LaunchTemplateIds=[launch["ec2LaunchTemplateID"]])
    tags = {t["Key"]: t["Value"] for t in template["LaunchTemplates"][0]["Tags"]}
    assert tags["AWSElasticDisasterRecoveryManaged"] == "drs.amazonaws.com"
    replication = drs.get_replication_configuration(sourceServerID=server.source_server_id)
    assert replication["bandwidthThrottling"] == 100
    assert replication["replicatedDisks"][0]["deviceName"] == "/dev/sda"

    with pytest.raises(ClientError) as excinfo:
        drs.update_replication_configuration(
            sourceServerID=server.source_server_id, replicatedDisks=[{"deviceName": "/dev/nope"}]
        )
    assert excinfo.value.response["fieldList"][0]["name"] == "replicatedDisks[0].deviceName"
    with pytest.raises(ClientError) as excinfo:
        drs.update_launch_configuration(
            sourceServerID=server.source_server_id, launchDisposition="SOMETIMES"
        )
    assert code_of(excinfo) == "ValidationException"
    changed = drs.update_launch_configuration(sourceServerID=server.source_server_id, copyTags=True)
    assert changed["copyTags"] is True and changed["copyPrivateIp"] is True

    drs.delete_launch_configuration_template(
        launchConfigurationTemplateID=lct["launchConfigurationTemplateID"]
    )
    drs.delete_replication_configuration_template(
        replicationConfigurationTemplateID=rct["replicationConfigurationTemplateID"]
    )
    assert drs.describe_replication_configuration_templates()["items"] == []
    with pytest.raises(ClientError) as excinfo:
        drs.delete_launch_configuration_template(
            launchConfigurationTemplateID=lct["launchConfigurationTemplateID"]
        )
    assert code_of(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        drs.get_launch_configuration(sourceServerID="s-00000000000000000")
    assert code_of(excinfo) == "ResourceNotFoundException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_recovery_snapshots_follow_the_pit_policy_and_the_clock(env: Env) -> None:
    sandbox, drs = env.sandbox, env.drs
    now = sandbox.now()
    server = env.seed(replicating_since=now - timedelta(hours=2))
    snaps = drs.get_paginator("describe_recovery_snapshots").paginate(
        sourceServerID=server.source_server_id, PaginationConfig={"PageSize": 2}
    )
    items = [item for page in snaps for item in page["items"]]
    # every 10 minutes for the last hour, every hour for 2 hours (overlapping on the hour)
    stamps = [item["expectedTimestamp"] for item in items]
    assert stamps == sorted(stamps) and len(stamps) == len(set(stamps))
    assert 7 <= len(items) <= 9
    assert all(item["snapshotID"].startswith("pit-") for item in items)
    newest_first = drs.describe_recovery_snapshots(
        sourceServerID=server.source_server_id, order="DESC"
    )
    assert [i["snapshotID"] for i in newest_first["items"]] == [
        i["snapshotID"] for i in reversed(items)
    ]
    cut = items[-3]["timestamp"]
    recent = drs.describe_recovery_snapshots(
        sourceServerID=server.source_server_id, filters={"fromDateTime": cut}
    )["items"]
    assert [i["snapshotID"] for i in recent] == [i["snapshotID"] for i in items[-3:]]
    sandbox.advance(600)
    later = drs.describe_recovery_snapshots(sourceServerID=server.source_server_id)["items"]
    assert later[-1]["expectedTimestamp"] > items[-1]["expectedTimestamp"]

    chosen = items[0]
    job = drs.start_recovery(
        sourceServers=[
            {"sourceServerID": server.source_server_id, "recoverySnapshotID": chosen["snapshotID"]}
        ],
        isDrill=True,
    )["job"]
    sandbox.advance(TO_LAUNCHED)
    log = drs.describe_job_log_items(jobID=job["jobID"])["items"]
    assert "USING_PREVIOUS_SNAPSHOT" in [i["event"] for i in log]
    assert "SNAPSHOT_START" not in [i["event"] for i in log]
    recovery = drs.describe_recovery_instances()["items"][0]
    assert recovery["pointInTimeSnapshotDateTime"] == chosen["expectedTimestamp"]

    fresh = env.seed("new-1", replication_state="INITIAL_SYNC")
    assert drs.describe_recovery_snapshots(sourceServerID=fresh.source_server_id)["items"] == []
    described = drs.describe_source_servers(filters={"sourceServerIDs": [fresh.source_server_id]})
    info = described["items"][0]["dataReplicationInfo"]
    assert info["dataReplicationState"] == "INITIATING" and "etaDateTime" not in info
    sandbox.advance(720)
    described = drs.describe_source_servers(filters={"sourceServerIDs": [fresh.source_server_id]})
    assert described["items"][0]["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"


def test_source_servers_filter_paginate_and_follow_replication_state_rules(env: Env) -> None:
    sandbox, drs = env.sandbox, env.drs
    servers = [env.seed(f"host-{n}", ip=f"172.31.3.{n + 10}") for n in range(5)]
    pages = list(
        drs.get_paginator("describe_source_servers").paginate(PaginationConfig={"PageSize": 2})
    )
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    one = servers[0].source_server_id
    assert [
        s["sourceServerID"]
        for s in drs.describe_source_servers(filters={"sourceServerIDs": [one]})["items"]
    ] == [one]
    assert (
        drs.describe_source_servers(filters={"hardwareId": servers[1].hardware_id})["items"][0][
            "sourceServerID"
        ]
        == servers[1].source_server_id
    )
    assert (
        len(drs.describe_source_servers(filters={"stagingAccountIDs": [env.account]})["items"]) == 5
    )
    assert (
        drs.describe_source_servers(filters={"stagingAccountIDs": ["222222222222"]})["items"] == []
    )
    with pytest.raises(ClientError) as excinfo:
        drs.describe_source_servers(filters={"sourceServerIDs": ["not-an-id-but-19-chr"]})
    assert code_of(excinfo) == "ValidationException"

    with pytest.raises(ClientError) as excinfo:
        drs.start_replication(sourceServerID=one)
    assert code_of(excinfo) == "ConflictException"
    stopped = drs.stop_replication(sourceServerID=one)["sourceServer"]
    assert stopped["dataReplicationInfo"]["dataReplicationState"] == "STOPPED"
    sandbox.advance(60)
    assert (
        drs.describe_source_servers(filters={"sourceServerIDs": [one]})["items"][0][
            "dataReplicationInfo"
        ]["lagDuration"]
        == "PT1M"
    )
    started = drs.start_replication(sourceServerID=one)["sourceServer"]
    assert started["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    with pytest.raises(ClientError) as excinfo:
        drs.retry_data_replication(sourceServerID=one)
    assert code_of(excinfo) == "ValidationException"

    with pytest.raises(ClientError) as excinfo:
        drs.delete_source_server(sourceServerID=one)
    assert code_of(excinfo) == "ConflictException"
    disconnected = drs.disconnect_source_server(sourceServerID=one)
    assert disconnected["dataReplicationInfo"]["dataReplicationState"] == "DISCONNECTED"
    assert disconnected["dataReplicationInfo"]["replicatedDisks"][0]["totalStorageBytes"] == 0
    assert drs.describe_recovery_snapshots(sourceServerID=one)["items"] == []
    drs.delete_source_server(sourceServerID=one)
    assert len(drs.describe_source_servers()["items"]) == 4
    with pytest.raises(ClientError) as excinfo:
        drs.delete_source_server(sourceServerID=one)
    assert code_of(excinfo) == "ResourceNotFoundException"


def test_tags_on_every_kind_of_resource(env: Env) -> None:
    sandbox, drs = env.sandbox, env.drs
    server = env.seed(tags={"App": "shop"})
    lct = drs.create_launch_configuration_template(tags={"t": "1"})["launchConfigurationTemplate"]
    job = drs.start_recovery(
        sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True
    )
    sandbox.advance(TO_LAUNCHED)
    recovery = drs.describe_recovery_instances()["items"][0]
    for arn, before in [
        (server.arn, {"App": "shop"}),
        (lct["arn"], {"t": "1"}),
        (job["job"]["arn"], {}),
        (recovery["arn"], {}),
    ]:
        assert drs.list_tags_for_resource(resourceArn=arn)["tags"] == before
        drs.tag_resource(resourceArn=arn, tags={"Owner": "dr-team"})
        assert drs.list_tags_for_resource(resourceArn=arn)["tags"] == {**before, "Owner": "dr-team"}
        drs.untag_resource(resourceArn=arn, tagKeys=["Owner"])
        assert drs.list_tags_for_resource(resourceArn=arn)["tags"] == before
    assert drs.describe_source_servers()["items"][0]["tags"] == {"App": "shop"}
    unknown = f"arn:aws:drs:{REGION}:{env.account}:source-server/s-00000000000000000"
    with pytest.raises(ClientError) as excinfo:
        drs.list_tags_for_resource(resourceArn=unknown)
    assert code_of(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        drs.tag_resource(resourceArn=server.arn, tags={"aws:x": "y"})
    assert code_of(excinfo) == "ValidationException"


def test_reverse_replication_then_failback_launch(env: Env) -> None:
    sandbox, drs = env.sandbox, env.drs
    source = env.client(SOURCE_REGION)
    source.initialize_service()
    server = env.seed(source_instance_id="i-0aa11bb22cc33dd44", tags={"App": "erp"})
    drill = drs.start_recovery(
        sourceServers=[{"sourceServerID": server.source_server_id}], isDrill=True
    )
    sandbox.advance(TO_LAUNCHED)
    drill_instance = drs.describe_recovery_instances()["items"][0]["recoveryInstanceID"]
    with pytest.raises(ClientError) as excinfo:
        drs.reverse_replication(recoveryInstanceID=drill_instance)
    assert code_of(excinfo) == "ValidationException"
    assert drill["job"]["jobID"]

    drs.start_recovery(sourceServers=[{"sourceServerID": server.source_server_id}])
    sandbox.advance(TO_LAUNCHED)
    recovery_id = drs.describe_source_servers()["items"][0]["recoveryInstanceId"]
    assert recovery_id != drill_instance  # the recovery replaced the drill instance

    arn = drs.reverse_replication(recoveryInstanceID=recovery_id)[
        "reversedDirectionSourceServerArn"
    ]
    assert arn.startswith(f"arn:aws:drs:{SOURCE_REGION}:{env.account}:source-server/s-")
    assert (
        drs.reverse_replication(recoveryInstanceID=recovery_id)["reversedDirectionSourceServerArn"]
        == arn
    )  # retrying does not create a second reversed server
    original = drs.describe_source_servers()["items"][0]
    assert original["reversedDirectionSourceServerArn"] == arn
    assert original["dataReplicationInfo"]["dataReplicationState"] == "STOPPED"
    reversed_server = source.describe_source_servers()["items"][0]
    assert reversed_server["arn"] == arn
    assert reversed_server["replicationDirection"] == "FAILBACK"
    assert reversed_server["reversedDirectionSourceServerArn"] == server.arn
    assert reversed_server["sourceCloudProperties"]["originRegion"] == REGION
    assert (
        reversed_server["sourceProperties"]["identificationHints"]["awsInstanceID"] == recovery_id
    )
    assert reversed_server["tags"] == {"App": "erp"}

    failback = drs.describe_recovery_instances()["items"][0]["failback"]
    assert failback["state"] == "FAILBACK_IN_PROGRESS"
    with pytest.raises(ClientError) as excinfo:
        drs.start_failback_launch(recoveryInstanceIDs=[recovery_id])
    assert code_of(excinfo) == "ConflictException"
    sandbox.advance(720)
    assert (
        source.describe_source_servers()["items"][0]["dataReplicationInfo"]["dataReplicationState"]
        == "CONTINUOUS"
    )
    assert drs.describe_recovery_instances()["items"][0]["failback"]["state"] == (
        "FAILBACK_READY_FOR_LAUNCH"
    )
    config = drs.get_failback_replication_configuration(recoveryInstanceID=recovery_id)
    assert config["recoveryInstanceID"] == recovery_id and config["usePrivateIP"] is False
    drs.update_failback_replication_configuration(recoveryInstanceID=recovery_id, usePrivateIP=True)
    assert drs.get_failback_replication_configuration(recoveryInstanceID=recovery_id)[
        "usePrivateIP"
    ]

    job = drs.start_failback_launch(recoveryInstanceIDs=[recovery_id], tags={"phase": "failback"})[
        "job"
    ]
    assert job["initiatedBy"] == "FAILBACK" and job["type"] == "LAUNCH"
    sandbox.advance(30 + 60 + 120)
    finished = drs.describe_jobs(filters={"jobIDs": [job["jobID"]]})["items"][0]
    assert finished["status"] == "COMPLETED"
    assert finished["participatingServers"][0]["launchStatus"] == "LAUNCHED"
    failback = drs.describe_recovery_instances()["items"][0]["failback"]
    assert failback["state"] == "FAILBACK_COMPLETED" and failback["failbackJobID"] == job["jobID"]
    drs.stop_failback(recoveryInstanceID=recovery_id)
    assert drs.describe_recovery_instances()["items"][0]["failback"]["state"] == (
        "FAILBACK_NOT_STARTED"
    )


def test_on_premises_failback_needs_the_failback_client(env: Env) -> None:
    sandbox, drs = env.sandbox, env.drs
    server = env.seed()  # no EC2 source instance: an on-premises machine
    drs.start_recovery(sourceServers=[{"sourceServerID": server.source_server_id}])
    sandbox.advance(TO_LAUNCHED)
    recovery = drs.describe_recovery_instances()["items"][0]
    assert recovery["originEnvironment"] == "ON_PREMISES"
    with pytest.raises(ClientError) as excinfo:
        drs.reverse_replication(recoveryInstanceID=recovery["recoveryInstanceID"])
    assert "Failback Client" in excinfo.value.response["Error"]["Message"]
    env.backend().connect_failback_client(recovery["recoveryInstanceID"])
    sandbox.advance(720)
    job = drs.start_failback_launch(recoveryInstanceIDs=[recovery["recoveryInstanceID"]])["job"]
    assert job["participatingServers"][0]["sourceServerID"] == server.source_server_id


def test_recovery_instances_disconnect_delete_and_filters(env: Env) -> None:
    sandbox, drs = env.sandbox, env.drs
    servers = [env.seed(f"app-{n}", ip=f"172.31.4.{n + 10}") for n in range(3)]
    drs.start_recovery(sourceServers=[{"sourceServerID": s.source_server_id} for s in servers])
    sandbox.advance(TO_LAUNCHED)
    pages = list(
        drs.get_paginator("describe_recovery_instances").paginate(PaginationConfig={"PageSize": 2})
    )
    assert [len(p["items"]) for p in pages] == [2, 1]
    wanted = servers[1].source_server_id
    only = drs.describe_recovery_instances(filters={"sourceServerIDs": [wanted]})["items"]
    assert [i["sourceServerID"] for i in only] == [wanted]
    recovery_id = only[0]["recoveryInstanceID"]
    assert (
        drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [recovery_id]})["items"][0][
            "sourceServerID"
        ]
        == wanted
    )

    ec2 = env.ec2()
    ec2.stop_instances(InstanceIds=[recovery_id])
    assert (
        drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [recovery_id]})["items"][0][
            "ec2InstanceState"
        ]
        == "STOPPED"
    )

    with pytest.raises(ClientError) as excinfo:
        drs.delete_recovery_instance(recoveryInstanceID=recovery_id)
    assert code_of(excinfo) == "ConflictException"
    with pytest.raises(ClientError) as excinfo:
        drs.disconnect_source_server(sourceServerID=wanted)
    assert code_of(excinfo) == "ConflictException"  # it still has a recovery instance
    drs.disconnect_recovery_instance(recoveryInstanceID=recovery_id)
    disconnected = drs.describe_recovery_instances(filters={"recoveryInstanceIDs": [recovery_id]})
    assert disconnected["items"][0]["dataReplicationInfo"]["dataReplicationState"] == "DISCONNECTED"
    drs.delete_recovery_instance(recoveryInstanceID=recovery_id)
    assert len(drs.describe_recovery_instances()["items"]) == 2
    # DRS forgets the instance; EC2 keeps it.
    assert ec2.describe_instances(InstanceIds=[recovery_id])["Reservations"]
    with pytest.raises(ClientError) as excinfo:
        drs.disconnect_recovery_instance(recoveryInstanceID=recovery_id)
    assert code_of(excinfo) == "ResourceNotFoundException"


def test_an_injected_replication_lag_is_the_servers_lag_duration(env: Env) -> None:
    sandbox, drs = env.sandbox, env.drs
    slow, other = env.seed("slow-1"), env.seed("fast-1", ip="172.31.4.11")

    def lags() -> dict[str, tuple[str, str]]:
        return {
            s["sourceServerID"]: (
                s["dataReplicationInfo"]["dataReplicationState"],
                s["dataReplicationInfo"]["lagDuration"],
            )
            for s in drs.describe_source_servers(filters={})["items"]
        }

    rule = sandbox.faults.lag_replication("slow-1", 45 * 60 + 30)  # by hostname
    assert lags() == {
        slow.source_server_id: ("CONTINUOUS", "PT45M30S"),
        other.source_server_id: ("CONTINUOUS", "PT0S"),
    }
    assert rule.hits == 0  # read, not consumed: it lags until cleared
    sandbox.faults.clear()
    assert lags()[slow.source_server_id] == ("CONTINUOUS", "PT0S")
    sandbox.faults.lag_replication(slow.source_server_id, 2 * 3600, region="eu-west-1")
    assert lags()[slow.source_server_id] == ("CONTINUOUS", "PT0S")  # another region's rule
    sandbox.faults.lag_replication(slow.source_server_id, 2 * 3600, account=env.account)
    assert lags()[slow.source_server_id] == ("CONTINUOUS", "PT2H")
    with pytest.raises(ValueError, match="lag_replication"):
        sandbox.faults.lag_replication("slow-1", 0)
