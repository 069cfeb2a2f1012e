"""The cloudwatch-alarm check: every named alarm must be OK."""

from __future__ import annotations

from tests.modules.contract import Case, ModuleContract, Phase, Staging

GREEN = ("claims-5xx", "claims-latency")
CHECK = {"alarmNames": list(GREEN), "retries": 2, "intervalSeconds": 60}
WITH_RED = {"alarmNames": [*GREEN, "claims-db-lag"], "retries": 2, "intervalSeconds": 60}


def alarms(world: Staging) -> None:
    cloudwatch = world.admin("cloudwatch")
    for name, state in (*((n, "OK") for n in GREEN), ("claims-db-lag", "ALARM")):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName=name,
            Namespace="Claims",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="contract")


class TestCloudWatchAlarmContract(ModuleContract):
    module = "cloudwatch-alarm"
    cases = (
        Case("all-ok", (Phase("ACTIVATE", CHECK),), seed=alarms, selector={"ids": ["claims"]}),
        Case(
            "all-ok-in-a-drill",
            (Phase("ACTIVATE", CHECK),),
            drill=True,
            seed=alarms,
            selector={"ids": ["claims"]},
        ),
        Case(
            "an-alarm-in-alarm-fails-naming-it",
            (Phase("ACTIVATE", WITH_RED, expect="FAILED", error="claims-db-lag is ALARM"),),
            seed=alarms,
            selector={"ids": ["claims"]},
            extra=True,
        ),
        Case(
            "a-missing-alarm-fails-naming-it",
            (
                Phase(
                    "ACTIVATE",
                    {"alarmNames": ["claims-gone"], "retries": 1},
                    expect="FAILED",
                    error="no alarm claims-gone",
                ),
            ),
            seed=alarms,
            selector={"ids": ["claims"]},
            extra=True,
        ),
    )
