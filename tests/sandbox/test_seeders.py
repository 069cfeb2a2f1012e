"""Seeders: each scenario type becomes real moto resources in one account, through boto3."""

from __future__ import annotations

import json

import jsonschema
import pytest
from botocore.exceptions import ClientError

from drorch.errors import InputError
from drorch.sandbox import Sandbox
from drorch.sandbox.scenario import load_scenario
from drorch.sandbox.seeders import SEEDERS, SeedContext, resource_schema, seed_resource

ACCOUNT = "333333333333"
OTHER = "444444444444"
REGION = "us-east-2"
SOURCE_REGION = "us-east-1"
TAGS = {
    "dr:enabled": "true",
    "dr:wave": "1",
    "dr:priority": "critical",
    "dr:recovery-strategy": "managed-service",
    "Customer": "acme",
    "Environment": "production",
}


def tag_dict(tags: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict:
    return {t[key]: t[value] for t in tags}


def entry(type_: str, name: str, **properties: object) -> dict:
    return {
        "account": "staging-data",
        "type": type_,
        "name": name,
        "tags": dict(TAGS),
        **properties,
    }


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as running:
        yield running


@pytest.fixture
def ctx(sandbox):
    return SeedContext(
        session=sandbox.admin_session(ACCOUNT, REGION), account_id=ACCOUNT, region=REGION
    )


def context(sandbox: Sandbox, region: str, account: str = ACCOUNT) -> SeedContext:
    return SeedContext(
        session=sandbox.admin_session(account, region), account_id=account, region=region
    )


def other(sandbox: Sandbox, service: str, region: str = REGION):
    return sandbox.admin_session(OTHER, region).client(service)


# --- Aurora and RDS ----------------------------------------------------------------------
def test_aurora_global_database_primary_and_secondary(sandbox):
    primary = seed_resource(
        context(sandbox, SOURCE_REGION),
        entry(
            "aurora-cluster",
            "hrp-oltp-east",
            engine="aurora-postgresql",
            instances={"count": 2, "class": "db.r6g.large"},
            globalClusterId="hrp-oltp",
            role="primary",
        ),
    )
    secondary = seed_resource(
        context(sandbox, REGION),
        entry(
            "aurora-cluster",
            "hrp-oltp-west",
            engine="aurora-postgresql",
            instances={"count": 0, "class": "db.r6g.large"},
            globalClusterId="hrp-oltp",
            role="secondary",
            sourceRegion=SOURCE_REGION,
        ),
    )
    assert [r.type for r in primary] == [
        "aurora-cluster/global-cluster",
        "aurora-cluster",
        "aurora-cluster/instance",
        "aurora-cluster/instance",
    ]
    assert primary[0].region == "global"
    assert [r.name for r in secondary] == ["hrp-oltp-west"]

    rds_east = sandbox.admin_session(ACCOUNT, SOURCE_REGION).client("rds")
    cluster = rds_east.describe_db_clusters(DBClusterIdentifier="hrp-oltp-east")["DBClusters"][0]
    assert tag_dict(cluster["TagList"]) == TAGS
    assert cluster["Engine"] == "aurora-postgresql"
    assert sorted(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]) == [
        "hrp-oltp-east-1",
        "hrp-oltp-east-2",
    ]
    instance = rds_east.describe_db_instances(DBInstanceIdentifier="hrp-oltp-east-2")
    assert tag_dict(instance["DBInstances"][0]["TagList"]) == TAGS
    members = rds_east.describe_global_clusters(GlobalClusterIdentifier="hrp-oltp")[
        "GlobalClusters"
    ][0]["GlobalClusterMembers"]
    roles = {m["DBClusterArn"]: m["IsWriter"] for m in members}
    assert roles == {primary[1].arn: True, secondary[0].arn: False}
    assert other(sandbox, "rds", SOURCE_REGION).describe_db_clusters()["DBClusters"] == []
    assert other(sandbox, "rds").describe_global_clusters()["GlobalClusters"] == []


def test_aurora_secondary_needs_its_primary_first(sandbox, ctx):
    spec = entry(
        "aurora-cluster",
        "orphan",
        engine="aurora-mysql",
        instances={"count": 1, "class": "db.r6g.large"},
        globalClusterId="no-such-global",
        role="secondary",
    )
    with pytest.raises(InputError, match=r"\$\.resources\[2\]\.globalClusterId: .*does not exist"):
        seed_resource(ctx, spec, where="$.resources[2]")
    clusters = ctx.client("rds").describe_db_clusters()["DBClusters"]
    assert "orphan" not in [c["DBClusterIdentifier"] for c in clusters]


def test_rds_instance_and_cross_region_read_replica(sandbox):
    source = seed_resource(
        context(sandbox, SOURCE_REGION),
        entry(
            "rds-instance",
            "billing-db",
            engine="sqlserver-se",
            **{"class": "db.m5.xlarge"},
            multiAz=True,
        ),
    )
    replica = seed_resource(
        context(sandbox, REGION),
        entry(
            "rds-instance",
            "billing-db-dr",
            engine="sqlserver-se",
            **{"class": "db.m5.xlarge"},
            readReplicaOf="billing-db",
            sourceRegion=SOURCE_REGION,
        ),
    )
    assert source[0].arn == f"arn:aws:rds:{SOURCE_REGION}:{ACCOUNT}:db:billing-db"
    east = sandbox.admin_session(ACCOUNT, SOURCE_REGION).client("rds")
    db = east.describe_db_instances(DBInstanceIdentifier="billing-db")["DBInstances"][0]
    assert (db["Engine"], db["DBInstanceClass"], db["MultiAZ"]) == (
        "sqlserver-se",
        "db.m5.xlarge",
        True,
    )
    assert tag_dict(db["TagList"]) == TAGS
    assert db["ReadReplicaDBInstanceIdentifiers"] == [replica[0].arn]
    west = sandbox.admin_session(ACCOUNT, REGION).client("rds")
    dr = west.describe_db_instances(DBInstanceIdentifier="billing-db-dr")["DBInstances"][0]
    assert dr["ReadReplicaSourceDBInstanceIdentifier"] == source[0].arn
    assert tag_dict(dr["TagList"]) == TAGS
    assert other(sandbox, "rds", SOURCE_REGION).describe_db_instances()["DBInstances"] == []


def test_read_replica_of_a_missing_instance_is_an_input_error(ctx):
    spec = entry(
        "rds-instance",
        "lonely",
        engine="mysql",
        readReplicaOf="nowhere",
        **{"class": "db.m5.large"},
    )
    with pytest.raises(InputError, match=r"\$\.readReplicaOf: no DB instance 'nowhere'"):
        seed_resource(ctx, spec)


# --- compute -----------------------------------------------------------------------------
def test_ecs_pilot_light_service(sandbox, ctx):
    spec = entry(
        "ecs-service",
        "claims-api",
        cluster="claims",
        task={
            "image": "public.ecr.aws/nginx/nginx:1.27",
            "cpu": 512,
            "memory": 1024,
            "containerPort": 8080,
        },
        desiredCount=0,
        launchType="FARGATE",
    )
    seeded = seed_resource(ctx, spec)
    assert [r.type for r in seeded] == [
        "ecs-service/cluster",
        "ecs-service/task-definition",
        "ecs-service",
    ]
    ecs = ctx.client("ecs")
    service = ecs.describe_services(cluster="claims", services=["claims-api"], include=["TAGS"])[
        "services"
    ][0]
    assert (service["desiredCount"], service["launchType"]) == (0, "FARGATE")
    assert tag_dict(service["tags"], "key", "value") == TAGS
    definition = ecs.describe_task_definition(taskDefinition=seeded[1].arn, include=["TAGS"])
    assert (definition["taskDefinition"]["cpu"], definition["taskDefinition"]["memory"]) == (
        "512",
        "1024",
    )
    assert tag_dict(definition["tags"], "key", "value") == TAGS
    assert other(sandbox, "ecs").list_clusters()["clusterArns"] == []


def test_existing_service_is_an_input_error(ctx):
    spec = entry(
        "ecs-service", "dup", cluster="dups", task={"image": "busybox", "cpu": 256, "memory": 512}
    )
    seed_resource(ctx, spec)
    with pytest.raises(
        InputError, match=r"^\$\.resources\[7\]\.name: service 'dup' already exists"
    ):
        seed_resource(ctx, spec, where="$.resources[7]")
    families = ctx.client("ecs").list_task_definitions(familyPrefix="dup")["taskDefinitionArns"]
    assert [arn.rsplit(":", 1)[1] for arn in families] == ["1"]


def test_a_failure_midway_removes_what_the_entry_created(sandbox, ctx):
    """The cluster and task definition are created, then CreateService fails: both go."""
    sandbox.faults.deny("ecs", "CreateService", times=1, account=ACCOUNT)
    spec = entry(
        "ecs-service",
        "doomed",
        cluster="doomed",
        task={"image": "busybox", "cpu": 256, "memory": 512},
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        seed_resource(ctx, spec)
    ecs = ctx.client("ecs")
    assert [c["status"] for c in ecs.describe_clusters(clusters=["doomed"])["clusters"]] in (
        [],
        ["INACTIVE"],
    )
    assert (
        ecs.list_task_definitions(familyPrefix="doomed", status="ACTIVE")["taskDefinitionArns"]
        == []
    )
    # and the same entry seeds cleanly afterwards
    assert seed_resource(ctx, spec)[-1].name == "doomed"


def test_fargate_size_rule(ctx):
    spec = entry(
        "ecs-service", "tiny", cluster="c", task={"image": "busybox", "cpu": 256, "memory": 4096}
    )
    with pytest.raises(InputError, match=r"\$\.task\.memory: 4096 MiB is not a Fargate size"):
        seed_resource(ctx, spec)


def test_autoscaling_group_at_zero(sandbox, ctx):
    seeded = seed_resource(
        ctx,
        entry(
            "autoscaling-group",
            "web-tier",
            launchTemplate={"instanceType": "m5.large"},
            minSize=0,
            maxSize=0,
            desiredCapacity=0,
        ),
    )
    assert [r.type for r in seeded] == ["autoscaling-group/launch-template", "autoscaling-group"]
    group = ctx.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-tier"]
    )["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 0, 0)
    assert {t["Key"]: t["Value"] for t in group["Tags"]} == TAGS
    assert all(t["PropagateAtLaunch"] for t in group["Tags"])
    assert len(group["VPCZoneIdentifier"].split(",")) >= 2
    template = ctx.client("ec2").describe_launch_templates(LaunchTemplateNames=["web-tier"])
    assert tag_dict(template["LaunchTemplates"][0]["Tags"]) == TAGS
    assert other(sandbox, "autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == []


def test_autoscaling_desired_outside_bounds(ctx):
    spec = entry(
        "autoscaling-group",
        "bad-asg",
        launchTemplate={"instanceType": "m5.large"},
        minSize=1,
        maxSize=2,
        desiredCapacity=3,
    )
    with pytest.raises(InputError, match=r"\$\.desiredCapacity: 3 is not between"):
        seed_resource(ctx, spec)


def test_ec2_domain_controller_with_fixed_ip(sandbox):
    ec2 = sandbox.admin_session(ACCOUNT, REGION).client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24", AvailabilityZone="us-east-2a")[
        "Subnet"
    ]["SubnetId"]
    ctx = SeedContext(
        session=sandbox.admin_session(ACCOUNT, REGION),
        account_id=ACCOUNT,
        region=REGION,
        vpc_id=vpc,
        subnet_ids=[subnet],
    )
    tags = {"dr:enabled": "false", "Role": "domain-controller"}
    seeded = seed_resource(
        ctx,
        {
            "account": "staging-data",
            "type": "ec2-instance",
            "name": "dc01",
            "tags": tags,
            "instanceType": "m5.large",
            "privateIp": "10.40.1.10",
            "state": "stopped",
        },
    )
    assert len(seeded) == 1 and seeded[0].name == "dc01"
    instance_id = seeded[0].arn.rsplit("/", 1)[1]
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert (instance["PrivateIpAddress"], instance["SubnetId"]) == ("10.40.1.10", subnet)
    assert instance["State"]["Name"] == "stopped"
    assert tag_dict(instance["Tags"]) == {**tags, "Name": "dc01"}
    assert other(sandbox, "ec2").describe_instances()["Reservations"] == []

    with pytest.raises(InputError, match=r"\$\.privateIp: 10\.41\.0\.5 is not a usable address"):
        seed_resource(
            ctx,
            {**entry("ec2-instance", "dc02", instanceType="m5.large"), "privateIp": "10.41.0.5"},
        )


def test_ec2_instances_counted_and_named(ctx):
    seeded = seed_resource(ctx, entry("ec2-instance", "app", count=3, instanceType="t3.medium"))
    assert [r.name for r in seeded] == ["app-01", "app-02", "app-03"]
    ids = [r.arn.rsplit("/", 1)[1] for r in seeded]
    reservations = ctx.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
    names = sorted(tag_dict(i["Tags"])["Name"] for r in reservations for i in r["Instances"])
    assert names == ["app-01", "app-02", "app-03"]


# --- DNS -----------------------------------------------------------------------------------
def test_route53_private_zone_with_failover_records(sandbox, ctx):
    seeded = seed_resource(
        ctx,
        entry(
            "route53-zone",
            "corp.example.internal",
            private=True,
            healthChecks=[
                {
                    "name": "app-east",
                    "type": "HTTPS",
                    "fqdn": "app-east.example.com",
                    "port": 443,
                    "resourcePath": "/health",
                }
            ],
            records=[
                {
                    "name": "app",
                    "type": "A",
                    "ttl": 60,
                    "values": ["10.0.1.10"],
                    "setIdentifier": "east",
                    "failover": "PRIMARY",
                    "healthCheck": "app-east",
                },
                {
                    "name": "app.corp.example.internal",
                    "type": "A",
                    "ttl": 60,
                    "values": ["10.40.1.10"],
                    "setIdentifier": "west",
                    "failover": "SECONDARY",
                },
                {
                    "name": "api",
                    "type": "CNAME",
                    "ttl": 300,
                    "values": ["app.corp.example.internal"],
                    "setIdentifier": "blue",
                    "weight": 100,
                },
                {
                    "name": "www",
                    "type": "A",
                    "alias": {"dnsName": "app.corp.example.internal", "evaluateTargetHealth": True},
                },
            ],
        ),
    )
    zone, check = seeded
    assert (zone.type, zone.region, check.type) == (
        "route53-zone",
        "global",
        "route53-zone/health-check",
    )
    zone_id = zone.arn.rsplit("/", 1)[1]
    r53 = ctx.client("route53")
    hosted = r53.get_hosted_zone(Id=zone_id)
    assert hosted["HostedZone"]["Config"]["PrivateZone"] is True
    default_vpc = ctx.client("ec2").describe_vpcs(
        Filters=[{"Name": "is-default", "Values": ["true"]}]
    )
    assert hosted["VPCs"][0]["VPCId"] == default_vpc["Vpcs"][0]["VpcId"]
    assert (
        tag_dict(
            r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)[
                "ResourceTagSet"
            ]["Tags"]
        )
        == TAGS
    )
    check_id = check.arn.rsplit("/", 1)[1]
    check_tags = r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check_id)
    assert tag_dict(check_tags["ResourceTagSet"]["Tags"]) == {**TAGS, "Name": "app-east"}
    records = {
        (r["Name"], r.get("SetIdentifier")): r
        for r in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    }
    primary = records[("app.corp.example.internal.", "east")]
    assert (primary["Failover"], primary["HealthCheckId"]) == ("PRIMARY", check_id)
    assert records[("app.corp.example.internal.", "west")]["Failover"] == "SECONDARY"
    assert records[("api.corp.example.internal.", "blue")]["Weight"] == 100
    assert records[("www.corp.example.internal.", None)]["AliasTarget"]["HostedZoneId"] == zone_id
    assert other(sandbox, "route53").list_hosted_zones()["HostedZones"] == []
    assert other(sandbox, "route53").list_health_checks()["HealthChecks"] == []


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"name": "a", "type": "A", "values": ["10.0.0.1"]},
            r"records\[0\]: 'ttl' is a dependency of 'values'",
        ),
        (
            {"name": "a", "type": "A", "ttl": 60, "alias": {"dnsName": "b"}},
            r"records\[0\]: alias records take the target's TTL: remove ttl",
        ),
        (
            {"name": "a", "type": "A", "values": ["1.2.3.4"], "alias": {"dnsName": "b"}},
            r"records\[0\]: a record has either values \(with ttl\) or alias",
        ),
        (
            {"name": "a", "type": "A", "ttl": 60, "values": ["1.2.3.4"], "weight": 5},
            r"'setIdentifier' is a dependency of 'weight'",
        ),
        (
            {"name": "@", "type": "CNAME", "ttl": 60, "values": ["x.example.com"]},
            r"records\[0\]\.name: a CNAME record cannot be at the zone apex",
        ),
        (
            {"name": "a", "type": "A", "ttl": 60, "values": ["1.2.3.4"], "healthCheck": "nope"},
            r"records\[0\]\.healthCheck: 'nope' is not one of",
        ),
    ],
)
def test_route53_record_rules(ctx, record, message):
    with pytest.raises(InputError, match=message):
        seed_resource(ctx, entry("route53-zone", "rules.example.com", records=[record]))
    assert (
        ctx.client("route53").list_hosted_zones_by_name(DNSName="rules.example.com")["HostedZones"]
        == []
    )


def test_health_check_on_a_private_address_is_rejected(ctx):
    spec = entry(
        "route53-zone",
        "hc.example.com",
        healthChecks=[{"name": "x", "type": "TCP", "ipAddress": "10.0.0.5", "port": 22}],
    )
    with pytest.raises(
        InputError, match=r"healthChecks\[0\]\.ipAddress: 10\.0\.0\.5 is not a public address"
    ):
        seed_resource(ctx, spec)
    checks = ctx.client("route53").list_health_checks()["HealthChecks"]
    assert all(c["HealthCheckConfig"].get("IPAddress") != "10.0.0.5" for c in checks)


# --- caches ----------------------------------------------------------------------------------
def test_elasticache_replication_group(sandbox, ctx):
    seeded = seed_resource(
        ctx,
        entry(
            "elasticache-replication-group",
            "sessions",
            engine="valkey",
            nodeType="cache.r6g.large",
            replicas=2,
        ),
    )
    cache = ctx.client("elasticache")
    group = cache.describe_replication_groups(ReplicationGroupId="sessions")["ReplicationGroups"][0]
    assert (
        group["Engine"],
        group["CacheNodeType"],
        group["MultiAZ"],
        group["AutomaticFailover"],
    ) == (
        "valkey",
        "cache.r6g.large",
        "enabled",
        "enabled",
    )
    assert group["ClusterEnabled"] is False
    assert tag_dict(cache.list_tags_for_resource(ResourceName=seeded[1].arn)["TagList"]) == TAGS
    assert tag_dict(cache.list_tags_for_resource(ResourceName=seeded[0].arn)["TagList"]) == TAGS
    assert other(sandbox, "elasticache").describe_replication_groups()["ReplicationGroups"] == []


def test_memorydb_cluster(sandbox, ctx):
    seeded = seed_resource(
        ctx,
        entry(
            "memorydb-cluster",
            "ledger-cache",
            nodeType="db.r7g.large",
            shards=2,
            replicasPerShard=1,
        ),
    )
    memorydb = ctx.client("memorydb")
    cluster = memorydb.describe_clusters(ClusterName="ledger-cache", ShowShardDetails=True)[
        "Clusters"
    ][0]
    assert (cluster["NodeType"], cluster["NumberOfShards"], cluster["TLSEnabled"]) == (
        "db.r7g.large",
        2,
        True,
    )
    assert all(shard["NumberOfNodes"] == 2 for shard in cluster["Shards"])
    assert cluster["SubnetGroupName"] == "ledger-cache-subnets"
    assert tag_dict(memorydb.list_tags(ResourceArn=seeded[1].arn)["TagList"]) == TAGS
    assert other(sandbox, "memorydb").describe_clusters()["Clusters"] == []


# --- serverless ------------------------------------------------------------------------------
def test_lambda_function_with_role_and_reserved_concurrency(sandbox, ctx):
    seeded = seed_resource(
        ctx,
        entry(
            "lambda-function",
            "claims-worker",
            runtime="python3.12",
            reservedConcurrency=0,
            environment={"MODE": "standby"},
        ),
    )
    role, function = seeded
    assert (role.type, role.name, role.region) == (
        "lambda-function/role",
        "claims-worker-role",
        "global",
    )
    lam = ctx.client("lambda")
    found = lam.get_function(FunctionName="claims-worker")
    # GetFunction would show it too, but moto 5.2.1 omits a reserved concurrency of 0 there
    assert (
        lam.get_function_concurrency(FunctionName="claims-worker")["ReservedConcurrentExecutions"]
        == 0
    )
    assert found["Configuration"]["Role"] == role.arn
    assert found["Configuration"]["Environment"]["Variables"] == {"MODE": "standby"}
    assert found["Tags"] == TAGS
    iam = ctx.client("iam")
    assert tag_dict(iam.list_role_tags(RoleName="claims-worker-role")["Tags"]) == TAGS
    trust = iam.get_role(RoleName="claims-worker-role")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert other(sandbox, "lambda").list_functions()["Functions"] == []
    assert function.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:claims-worker"


def test_eventbridge_rules(sandbox, ctx):
    seed_resource(ctx, entry("lambda-function", "drs-listener"))
    pattern = seed_resource(
        ctx,
        entry(
            "eventbridge-rule",
            "drs-events",
            eventPattern={"source": ["aws.drs"]},
            state="DISABLED",
            eventBus="dr-events",
            targets=[{"id": "listener", "lambdaFunction": "drs-listener"}],
        ),
    )
    scheduled = seed_resource(
        ctx, entry("eventbridge-rule", "nightly-sync", schedule="cron(0 3 * * ? *)")
    )
    assert [r.type for r in pattern] == ["eventbridge-rule/event-bus", "eventbridge-rule"]
    events = ctx.client("events")
    rule = events.describe_rule(Name="drs-events", EventBusName="dr-events")
    assert rule["State"] == "DISABLED"
    assert json.loads(rule["EventPattern"]) == {"source": ["aws.drs"]}
    assert tag_dict(events.list_tags_for_resource(ResourceARN=pattern[1].arn)["Tags"]) == TAGS
    assert tag_dict(events.list_tags_for_resource(ResourceARN=pattern[0].arn)["Tags"]) == TAGS
    targets = events.list_targets_by_rule(Rule="drs-events", EventBusName="dr-events")["Targets"]
    assert targets[0]["Arn"].endswith(":function:drs-listener")
    nightly = events.describe_rule(Name="nightly-sync")
    assert (nightly["ScheduleExpression"], nightly["State"]) == ("cron(0 3 * * ? *)", "ENABLED")
    assert scheduled[0].arn == nightly["Arn"]
    assert other(sandbox, "events").list_rules()["Rules"] == []


def test_eventbridge_rule_needs_pattern_or_schedule(ctx):
    with pytest.raises(InputError, match=r"either eventPattern or schedule"):
        seed_resource(ctx, entry("eventbridge-rule", "neither"))


# --- what wave actions and health checks use ------------------------------------------------
RUNBOOK = {
    "schemaVersion": "0.3",
    "parameters": {"Target": {"type": "String", "default": "claims"}},
    "mainSteps": [
        {
            "name": "warm",
            "action": "aws:executeAwsApi",
            "inputs": {"Service": "ssm", "Api": "DescribeParameters", "Target": "{{ Target }}"},
            "outputs": [
                {"Name": "Target", "Selector": "$.Target", "Type": "String"},
                {"Name": "Count", "Selector": "$.Count", "Type": "Integer"},
            ],
        }
    ],
    "outputs": ["warm.Target", "warm.Count"],
}


def _run(sandbox: Sandbox, ssm, name: str, seconds: float) -> dict:
    execution_id = ssm.start_automation_execution(DocumentName=name)["AutomationExecutionId"]
    sandbox.advance(seconds)
    return ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]


def test_ssm_automation_document_and_its_simulation(sandbox, ctx):
    seeded = seed_resource(
        ctx,
        entry(
            "ssm-document",
            "claims-warm",
            content=RUNBOOK,
            stepSeconds=20,
            outputs={"warm.Count": "42"},
        ),
    )
    assert seeded[0].arn == f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/claims-warm"
    ssm = ctx.client("ssm")
    described = ssm.describe_document(Name="claims-warm")["Document"]
    assert (described["DocumentType"], described["Status"]) == ("Automation", "Active")
    assert tag_dict(described["Tags"]) == TAGS
    assert json.loads(ssm.get_document(Name="claims-warm")["Content"]) == RUNBOOK
    assert _run(sandbox, ssm, "claims-warm", 21)["AutomationExecutionStatus"] == "InProgress"
    done = _run(sandbox, ssm, "claims-warm", 22)
    assert done["AutomationExecutionStatus"] == "Success"
    assert done["Outputs"] == {"warm.Target": ["claims"], "warm.Count": ["42"]}


def test_ssm_command_document(ctx):
    content = {
        "schemaVersion": "2.2",
        "mainSteps": [
            {"action": "aws:runShellScript", "name": "restart", "inputs": {"runCommand": ["true"]}}
        ],
    }
    seed_resource(
        ctx, entry("ssm-document", "claims-restart", documentType="Command", content=content)
    )
    described = ctx.client("ssm").describe_document(Name="claims-restart")["Document"]
    assert described["DocumentType"] == "Command"


def test_lambda_function_answers_what_the_entry_says(ctx):
    seed_resource(
        ctx, entry("lambda-function", "claims-smoke", answer={"result": {"passed": True}})
    )
    seed_resource(
        ctx,
        entry(
            "lambda-function",
            "claims-broken",
            answer={"error": {"errorMessage": "no database", "errorType": "DbError"}},
        ),
    )
    seed_resource(ctx, entry("lambda-function", "claims-default"))
    lam = ctx.client("lambda")
    smoke = lam.invoke(FunctionName="claims-smoke", Payload=b"{}")
    assert ("FunctionError" not in smoke, json.loads(smoke["Payload"].read())) == (
        True,
        {"passed": True},
    )
    broken = lam.invoke(FunctionName="claims-broken", Payload=b"{}")
    assert broken["FunctionError"] == "Unhandled"
    assert json.loads(broken["Payload"].read())["errorType"] == "DbError"
    default = json.loads(lam.invoke(FunctionName="claims-default")["Payload"].read())
    assert default == {"statusCode": 200, "function": "claims-default"}  # the generated handler's


def test_cloudwatch_alarm_in_its_state(ctx):
    seeded = seed_resource(
        ctx,
        entry(
            "cloudwatch-alarm",
            "claims-5xx",
            namespace="AWS/ApplicationELB",
            metricName="HTTPCode_Target_5XX_Count",
            dimensions={"LoadBalancer": "app/claims/1234"},
            threshold=10,
        ),
    )
    seed_resource(
        ctx,
        entry(
            "cloudwatch-alarm",
            "claims-latency",
            namespace="Claims",
            metricName="p99",
            threshold=2,
            state="ALARM",
        ),
    )
    cloudwatch = ctx.client("cloudwatch")
    alarms = {
        a["AlarmName"]: a
        for a in cloudwatch.describe_alarms(AlarmNamePrefix="claims-")["MetricAlarms"]
    }
    assert {name: a["StateValue"] for name, a in alarms.items()} == {
        "claims-5xx": "OK",
        "claims-latency": "ALARM",
    }
    assert alarms["claims-5xx"]["AlarmArn"] == seeded[0].arn
    assert alarms["claims-5xx"]["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": "app/claims/1234"}
    ]
    with pytest.raises(InputError, match="already exists"):
        seed_resource(
            ctx, entry("cloudwatch-alarm", "claims-5xx", namespace="N", metricName="m", threshold=1)
        )


def test_three_tier_declares_what_the_example_manifest_runs(sandbox):
    wanted = {"acme-app-prewarm", "acme-smoke-test", "acme-claims-5xx"}
    scenario = load_scenario("three-tier")
    entries = {e["name"]: e for e in scenario.resources if e["name"] in wanted}
    assert {n: e["account"] for n, e in entries.items()} == {
        "acme-app-prewarm": "staging-app",
        "acme-smoke-test": "staging-app",
        "acme-claims-5xx": "staging-web",
    }
    ctx = context(sandbox, REGION, account="555555555555")
    for item in entries.values():
        seed_resource(ctx, item)
    done = _run(sandbox, ctx.client("ssm"), "acme-app-prewarm", 2 + 30 + 45)
    assert done["AutomationExecutionStatus"] == "Success"
    assert done["Outputs"] == {"warmCaches.CacheNames": ["claims", "policies", "sessions"]}
    smoke = ctx.client("lambda").invoke(FunctionName="acme-smoke-test", Payload=b"{}")
    assert json.loads(smoke["Payload"].read())["passed"] is True
    alarm = ctx.client("cloudwatch").describe_alarms(AlarmNames=["acme-claims-5xx"])["MetricAlarms"]
    assert alarm[0]["StateValue"] == "OK"


# --- storage ----------------------------------------------------------------------------------
def test_efs_file_system_with_mount_targets(sandbox, ctx):
    seeded = seed_resource(ctx, entry("efs-file-system", "shared-docs", throughputMode="elastic"))
    efs = ctx.client("efs")
    fs = efs.describe_file_systems(CreationToken="shared-docs")["FileSystems"][0]
    assert fs["FileSystemArn"] == seeded[0].arn
    assert (fs["ThroughputMode"], fs["Encrypted"], fs["Name"]) == ("elastic", True, "shared-docs")
    assert tag_dict(fs["Tags"]) == {**TAGS, "Name": "shared-docs"}
    targets = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    zones = [t["AvailabilityZoneName"] for t in targets]
    assert len(zones) == len(set(zones)) >= 2
    assert other(sandbox, "efs").describe_file_systems()["FileSystems"] == []


# --- invalid entries ---------------------------------------------------------------------------
def _resource_count(ctx: SeedContext) -> int:
    return (
        len(ctx.client("ecs").list_clusters()["clusterArns"])
        + len(ctx.client("rds").describe_db_instances()["DBInstances"])
        + len(ctx.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"])
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"account": "a", "type": "dynamodb-table", "name": "t"},
            r"^\$\.resources\[3\]\.type: 'dynamodb-table' is not one of \[",
        ),
        (
            {
                "account": "a",
                "type": "ecs-service",
                "cluster": "c",
                "task": {"image": "x", "cpu": 256, "memory": 512},
            },
            r"^\$\.resources\[3\]: 'name' is a required property$",
        ),
        (
            {
                "account": "a",
                "type": "ecs-service",
                "name": "svc",
                "cluster": "c",
                "desiredCount": -1,
                "task": {"image": "x", "cpu": 256, "memory": 512},
            },
            r"^\$\.resources\[3\]\.desiredCount: -1 is less than the minimum of 0$",
        ),
        (
            {
                "account": "a",
                "type": "ecs-service",
                "name": "svc",
                "cluster": "c",
                "replicas": 2,
                "task": {"image": "x", "cpu": 256, "memory": 512},
            },
            r"^\$\.resources\[3\]: Additional properties are not allowed \('replicas' was unexpected\)$",
        ),
        (
            {
                "account": "a",
                "type": "rds-instance",
                "name": "9lives",
                "engine": "postgres",
                "class": "db.m5.large",
            },
            r"^\$\.resources\[3\]\.name: '9lives' is not valid: a DB instance identifier",
        ),
        (
            {
                "account": "a",
                "type": "aurora-cluster",
                "name": "a",
                "engine": "aurora-postgresql",
                "instances": {"count": 17, "class": "db.r6g.large"},
            },
            r"^\$\.resources\[3\]\.instances\.count: 17 is greater than the maximum of 16$",
        ),
        (
            {
                "account": "a",
                "type": "rds-instance",
                "name": "ex",
                "engine": "sqlserver-ex",
                "class": "db.t3.small",
                "multiAz": True,
            },
            r"multiAz: True is not valid: SQL Server Express has no Multi-AZ",
        ),
        (
            {"account": "a", "type": "lambda-function", "name": "f", "tags": {"aws:owner": "me"}},
            r"^\$\.resources\[3\]\.tags: 'aws:owner' is not valid: tag keys starting with aws:",
        ),
        (
            {
                "account": "a",
                "type": "ec2-instance",
                "name": "x",
                "instanceType": "m5.large",
                "count": 2,
                "privateIp": "10.0.0.9",
            },
            r"\.count: 2 is not valid: privateIp needs count 1",
        ),
        (
            entry(
                "ssm-document",
                "runbook",
                content={
                    "schemaVersion": "2.2",
                    "mainSteps": [{"name": "a", "action": "aws:sleep"}],
                },
            ),
            r"\.content\.schemaVersion: '2\.2' is not a schema version of Automation documents",
        ),
        (
            entry("ssm-document", "runbook", content=RUNBOOK, outputs={"warm.Missing": "x"}),
            r"\.outputs\.warm\.Missing: no step declares the output",
        ),
        (
            entry(
                "ssm-document",
                "runbook",
                documentType="Command",
                content={"schemaVersion": "2.2"},
                stepSeconds=5,
            ),
            r"stepSeconds and outputs simulate Automation documents only",
        ),
        (
            entry("ssm-document", "AWS-Mine", content=RUNBOOK),
            r"\.name: 'AWS-Mine' is not valid: an SSM document name",
        ),
        (
            entry("lambda-function", "f", answer={"result": 1, "error": {"errorMessage": "x"}}),
            r"\.answer: what Invoke answers in the sandbox",
        ),
        (
            entry("cloudwatch-alarm", "a", namespace="N", metricName="m"),
            r"'threshold' is a required property",
        ),
    ],
)
def test_invalid_entries_name_the_path_and_create_nothing(ctx, spec, message):
    before = _resource_count(ctx)
    with pytest.raises(InputError, match=message):
        seed_resource(ctx, spec, where="$.resources[3]")
    assert _resource_count(ctx) == before


def test_schema_is_draft_2020_12_and_covers_every_type():
    schema = resource_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert sorted(schema["properties"]["type"]["enum"]) == sorted(SEEDERS)
    validator = jsonschema.Draft202012Validator(schema)
    good = entry("ecs-service", "svc", cluster="c", task={"image": "x", "cpu": 256, "memory": 512})
    assert list(validator.iter_errors(good)) == []
    assert [e.message for e in validator.iter_errors({**good, "colour": "red"})] == [
        "Additional properties are not allowed ('colour' was unexpected)"
    ]
    for seeder in SEEDERS.values():
        jsonschema.Draft202012Validator.check_schema(seeder.schema)
        assert seeder.schema["description"]
