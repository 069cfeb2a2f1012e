"""auto-scaling against the sandbox's EC2 Auto Scaling (instances launch over simulated time).

The world: group ``claims-web`` in the recovery region, a pilot light at 0/0/6 (or 2/3/6,
for the scale-down cases), tagged for DR.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.modules import REGISTRY
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    SKIPPED_BY_PLAN,
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    discover,
    idempotency_key,
    staging,
)

GROUP = "claims-web"
TAGS = {"dr:enabled": "true", "dr:wave": "3", "Application": "claims"}
SELECTOR = {"ids": [GROUP]}
MARKS = {"drorch:capacity-before", "drorch:capacity-execution"}


def group_at(low: int, desired: int, high: int):  # noqa: ANN201 - a seed
    def seed(world: Staging) -> None:
        seed_resource(
            SeedContext(
                world.sandbox.admin_session(world.account_id, world.region),
                world.account_id,
                world.region,
            ),
            {
                "account": world.account.name,
                "type": "autoscaling-group",
                "name": GROUP,
                "launchTemplate": {"instanceType": "t3.micro"},
                "minSize": low,
                "desiredCapacity": desired,
                "maxSize": high,
                "tags": TAGS,
            },
        )

    return seed


def described(world: Staging) -> dict[str, Any]:
    return world.admin("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])[
        "AutoScalingGroups"
    ][0]


def shape(world: Staging) -> tuple[int, int, int, int]:
    """min, desired, max and the instances InService."""
    group = described(world)
    ready = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
    return group["MinSize"], group["DesiredCapacity"], group["MaxSize"], len(ready)


def marks(world: Staging) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in described(world)["Tags"] if t["Key"] in MARKS}


def grown_in_a_drill(world: Staging, run: Run) -> None:
    assert shape(world) == (2, 2, 6, 2)
    [instantiate] = run.phases[0].final.resources
    assert instantiate.detail["before"] == {"minSize": 0, "desiredCapacity": 0, "maxSize": 6}
    assert instantiate.detail["inService"] == 2
    [activate] = run.phases[1].final.resources
    assert activate.detail["before"] == {"minSize": 0, "desiredCapacity": 0, "maxSize": 6}
    assert marks(world)["drorch:capacity-before"] == "min=0 desired=0 max=6"
    assert [c.operation for c in run.calls].count("UpdateAutoScalingGroup") == 1
    # the instances take simulated time: INSTANTIATE polled while they were Pending
    assert any(r.status == "RUNNING" for r in run.phases[0].results)


def restored(world: Staging, run: Run) -> None:
    [activate] = run.phases[1].final.resources
    assert activate.detail["before"] == {"minSize": 0, "desiredCapacity": 0, "maxSize": 6}
    assert activate.detail["maxSize"] == 8
    [cleanup] = run.phases[2].final.resources
    assert cleanup.detail["restored"] == {"minSize": 0, "desiredCapacity": 0, "maxSize": 6}
    assert shape(world) == (0, 0, 6, 0)
    assert marks(world) == {}


def left_as_it_is(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.status == "SKIPPED"
    assert "a drill never scales down" in activate.detail["note"]
    assert shape(world) == (2, 3, 6, 3)
    assert not [c for c in run.attempts if c.operation == "UpdateAutoScalingGroup"]


def nothing_recorded(world: Staging, run: Run) -> None:
    [cleanup] = run.phases[0].final.resources
    assert cleanup.status == "SKIPPED"
    assert "no earlier run recorded" in cleanup.detail["note"]
    assert shape(world) == (2, 3, 6, 3)


def failing_launches(world: Staging) -> None:
    group_at(0, 0, 6)(world)
    world.sandbox.faults.fail_asg_launches(GROUP, reason="InsufficientInstanceCapacity: none")


class TestAutoScalingContract(ModuleContract):
    module = "auto-scaling"
    cases = (
        Case(
            "drill-grows-the-standby",
            (
                Phase("INSTANTIATE", {"desiredCapacity": 2}),
                Phase("ACTIVATE", {"desiredCapacity": 2}),
                Phase("CLEANUP", expect=SKIPPED_BY_PLAN),
            ),
            drill=True,
            seed=group_at(0, 0, 6),
            selector=SELECTOR,
            writes=(
                ("auto-scaling", "UpdateAutoScalingGroup"),
                ("auto-scaling", "CreateOrUpdateTags"),
            ),
            check=grown_in_a_drill,
        ),
        Case(
            "failover-then-cleanup",
            (
                Phase("INSTANTIATE", {"desiredCapacity": 2}),
                Phase(
                    "ACTIVATE",
                    {"groups": [{"name": GROUP, "desiredCapacity": 4, "minSize": 2, "maxSize": 8}]},
                ),
                Phase("CLEANUP"),
            ),
            seed=group_at(0, 0, 6),
            selector={"tags": {"Application": "claims"}},
            writes=(
                ("auto-scaling", "UpdateAutoScalingGroup"),
                ("auto-scaling", "CreateOrUpdateTags"),
                ("auto-scaling", "DeleteTags"),
            ),
            check=restored,
        ),
        Case(
            "launches-fail",
            (
                Phase(
                    "ACTIVATE",
                    {"desiredCapacity": 2, "maxFailedLaunches": 2},
                    expect="FAILED",
                    error="2 scaling activities of claims-web failed: "
                    "InsufficientInstanceCapacity: none",
                ),
            ),
            seed=failing_launches,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "a-drill-never-scales-down",
            (Phase("ACTIVATE", {"desiredCapacity": 1}),),
            drill=True,
            seed=group_at(2, 3, 6),
            selector=SELECTOR,
            check=left_as_it_is,
            extra=True,
        ),
        Case(
            "cleanup-with-nothing-recorded",
            (Phase("CLEANUP"),),
            seed=group_at(2, 3, 6),
            selector=SELECTOR,
            check=nothing_recorded,
            extra=True,
        ),
    )


def test_the_drill_guard_refuses_emptying_and_anything_but_sizes() -> None:
    module = REGISTRY["auto-scaling"]
    base = {"AutoScalingGroupName": GROUP}
    sizes = {"MinSize": 2, "MaxSize": 6, "DesiredCapacity": 2}
    assert not module.is_disruptive("UpdateAutoScalingGroup", {**base, **sizes})
    assert module.is_disruptive("UpdateAutoScalingGroup", {**base, **sizes, "DesiredCapacity": 0})
    assert module.is_disruptive("UpdateAutoScalingGroup", {**base, "MaxSize": 0})
    assert module.is_disruptive(
        "UpdateAutoScalingGroup", {**base, **sizes, "LaunchTemplate": {"LaunchTemplateId": "lt"}}
    )
    assert module.is_disruptive("SetDesiredCapacity", {**base, "DesiredCapacity": 9})
    assert module.is_disruptive("TerminateInstanceInAutoScalingGroup", {"InstanceId": "i-1"})


def test_a_launch_that_fails_once_is_retried_and_the_group_fills() -> None:
    module = REGISTRY["auto-scaling"]
    case = Case("retry", (Phase(),), seed=group_at(0, 0, 4), selector=SELECTOR)
    with staging(case) as world:
        world.sandbox.faults.fail_asg_launches(GROUP, times=1)
        resources = discover(module, world, case)
        key = idempotency_key("ACTIVATE")
        state = module.start(world.ctx(), "ACTIVATE", resources, {"desiredCapacity": 2}, False, key)
        again = module.start(world.ctx(), "ACTIVATE", resources, {"desiredCapacity": 2}, False, key)
        assert again["items"][GROUP]["before"] == state["items"][GROUP]["before"]
        assert (
            world.sandbox.faults.call_count(
                "auto-scaling", "UpdateAutoScalingGroup", world.account_id
            )
            == 1
        )
        world.sandbox.advance(90)  # the retry (after 60 s) launched; Pending for 120 s
        assert module.status(world.ctx(), "ACTIVATE", again).status == "RUNNING"
        assert shape(world) == (2, 2, 4, 0)
        world.sandbox.advance(120)
        done = module.status(world.ctx(), "ACTIVATE", again)
        assert done.status == "SUCCEEDED", done.summary()
        activities = world.admin("autoscaling").describe_scaling_activities(
            AutoScalingGroupName=GROUP
        )["Activities"]
        assert [a["StatusCode"] for a in activities] == ["Successful", "Successful", "Failed"]


def test_discovery_by_name_arn_and_tags() -> None:
    module = REGISTRY["auto-scaling"]
    case = Case("discover", (Phase(),), seed=group_at(0, 0, 2), selector=SELECTOR)
    with staging(case) as world:
        arn = described(world)["AutoScalingGroupARN"]
        ctx = world.ctx()
        for selector in ({"ids": [GROUP]}, {"ids": [arn]}, {"tags": {"dr:wave": "3"}}):
            assert [r.id for r in module.discover(ctx, selector)] == [GROUP], selector
        assert list(module.discover(ctx, {"tags": {"dr:wave": "2"}})) == []
        assert list(module.discover(ctx, {"ids": [arn.replace(world.region, "eu-west-1")]})) == []


def test_seed_004_auto_scaling_layers_convert(tmp_path: Path) -> None:
    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": "AutoScaling",
                    "resourceName": "Claims web",
                    "AccountId": "111111111111",
                    "parameters": {
                        "AutoScalingGroupName": "acme-web-dr",
                        "MinSize": 2,
                        "DesiredCapacity": 3,
                        "MaxSize": 6,
                    },
                }
            ],
        }
    ]
    source, out = tmp_path / "layers.json", tmp_path / "web.yaml"
    source.write_text(json.dumps(layers))
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    [group] = yaml.safe_load(out.read_text())["waves"][0]["technologies"]
    assert group["type"] == "auto-scaling"
    assert group["selector"]["ids"] == ["acme-web-dr"]
    assert group["parameters"] == {"minSize": 2, "desiredCapacity": 3, "maxSize": 6}
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_readiness_reports_each_group() -> None:
    module = REGISTRY["auto-scaling"]
    case = Case("readiness", (Phase(),), seed=group_at(0, 0, 6))
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        findings = module.readiness(session, world.account_id, world.region)
    assert [(f.check, f.result, f.detail) for f in findings] == [
        ("Auto Scaling claims-web", "OK", "min 0, desired 0, max 6")
    ]
