"""The contract kit on the toy module, and the kit's own proof that it can fail: variants
of the toy with a missing grant, a disruptive drill, a repeated write or a clashing
alias are each caught, naming what is wrong."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from drorch.modules.base import ModuleIam
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Staging,
    check_declarations,
    check_denied,
    check_drill,
    check_iam,
    check_retry,
    execute,
)
from tests.modules.toy_module import TAG, ToyModule


def queues(world: Staging) -> None:
    sqs = world.admin("sqs")
    for name in ("orders", "invoices"):
        sqs.create_queue(QueueName=name, tags={"app": "claims"})
    sqs.create_queue(QueueName="unrelated")


def tagged(world: Staging) -> list[str]:
    """The queues the toy has marked (what a retried start must not change)."""
    sqs = world.admin("sqs")
    return sorted(
        url
        for url in sqs.list_queues()["QueueUrls"]
        if TAG in sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
    )


def timeouts(world: Staging, run) -> None:
    sqs = world.admin("sqs")
    expected = "30" if run.case.drill else "90"
    for resource in run.resources:
        attributes = sqs.get_queue_attributes(
            QueueUrl=resource.id, AttributeNames=["VisibilityTimeout"]
        )["Attributes"]
        assert attributes["VisibilityTimeout"] == expected, (resource.name, attributes)
    assert sorted(r.name for r in run.resources) == ["invoices", "orders"]


FAILOVER = Case(
    "failover",
    phases=(Phase("ACTIVATE", {"visibilityTimeout": 90}),),
    seed=queues,
    selector={"tags": {"app": "claims"}},
    writes=(("sqs", "SetQueueAttributes"), ("sqs", "TagQueue")),
    effect=tagged,
    check=timeouts,
)
DRILL = Case(
    "drill",
    phases=(Phase("ACTIVATE", {"visibilityTimeout": 90}),),
    drill=True,
    seed=queues,
    selector={"tags": {"app": "claims"}},
    writes=(("sqs", "TagQueue"),),
    effect=tagged,
    check=timeouts,
)


class TestToyContract(ModuleContract):
    cases = (FAILOVER, DRILL)

    def module_under_test(self) -> ToyModule:
        return ToyModule()


# --- the kit fails when it should --------------------------------------------------------


class WithoutTagGrant(ToyModule):
    def iam(self, account_id, regions) -> ModuleIam:
        full = super().iam(account_id, regions)
        return ModuleIam(read=full.read, drill_safe=[], write=full.write)


class DisruptiveDrill(ToyModule):
    def act(self, sqs, resource, params, drill) -> None:
        super().act(sqs, resource, params, drill=False)  # ignores the drill


class ForgetfulRetry(ToyModule):
    def already_done(self, sqs, resource, key) -> bool:
        return False


class SwallowsErrors(ToyModule):
    def act(self, sqs, resource, params, drill) -> None:
        try:
            super().act(sqs, resource, params, drill)
        except ClientError:
            pass  # the bug: a denied call goes unnoticed


class ClashingAlias(ToyModule):
    aliases = ("ToyQueue", "SSMAutomation")


def test_a_missing_grant_fails_naming_the_action() -> None:
    run = execute(WithoutTagGrant(), FAILOVER)
    with pytest.raises(AssertionError, match=r"sqs:TagQueue .*no statement allows sqs:TagQueue"):
        check_iam(WithoutTagGrant(), run)


def test_a_disruptive_call_in_a_drill_fails_naming_it() -> None:
    run = execute(DisruptiveDrill(), DRILL)
    with pytest.raises(AssertionError, match=r"disruptive call\(s\) in a drill: sqs:SetQueueAttr"):
        check_drill(DisruptiveDrill(), run)


def test_a_repeated_write_fails_naming_it() -> None:
    with pytest.raises(AssertionError, match="the retried start made sqs:SetQueueAttributes again"):
        check_retry(ForgetfulRetry(), FAILOVER)


def test_a_swallowed_access_denied_fails_naming_it() -> None:
    with pytest.raises(AssertionError, match="denied sqs:SetQueueAttributes, yet the case ran"):
        check_denied(SwallowsErrors(), FAILOVER, "sqs", "SetQueueAttributes")


def test_an_alias_of_another_module_fails() -> None:
    with pytest.raises(
        AssertionError, match=r"\['ssmautomation'\] is also a name of ssm-automation"
    ):
        check_declarations(ClashingAlias())
