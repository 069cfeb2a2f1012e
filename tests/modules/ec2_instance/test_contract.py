"""ec2-instance against the sandbox's EC2 (status checks run over simulated time).

The world: standby ``claims-dc`` in the recovery region, stopped (or running, for the
stop cases), tagged ``Role=dc``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.modules import REGISTRY, Resource
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    SKIPPED_BY_PLAN,
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    staging,
)

NAME = "claims-dc"
TAGS = {"dr:enabled": "true", "dr:wave": "1", "Role": "dc"}
SELECTOR = {"tags": {"Role": "dc"}}
MARKS = {"drorch:capacity-before", "drorch:capacity-execution"}


def seed_world(world: Staging, spec: dict[str, Any]) -> None:
    seed_resource(
        SeedContext(
            world.sandbox.admin_session(world.account_id, world.region),
            world.account_id,
            world.region,
        ),
        {"account": world.account.name, **spec},
    )


def instance_in(state: str):  # noqa: ANN201 - a seed
    def seed(world: Staging) -> None:
        seed_world(
            world,
            {
                "type": "ec2-instance",
                "name": NAME,
                "instanceType": "t3.micro",
                "state": state,
                "tags": TAGS,
            },
        )

    return seed


def described(world: Staging) -> dict[str, Any]:
    answer = world.admin("ec2").describe_instances(Filters=[{"Name": "tag:Name", "Values": [NAME]}])
    return answer["Reservations"][0]["Instances"][0]


def state_of(world: Staging) -> str:
    return described(world)["State"]["Name"]


def marks(world: Staging) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in described(world).get("Tags", []) if t["Key"] in MARKS}


def started_in_a_drill(world: Staging, run: Run) -> None:
    assert state_of(world) == "running"
    [instantiate] = run.phases[0].final.resources
    assert instantiate.name == NAME
    assert instantiate.detail["before"] == {"state": "stopped"}
    assert instantiate.detail["systemStatus"] == instantiate.detail["instanceStatus"] == "ok"
    # the checks take simulated time: INSTANTIATE polled while they were initializing
    assert any(r.status == "RUNNING" for r in run.phases[0].results)
    [activate] = run.phases[1].final.resources
    assert activate.detail["before"] == {"state": "stopped"}  # from the mark
    assert marks(world)["drorch:capacity-before"] == "stopped"
    assert [c.operation for c in run.calls].count("StartInstances") == 1


def stopped_again(world: Staging, run: Run) -> None:
    [cleanup] = run.phases[2].final.resources
    assert cleanup.detail["restored"] == {"state": "stopped"}
    assert state_of(world) == "stopped"
    assert marks(world) == {}


def running_again(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.detail["before"] == {"state": "running"}
    assert activate.detail["state"] == "stopped"
    [cleanup] = run.phases[1].final.resources
    assert cleanup.detail["restored"] == {"state": "running"}
    assert state_of(world) == "running"
    assert marks(world) == {}


def left_running(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.status == "SKIPPED"
    assert "a drill never stops an instance" in activate.detail["note"]
    assert state_of(world) == "running"
    assert not [c for c in run.attempts if c.operation == "StopInstances"]


def nothing_recorded(world: Staging, run: Run) -> None:
    [cleanup] = run.phases[0].final.resources
    assert cleanup.status == "SKIPPED"
    assert "no earlier run recorded" in cleanup.detail["note"]
    assert state_of(world) == "running"


def impaired(world: Staging) -> None:
    instance_in("stopped")(world)
    world.sandbox.faults.impair_ec2_status(check="system")


class TestEc2InstanceContract(ModuleContract):
    module = "ec2-instance"
    cases = (
        Case(
            "drill-starts-the-standby",
            (
                Phase("INSTANTIATE"),
                Phase("ACTIVATE"),
                Phase("CLEANUP", expect=SKIPPED_BY_PLAN),
            ),
            drill=True,
            seed=instance_in("stopped"),
            selector=SELECTOR,
            writes=(("ec2", "StartInstances"), ("ec2", "CreateTags")),
            check=started_in_a_drill,
        ),
        Case(
            "failover-then-cleanup",
            (Phase("INSTANTIATE"), Phase("ACTIVATE"), Phase("CLEANUP")),
            seed=instance_in("stopped"),
            selector=SELECTOR,
            writes=(
                ("ec2", "StartInstances"),
                ("ec2", "CreateTags"),
                ("ec2", "StopInstances"),
                ("ec2", "DeleteTags"),
            ),
            check=stopped_again,
        ),
        Case(
            "status-check-impaired",
            (
                Phase(
                    "ACTIVATE",
                    expect="FAILED",
                    error="(claims-dc): the system status check is impaired (reachability failed)",
                ),
            ),
            seed=impaired,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "stop-then-cleanup-starts-it",
            (Phase("ACTIVATE", {"action": "stop"}), Phase("CLEANUP")),
            seed=instance_in("running"),
            selector=SELECTOR,
            check=running_again,
            extra=True,
        ),
        Case(
            "a-drill-never-stops-an-instance",
            (Phase("ACTIVATE", {"action": "stop"}),),
            drill=True,
            seed=instance_in("running"),
            selector=SELECTOR,
            check=left_running,
            extra=True,
        ),
        Case(
            "cleanup-with-nothing-recorded",
            (Phase("CLEANUP"),),
            seed=instance_in("running"),
            selector=SELECTOR,
            check=nothing_recorded,
            extra=True,
        ),
    )


def test_the_drill_guard_refuses_stopping_rebooting_and_terminating() -> None:
    module = REGISTRY["ec2-instance"]
    ids = {"InstanceIds": ["i-0123456789abcdef0"]}
    assert not module.is_disruptive("StartInstances", ids)
    for operation in ("StopInstances", "RebootInstances", "TerminateInstances"):
        assert module.is_disruptive(operation, ids), operation


def test_discovery_by_id_arn_and_tags_leaves_out_auto_scaling_instances() -> None:
    module = REGISTRY["ec2-instance"]

    def seed(world: Staging) -> None:
        instance_in("stopped")(world)
        seed_world(
            world,
            {
                "type": "autoscaling-group",
                "name": "claims-web",
                "launchTemplate": {"instanceType": "t3.micro"},
                "minSize": 1,
                "maxSize": 1,
                "tags": {"Role": "dc"},
            },
        )

    case = Case("discover", (Phase(),), seed=seed, selector=SELECTOR)
    with staging(case) as world:
        iid = described(world)["InstanceId"]
        arn = f"arn:aws:ec2:{world.region}:{world.account_id}:instance/{iid}"
        ctx = world.ctx()
        found = module.discover(ctx, SELECTOR)
        assert [r.id for r in found] == [iid]
        assert [e.reasons for e in found.excluded] == [
            (
                "an instance of Auto Scaling group claims-web: the auto-scaling module sizes its group",
            )
        ]
        for selector in ({"ids": [iid]}, {"ids": [arn]}):
            assert [r.id for r in module.discover(ctx, selector)] == [iid], selector
        assert list(module.discover(ctx, {"ids": [arn.replace(world.region, "eu-west-1")]})) == []


def test_seed_004_ec2_layers_convert(tmp_path: Path) -> None:
    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": "EC2",
                    "resourceName": "Domain controllers",
                    "AccountId": "111111111111",
                    "parameters": {"InstanceIds": ["i-0123456789abcdef0"], "Action": "start"},
                }
            ],
        }
    ]
    source, out = tmp_path / "layers.json", tmp_path / "dc.yaml"
    source.write_text(json.dumps(layers))
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    [group] = yaml.safe_load(out.read_text())["waves"][0]["technologies"]
    assert group["type"] == "ec2-instance"
    assert group["selector"]["ids"] == ["i-0123456789abcdef0"]
    assert group["parameters"] == {"action": "start"}
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_readiness_counts_the_stopped_standbys() -> None:
    module = REGISTRY["ec2-instance"]
    case = Case("readiness", (Phase(),), seed=instance_in("stopped"))
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        findings = module.readiness(session, world.account_id, world.region)
    assert [(f.check, f.result, f.detail) for f in findings] == [
        ("EC2 instances", "OK", "1 instance(s), 1 stopped")
    ]


def test_a_missing_instance_fails_and_the_others_still_start() -> None:
    module = REGISTRY["ec2-instance"]
    case = Case("missing", (Phase(),), seed=instance_in("stopped"), selector=SELECTOR)
    with staging(case) as world:
        [found] = module.discover(world.ctx(), SELECTOR)
        gone = Resource("i-0000000000000dead", "", world.account_id, world.region, "gone")
        state = module.start(world.ctx(), "ACTIVATE", [found, gone], {}, False, "k")
        assert state["items"]["i-0000000000000dead"]["result"]["status"] == "FAILED"
        assert state_of(world) == "running"
