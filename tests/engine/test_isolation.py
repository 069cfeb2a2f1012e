"""failurePolicy isolate: which waves a failure blocks (directly, through a blocked wave, in a
later phase), and why the execution then fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drorch.engine import isolation

# data -> app -> reports; web depends on data only
PLAN = {
    "waves": {
        "data": {"failurePolicy": "isolate", "dependsOn": []},
        "app": {"failurePolicy": "isolate", "dependsOn": ["data"]},
        "web": {"failurePolicy": "isolate", "dependsOn": ["data"]},
        "reports": {"failurePolicy": "isolate", "dependsOn": ["app"]},
        "audit": {"failurePolicy": "stop", "dependsOn": ["web"]},
    }
}


@dataclass
class History:
    items: list[dict[str, Any]] = field(default_factory=list)

    def waves(self, execution_id: str, phase: str | None = None) -> list[dict[str, Any]]:
        return [w for w in self.items if phase is None or w["phase"] == phase]


@dataclass
class Engine:
    history: History


def wave(name: str, status: str, phase: str = "ACTIVATE", **extra: Any) -> dict[str, Any]:
    return {"wave": name, "phase": phase, "status": status, **extra}


def test_a_failed_wave_blocks_its_dependents_only():
    engine = Engine(History([wave("data", "SUCCEEDED"), wave("app", "FAILED")]))
    blocked = isolation.blocked_waves(engine, "x", PLAN, ["web", "reports"])
    assert list(blocked) == ["reports"]
    assert blocked["reports"] == {
        "reason": "depends on wave 'app' failed in ACTIVATE",
        "roots": ["app"],
    }


def test_a_blocked_wave_blocks_its_own_dependents_naming_the_failed_one():
    engine = Engine(
        History(
            [
                wave("web", "FAILED"),
                wave("app", "BLOCKED", blockedBy=["data"]),
            ]
        )
    )
    blocked = isolation.blocked_waves(engine, "x", PLAN, ["reports", "audit"])
    assert blocked["reports"]["roots"] == ["data"]
    assert "is blocked (wave data failed)" in blocked["reports"]["reason"]
    assert blocked["audit"]["roots"] == ["web"]


def test_a_wave_that_failed_in_an_earlier_phase_is_blocked_in_the_later_ones():
    engine = Engine(History([wave("app", "FAILED", phase="INSTANTIATE")]))
    blocked = isolation.blocked_waves(engine, "x", PLAN, ["app", "web"])
    assert list(blocked) == ["app"]
    assert blocked["app"]["reason"] == "wave 'app' failed in INSTANTIATE"


def test_a_failure_under_another_policy_blocks_nothing():
    plan = {"waves": {**PLAN["waves"], "app": {"failurePolicy": "continue", "dependsOn": []}}}
    engine = Engine(History([wave("app", "FAILED")]))
    assert isolation.blocked_waves(engine, "x", plan, ["reports"]) == {}
    no_isolation = {"waves": {"app": {"failurePolicy": "stop", "dependsOn": []}}}
    assert isolation.blocked_waves(engine, "x", no_isolation, ["app"]) == {}


def test_the_outcome_names_failed_and_blocked_waves():
    engine = Engine(
        History(
            [
                wave("app", "FAILED", failures=["app-servers in 2222: FAILED boot volume"]),
                wave("reports", "BLOCKED", reason="depends on wave 'app' failed in ACTIVATE"),
                wave("web", "SUCCEEDED"),
            ]
        )
    )
    text = isolation.outcome(engine, "x", PLAN)
    assert text == (
        "isolated failure: wave app (ACTIVATE): app-servers in 2222: FAILED boot volume"
        " || blocked: reports (ACTIVATE) depends on wave 'app' failed in ACTIVATE"
    )
    assert isolation.outcome(Engine(History([wave("web", "SUCCEEDED")])), "x", PLAN) is None
