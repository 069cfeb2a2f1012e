"""arc-routing-control against the sandbox's Route 53 ARC (both services are drorch's fakes).

The world: cluster ``acme-claims`` with control panel ``claims-traffic`` (tagged
``Application=claims``) holding the cells ``claims-us-east-1`` (On: the primary) and
``claims-us-east-2`` (Off: the recovery Region), and the assertion rule "at least one cell
On" — so the failover must switch both in one batch.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from drorch.modules import REGISTRY
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging, execute, staging

PRIMARY, RECOVERY = "claims-us-east-1", "claims-us-east-2"
SELECTOR = {"tags": {"Application": "claims"}}
FAILOVER = {"states": {PRIMARY: "Off", RECOVERY: "On"}}
CLUSTER_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2")


def arc(world: Staging, gate: str | None = None) -> None:
    session = world.sandbox.admin_session(world.account_id, world.region)
    controls: list[dict[str, Any]] = [{"name": PRIMARY, "state": "On"}, {"name": RECOVERY}]
    rules: list[dict[str, Any]] = [
        {
            "name": "at-least-one-cell",
            "type": "assertion",
            "controls": [PRIMARY, RECOVERY],
            "rule": {"type": "ATLEAST", "threshold": 1},
        }
    ]
    if gate is not None:
        controls.append({"name": "failover-gate", "state": gate})
        rules.append(
            {
                "name": "failover-needs-the-gate",
                "type": "gating",
                "gatingControls": ["failover-gate"],
                "targetControls": [PRIMARY, RECOVERY],
                "rule": {"type": "AND"},
            }
        )
    seed_resource(
        SeedContext(session, world.account_id, world.region),
        {
            "account": world.account.name,
            "type": "arc-routing-controls",
            "name": "acme-claims",
            "controlPanels": [
                {"name": "claims-traffic", "routingControls": controls, "safetyRules": rules}
            ],
            "tags": {"Application": "claims", "dr:wave": "3"},
        },
    )


def states(world: Staging) -> dict[str, str]:
    """Every routing control's state, read through the first cluster endpoint that answers."""
    session = world.sandbox.admin_session(world.account_id, world.region)
    config = session.client("route53-recovery-control-config", region_name="us-west-2")
    [cluster] = config.list_clusters()["Clusters"]
    for endpoint in cluster["ClusterEndpoints"]:
        data = session.client(
            "route53-recovery-cluster",
            region_name=endpoint["Region"],
            endpoint_url=endpoint["Endpoint"],
            config=Config(retries={"max_attempts": 1}),
        )
        try:
            listed = data.list_routing_controls()["RoutingControls"]
        except EndpointConnectionError:
            continue
        return {c["RoutingControlName"]: c["RoutingControlState"] for c in listed}
    raise AssertionError("no cluster endpoint answered")


def by_name(run: Run, phase: int) -> dict[str, Any]:
    return {r.name: r for r in run.phases[phase].final.resources}


def failed_over_and_back(world: Staging, run: Run) -> None:
    activate = by_name(run, 0)
    assert {n: (r.detail["previous"], r.detail["state"]) for n, r in activate.items()} == {
        PRIMARY: ("On", "Off"),
        RECOVERY: ("Off", "On"),
    }
    assert all(r.detail["changed"] for r in activate.values())
    replicate = by_name(run, 1)
    assert {n: r.detail["state"] for n, r in replicate.items()} == {PRIMARY: "On", RECOVERY: "Off"}
    assert states(world) == {PRIMARY: "On", RECOVERY: "Off"}
    updates = [c for c in run.calls if c.operation.startswith("UpdateRoutingControlState")]
    # one atomic batch each way: the safety rule never sees both cells Off
    assert [len(c.params["UpdateRoutingControlStateEntries"]) for c in updates] == [2, 2]


def drill_read_only(world: Staging, run: Run) -> None:
    activate = by_name(run, 0)
    assert {n: (r.detail["state"], r.detail["wouldSet"]) for n, r in activate.items()} == {
        PRIMARY: ("On", "Off"),
        RECOVERY: ("Off", "On"),
    }
    assert activate[PRIMARY].detail["safetyRules"] == ["at-least-one-cell"]
    assert activate[PRIMARY].detail["readThrough"] in CLUSTER_REGIONS
    assert all(r.status == "SKIPPED" for r in run.phases[1].final.resources)
    assert states(world) == {PRIMARY: "On", RECOVERY: "Off"}
    assert not [c for c in run.attempts if c.operation.startswith("Update")]


def two_endpoints_down(world: Staging) -> None:
    arc(world)
    world.sandbox.faults.arc_endpoint_unreachable("us-east-1", account=world.account_id)
    world.sandbox.faults.arc_endpoint_unreachable("us-west-2", account=world.account_id)


def through_the_third(world: Staging, run: Run) -> None:
    activate = by_name(run, 0)
    assert {r.detail["setThrough"] for r in activate.values()} == {"eu-west-1"}
    assert states(world) == {PRIMARY: "Off", RECOVERY: "On"}


def unchanged(world: Staging, run: Run) -> None:
    assert states(world) == {PRIMARY: "On", RECOVERY: "Off", "failover-gate": "Off"}


class TestArcRoutingControlContract(ModuleContract):
    module = "arc-routing-control"
    cases = (
        Case(
            "failover-and-failback",
            (Phase("ACTIVATE", FAILOVER), Phase("REPLICATE", FAILOVER)),
            seed=arc,
            selector=SELECTOR,
            effect=states,
            check=failed_over_and_back,
        ),
        Case(
            "drill-reads-only",
            (Phase("ACTIVATE", FAILOVER), Phase("CLEANUP", FAILOVER)),
            drill=True,
            seed=arc,
            selector={"ids": [PRIMARY, RECOVERY]},
            effect=states,
            check=drill_read_only,
        ),
        Case(
            "endpoints-unreachable",
            (Phase("ACTIVATE", FAILOVER),),
            seed=two_endpoints_down,
            selector=SELECTOR,
            check=through_the_third,
            extra=True,
        ),
        Case(
            "safety-rule-refuses",
            (
                Phase(
                    "ACTIVATE",
                    FAILOVER,
                    expect="FAILED",
                    error="refused by a safety rule: ConflictException: Gating rule "
                    "failover-needs-the-gate",
                ),
            ),
            seed=lambda world: arc(world, gate="Off"),
            selector={"ids": [PRIMARY, RECOVERY]},
            check=unchanged,
            extra=True,
        ),
    )


MODULE = REGISTRY["arc-routing-control"]


def test_no_endpoint_answering_is_said_so_and_changes_nothing() -> None:
    def all_down(world: Staging) -> None:
        arc(world)
        world.sandbox.faults.arc_endpoint_unreachable(account=world.account_id)

    run = execute(
        MODULE, Case("all-down", (Phase("ACTIVATE", FAILOVER),), seed=all_down, selector=SELECTOR)
    )
    assert run.error is not None
    assert "no cluster endpoint answered" in str(run.error)
    assert "eu-west-1: unreachable (EndpointConnectionError)" in str(run.error)


def test_a_failback_without_a_recorded_failover_fails_and_says_so() -> None:
    run = execute(
        MODULE,
        Case(
            "no-record",
            (Phase("REPLICATE", FAILOVER, expect="FAILED"),),
            seed=arc,
            selector=SELECTOR,
        ),
    )
    errors = [r.error for r in run.phases[0].final.resources]
    assert all("nothing recorded" in e for e in errors), errors


def test_a_broken_safety_rule_can_be_overridden_when_the_manifest_says_so() -> None:
    def overridden(world: Staging) -> dict:
        session = world.sandbox.admin_session(world.account_id, world.region)
        config = session.client("route53-recovery-control-config", region_name="us-west-2")
        [panel] = config.list_control_panels()["ControlPanels"]
        rules = config.list_safety_rules(ControlPanelArn=panel["ControlPanelArn"])["SafetyRules"]
        return {
            "states": {PRIMARY: "Off", RECOVERY: "Off"},
            "safetyRulesToOverride": [r["ASSERTION"]["SafetyRuleArn"] for r in rules],
        }

    run = execute(
        MODULE,
        Case("override", (Phase("ACTIVATE", overridden),), seed=arc, selector=SELECTOR),
    )
    assert run.error is None, run.error
    assert {r.detail["state"] for r in run.phases[0].final.resources} == {"Off"}


def test_readiness_reports_the_cluster_and_its_panels() -> None:
    with staging(Case("readiness", (), seed=arc)) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        findings = MODULE.readiness(session, world.account_id, world.region)
    assert [(f.check, f.result, f.detail) for f in findings] == [
        ("ARC cluster acme-claims", "OK", "DEPLOYED; 5 endpoints; panels: claims-traffic")
    ]


def test_the_activate_of_a_failback_changes_no_routing_control() -> None:
    with staging(Case("failback-activate", (), seed=arc)) as world:
        ctx = dataclasses.replace(world.ctx(), operation="failback")
        controls = MODULE.discover(ctx, SELECTOR)
        state = MODULE.start(ctx, "ACTIVATE", controls, FAILOVER, False, "failback-key")
        result = MODULE.status(ctx, "ACTIVATE", state)
        assert states(world) == {PRIMARY: "On", RECOVERY: "Off"}
    assert result.status == "SUCCEEDED"
    assert {r.status for r in result.resources} == {"SKIPPED"}
    assert not [c for c in world.recorder.calls if c.operation.startswith("Update")]
