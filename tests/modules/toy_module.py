"""A toy module that lives only in the test tree: SQS queues.

It proves that the registry is the only list of modules (registered by a fixture, it
shows up in the staging IAM, ``accounts verify``, ``manifest convert`` and the plan
with no other file changing) and it is the contract kit's own subject: variants of
it with a missing grant, a disruptive drill or a repeated write must fail the kit.

ACTIVATE sets the queue's visibility timeout (in a failover) and tags the queue with
the idempotency key; a drill only tags it. A retried start finds the tag and does
nothing. ``status`` reads the queue's attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    SUCCEEDED,
    AccountContext,
    Discovered,
    Module,
    ModuleIam,
    Probe,
    Resource,
    ResourceResult,
    StatusResult,
    always,
    arns,
    in_regions,
    raise_if_fatal,
    selector_field,
    statement,
    tags_match,
)

TAG = "drorch:toy-key"
RESOURCE_TYPE = "sqs:queue"


class ToyModule(Module):
    type = "toy"
    kind = "resource"
    summary = "Toy: SQS queues (test tree only)"
    drill = "Tags the queue only; never changes its attributes."
    aliases = ("ToyQueue", "toy_queue")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "the queue's name"
    phases = ("ACTIVATE",)
    drill_safe_phases = frozenset({"ACTIVATE"})
    disruptive_calls = {"SetQueueAttributes": always}
    probes = (Probe("sqs:ListQueues", "sqs", "list_queues", {"MaxResults": 1}),)
    parameters_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "visibilityTimeout": {"type": "integer", "minimum": 0, "maximum": 43200, "default": 30}
        },
    }

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        queues = arns("sqs", account_id, regions, "*")
        return ModuleIam(
            read=[
                statement("ToyList", ["sqs:ListQueues"], "*", condition=in_regions(regions)),
                statement("ToyRead", ["sqs:ListQueueTags", "sqs:GetQueueAttributes"], queues),
            ],
            drill_safe=[statement("ToyTag", ["sqs:TagQueue"], queues)],
            write=[statement("ToyConfigure", ["sqs:SetQueueAttributes"], queues)],
        )

    def _sqs(self, ctx: AccountContext, drill: bool) -> Any:
        return ctx.client("sqs", guard=self.drill_guard(drill))

    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        sqs = self._sqs(ctx, False)
        wanted_tags = selector_field(selector, "tags")
        ids = set(selector_field(selector, "ids"))
        found = []
        try:
            for url in sqs.list_queues().get("QueueUrls", []):
                name = url.rsplit("/", 1)[-1]
                tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
                if (ids and name not in ids) or not tags_match(tags, wanted_tags):
                    continue
                arn = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:{name}"
                found.append(
                    Resource(url, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                )
        except ClientError as exc:
            raise_if_fatal(exc, ctx, "listing queues")
            raise
        return Discovered(found)

    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        self.check_phase(phase, drill)
        params = self.validate_parameters(params)
        sqs = self._sqs(ctx, drill)
        try:
            for resource in resources:
                if self.already_done(sqs, resource, idempotency_key):
                    continue
                self.act(sqs, resource, params, drill)
                sqs.tag_queue(QueueUrl=resource.id, Tags={TAG: idempotency_key})
        except ClientError as exc:
            raise_if_fatal(exc, ctx, "configuring queues")
            raise
        return {"queues": {r.id: r.name for r in resources}, "drill": drill}

    def already_done(self, sqs: Any, resource: Resource, key: str) -> bool:
        return sqs.list_queue_tags(QueueUrl=resource.id).get("Tags", {}).get(TAG) == key

    def act(self, sqs: Any, resource: Resource, params: dict[str, Any], drill: bool) -> None:
        if not drill:
            sqs.set_queue_attributes(
                QueueUrl=resource.id,
                Attributes={"VisibilityTimeout": str(params["visibilityTimeout"])},
            )

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        sqs = self._sqs(ctx, bool(state.get("drill")))
        results = []
        for url, name in sorted(state["queues"].items()):
            try:
                attributes = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["VisibilityTimeout"]
                )["Attributes"]
            except ClientError as exc:
                raise_if_fatal(exc, ctx, f"reading queue {name}")
                raise
            results.append(ResourceResult(url, name, SUCCEEDED, dict(attributes)))
        return StatusResult(SUCCEEDED, results, state)
