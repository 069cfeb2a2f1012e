"""Serverless: Lambda functions (with their execution role) and EventBridge rules."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    GLOBAL_REGION,
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    exists,
    fail,
    identifier,
    tag_list,
)

# --- Lambda ----------------------------------------------------------------------------
PYTHON_RUNTIMES = ["python3.10", "python3.11", "python3.12", "python3.13"]
NODE_RUNTIMES = ["nodejs18.x", "nodejs20.x", "nodejs22.x"]
EXECUTION_POLICY = "execution"  # inline: what AWSLambdaBasicExecutionRole grants (+ VPC ENIs)
_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
_ENIS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def role_name(function_name: str) -> str:
    """The execution role seeded with a function (IAM role names are at most 64 characters)."""
    return f"{function_name[:59]}-role"


def code_zip(runtime: str, handler: str, function_name: str) -> bytes:
    """A deployment package with a tiny handler answering ``{"statusCode": 200}``."""
    module, func = handler.split(".")
    if runtime.startswith("python"):
        filename = f"{module}.py"
        source = (
            f"def {func}(event, context):\n"
            f'    return {{"statusCode": 200, "function": "{function_name}"}}\n'
        )
    else:
        filename = f"{module}.mjs"
        source = (
            f"export const {func} = async (event) => "
            f'({{ statusCode: 200, function: "{function_name}" }});\n'
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(filename, source)
    return buffer.getvalue()


class LambdaFunction(Seeder):
    type = "lambda-function"
    description = (
        "A Lambda function with a tiny generated handler and its execution role "
        "(<name>-role, with an inline policy granting what AWSLambdaBasicExecutionRole does). "
        "reservedConcurrency 0 throttles it (a standby function); vpc: true places it in the "
        "context's subnets; answer is what Invoke returns in the sandbox. alias publishes a "
        "version and points an alias at it (for provisioned concurrency); eventSources map "
        "SQS queues (created if missing) to it, Disabled by default (a standby's)."
    )
    name_schema = identifier(
        "a Lambda function name: 1-64 letters, digits, hyphens and underscores",
        r"^[a-zA-Z0-9_-]+$",
        64,
    )
    properties = {
        "runtime": {"enum": PYTHON_RUNTIMES + NODE_RUNTIMES, "default": "python3.12"},
        "handler": {
            "type": "string",
            "pattern": r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$",
            "default": "index.handler",
            "description": "module.function, e.g. index.handler",
        },
        "memorySize": {"type": "integer", "minimum": 128, "maximum": 10240, "default": 128},
        "timeout": {"type": "integer", "minimum": 1, "maximum": 900, "default": 3},
        "reservedConcurrency": {"type": "integer", "minimum": 0, "maximum": 1000},
        "environment": {
            "type": "object",
            "propertyNames": {
                "pattern": "^[a-zA-Z][a-zA-Z0-9_]*$",
                "description": "environment variable names: a letter, then letters, digits, _",
            },
            "additionalProperties": {"type": "string"},
        },
        "vpc": {"type": "boolean", "default": False},
        "alias": {
            "type": "string",
            "pattern": r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$",
            "description": "publish version 1 and point this alias at it",
        },
        "eventSources": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sqsQueue"],
                "properties": {
                    "sqsQueue": identifier(
                        "an SQS queue name: 1-80 letters, digits, hyphens and underscores",
                        r"^[a-zA-Z0-9_-]+$",
                        80,
                    ),
                    "enabled": {"type": "boolean", "default": False},
                    "batchSize": {"type": "integer", "minimum": 1, "maximum": 10, "default": 10},
                },
            },
            "description": "event source mappings from SQS queues (created if missing)",
        },
        "answer": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "result": {"description": "the JSON the function returns"},
                "error": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["errorMessage"],
                    "properties": {
                        "errorMessage": {"type": "string", "minLength": 1},
                        "errorType": {"type": "string", "minLength": 1, "default": "Exception"},
                    },
                },
            },
            "oneOf": [{"required": ["result"]}, {"required": ["error"]}],
            "description": "what Invoke answers in the sandbox: {result: <JSON>} or "
            "{error: {errorMessage, errorType}} (default: what the generated handler returns)",
        },
    }

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        iam, lam = ctx.client("iam"), ctx.client("lambda")
        name = spec["name"]
        tags = spec.get("tags", {})
        role = role_name(name)
        role_arn = iam.create_role(
            RoleName=role,
            AssumeRolePolicyDocument=json.dumps(_TRUST),
            Description=f"execution role of Lambda function {name}",
            Tags=tag_list(tags),
        )["Role"]["Arn"]

        def remove_role() -> None:
            if iam.list_role_policies(RoleName=role)["PolicyNames"]:
                iam.delete_role_policy(RoleName=role, PolicyName=EXECUTION_POLICY)
            iam.delete_role(RoleName=role)

        undo.push(f"IAM role {role}", remove_role)
        actions = _LOGS + (_ENIS if spec.get("vpc") else [])
        iam.put_role_policy(
            RoleName=role,
            PolicyName=EXECUTION_POLICY,
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
                }
            ),
        )

        runtime = spec.get("runtime", "python3.12")
        handler = spec.get("handler", "index.handler")
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime,
            "Role": role_arn,
            "Handler": handler,
            "Code": {"ZipFile": code_zip(runtime, handler, name)},
            "MemorySize": spec.get("memorySize", 128),
            "Timeout": spec.get("timeout", 3),
            "Tags": dict(tags),
        }
        if spec.get("environment"):
            kwargs["Environment"] = {"Variables": dict(spec["environment"])}
        if spec.get("vpc"):
            _, subnets = ctx.network()
            kwargs["VpcConfig"] = {"SubnetIds": subnets, "SecurityGroupIds": ctx.security_groups()}
        function_arn = lam.create_function(**kwargs)["FunctionArn"]
        undo.push(f"Lambda function {name}", lambda: lam.delete_function(FunctionName=name))
        if "reservedConcurrency" in spec:
            lam.put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=spec["reservedConcurrency"]
            )
        if spec.get("alias"):
            version = lam.publish_version(FunctionName=name)["Version"]
            lam.create_alias(FunctionName=name, Name=spec["alias"], FunctionVersion=version)
        seeded = [
            self.resource(ctx, role, role_arn, "role", GLOBAL_REGION),
            self.resource(ctx, name, function_arn),
        ]
        for source in spec.get("eventSources", []):
            seeded += self._event_source(ctx, name, source, undo)
        _declare_answer(ctx, name, spec.get("answer"))
        return seeded

    def _event_source(
        self, ctx: SeedContext, function: str, source: Mapping[str, Any], undo: Undo
    ) -> list[SeededResource]:
        sqs, lam = ctx.client("sqs"), ctx.client("lambda")
        queue = source["sqsQueue"]
        seeded = []
        if exists(sqs.get_queue_url, "AWS.SimpleQueueService.NonExistentQueue", QueueName=queue):
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        else:
            url = sqs.create_queue(QueueName=queue)["QueueUrl"]
            undo.push(f"SQS queue {queue}", lambda: sqs.delete_queue(QueueUrl=url))
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        seeded.append(self.resource(ctx, queue, arn, "queue"))
        uuid = lam.create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName=function,
            Enabled=source.get("enabled", False),
            BatchSize=source.get("batchSize", 10),
        )["UUID"]
        undo.push(
            f"event source mapping {queue} -> {function}",
            lambda: lam.delete_event_source_mapping(UUID=uuid),
        )
        return seeded


def _declare_answer(ctx: SeedContext, name: str, answer: Mapping[str, Any] | None) -> None:
    """What Invoke of the function answers in the sandbox (moto alone would need docker)."""
    from drorch.modules.lambda_invoke.sandbox import declare_answer

    answer = answer or {"result": {"statusCode": 200, "function": name}}  # the generated code's
    error = answer.get("error")
    if error:
        declare_answer(
            ctx.account_id,
            ctx.region,
            name,
            error_message=error["errorMessage"],
            error_type=error.get("errorType", "Exception"),
        )
    else:
        declare_answer(ctx.account_id, ctx.region, name, result=answer.get("result"))


# --- EventBridge -----------------------------------------------------------------------
_SCHEDULE = r"^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$"


class EventBridgeRule(Seeder):
    type = "eventbridge-rule"
    description = (
        "An EventBridge rule with an event pattern or a schedule, ENABLED or DISABLED (a "
        "standby rule), on the default bus or a custom bus (created if missing). Targets are "
        "Lambda functions of the same account and region (seeded earlier) or ARNs."
    )
    name_schema = identifier(
        "a rule name: 1-64 letters, digits, dots, hyphens and underscores",
        r"^[.\-_A-Za-z0-9]+$",
        64,
    )
    properties = {
        "eventPattern": {"type": "object", "minProperties": 1},
        "schedule": {
            "type": "string",
            "pattern": _SCHEDULE,
            "description": "rate(<n> minutes|hours|days) or cron(<6 fields>)",
        },
        "state": {"enum": ["ENABLED", "DISABLED"], "default": "ENABLED"},
        "eventBus": identifier(
            "an event bus name: 1-256 letters, digits, / . - _", r"^[/.\-_A-Za-z0-9]+$", 256
        ),
        "description": {"type": "string", "maxLength": 512},
        "targets": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": {
                    "id": identifier(
                        "a target id: 1-64 letters, digits, . - _", r"^[.\-_A-Za-z0-9]+$", 64
                    ),
                    "lambdaFunction": {"type": "string", "pattern": r"^[a-zA-Z0-9_-]{1,64}$"},
                    "arn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:[a-z0-9-]+:"},
                },
                "oneOf": [{"required": ["lambdaFunction"]}, {"required": ["arn"]}],
                "description": "a target has either lambdaFunction or arn",
            },
        },
    }
    constraints = {
        "allOf": [
            {
                "oneOf": [{"required": ["eventPattern"]}, {"required": ["schedule"]}],
                "description": "an EventBridge rule has either eventPattern or schedule",
            }
        ],
        "if": {"required": ["schedule", "eventBus"]},
        "then": {
            "properties": {
                "eventBus": {
                    "const": "default",
                    "description": "scheduled rules run only on the default event bus",
                }
            }
        },
    }

    def _target_arn(self, ctx: SeedContext, target: Mapping[str, Any]) -> str:
        if "arn" in target:
            return target["arn"]
        return f"arn:aws:lambda:{ctx.region}:{ctx.account_id}:function:{target['lambdaFunction']}"

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        events, lam = ctx.client("events"), ctx.client("lambda")
        bus = spec.get("eventBus", "default")
        if exists(
            events.describe_rule, "ResourceNotFoundException", Name=spec["name"], EventBusName=bus
        ):
            raise fail(f"{where}.name", f"rule {spec['name']!r} already exists on bus {bus}")
        for index, target in enumerate(spec.get("targets", [])):
            if "lambdaFunction" not in target:
                continue
            if not exists(
                lam.get_function, "ResourceNotFoundException", FunctionName=target["lambdaFunction"]
            ):
                raise fail(
                    f"{where}.targets[{index}].lambdaFunction",
                    f"no Lambda function {target['lambdaFunction']!r} in account "
                    f"{ctx.account_id} {ctx.region}",
                    hint="list the function earlier in resources",
                )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        events = ctx.client("events")
        name = spec["name"]
        tags = tag_list(spec.get("tags", {}))
        bus = spec.get("eventBus", "default")
        seeded: list[SeededResource] = []
        if bus != "default" and not exists(
            events.describe_event_bus, "ResourceNotFoundException", Name=bus
        ):
            bus_arn = events.create_event_bus(Name=bus, Tags=tags)["EventBusArn"]
            undo.push(f"event bus {bus}", lambda: events.delete_event_bus(Name=bus))
            seeded.append(self.resource(ctx, bus, bus_arn, "event-bus"))
        kwargs: dict[str, Any] = {
            "Name": name,
            "State": spec.get("state", "ENABLED"),
            "EventBusName": bus,
            "Tags": tags,
        }
        if "eventPattern" in spec:
            kwargs["EventPattern"] = json.dumps(spec["eventPattern"])
        else:
            kwargs["ScheduleExpression"] = spec["schedule"]
        if "description" in spec:
            kwargs["Description"] = spec["description"]
        rule_arn = events.put_rule(**kwargs)["RuleArn"]
        targets = [
            {"Id": t["id"], "Arn": self._target_arn(ctx, t)} for t in spec.get("targets", [])
        ]

        def remove_rule() -> None:
            if targets:
                events.remove_targets(Rule=name, EventBusName=bus, Ids=[t["Id"] for t in targets])
            events.delete_rule(Name=name, EventBusName=bus)

        undo.push(f"rule {name}", remove_rule)
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        seeded.append(self.resource(ctx, name, rule_arn))
        return seeded


class EventBridgeArchive(Seeder):
    type = "eventbridge-archive"
    description = (
        "An EventBridge archive of an event bus (the default bus, or a custom bus created if "
        "missing), optionally with an event pattern and a retention; sampleEvents puts that "
        "many events (source sampleSource) on the bus afterwards, so the archive holds them."
    )
    name_schema = identifier(
        "an archive name: 1-48 letters, digits, dots, hyphens and underscores",
        r"^[.\-_A-Za-z0-9]+$",
        48,
    )
    properties = {
        "eventBus": identifier(
            "an event bus name: 1-256 letters, digits, / . - _", r"^[/.\-_A-Za-z0-9]+$", 256
        ),
        "eventPattern": {"type": "object", "minProperties": 1},
        "retentionDays": {"type": "integer", "minimum": 0, "maximum": 36500, "default": 0},
        "description": {"type": "string", "maxLength": 512},
        "sampleEvents": {"type": "integer", "minimum": 0, "maximum": 100, "default": 0},
        "sampleSource": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "default": "acme.claims",
        },
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        events = ctx.client("events")
        if exists(events.describe_archive, "ResourceNotFoundException", ArchiveName=spec["name"]):
            raise fail(f"{where}.name", f"archive {spec['name']!r} already exists")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        events = ctx.client("events")
        name, bus = spec["name"], spec.get("eventBus", "default")
        seeded: list[SeededResource] = []
        if bus != "default" and not exists(
            events.describe_event_bus, "ResourceNotFoundException", Name=bus
        ):
            bus_arn = events.create_event_bus(Name=bus, Tags=tag_list(spec.get("tags", {})))[
                "EventBusArn"
            ]
            undo.push(f"event bus {bus}", lambda: events.delete_event_bus(Name=bus))
            seeded.append(self.resource(ctx, bus, bus_arn, "event-bus"))
        else:
            bus_arn = events.describe_event_bus(Name=bus)["Arn"]
        kwargs: dict[str, Any] = {
            "ArchiveName": name,
            "EventSourceArn": bus_arn,
            "RetentionDays": spec.get("retentionDays", 0),
        }
        if "eventPattern" in spec:
            kwargs["EventPattern"] = json.dumps(spec["eventPattern"])
        if "description" in spec:
            kwargs["Description"] = spec["description"]
        archive_arn = events.create_archive(**kwargs)["ArchiveArn"]
        undo.push(f"archive {name}", lambda: events.delete_archive(ArchiveName=name))
        source = spec.get("sampleSource", "acme.claims")
        for index in range(spec.get("sampleEvents", 0)):
            events.put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": "sample",
                        "Detail": json.dumps({"n": index}),
                        "EventBusName": bus,
                    }
                ]
            )
        seeded.append(self.resource(ctx, name, archive_arn))
        return seeded
