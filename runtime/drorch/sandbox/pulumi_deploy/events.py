"""Creators for notifications and observability: SNS, SQS, EventBridge, CloudWatch Logs,
alarms and dashboards."""

from __future__ import annotations

from typing import Any

from drorch.sandbox.pulumi_deploy.base import Clients, Creator, Record, Target, as_int, tag_list

# --- SNS ----------------------------------------------------------------------------------


def topic(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    attributes = {}
    if i.get("kmsMasterKeyId"):
        attributes["KmsMasterKeyId"] = i["kmsMasterKeyId"]
    arn = s.client("sns").create_topic(
        Name=i["name"], Attributes=attributes, Tags=tag_list(i.get("tags"))
    )["TopicArn"]
    return arn, {"arn": arn}


def subscription(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    arn = s.client("sns").subscribe(
        TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"]
    )["SubscriptionArn"]
    return arn, {"arn": arn}


# --- SQS --------------------------------------------------------------------------------

_QUEUE_ATTRIBUTES = {
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "redrivePolicy": "RedrivePolicy",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "delaySeconds": "DelaySeconds",
}


def _attribute(value: Any) -> str:
    """A queue attribute as SQS takes it: booleans in lower case, numbers whole."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def queue(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    attributes = {
        api: _attribute(i[key])
        for key, api in _QUEUE_ATTRIBUTES.items()
        if i.get(key) not in (None, "")
    }
    url = s.client("sqs").create_queue(
        QueueName=i["name"], Attributes=attributes, tags=dict(i.get("tags") or {})
    )["QueueUrl"]
    arn = f"arn:aws:sqs:{t.region}:{t.account_id}:{i['name']}"
    return url, {"arn": arn, "url": url}


def queue_policy(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("sqs").set_queue_attributes(QueueUrl=i["queueUrl"], Attributes={"Policy": i["policy"]})
    return i["queueUrl"], {}


# --- EventBridge --------------------------------------------------------------------------


def event_bus(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    arn = s.client("events").create_event_bus(Name=i["name"], Tags=tag_list(i.get("tags")))[
        "EventBusArn"
    ]
    return i["name"], {"arn": arn}


def event_bus_policy(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("events").put_permission(EventBusName=i["eventBusName"], Policy=i["policy"])
    return i["eventBusName"], {}


def event_rule(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    kwargs: dict[str, Any] = {"Name": i["name"], "State": i.get("state", "ENABLED")}
    for key, api in (
        ("description", "Description"),
        ("eventPattern", "EventPattern"),
        ("scheduleExpression", "ScheduleExpression"),
        ("eventBusName", "EventBusName"),
        ("roleArn", "RoleArn"),
    ):
        if i.get(key):
            kwargs[api] = i[key]
    if i.get("tags"):
        kwargs["Tags"] = tag_list(i["tags"])
    arn = s.client("events").put_rule(**kwargs)["RuleArn"]
    return i["name"], {"arn": arn}


def event_target(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    target_id = i.get("targetId") or name
    target: dict[str, Any] = {"Id": target_id, "Arn": i["arn"]}
    if i.get("roleArn"):
        target["RoleArn"] = i["roleArn"]
    if i.get("input"):
        target["Input"] = i["input"]
    transformer = i.get("inputTransformer")
    if transformer:
        target["InputTransformer"] = {
            "InputPathsMap": dict(transformer.get("inputPaths") or {}),
            "InputTemplate": transformer["inputTemplate"],
        }
    kwargs: dict[str, Any] = {"Rule": i["rule"], "Targets": [target]}
    if i.get("eventBusName"):
        kwargs["EventBusName"] = i["eventBusName"]
    s.client("events").put_targets(**kwargs)
    return f"{i['rule']}-{target_id}", {"targetId": target_id}


# --- CloudWatch ---------------------------------------------------------------------------


def log_group(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    logs = s.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": i["name"]}
    if i.get("kmsKeyId"):
        kwargs["kmsKeyId"] = i["kmsKeyId"]
    if i.get("tags"):
        kwargs["tags"] = dict(i["tags"])
    logs.create_log_group(**kwargs)
    if i.get("retentionInDays"):
        logs.put_retention_policy(
            logGroupName=i["name"], retentionInDays=as_int(i["retentionInDays"])
        )
    arn = f"arn:aws:logs:{t.region}:{t.account_id}:log-group:{i['name']}"
    return i["name"], {"arn": arn}


def alarm(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("cloudwatch").put_metric_alarm(
        AlarmName=i["name"],
        AlarmDescription=i.get("alarmDescription", ""),
        Namespace=i["namespace"],
        MetricName=i["metricName"],
        Dimensions=[{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
        Statistic=i.get("statistic", "Sum"),
        Period=as_int(i.get("period")),
        EvaluationPeriods=as_int(i.get("evaluationPeriods")),
        Threshold=float(i.get("threshold", 0)),
        ComparisonOperator=i["comparisonOperator"],
        TreatMissingData=i.get("treatMissingData", "missing"),
        AlarmActions=list(i.get("alarmActions") or []),
        OKActions=list(i.get("okActions") or []),
        Tags=tag_list(i.get("tags")),
    )
    arn = f"arn:aws:cloudwatch:{t.region}:{t.account_id}:alarm:{i['name']}"
    return i["name"], {"arn": arn}


def dashboard(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("cloudwatch").put_dashboard(
        DashboardName=i["dashboardName"], DashboardBody=i["dashboardBody"]
    )
    arn = f"arn:aws:cloudwatch::{t.account_id}:dashboard/{i['dashboardName']}"
    return i["dashboardName"], {"dashboardArn": arn}


CREATORS: dict[str, Creator] = {
    "aws:sns/topic:Topic": topic,
    "aws:sns/topicSubscription:TopicSubscription": subscription,
    "aws:sqs/queue:Queue": queue,
    "aws:sqs/queuePolicy:QueuePolicy": queue_policy,
    "aws:cloudwatch/eventBus:EventBus": event_bus,
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": event_bus_policy,
    "aws:cloudwatch/eventRule:EventRule": event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": event_target,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": alarm,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
}
