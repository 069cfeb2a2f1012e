"""The whole application in one execution, through the real state machines in the `full-stack`
sandbox scenario: the data tier (Aurora, RDS, ElastiCache, DynamoDB, OpenSearch), then the DRS
servers, then capacity (ECS, EKS, Lambda, Auto Scaling, EC2), then traffic and events (Route 53
ARC, Route 53 records, EventBridge rules and an archive replay)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from drorch.cli.sandbox_run import sandbox_hub
from drorch.modules import REGISTRY
from drorch.modules.base import always
from tests.conftest import ACCOUNTS_DIR, REPO

FULL_STACK = REPO / "manifests" / "examples" / "full-stack.yaml"
DATA = "333333333333"
DATABASE_GROUPS = {
    "database-claims-db": "aurora-global",
    "database-policies-db": "rds-instance",
    "database-sessions": "elasticache-global",
    "database-claim-events": "dynamodb-global",
}


@pytest.fixture
def full_stack() -> Iterator:
    with sandbox_hub("full-stack", ACCOUNTS_DIR, strict=True) as hub:
        hub.client.upload_manifest(FULL_STACK)
        yield hub
        assert hub.sandbox.state.fidelity.violations == []


def run(hub, operation: str) -> dict:
    execution_id = hub.client.start_execution("claims", operation, poll_seconds=30)
    return hub.client.wait(execution_id, on_gate=lambda gate: True, timeout=300)


SERVICE = {
    "aurora-global": "rds",
    "rds-instance": "rds",
    "elasticache-global": "elasticache",
    "dynamodb-global": "dynamodb",
    "opensearch-domain": "opensearch",
    "ecs-service": "ecs",
    "eks-nodegroup": "eks",
    "lambda-function": "lambda",
    "auto-scaling": "autoscaling",
    "ec2-instance": "ec2",
    "route53-record": "route53",
    "arc-routing-control": "route53-recovery-cluster",
    "eventbridge-rule": "events",
    "eventbridge-archive": "events",
}
HUB = "999999999999"
APP, WEB = "222222222222", "111111111111"
READ_VERBS = ("Describe", "Get", "List", "Search", "Query", "Scan", "BatchGet", "Lookup")


def disruptive_counts(hub) -> dict[str, int]:
    """How often each call a module of the manifest declares always disruptive reached the
    sandbox, in any account and region (calls disruptive only with some parameters, such as
    UpdateService to 0 tasks, are refused by the drill guard and checked by the contract kit)."""
    return {
        f"{SERVICE[module]}:{operation}": hub.sandbox.faults.call_count(SERVICE[module], operation)
        for module in SERVICE
        for operation, predicate in REGISTRY[module].disruptive_calls.items()
        if predicate is always
    }


def call_log(hub) -> Counter:
    """Every AWS call the sandbox answered so far: (service, operation, account, region) -> n."""
    return Counter(dict(hub.sandbox.faults.calls))


def writes_during(before: Counter, after: Counter) -> set[tuple[str, str, str, str]]:
    """The calls outside the hub that were not reads, between two call logs (STS credential
    calls, such as readiness assuming the execution role with its ExternalId, change nothing)."""
    return {
        call
        for call, n in (after - before).items()
        if n and call[2] != HUB and call[0] != "sts" and not call[1].startswith(READ_VERBS)
    }


def records(hub, zone_name: str = "claims.acme.internal.") -> dict[tuple[str, str], list[str]]:
    route53 = hub.sandbox.admin_session(WEB, "us-east-2").client("route53")
    (zone,) = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == zone_name]
    found = {}
    for record in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]:
        key = (record["Name"], record.get("SetIdentifier", record["Type"]))
        found[key] = [r["Value"] for r in record.get("ResourceRecords", [])]
    return found


def capacity(hub) -> dict[str, object]:
    """The recovery region's standby capacity, as the services report it."""
    app = hub.sandbox.admin_session(APP, "us-east-2")
    web = hub.sandbox.admin_session(WEB, "us-east-2")
    (service,) = app.client("ecs").describe_services(
        cluster="acme-claims", services=["acme-claims-api"]
    )["services"]
    nodegroup = app.client("eks").describe_nodegroup(
        clusterName="acme-claims-eks", nodegroupName="claims-workers"
    )["nodegroup"]["scalingConfig"]
    (group,) = web.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["acme-web-dr"]
    )["AutoScalingGroups"]
    instances = web.client("ec2").describe_instances(
        Filters=[{"Name": "tag:Role", "Values": ["domain-controller"]}]
    )["Reservations"][0]["Instances"]
    reserved = app.client("lambda").get_function_concurrency(FunctionName="acme-claims-intake")
    return {
        "ecs": service["desiredCount"],
        "eks": (nodegroup["minSize"], nodegroup["desiredSize"], nodegroup["maxSize"]),
        "asg": (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]),
        "ec2": instances[0]["State"]["Name"],
        "lambda": reserved.get("ReservedConcurrentExecutions"),
    }


def rules(hub) -> dict[str, str]:
    return {
        region: hub.sandbox.admin_session(APP, region)
        .client("events")
        .describe_rule(Name="acme-claims-nightly-batch")["State"]
        for region in ("us-east-1", "us-east-2")
    }


STANDBY = {"ecs": 0, "eks": (1, 1, 6), "asg": (0, 0, 6), "ec2": "stopped", "lambda": 0}
WAVES = ["database", "data", "app", "web", "capacity", "traffic"]


def test_a_drill_of_the_whole_application_leaves_production_untouched_and_cleanup_restores(
    full_stack,
):
    hub = full_stack
    before, log = disruptive_counts(hub), call_log(hub)  # the scenario's seeding made some
    production_records, production_rules = records(hub), rules(hub)
    assert capacity(hub) == STANDBY
    final = run(hub, "drill")
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    waves = [w["wave"] for w in final["waves"] if w["phase"] == "ACTIVATE"]
    assert waves[: len(WAVES)] == WAVES
    database = [r for r in final["resources"] if r["groupId"] in DATABASE_GROUPS]
    assert {r["status"] for r in database if r["phase"] == "ACTIVATE"} == {"SUCCEEDED"}

    # the call log: no call any module declares disruptive; nothing but reads in the primary
    # region; in the recovery region, writes only to drill copies and standby capacity
    assert disruptive_counts(hub) == before
    writes = writes_during(log, call_log(hub))
    # (Route 53 is global: its calls go to us-east-1, and the records are checked below)
    assert {w for w in writes if w[3] == "us-east-1" and w[0] != "route-53"} == set(), writes
    assert {(s, o) for s, o, _, _ in writes} <= DRILL_WRITES, sorted(writes)
    # production as it was: the global database's writer, the records, the rules
    rds = hub.sandbox.execution_session(DATA, "us-east-2").client("rds")
    (global_cluster,) = rds.describe_global_clusters()["GlobalClusters"]
    writers = [m["DBClusterArn"] for m in global_cluster["GlobalClusterMembers"] if m["IsWriter"]]
    assert writers and ":us-east-1:" in writers[0]
    after_drill = records(hub)
    assert {k: v for k, v in after_drill.items() if not k[0].startswith("drill.")} == (
        production_records
    )
    assert after_drill[("drill.www.claims.acme.internal.", "A")] == ["10.201.1.11"]
    assert rules(hub) == production_rules == {"us-east-1": "ENABLED", "us-east-2": "DISABLED"}
    # the standby capacity was scaled up (never down) in the recovery region
    assert capacity(hub)["ecs"] == 4 and capacity(hub)["asg"] == (3, 3, 6)
    # the database wave ran before any server was launched
    database_end = max(r["finishedAt"] for r in database if r["phase"] == "ACTIVATE")
    servers = [r for r in final["resources"] if r["groupId"].endswith("-servers")]
    assert all(r["startedAt"] >= database_end for r in servers if r["phase"] == "ACTIVATE")

    # a cleanup puts back every capacity the drill recorded, and the drill record goes
    cleaned = run(hub, "cleanup")
    assert cleaned["execution"]["status"] == "SUCCEEDED", cleaned["execution"]
    assert capacity(hub) == STANDBY
    assert records(hub) == production_records


# what a drill may write outside the hub: DRS drill launches and their tags, the isolated
# drill copies of the data tier, the recovery region's standby capacity (scaled up, tagged with
# what it was before), the drill record (Route 53 accepts only drill.* names in a drill)
DRILL_WRITES = {
    ("drs", "StartRecovery"),  # isDrill: true
    ("drs", "UpdateLaunchConfiguration"),  # the recovery instances' launch settings
    ("rds", "RestoreDBClusterToPointInTime"),  # drorch-drill-* copies
    ("rds", "RestoreDBInstanceToPointInTime"),
    ("rds", "CreateDBInstance"),  # the drill copy's instance
    ("fsx", "CreateFileSystemFromBackup"),  # a drorch-drill-* copy
    ("ecs", "UpdateService"),  # standby capacity, scaled up
    ("ecs", "TagResource"),  # drorch:capacity-before
    ("eks", "UpdateNodegroupConfig"),
    ("eks", "TagResource"),
    ("auto-scaling", "UpdateAutoScalingGroup"),
    ("auto-scaling", "CreateOrUpdateTags"),
    ("ec2", "StartInstances"),  # the stopped standby
    ("ec2", "CreateTags"),
    ("route-53", "ChangeResourceRecordSets"),  # drill.www only (checked above)
    ("ssm", "StartAutomationExecution"),  # the pre-wave action (runInDrill)
    ("lambda", "Invoke"),  # the post-wave smoke test (runInDrill)
}


def test_a_failover_moves_the_whole_application_to_the_recovery_region(full_stack):
    hub = full_stack
    final = run(hub, "failover")
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    # traffic: the failover record and the db CNAME point at the recovery region, the
    # recovery cell is On and the primary's Off; events: the batch runs here, not there
    moved = records(hub)
    assert moved[("www.claims.acme.internal.", "primary")] == ["10.201.1.11"]
    assert moved[("db.claims.acme.internal.", "CNAME")] == [
        "acme-claims-db.cluster.us-east-2.rds.amazonaws.com"
    ]
    assert rules(hub) == {"us-east-1": "DISABLED", "us-east-2": "ENABLED"}
    assert capacity(hub) == {
        "ecs": 4, "eks": (2, 4, 8), "asg": (3, 3, 6), "ec2": "running", "lambda": 50
    }  # fmt: skip
    report = json.loads(hub.client.report(final["execution"]["executionId"], "json"))
    activated = {r["groupId"]: r for r in report["resources"] if r["phase"] == "ACTIVATE"}
    cells = {
        r["name"]: r["detail"]["state"]
        for r in report["resources"]
        if r["phase"] == "ACTIVATE" and r["groupId"] == "traffic-claims-cells"
    }
    assert cells == {"claims-us-east-1": "Off", "claims-us-east-2": "On"}
    rds = hub.sandbox.execution_session(DATA, "us-east-2").client("rds")
    (global_cluster,) = rds.describe_global_clusters()["GlobalClusters"]
    writers = [m["DBClusterArn"] for m in global_cluster["GlobalClusterMembers"] if m["IsWriter"]]
    assert writers == ["arn:aws:rds:us-east-2:333333333333:cluster:acme-claims-db-dr"]
    (replica,) = rds.describe_db_instances(DBInstanceIdentifier="acme-policies-db-dr")[
        "DBInstances"
    ]
    assert not replica.get("ReadReplicaSourceDBInstanceIdentifier")
    aurora = activated["database-claims-db"]["detail"]
    assert aurora["mode"] == "switchover" and "replicationLagSeconds" in aurora
    assert activated["database-sessions"]["detail"]["role"] == "PRIMARY"
    assert "lagSecondsBefore" in activated["database-sessions"]["detail"]
    markdown = hub.client.report(final["execution"]["executionId"], "md")
    assert "replicationLagSeconds" in markdown
