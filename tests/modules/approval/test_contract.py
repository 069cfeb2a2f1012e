"""The approval step: a gate the executor answers; the decision in the state is the outcome."""

from __future__ import annotations

from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging

ASK = {
    "message": "Databases promoted?",
    "approvers": ["dr-lead@acme.example"],
    "timeoutMinutes": 30,
}


def asked_and_decided(decision: str):
    def check(world: Staging, run: Run) -> None:
        [phase] = run.phases
        assert phase.started["gate"] == {
            "message": "Databases promoted?",
            "approvers": ["dr-lead@acme.example"],
            "timeoutMinutes": 30,
        }
        [result] = phase.final.resources
        assert result.detail["decision"] == decision

    return check


class TestApprovalContract(ModuleContract):
    module = "approval"
    cases = (
        Case(
            "approved",
            (Phase("ACTIVATE", ASK, decision={"decision": "approved", "decidedBy": "dr-lead"}),),
            selector={"ids": ["databases-ok"]},
            check=asked_and_decided("approved"),
        ),
        Case(
            "approved-in-a-drill",
            (Phase("ACTIVATE", ASK, decision={"decision": "approved", "decidedBy": "dr-lead"}),),
            drill=True,
            selector={"ids": ["databases-ok"]},
            check=asked_and_decided("approved"),
        ),
        Case(
            "rejected",
            (
                Phase(
                    "ACTIVATE",
                    ASK,
                    expect="FAILED",
                    error="approval rejected: replication lag too high",
                    decision={"Error": "GateRejected", "Cause": "replication lag too high"},
                ),
            ),
            selector={"ids": ["databases-ok"]},
            check=asked_and_decided("rejected"),
            extra=True,
        ),
        Case(
            "timed-out",
            (
                Phase(
                    "ACTIVATE",
                    ASK,
                    expect="FAILED",
                    error="approval timed out",
                    decision={"Error": "States.Timeout", "Cause": ""},
                ),
            ),
            selector={"ids": ["databases-ok"]},
            check=asked_and_decided("timed out"),
            extra=True,
        ),
    )
