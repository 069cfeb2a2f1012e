"""Monitoring: CloudWatch metric alarms in a chosen state (what alarm health checks read)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    fail,
    identifier,
    tag_list,
)

COMPARISONS = [
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
STATISTICS = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]


class CloudWatchAlarm(Seeder):
    type = "cloudwatch-alarm"
    description = (
        "A CloudWatch metric alarm on one metric, put in the given state (default OK) as if "
        "the metric had been evaluated; change it later with SetAlarmState."
    )
    name_schema = identifier(
        "an alarm name: 1-255 printable characters", r"^[^\u0000-\u001f\u007f]+$", 255
    )
    properties = {
        "namespace": {"type": "string", "pattern": r"^[^:].*$", "maxLength": 255},
        "metricName": {"type": "string", "minLength": 1, "maxLength": 255},
        "dimensions": {
            "type": "object",
            "maxProperties": 30,
            "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 1024},
        },
        "statistic": {"enum": STATISTICS, "default": "Sum"},
        "period": {"type": "integer", "enum": [10, 20, 30, 60, 120, 300, 900, 3600], "default": 60},
        "evaluationPeriods": {"type": "integer", "minimum": 1, "default": 1},
        "threshold": {"type": "number"},
        "comparisonOperator": {"enum": COMPARISONS, "default": "GreaterThanThreshold"},
        "treatMissingData": {
            "enum": ["breaching", "notBreaching", "ignore", "missing"],
            "default": "notBreaching",
        },
        "description": {"type": "string", "maxLength": 1024},
        "state": {"enum": ["OK", "ALARM", "INSUFFICIENT_DATA"], "default": "OK"},
    }
    required = ("namespace", "metricName", "threshold")

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        found = ctx.client("cloudwatch").describe_alarms(AlarmNames=[spec["name"]])
        if found["MetricAlarms"] or found["CompositeAlarms"]:
            raise fail(f"{where}.name", f"alarm {spec['name']!r} already exists")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        cloudwatch = ctx.client("cloudwatch")
        name = spec["name"]
        kwargs: dict[str, Any] = {
            "AlarmName": name,
            "Namespace": spec["namespace"],
            "MetricName": spec["metricName"],
            "Dimensions": tag_list(spec.get("dimensions", {}), "Name", "Value"),
            "Statistic": spec.get("statistic", "Sum"),
            "Period": spec.get("period", 60),
            "EvaluationPeriods": spec.get("evaluationPeriods", 1),
            "Threshold": float(spec["threshold"]),
            "ComparisonOperator": spec.get("comparisonOperator", "GreaterThanThreshold"),
            "TreatMissingData": spec.get("treatMissingData", "notBreaching"),
            "ActionsEnabled": False,
        }
        if "description" in spec:
            kwargs["AlarmDescription"] = spec["description"]
        if spec.get("tags"):
            kwargs["Tags"] = tag_list(spec["tags"])
        cloudwatch.put_metric_alarm(**kwargs)
        undo.push(f"alarm {name}", lambda: cloudwatch.delete_alarms(AlarmNames=[name]))
        cloudwatch.set_alarm_state(
            AlarmName=name,
            StateValue=spec.get("state", "OK"),
            StateReason="Seeded by the drorch sandbox scenario",
        )
        arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
        return [self.resource(ctx, name, arn)]
