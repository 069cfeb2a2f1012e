"""The wait step: the engine's Wait state waits; the module only reads the engine's clock."""

from __future__ import annotations

from drorch.modules import REGISTRY
from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging, staging

WAIT = Phase("ACTIVATE", {"seconds": 300}, poll_seconds=1)


def waited_once(world: Staging, run: Run) -> None:
    [phase] = run.phases
    assert phase.started["waitSeconds"] == 300  # the executor's Wait state waits this long
    assert [r.status for r in phase.results] == ["SUCCEEDED"]  # one status call, then done


class TestWaitContract(ModuleContract):
    module = "wait"
    cases = (
        Case("failover", (WAIT,), selector={"ids": ["dns-ttl"]}, check=waited_once),
        Case("drill", (WAIT,), drill=True, selector={"ids": ["dns-ttl"]}, check=waited_once),
    )


def test_running_until_the_clock_passes_with_the_time_left_in_the_state() -> None:
    module = REGISTRY["wait"]
    case = Case("direct", (WAIT,))
    with staging(case) as world:
        [step] = module.discover(world.ctx(), {"ids": ["dns-ttl"]})
        state = module.start(world.ctx(), "ACTIVATE", [step], {"seconds": 300}, False, "k")
        world.sandbox.advance(100)
        early = module.status(world.ctx(), "ACTIVATE", state)
        assert early.status == "RUNNING"
        assert early.state["waitSeconds"] == 200
        world.sandbox.advance(199)
        assert module.status(world.ctx(), "ACTIVATE", early.state).state["waitSeconds"] == 1
        world.sandbox.advance(1)
        done = module.status(world.ctx(), "ACTIVATE", early.state)
        assert done.status == "SUCCEEDED" and done.state["waitSeconds"] is None
        assert world.recorder.calls == []
