"""eks-nodegroup against the sandbox's EKS node groups (simulated clock).

The world: cluster ``claims`` in the recovery region with the standby node group ``web``
(min 1, desired 1, max 3; its Auto Scaling group has one InService node), seeded with the
``eks-cluster`` scenario type.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from drorch.modules import REGISTRY
from drorch.modules.eks_nodegroup.iam import BEFORE_TAG
from drorch.modules.eks_nodegroup.sandbox import TIMINGS
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    discover,
    idempotency_key,
    staging,
)

SELECTOR = {"ids": ["claims/web"]}
TAGS = {"dr:enabled": "true", "dr:wave": "2", "Application": "claims"}
SCALE = {"desiredSize": 3, "maxSize": 5}
BEFORE = {"minSize": 1, "desiredSize": 1, "maxSize": 3}


def cluster(world: Staging) -> None:
    seed_resource(
        SeedContext(
            world.sandbox.admin_session(world.account_id, world.region),
            world.account_id,
            world.region,
        ),
        {
            "account": world.account.name,
            "type": "eks-cluster",
            "name": "claims",
            "tags": TAGS,
            "nodegroups": [{"name": "web", "minSize": 1, "desiredSize": 1, "maxSize": 3}],
        },
    )


def nodegroup(world: Staging) -> dict:
    return world.admin("eks").describe_nodegroup(clusterName="claims", nodegroupName="web")[
        "nodegroup"
    ]


def in_service(world: Staging) -> int:
    names = [g["name"] for g in nodegroup(world)["resources"]["autoScalingGroups"]]
    groups = world.admin("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=names)
    return sum(
        1
        for g in groups["AutoScalingGroups"]
        for i in g["Instances"]
        if i["LifecycleState"] == "InService"
    )


def scaled_and_restored(world: Staging, run: Run) -> None:
    [scaled] = run.phases[-2].final.resources
    assert scaled.detail["before"] == BEFORE
    assert scaled.detail["target"] == {"minSize": 1, "desiredSize": 3, "maxSize": 5}
    assert scaled.detail["inServiceNodes"] == 3
    [restored] = run.phases[-1].final.resources
    assert restored.detail["target"] == BEFORE
    assert restored.detail["inServiceNodes"] == 1
    group = nodegroup(world)
    assert group["scalingConfig"] == BEFORE and group["status"] == "ACTIVE"
    assert BEFORE_TAG not in group["tags"]
    assert in_service(world) == 1


def no_writes(run: Run) -> None:
    writes = [c for c in run.calls if c.operation in ("UpdateNodegroupConfig", "TagResource")]
    assert writes == [], writes


def left_alone(run: Run) -> None:
    [result] = run.phases[0].final.resources
    assert result.status == "SKIPPED"
    assert "no earlier run recorded" in result.detail["note"]
    assert [c.operation for c in run.calls if c.during.startswith("CLEANUP")] == []


def failed_update(world: Staging) -> None:
    cluster(world)
    world.sandbox.faults.fail_nodegroup_update("web")


class TestEksNodegroupContract(ModuleContract):
    module = "eks-nodegroup"
    cases = (
        Case(
            "drill-scale-up-and-cleanup",
            (Phase("INSTANTIATE", SCALE), Phase("ACTIVATE", SCALE), Phase("CLEANUP", SCALE)),
            drill=True,
            seed=cluster,
            selector=SELECTOR,
            writes=(("eks", "UpdateNodegroupConfig"), ("eks", "TagResource")),
            check=scaled_and_restored,
        ),
        Case(
            "failover-by-tags",
            (Phase("ACTIVATE", SCALE), Phase("CLEANUP", SCALE)),
            seed=cluster,
            selector={"tags": {"Application": "claims"}},
            writes=(("eks", "UpdateNodegroupConfig"), ("eks", "TagResource")),
            check=scaled_and_restored,
        ),
        Case(
            "update-fails",
            (
                Phase(
                    "ACTIVATE",
                    SCALE,
                    expect="FAILED",
                    error="NodeCreationFailure: Instances failed to join the kubernetes cluster",
                ),
            ),
            seed=failed_update,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "drill-refuses-scale-down",
            (
                Phase(
                    "ACTIVATE",
                    {"desiredSize": 0, "minSize": 0},
                    expect="FAILED",
                    error="a drill scales up only: minSize 0 is below the current 1",
                ),
            ),
            drill=True,
            seed=cluster,
            selector=SELECTOR,
            extra=True,
            check=lambda world, run: no_writes(run),
        ),
        Case(
            "cleanup-without-record",
            (Phase("CLEANUP", SCALE),),
            seed=cluster,
            selector=SELECTOR,
            extra=True,
            check=lambda world, run: left_alone(run),
        ),
    )


def test_a_drill_scale_down_sends_nothing() -> None:
    module = REGISTRY["eks-nodegroup"]
    case = Case("down", (Phase("ACTIVATE"),), drill=True, seed=cluster, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        state = module.start(
            world.ctx(True), "ACTIVATE", resources, {"desiredSize": 0, "minSize": 0}, True, "k"
        )
        [result] = module.status(world.ctx(True), "ACTIVATE", state).resources
        assert result.status == "FAILED" and "(nothing was changed)" in (result.error or "")
        assert nodegroup(world)["scalingConfig"] == BEFORE
        assert BEFORE_TAG not in nodegroup(world)["tags"]


def test_the_update_and_the_nodes_take_simulated_time() -> None:
    case = Case("time", (Phase("ACTIVATE"),), seed=cluster, selector=SELECTOR)
    with staging(case) as world:
        eks = world.admin("eks")
        update = eks.update_nodegroup_config(
            clusterName="claims",
            nodegroupName="web",
            scalingConfig={"desiredSize": 2},
            clientRequestToken="t-1",
        )["update"]
        assert update["status"] == "InProgress"
        assert {p["type"]: p["value"] for p in update["params"]} == {"DesiredSize": "2"}
        again = eks.update_nodegroup_config(
            clusterName="claims",
            nodegroupName="web",
            scalingConfig={"desiredSize": 2},
            clientRequestToken="t-1",
        )["update"]
        assert again["id"] == update["id"]  # the same token: the same update
        assert nodegroup(world)["status"] == "UPDATING"
        with pytest.raises(ClientError) as busy:
            eks.update_nodegroup_config(
                clusterName="claims", nodegroupName="web", scalingConfig={"desiredSize": 3}
            )
        assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
        world.sandbox.advance(TIMINGS.update_seconds)
        described = eks.describe_update(name="claims", nodegroupName="web", updateId=update["id"])[
            "update"
        ]
        assert described["status"] == "Successful"
        assert eks.list_updates(name="claims", nodegroupName="web")["updateIds"] == [update["id"]]
        assert nodegroup(world)["status"] == "ACTIVE"
        assert in_service(world) == 1  # the new node is still Pending
        world.sandbox.advance(TIMINGS.node_seconds)
        assert in_service(world) == 2


def test_a_scaling_config_eks_would_refuse_is_refused() -> None:
    case = Case("bad", (Phase("ACTIVATE"),), seed=cluster, selector=SELECTOR)
    with staging(case) as world, pytest.raises(ClientError) as refused:
        world.admin("eks").update_nodegroup_config(
            clusterName="claims", nodegroupName="web", scalingConfig={"desiredSize": 9}
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_throttled_update_is_raised_for_the_state_machine_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)  # botocore's backoff
    module = REGISTRY["eks-nodegroup"]
    case = Case("throttled", (Phase("ACTIVATE"),), seed=cluster, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("eks", "UpdateNodegroupConfig", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(world.ctx(), "ACTIVATE", resources, SCALE, False, idempotency_key("A"))
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"


def test_the_drill_guard_refuses_what_a_drill_must_not_do() -> None:
    module = REGISTRY["eks-nodegroup"]
    scaling = {"clusterName": "c", "nodegroupName": "n", "scalingConfig": {"desiredSize": 2}}
    assert not module.is_disruptive("UpdateNodegroupConfig", scaling)
    assert module.is_disruptive("UpdateNodegroupConfig", {**scaling, "taints": {}})
    assert module.is_disruptive("DeleteNodegroup", {"clusterName": "c", "nodegroupName": "n"})
    assert module.is_disruptive("UpdateNodegroupVersion", {})


def test_readiness_reports_each_node_group() -> None:
    module = REGISTRY["eks-nodegroup"]
    case = Case("ready", (Phase("ACTIVATE"),), seed=cluster, selector=SELECTOR)
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        findings = module.readiness(session, world.account_id, world.region)
    assert [(f.check, f.result) for f in findings] == [("EKS claims/web", "OK")]


def test_manifest_convert_takes_the_eks_alias(tmp_path) -> None:
    from drorch.cli.manifest_cmd import app

    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": "EKS",
                    "resourceName": "Claims nodes",
                    "AccountId": "222222222222",
                    "parameters": {
                        "ClusterName": "claims",
                        "NodegroupName": "web",
                        "DesiredSize": 4,
                    },
                }
            ],
        }
    ]
    source = tmp_path / "layers.json"
    source.write_text(json.dumps(layers))
    out = tmp_path / "manifest.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    from drorch.manifest import load_manifest_file

    [group] = load_manifest_file(out).waves[0].groups
    assert group.type == "eks-nodegroup"
    assert list(group.selector.ids) == ["claims/web"]
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
