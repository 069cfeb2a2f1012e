"""eventbridge-archive against the sandbox's EventBridge (moto archives and replays, with
the module's extension giving replays a duration on the simulated clock).

The world, in us-east-2 (the recovery region, where every case runs): the custom bus
``claims`` (tagged), its archive ``claims-events`` holding 3 events, the production rule
``claims-handler`` and the drill-only rule ``drorch-drill-claims-audit`` on that bus.
"""

from __future__ import annotations

import pytest

from drorch.errors import InputError
from drorch.modules import REGISTRY
from drorch.modules.eventbridge_archive.adapter import replay_name
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    discover,
    staging,
)

ARCHIVE, BUS = "claims-events", "claims"
TAGS = {"dr:enabled": "true", "Application": "claims"}
ACCOUNT_ID, REGION = "111111111111", "us-east-2"
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{BUS}"
DRILL_RULE = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{BUS}/drorch-drill-claims-audit"
REPLAY = {"minutesBeforeNow": 60, "destinationEventBusArn": BUS_ARN}


def archive(world: Staging) -> None:
    ctx = SeedContext(
        world.sandbox.admin_session(world.account_id, world.region), world.account_id, world.region
    )
    common = {"account": world.account.name, "tags": TAGS}
    for rule in ("claims-handler", "drorch-drill-claims-audit"):
        world.admin("sqs").create_queue(QueueName=rule)  # the rules' targets
        seed_resource(
            ctx,
            {
                **common,
                "type": "eventbridge-rule",
                "name": rule,
                "eventBus": BUS,
                "eventPattern": {"source": ["acme.claims"]},
                "targets": [{"id": "q", "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{rule}"}],
            },
        )
    seed_resource(
        ctx,
        {
            **common,
            "type": "eventbridge-archive",
            "name": ARCHIVE,
            "eventBus": BUS,
            "retentionDays": 7,
            "sampleEvents": 3,
        },
    )


def replays(world: Staging) -> list[str]:
    return sorted(r["ReplayName"] for r in world.admin("events").list_replays()["Replays"])


def replayed(world: Staging, run: Run) -> None:
    [verified] = run.phases[0].final.resources
    assert verified.detail["eventCount"] == 3
    [activate] = run.phases[1].final.resources
    assert activate.detail["replayState"] == "COMPLETED"
    assert activate.detail["replay"].startswith("drorch-") and activate.detail["replay"].endswith(
        ARCHIVE
    )
    assert activate.detail["destination"] == {"Arn": BUS_ARN}
    assert len(run.phases[1].results) > 2  # STARTING, RUNNING, then COMPLETED
    assert replays(world) == [activate.detail["replay"]]


def drilled(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.detail["destination"] == {"Arn": BUS_ARN, "FilterArns": [DRILL_RULE]}


def verified_only(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert "verified only" in activate.detail["note"]
    assert replays(world) == []


def failing(world: Staging) -> None:
    archive(world)
    world.sandbox.faults.fail_replay(ARCHIVE, reason="Events could not be delivered")


class TestEventBridgeArchiveContract(ModuleContract):
    module = "eventbridge-archive"
    cases = (
        Case(
            "failover-replay",
            (Phase("INSTANTIATE"), Phase("ACTIVATE", REPLAY), Phase("CLEANUP")),
            seed=archive,
            selector={"tags": {"Application": "claims"}},
            writes=(("events", "StartReplay"),),
            effect=replays,
            check=replayed,
        ),
        Case(
            "drill-to-drill-rules",
            (Phase("ACTIVATE", {**REPLAY, "drillRuleArns": [DRILL_RULE]}),),
            drill=True,
            seed=archive,
            selector={"ids": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:archive/{ARCHIVE}"]},
            writes=(("events", "StartReplay"),),
            effect=replays,
            check=drilled,
        ),
        Case(
            "drill-verifies-only",
            (Phase("ACTIVATE", REPLAY),),
            drill=True,
            seed=archive,
            selector={"ids": [ARCHIVE]},
            check=verified_only,
        ),
        Case(
            "replay-fails",
            (
                Phase(
                    "ACTIVATE",
                    {"minutesBeforeNow": 30},
                    expect="FAILED",
                    error="ended FAILED: Events could not be delivered",
                ),
            ),
            seed=failing,
            selector={"ids": [ARCHIVE]},
            extra=True,
        ),
        Case(
            "window-beyond-retention",
            (
                Phase(
                    "ACTIVATE",
                    {"minutesBeforeNow": 60 * 24 * 10},
                    expect="FAILED",
                    error="before the archive's retention of 7 days",
                ),
            ),
            seed=archive,
            selector={"ids": [ARCHIVE]},
            extra=True,
        ),
    )


def test_replay_names_fit_the_model() -> None:
    name = replay_name("exec-1:ACTIVATE:group:111111111111", "a" * 48)
    assert len(name) == 64 and name.startswith("drorch-")
    assert replay_name("k", ARCHIVE) == replay_name("k", ARCHIVE) != replay_name("k2", ARCHIVE)


def test_a_replay_without_a_window_is_a_clear_input_error() -> None:
    module = REGISTRY["eventbridge-archive"]
    case = Case("no-window", (Phase("ACTIVATE"),), seed=archive, selector={"ids": [ARCHIVE]})
    with staging(case) as world:
        resources = discover(module, world, case)
        with pytest.raises(InputError, match="a replay needs a window"):
            module.start(world.ctx(), "ACTIVATE", resources, {}, False, "k")
        assert replays(world) == []


@pytest.mark.parametrize(
    ("destination", "disruptive"),
    [
        ({"Arn": BUS_ARN}, True),
        ({"Arn": BUS_ARN, "FilterArns": [DRILL_RULE]}, False),
        (
            {"Arn": BUS_ARN, "FilterArns": [DRILL_RULE, DRILL_RULE.replace("drorch-drill-", "")]},
            True,
        ),
    ],
)
def test_the_drill_guard_lets_only_replays_to_drill_rules_through(
    destination: dict, disruptive: bool
) -> None:
    module = REGISTRY["eventbridge-archive"]
    assert module.is_disruptive("StartReplay", {"Destination": destination}) is disruptive
