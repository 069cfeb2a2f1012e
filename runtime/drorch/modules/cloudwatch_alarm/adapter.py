"""The ``cloudwatch-alarm`` check: CloudWatch alarms that must be OK ("done" means green).

Each attempt reads ``DescribeAlarms`` for the named metric and composite alarms:
it passes when every one exists and is ``OK``; ALARM, INSUFFICIENT_DATA or a
missing alarm is a failed attempt (named). Read-only: runs in drills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import AccountContext, ModuleIam, Probe, arns, load_schema, statement
from drorch.modules.steps import RETRY_PROPERTIES, CheckModule

_schema = load_schema(Path(__file__).with_name("parameters.json"))
_schema["properties"].update(RETRY_PROPERTIES)


class CloudWatchAlarmCheck(CheckModule):
    type = "cloudwatch-alarm"
    parameters_schema = _schema
    summary = "CloudWatch alarms that must all be OK (green)"
    drill = "Reads alarm states only; runs in drills."
    aliases = ("alarm", "CloudWatchAlarm", "cloudwatch")
    resource_types = ("cloudwatch:alarm",)
    probes = (
        Probe("cloudwatch:DescribeAlarms", "cloudwatch", "describe_alarms", {"MaxRecords": 1}),
    )

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return ModuleIam(
            read=[
                statement(
                    "CloudWatchAlarms",
                    ["cloudwatch:DescribeAlarms"],
                    arns("cloudwatch", account_id, regions, "alarm:*"),
                )
            ]
        )

    def attempt(
        self, ctx: AccountContext, params: Mapping[str, Any]
    ) -> tuple[bool, dict[str, Any], str | None]:
        names = list(params["alarmNames"])
        try:
            answer = ctx.client("cloudwatch").describe_alarms(
                AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
        except ClientError as exc:
            return False, {"alarms": {}}, self.fail_on(exc, ctx, "reading alarms")
        states = {
            a["AlarmName"]: a.get("StateValue", "")
            for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
        }
        detail = {"alarms": states}
        missing = [n for n in names if n not in states]
        bad = [f"{n} is {s}" for n, s in sorted(states.items()) if s != "OK"]
        if missing or bad:
            why = ([f"no alarm {', '.join(missing)}"] if missing else []) + bad
            return False, detail, "; ".join(why)
        return True, detail, None
