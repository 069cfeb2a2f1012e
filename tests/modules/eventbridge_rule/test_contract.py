"""eventbridge-rule against the sandbox's EventBridge (moto), in both regions of the account.

The world: the scheduled rule ``nightly-batch`` and the pattern rule ``orders/claims-intake``
(custom bus ``orders``), ENABLED in us-east-1 (the account's source region) and DISABLED
standbys in us-east-2 (the recovery region, where every case runs), each with a target in
its own region; and a drill-only rule ``drorch-drill-nightly-batch`` (DISABLED) in us-east-2.
"""

from __future__ import annotations

from typing import Any

import pytest

from drorch.modules import REGISTRY, ModuleIam
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
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

SOURCE = "us-east-1"
TAGS = {"dr:enabled": "true", "Application": "claims"}
BATCH, INTAKE, DRILL = "nightly-batch", "orders/claims-intake", "drorch-drill-nightly-batch"
FAILOVER = {"sourceRegion": SOURCE}


def _seed(world: Staging, region: str, state: str, **extra: Any) -> None:
    session = world.sandbox.admin_session(world.account_id, region)
    ctx = SeedContext(session, world.account_id, region)
    queue = f"arn:aws:sqs:{region}:{world.account_id}:claims"
    for spec in (
        {"name": BATCH, "schedule": "cron(0 2 * * ? *)"},
        {"name": "claims-intake", "eventBus": "orders", "eventPattern": {"source": ["acme"]}},
    ):
        seed_resource(
            ctx,
            {
                "account": world.account.name,
                "type": "eventbridge-rule",
                "state": state,
                "targets": [{"id": "queue", "arn": queue}],
                "tags": TAGS,
                **spec,
                **extra,
            },
        )


def rules(world: Staging) -> None:
    _seed(world, SOURCE, "ENABLED")
    _seed(world, world.region, "DISABLED")
    seed_resource(
        SeedContext(
            world.sandbox.admin_session(world.account_id, world.region),
            world.account_id,
            world.region,
        ),
        {
            "account": world.account.name,
            "type": "eventbridge-rule",
            "name": DRILL,
            "schedule": "rate(1 hour)",
            "state": "DISABLED",
            "targets": [
                {"id": "log", "arn": f"arn:aws:sqs:{world.region}:{world.account_id}:drill"}
            ],
        },
    )


def states(world: Staging, region: str | None = None) -> dict[str, str]:
    client = world.sandbox.admin_session(world.account_id, region or world.region).client("events")
    found = {}
    for bus in ("default", "orders"):
        for rule in client.list_rules(EventBusName=bus)["Rules"]:
            found[rule["Name"] if bus == "default" else f"{bus}/{rule['Name']}"] = rule["State"]
    return found


def both(world: Staging) -> tuple[dict[str, str], dict[str, str]]:
    return states(world), states(world, SOURCE)


STANDBY = {BATCH: "DISABLED", INTAKE: "DISABLED", DRILL: "DISABLED"}
LIVE = {BATCH: "ENABLED", INTAKE: "ENABLED"}


def failed_over_and_back(world: Staging, run: Run) -> None:
    activate = {r.id: r for r in run.phases[1].final.resources}
    assert activate[BATCH].detail["before"] == {
        "state": "DISABLED",
        "sourceRegion": SOURCE,
        "sourceState": "ENABLED",
    }
    assert activate[INTAKE].detail["source"] == {"region": SOURCE, "state": "DISABLED"}
    cleanup = {r.id: r for r in run.phases[2].final.resources}
    assert cleanup[BATCH].status == "SUCCEEDED" and cleanup[BATCH].detail["state"] == "DISABLED"
    assert both(world) == (STANDBY, LIVE)  # CLEANUP put both regions back


def drilled(world: Staging, run: Run) -> None:
    activate = {r.id: r for r in run.phases[0].final.resources}
    assert "verified only" in activate[BATCH].detail["note"]
    assert activate[DRILL].detail["before"] == {"state": "DISABLED"}
    assert activate[DRILL].detail["state"] == "ENABLED"
    cleanup = {r.id: r for r in run.phases[1].final.resources}
    assert cleanup[BATCH].status == "SKIPPED"
    assert cleanup[DRILL].detail["state"] == "DISABLED"
    assert both(world) == (STANDBY, LIVE)
    assert not [c for c in run.calls if c.region == SOURCE]  # never the source region


def source_down(world: Staging) -> None:
    rules(world)
    world.sandbox.faults.deny("events", "DisableRule", region=SOURCE)


def source_gone(world: Staging) -> None:
    rules(world)
    world.sandbox.faults.blackhole_region(SOURCE)


def enabled_with_the_source_unreachable(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.detail["state"] == "ENABLED"
    assert activate.detail["source"]["problem"].startswith("us-east-1 unreachable")
    assert activate.detail["before"] == {"state": "DISABLED"}  # nothing there to restore
    world.sandbox.faults.clear()
    assert states(world)[BATCH] == "ENABLED"
    assert states(world, SOURCE)[BATCH] == "ENABLED"


def enabled_despite_the_source(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.status == "SUCCEEDED"
    assert "DisableRule in us-east-1 failed" in activate.detail["source"]["problem"]
    assert states(world)[BATCH] == "ENABLED"
    assert states(world, SOURCE)[BATCH] == "ENABLED"


class BothRegions:
    """The module as the staging stack deploys it: granted in the source and recovery regions."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.type = module.type

    def iam(self, account_id: str, regions: list[str]) -> ModuleIam:
        return self.module.iam(account_id, [*regions, SOURCE])


class TestEventBridgeRuleContract(ModuleContract):
    module = "eventbridge-rule"
    cases = (
        Case(
            "failover-then-cleanup",
            (
                Phase("INSTANTIATE"),
                Phase("ACTIVATE", FAILOVER),
                Phase("CLEANUP"),
            ),
            seed=rules,
            selector={"tags": {"Application": "claims"}},
            writes=(("events", "EnableRule"), ("events", "DisableRule")),
            effect=both,
            check=failed_over_and_back,
        ),
        Case(
            "drill",
            (Phase("ACTIVATE", {"drillRules": [DRILL]}), Phase("CLEANUP")),
            drill=True,
            seed=rules,
            selector={
                "ids": [BATCH, DRILL, f"arn:aws:events:us-east-2:111111111111:rule/{INTAKE}"]
            },
            writes=(("events", "EnableRule"), ("events", "DisableRule")),
            effect=both,
            check=drilled,
        ),
        Case(
            "source-region-refuses",
            (Phase("ACTIVATE", FAILOVER),),
            seed=source_down,
            selector={"ids": [BATCH]},
            check=enabled_despite_the_source,
            extra=True,
        ),
        Case(
            "source-region-unreachable",
            (Phase("ACTIVATE", FAILOVER),),
            seed=source_gone,
            selector={"ids": [BATCH]},
            check=enabled_with_the_source_unreachable,
            extra=True,
        ),
        Case(
            "source-region-refuses-and-is-required",
            (
                Phase(
                    "ACTIVATE",
                    {**FAILOVER, "sourceDisable": "required"},
                    expect="FAILED",
                    error="the source-region rule was not switched",
                ),
            ),
            seed=source_down,
            selector={"ids": [BATCH]},
            extra=True,
        ),
    )

    def test_iam_covers_every_call(self, case: Case) -> None:
        check_iam(BothRegions(self.module_under_test()), self.run(case))  # type: ignore[arg-type]


def test_cleanup_without_a_recorded_run_leaves_the_rule_alone() -> None:
    module = REGISTRY["eventbridge-rule"]
    case = Case("unrecorded", (Phase("CLEANUP"),), seed=rules, selector={"ids": [BATCH]})
    with staging(case) as world:
        resources = discover(module, world, case)
        state = module.start(world.ctx(), "CLEANUP", resources, {}, False, idempotency_key("C"))
        result = module.status(world.ctx(), "CLEANUP", state)
        assert result.status == "SUCCEEDED"
        [rule] = result.resources
        assert rule.status == "SKIPPED" and "no earlier run recorded it" in rule.detail["note"]
        assert states(world)[BATCH] == "DISABLED"


def test_a_rule_without_targets_fails_verification() -> None:
    module = REGISTRY["eventbridge-rule"]

    def bare(world: Staging) -> None:
        world.admin("events").put_rule(Name="bare", ScheduleExpression="rate(1 hour)")

    case = Case("bare", (Phase("INSTANTIATE"),), seed=bare, selector={"ids": ["bare"]})
    with staging(case) as world:
        resources = discover(module, world, case)
        state = module.start(world.ctx(), "INSTANTIATE", resources, {}, False, "k")
        [rule] = module.status(world.ctx(), "INSTANTIATE", state).resources
    assert rule.status == "FAILED" and rule.error == "the rule has no targets"


@pytest.mark.parametrize(
    ("operation", "name", "disruptive"),
    [
        ("EnableRule", BATCH, True),
        ("DisableRule", BATCH, True),
        ("EnableRule", DRILL, False),
        ("PutRule", DRILL, True),
    ],
)
def test_the_drill_guard(operation: str, name: str, disruptive: bool) -> None:
    assert REGISTRY["eventbridge-rule"].is_disruptive(operation, {"Name": name}) is disruptive


def test_a_source_region_that_keeps_failing_never_holds_up_the_recovery_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)  # botocore's backoff
    module = REGISTRY["eventbridge-rule"]
    case = Case("source-throttled", (Phase("ACTIVATE"),), seed=rules, selector={"ids": [BATCH]})
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("events", times=None, region=SOURCE)
        state = module.start(world.ctx(), "ACTIVATE", resources, FAILOVER, False, "k")
        result = module.status(world.ctx(), "ACTIVATE", state)
        world.sandbox.faults.clear()
        assert result.status == "SUCCEEDED"
        [rule] = result.resources
        assert rule.detail["state"] == "ENABLED"
        assert rule.detail["source"]["problem"].startswith("us-east-1 answered ThrottlingException")
        assert "sourceState" not in rule.detail["before"]  # nothing recorded there to restore
        assert states(world)[BATCH] == "ENABLED"
        assert states(world, SOURCE)[BATCH] == "ENABLED"
