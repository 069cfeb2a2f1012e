"""ecs-service against the sandbox's ECS (tasks start over simulated time).

The world: Fargate service ``claims-api`` in cluster ``claims`` in the recovery region,
a pilot light at 0 tasks (or 3, for the scale-down cases), tagged for DR.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.manifest import load_manifest_file
from drorch.modules import REGISTRY
from drorch.modules.base import Resource
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    SKIPPED_BY_PLAN,
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    check_iam,
    discover,
    idempotency_key,
    staging,
)

CLUSTER, SERVICE = "claims", "claims-api"
SID = f"{CLUSTER}/{SERVICE}"
TAGS = {"dr:enabled": "true", "dr:wave": "2", "Application": "claims"}
SELECTOR = {"ids": [SID]}
MARKS = {"drorch:capacity-before", "drorch:capacity-execution"}


def service_at(count: int):  # noqa: ANN201 - a seed
    def seed(world: Staging) -> None:
        seed_resource(
            SeedContext(
                world.sandbox.admin_session(world.account_id, world.region),
                world.account_id,
                world.region,
            ),
            {
                "account": world.account.name,
                "type": "ecs-service",
                "name": SERVICE,
                "cluster": CLUSTER,
                "task": {"image": "nginx:stable", "cpu": 256, "memory": 512},
                "desiredCount": count,
                "tags": TAGS,
            },
        )

    return seed


def described(world: Staging) -> dict[str, Any]:
    return world.admin("ecs").describe_services(
        cluster=CLUSTER, services=[SERVICE], include=["TAGS"]
    )["services"][0]


def marks(world: Staging) -> dict[str, str]:
    tags = {t["key"]: t["value"] for t in described(world).get("tags", [])}
    return {k: v for k, v in tags.items() if k in MARKS}


def counts(world: Staging) -> tuple[int, int]:
    service = described(world)
    return service["desiredCount"], service["runningCount"]


def scaled_up_in_a_drill(world: Staging, run: Run) -> None:
    assert counts(world) == (3, 3)
    [instantiate] = run.phases[0].final.resources
    assert instantiate.detail["before"] == {"desiredCount": 0}
    assert instantiate.detail["runningCount"] == 3
    [activate] = run.phases[1].final.resources
    assert activate.detail["before"] == {"desiredCount": 0}  # from the mark, not its own count
    updates = [c for c in run.calls if c.operation == "UpdateService"]
    assert [c.params["desiredCount"] for c in updates] == [3]  # ACTIVATE found it set
    assert marks(world)["drorch:capacity-before"] == "0"


def restored(world: Staging, run: Run) -> None:
    [activate] = run.phases[1].final.resources
    assert activate.detail["before"] == {"desiredCount": 0}
    assert activate.detail["runningCount"] == 4
    [cleanup] = run.phases[2].final.resources
    assert cleanup.detail["restored"] == {"desiredCount": 0}
    assert counts(world) == (0, 0)
    assert marks(world) == {}  # CLEANUP removes the marks once the count is back
    # the tasks take simulated time: INSTANTIATE polled at least once while they were pending
    assert any(r.status == "RUNNING" for r in run.phases[0].results)


def left_as_it_is(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.status == "SKIPPED"
    assert "a drill never scales down" in activate.detail["note"]
    assert counts(world) == (3, 3)
    assert not [c for c in run.attempts if c.operation in ("UpdateService", "TagResource")]


def nothing_recorded(world: Staging, run: Run) -> None:
    [cleanup] = run.phases[0].final.resources
    assert cleanup.status == "SKIPPED"
    assert "no earlier run recorded" in cleanup.detail["note"]
    assert counts(world) == (3, 3)


def failing_tasks(world: Staging) -> None:
    service_at(0)(world)
    world.sandbox.faults.fail_ecs_tasks(SERVICE, reason="CannotPullContainerError: no such image")


class TestEcsServiceContract(ModuleContract):
    module = "ecs-service"
    cases = (
        Case(
            "drill-scales-up-the-standby",
            (
                Phase("INSTANTIATE", {"desiredCount": 3}),
                Phase("ACTIVATE", {"desiredCount": 3}),
                Phase("CLEANUP", expect=SKIPPED_BY_PLAN),  # the cleanup operation does it
            ),
            drill=True,
            seed=service_at(0),
            selector=SELECTOR,
            writes=(("ecs", "UpdateService"), ("ecs", "TagResource")),
            check=scaled_up_in_a_drill,
        ),
        Case(
            "failover-then-cleanup",
            (
                Phase("INSTANTIATE", {"desiredCount": 2}),
                Phase(
                    "ACTIVATE",
                    {"services": [{"cluster": CLUSTER, "service": SERVICE, "desiredCount": 4}]},
                ),
                Phase("CLEANUP"),
            ),
            seed=service_at(0),
            selector={"tags": {"Application": "claims"}},
            writes=(("ecs", "UpdateService"), ("ecs", "TagResource"), ("ecs", "UntagResource")),
            check=restored,
        ),
        Case(
            "tasks-fail-to-start",
            (
                Phase(
                    "ACTIVATE",
                    {"desiredCount": 2, "maxFailedTasks": 4},
                    expect="FAILED",
                    error="4 task(s) of claims/claims-api failed to start: (service claims-api) "
                    "was unable to start 2 task(s): CannotPullContainerError: no such image",
                ),
            ),
            seed=failing_tasks,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "a-drill-never-scales-down",
            (Phase("ACTIVATE", {"desiredCount": 1}),),
            drill=True,
            seed=service_at(3),
            selector=SELECTOR,
            check=left_as_it_is,
            extra=True,
        ),
        Case(
            "cleanup-with-nothing-recorded",
            (Phase("CLEANUP"),),
            seed=service_at(3),
            selector=SELECTOR,
            check=nothing_recorded,
            extra=True,
        ),
    )


def test_the_drill_guard_refuses_scaling_to_zero_and_deployments() -> None:
    module = REGISTRY["ecs-service"]
    base = {"cluster": CLUSTER, "service": SERVICE}
    assert not module.is_disruptive("UpdateService", {**base, "desiredCount": 3})
    assert module.is_disruptive("UpdateService", {**base, "desiredCount": 0})
    assert module.is_disruptive("UpdateService", {**base, "taskDefinition": "claims-api:2"})
    assert module.is_disruptive("UpdateService", {**base, "forceNewDeployment": True})
    assert module.is_disruptive("DeleteService", base)


def test_discovery_by_name_arn_and_tags_in_the_recovery_region_only() -> None:
    module = REGISTRY["ecs-service"]
    case = Case("discover", (Phase(),), seed=service_at(0), selector=SELECTOR)
    with staging(case) as world:
        arn = described(world)["serviceArn"]
        ctx = world.ctx()
        for selector in ({"ids": [SERVICE]}, {"ids": [arn]}, {"tags": {"dr:wave": "2"}}):
            assert [r.id for r in module.discover(ctx, selector)] == [SID], selector
        assert list(module.discover(ctx, {"tags": {"dr:wave": "3"}})) == []
        elsewhere = arn.replace(world.region, "eu-west-1")
        assert list(module.discover(ctx, {"ids": [elsewhere]})) == []


def test_a_retried_start_reads_the_count_before_from_the_mark() -> None:
    module = REGISTRY["ecs-service"]
    case = Case("retry", (Phase(),), seed=service_at(1), selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        key = idempotency_key("INSTANTIATE")
        first = module.start(world.ctx(), "INSTANTIATE", resources, {"desiredCount": 5}, False, key)
        again = module.start(world.ctx(), "INSTANTIATE", resources, {"desiredCount": 5}, False, key)
        assert first["items"][SID]["before"] == again["items"][SID]["before"] == 1
        assert world.sandbox.faults.call_count("ecs", "UpdateService", world.account_id) == 1
        world.sandbox.advance(60)
        assert module.status(world.ctx(), "INSTANTIATE", again).status == "RUNNING"
        assert counts(world) == (5, 1)  # pending for 90 simulated seconds
        world.sandbox.advance(60)
        done = module.status(world.ctx(), "INSTANTIATE", again)
        assert done.status == "SUCCEEDED"
        assert done.resources[0].detail["before"] == {"desiredCount": 1}


def test_seed_004_ecs_service_layers_convert(tmp_path: Path) -> None:
    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": "EcsService",
                    "resourceName": "Claims API",
                    "AccountId": "222222222222",
                    "parameters": {
                        "EcsClusterName": "acme-claims",
                        "EcsServiceName": "acme-claims-api",
                        "EcsDesiredSize": 4,
                    },
                }
            ],
        }
    ]
    source, out = tmp_path / "layers.json", tmp_path / "claims.yaml"
    source.write_text(json.dumps(layers))
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    [wave] = yaml.safe_load(out.read_text())["waves"]
    [group] = wave["technologies"]
    assert group["type"] == "ecs-service"
    assert group["selector"]["ids"] == ["acme-claims/acme-claims-api"]
    assert group["parameters"] == {
        "services": [{"cluster": "acme-claims", "service": "acme-claims-api", "desiredCount": 4}]
    }
    assert load_manifest_file(out).waves
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_seed_004_lists_of_services_map_to_services_and_ids() -> None:
    module = REGISTRY["ecs-service"]
    mapped = module.from_layer(
        {
            "action": "EcsService",
            "parameters": [
                {"EcsClusterName": "a", "EcsServiceName": "api", "EcsDesiredSize": 2},
                {"EcsClusterName": "a", "EcsServiceName": "worker", "EcsDesiredSize": 1},
            ],
        },
        "$[0].resources[0]",
    )
    assert mapped.technology["selector"] == {"ids": ["a/api", "a/worker"]}
    assert [s["service"] for s in mapped.technology["parameters"]["services"]] == ["api", "worker"]
    assert mapped.unmapped == []
    module.validate_parameters(mapped.technology["parameters"])


def test_readiness_reports_the_services_of_each_cluster() -> None:
    module = REGISTRY["ecs-service"]
    case = Case("readiness", (Phase(),), seed=service_at(0))
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        findings = module.readiness(session, world.account_id, world.region)
        world.sandbox.faults.deny("ecs", "ListClusters", account=world.account_id)
        denied = module.readiness(session, world.account_id, world.region)
    assert [(f.check, f.result, f.detail) for f in findings] == [
        ("ECS claims", "OK", "1 service(s), 1 at 0 tasks (pilot light)")
    ]
    assert [f.result for f in denied] == ["FAIL"]


def test_readiness_checks_the_cluster_the_service_and_its_task_definition() -> None:
    module = REGISTRY["ecs-service"]
    case = Case("readiness", (Phase(),), seed=service_at(0), selector=SELECTOR)
    with staging(case) as world:
        [service] = discover(module, world, case)
        elsewhere = [
            Resource(f"{cluster}/{name}", "", world.account_id, world.region, name)
            for cluster, name in (("nowhere", SERVICE), (CLUSTER, "claims-gone"))
        ]
        with world.recorder.window("readiness"):
            ready = module.resource_readiness(world.ctx(), [service, *elsewhere], {})
        check_iam(module, Run(case, calls=list(world.recorder.calls)), ("read",))
        definition = described(world)["taskDefinition"]
        world.admin("ecs").deregister_task_definition(taskDefinition=definition)
        deregistered = module.resource_readiness(world.ctx(), [service], {})
    revision = definition.rsplit("/", 1)[-1]
    where = f"in {world.account_id} ({world.region})"
    assert [(f.resource, f.check, f.result, f.detail, f.call) for f in ready] == [
        (SID, "service", "OK", "ACTIVE; desired 0, running 0, pending 0",
         f"ecs:DescribeServices {SID} {where}"),
        (SID, "task definition", "OK", f"{revision} ACTIVE",
         f"ecs:DescribeTaskDefinition {revision} {where}"),
        (f"{CLUSTER}/claims-gone", "service", "BLOCKER", "the service is missing",
         f"ecs:DescribeServices {CLUSTER}/claims-gone {where}"),
        (f"nowhere/{SERVICE}", "cluster", "BLOCKER", "cluster nowhere is missing",
         f"ecs:DescribeClusters nowhere {where}"),
    ]  # fmt: skip
    assert [(f.check, f.result, f.detail) for f in deregistered][1] == (
        "task definition",
        "WARNING",
        f"{revision} is INACTIVE (deregistered)",
    )
