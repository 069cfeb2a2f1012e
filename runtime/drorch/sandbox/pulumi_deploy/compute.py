"""Creators for what runs: Lambda functions (registered for in-process dispatch),
state machines and SSM documents."""

from __future__ import annotations

from typing import Any

from drorch.sandbox.pulumi_deploy.base import (
    Clients,
    Creator,
    Record,
    Target,
    as_int,
    tag_list,
    zip_files,
)

# --- Lambda -------------------------------------------------------------------------------


def lambda_function(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    handler = i["handler"]
    module, _, attribute = handler.rpartition(".")
    code = zip_files(
        {
            "SANDBOX.txt": "In the drorch sandbox this function runs in-process from the "
            "installed drorch package.\n"
        }
    )
    variables = dict((i.get("environment") or {}).get("variables") or {})
    kwargs: dict[str, Any] = {
        "FunctionName": i["name"],
        "Runtime": i.get("runtime", "python3.12"),
        "Role": i["role"],
        "Handler": handler,
        "Code": {"ZipFile": code},
        "Timeout": as_int(i.get("timeout")) or 3,
        "MemorySize": as_int(i.get("memorySize")) or 128,
        "Environment": {"Variables": variables},
        "Tags": dict(i.get("tags") or {}),
    }
    if i.get("kmsKeyArn"):
        kwargs["KMSKeyArn"] = i["kmsKeyArn"]
    if (i.get("tracingConfig") or {}).get("mode"):
        kwargs["TracingConfig"] = {"Mode": i["tracingConfig"]["mode"]}
    answer = s.client("lambda").create_function(**kwargs)
    arn = answer["FunctionArn"]
    d.sandbox.state.lambda_runtime.handlers[arn] = f"{module}:{attribute}"
    d.functions[arn] = i
    return i["name"], {
        "arn": arn,
        "invokeArn": f"arn:aws:apigateway:{t.region}:lambda:path/2015-03-31/functions/"
        f"{arn}/invocations",
        "qualifiedArn": f"{arn}:$LATEST",
        "version": "$LATEST",
    }


def lambda_permission(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    statement_id = i.get("statementId") or name
    kwargs: dict[str, Any] = {
        "FunctionName": i["function"],
        "StatementId": statement_id,
        "Action": i["action"],
        "Principal": i["principal"],
    }
    if i.get("sourceArn"):
        kwargs["SourceArn"] = i["sourceArn"]
    s.client("lambda").add_permission(**kwargs)
    return f"{i['function']}-{statement_id}", {"statementId": statement_id}


def event_source_mapping(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    kwargs: dict[str, Any] = {
        "EventSourceArn": i["eventSourceArn"],
        "FunctionName": i["functionName"],
        "Enabled": bool(i.get("enabled", True)),
    }
    if i.get("batchSize"):
        kwargs["BatchSize"] = as_int(i["batchSize"])
    if i.get("maximumBatchingWindowInSeconds") is not None:
        kwargs["MaximumBatchingWindowInSeconds"] = as_int(i["maximumBatchingWindowInSeconds"])
    if i.get("functionResponseTypes"):
        kwargs["FunctionResponseTypes"] = list(i["functionResponseTypes"])
    answer = s.client("lambda").create_event_source_mapping(**kwargs)
    return answer["UUID"], {"uuid": answer["UUID"], "arn": answer.get("EventSourceMappingArn", "")}


# --- Step Functions -----------------------------------------------------------------------


def state_machine(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    kwargs: dict[str, Any] = {
        "name": i["name"],
        "definition": i["definition"],
        "roleArn": i["roleArn"],
        "type": i.get("type", "STANDARD"),
    }
    logs = i.get("loggingConfiguration") or {}
    if logs:
        kwargs["loggingConfiguration"] = {
            "level": logs.get("level", "OFF"),
            "includeExecutionData": bool(logs.get("includeExecutionData")),
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": logs["logDestination"]}}]
            if logs.get("logDestination")
            else [],
        }
    if (i.get("tracingConfiguration") or {}).get("enabled") is not None:
        kwargs["tracingConfiguration"] = {"enabled": bool(i["tracingConfiguration"]["enabled"])}
    if i.get("tags"):
        kwargs["tags"] = [{"key": k, "value": v} for k, v in i["tags"].items()]
    arn = s.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
    return arn, {"arn": arn, "status": "ACTIVE"}


# --- SSM ----------------------------------------------------------------------------------


def document(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    description = s.client("ssm").create_document(
        Name=i["name"],
        Content=i["content"],
        DocumentType=i.get("documentType", "Command"),
        DocumentFormat=i.get("documentFormat", "JSON"),
        Tags=tag_list(i.get("tags")),
    )["DocumentDescription"]
    arn = f"arn:aws:ssm:{t.region}:{t.account_id}:document/{i['name']}"
    return i["name"], {"arn": arn, "latestVersion": description.get("LatestVersion", "1")}


CREATORS: dict[str, Creator] = {
    "aws:lambda/function:Function": lambda_function,
    "aws:lambda/permission:Permission": lambda_permission,
    "aws:lambda/eventSourceMapping:EventSourceMapping": event_source_mapping,
    "aws:sfn/stateMachine:StateMachine": state_machine,
    "aws:ssm/document:Document": document,
}
