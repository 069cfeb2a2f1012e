"""The ``ssm-command`` step: SSM Run Command on instances, with a result per instance.

start: ``SendCommand`` to ``instanceIds`` or to the instances tagged ``targetTags``.
SendCommand has no client token, so the command's ``Comment`` carries a tag made
from the idempotency key and a retried start finds the command it already sent
(``ListCommands``). status: ``ListCommandInvocations`` until every instance's
invocation is terminal; each instance is a result of its own (its standard error
is read with ``GetCommandInvocation`` when it fails).

Drill: a command changes instances, so the step does not run in a drill unless the
manifest says ``runInDrill: true``; then ``drillParameters`` replace the matching
parameters. drorch itself changes nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    AccountContext,
    ModuleIam,
    Probe,
    Resource,
    ResourceResult,
    StatusResult,
    aggregate_status,
    arns,
    in_regions,
    load_schema,
    statement,
)
from drorch.modules.steps import StepModule, short_key, step_name

DONE_OK = frozenset({"Success"})
DONE_FAILED = frozenset({"Cancelled", "TimedOut", "Failed"})
COMMAND_FAILED = frozenset({"Cancelled", "TimedOut", "Failed"})
LOOKBACK_PAGES = 5
ERROR_CHARS = 500


class SsmCommandStep(StepModule):
    type = "ssm-command"
    parameters_schema = load_schema(Path(__file__).with_name("parameters.json"))
    summary = "Run an SSM Command document (Run Command) on instances, result per instance"
    drill = (
        "Skipped in a drill unless the action says runInDrill: true; then drillParameters "
        "replace the matching parameters (e.g. to target drill instances)."
    )
    aliases = ("SSMCommand", "ssm_command", "RunCommand")
    probes = (Probe("ssm:ListCommands", "ssm", "list_commands", {"MaxResults": 1}),)
    sandbox_extension = "drorch.modules.ssm_command.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return ModuleIam(
            read=[
                statement(
                    "SsmCommandRead",
                    ["ssm:ListCommands", "ssm:ListCommandInvocations", "ssm:GetCommandInvocation"],
                    "*",
                    condition=in_regions(regions),
                )
            ],
            drill_safe=[
                statement(
                    "SsmSendCommand",
                    ["ssm:SendCommand"],
                    arns("ssm", account_id, regions, "document/*", "managed-instance/*")
                    + [f"arn:aws:ssm:{r}::document/*" for r in sorted(set(regions))]
                    + arns("ec2", account_id, regions, "instance/*"),
                )
            ],
        )

    def _find(self, ssm: Any, comment: str) -> str | None:
        pages = ssm.get_paginator("list_commands").paginate(PaginationConfig={"PageSize": 50})
        for number, page in enumerate(pages):
            for command in page.get("Commands", []):
                if command.get("Comment") == comment:
                    return command["CommandId"]
            if number + 1 >= LOOKBACK_PAGES:
                break
        return None

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
        values = dict(params.get("parameters") or {})
        if drill:
            values.update(params.get("drillParameters") or {})
        comment = short_key(idempotency_key)
        request: dict[str, Any] = {
            "DocumentName": params.get("documentName", "AWS-RunShellScript"),
            "Parameters": values,
            "TimeoutSeconds": int(params.get("timeoutSeconds", 600)),
            "Comment": comment,
        }
        if params.get("documentVersion"):
            request["DocumentVersion"] = params["documentVersion"]
        if params.get("instanceIds"):
            request["InstanceIds"] = list(params["instanceIds"])
        else:
            request["Targets"] = [
                {"Key": f"tag:{k}", "Values": [v]} for k, v in sorted(params["targetTags"].items())
            ]
        state: dict[str, Any] = {
            "name": step_name(resources, self.type),
            "document": request["DocumentName"],
        }
        ssm = ctx.client("ssm")
        try:
            state["commandId"] = (
                self._find(ssm, comment) or ssm.send_command(**request)["Command"]["CommandId"]
            )
        except ClientError as exc:
            state["error"] = self.fail_on(exc, ctx, f"sending {request['DocumentName']}")
        return state

    def _stderr(self, ssm: Any, command_id: str, instance_id: str) -> str:
        try:
            answer = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ClientError:
            return ""
        text = answer.get("StandardErrorContent") or answer.get("StandardOutputContent") or ""
        return text.strip()[:ERROR_CHARS]

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        detail: dict[str, Any] = {"document": state["document"]}
        if state.get("error"):
            return self.one(state, FAILED, detail, state["error"])
        detail["commandId"] = state["commandId"]
        ssm = ctx.client("ssm")
        try:
            invocations = [
                item
                for page in ssm.get_paginator("list_command_invocations").paginate(
                    CommandId=state["commandId"]
                )
                for item in page.get("CommandInvocations", [])
            ]
            if not invocations:
                command = ssm.list_commands(CommandId=state["commandId"])["Commands"][0]
        except ClientError as exc:
            return self.one(state, FAILED, detail, self.fail_on(exc, ctx, "reading the command"))
        if not invocations:  # not delivered anywhere yet, or no instance matched
            if (
                command.get("Status") in COMMAND_FAILED
                or command.get("TargetCount") == 0
                and (command.get("Status") == "Success")
            ):
                why = command.get("StatusDetails") or command.get("Status")
                return self.one(state, FAILED, detail, f"the command reached no instance ({why})")
            return self.one(state, RUNNING, detail)
        seen = dict(state.get("instances") or {})
        results = []
        for item in sorted(invocations, key=lambda i: i["InstanceId"]):
            instance, status = item["InstanceId"], item.get("Status", "")
            outcome = (
                SUCCEEDED if status in DONE_OK else FAILED if status in DONE_FAILED else RUNNING
            )
            error = None
            if outcome == FAILED:
                if instance not in seen or "error" not in seen[instance]:
                    text = self._stderr(ssm, state["commandId"], instance)
                    seen[instance] = {
                        "error": f"{item.get('StatusDetails') or status}"
                        + (f": {text}" if text else "")
                    }
                error = seen[instance]["error"]
            results.append(
                ResourceResult(
                    id=f"{state['name']}/{instance}",
                    name=f"{state['name']} on {instance}",
                    status=outcome,
                    detail={"instanceId": instance, "commandStatus": status},
                    error=error,
                )
            )
        overall = aggregate_status(r.status for r in results)
        failed = [r.detail["instanceId"] for r in results if r.status == FAILED]
        detail["instances"] = len(results)
        summary_error = f"failed on {', '.join(failed)}" if failed and overall != RUNNING else None
        new_state = {**state, "instances": seen}
        step = self.one(new_state, overall, detail, summary_error)
        return StatusResult(status=overall, resources=step.resources + results, state=new_state)
