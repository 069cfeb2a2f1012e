"""The DRS module in the sandbox's DRS (three-tier scenario, staging-web's web tier)."""

from __future__ import annotations

from tests.modules.conftest import LAUNCH_SECONDS
from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging

WEB = {"tags": {"Tier": "web"}}
ACTIVATE = Phase("ACTIVATE", poll_seconds=LAUNCH_SECONDS / 3, max_polls=20)
CLEANUP = Phase("CLEANUP", poll_seconds=60, max_polls=20)


def jobs(world: Staging) -> list[str]:
    return sorted(job["jobID"] for job in world.admin("drs").describe_jobs()["items"])


def launched(drill: bool):
    def check(world: Staging, run: Run) -> None:
        activate = run.phases[0].final
        assert [r.name for r in activate.resources] == ["acme-web-01", "acme-web-02", "acme-web-03"]
        assert all(r.detail["isDrill"] is drill for r in activate.resources)
        instances = world.admin("drs").describe_recovery_instances()["items"]
        assert len(instances) == (0 if drill else 3)  # a drill's are terminated by CLEANUP

    return check


class TestDrsContract(ModuleContract):
    module = "drs"
    cases = (
        Case(
            "drill",
            (ACTIVATE, CLEANUP),
            drill=True,
            scenario="three-tier",
            selector=WEB,
            writes=(("drs", "StartRecovery"), ("drs", "TerminateRecoveryInstances")),
            effect=jobs,
            check=launched(True),
        ),
        Case(
            "failover",
            (ACTIVATE,),
            scenario="three-tier",
            selector=WEB,
            writes=(("drs", "StartRecovery"),),
            effect=jobs,
            check=launched(False),
        ),
    )
