"""SSM Run Command in the sandbox: moto 5.2 finishes every command at once, on any
instance id, and has no ListCommandInvocations.

This extension replaces moto's ``SendCommand``, ``ListCommands`` and
``GetCommandInvocation`` and adds ``ListCommandInvocations`` and ``CancelCommand``
(JSON 1.1, real wire shapes, checked against the botocore model):

* the document is a ``Command`` document of the account (moto's store) or one of the
  AWS-owned documents drorch uses (:data:`AWS_DOCUMENTS`: ``AWS-RunShellScript``,
  ``AWS-RunPowerShellScript``); anything else is ``InvalidDocument``. ``Parameters``
  are checked against the document as SSM does (``InvalidParameters``);
* targets are EC2 instances of moto's EC2 in the account and region (the sandbox
  treats every one as a managed node with a running agent). ``InstanceIds`` that do
  not exist or are not ``running`` fail the call with ``InvalidInstanceId``, as SSM
  does for a node that is not online. ``Targets`` (``tag:<key>``, ``tag-key``,
  ``InstanceIds``) resolve to the matching instances that are not terminated; one that
  is not running gets an invocation that ends ``Failed`` / ``Undeliverable``;
* each invocation runs on the simulated clock: ``Pending`` for
  :attr:`CommandTimings.delivery_seconds`, then ``InProgress`` while its plugins run
  (:attr:`CommandTimings.plugin_seconds` each), then ``Success``. ``echo`` lines of a
  shell script appear in ``StandardOutputContent``. The command's status and counts
  follow its invocations and ``MaxErrors``.

Faults (``sandbox.faults``): ``fail_command(instance, exit_code=, stderr=, stdout=,
document=)`` fails the invocations on an instance (id or Name tag): the last plugin
ends ``Failed`` with that ``ResponseCode`` and ``StandardErrorContent``;
``slow_commands(factor)`` stretches plugins, past the document's ``executionTimeout``
an invocation ends ``TimedOut`` (``ExecutionTimedOut``).

Not simulated: ``MaxConcurrency`` (all invocations start together), output to S3 or
CloudWatch, notifications, and what the scripts really do.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

from drorch.modules.ssm_automation.sandbox import MessagelessError, page, resolve_parameters
from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})
OUTPUT_LIMIT = 24000  # characters of output the API returns (the rest goes to S3)


@dataclass
class CommandTimings:
    """How long Run Command takes, in simulated seconds."""

    delivery_seconds: float = 2.0  # Pending -> InProgress (the agent picks the command up)
    plugin_seconds: float = 5.0  # each plugin (document step) of an invocation


TIMINGS = CommandTimings()


@dataclass(frozen=True)
class CommandDocument:
    name: str
    version: str
    parameters: Mapping[str, Any]
    steps: tuple[tuple[str, str, Any], ...]  # (plugin name, action, inputs)


_SCRIPT_PARAMETERS = {
    "commands": {"type": "StringList", "minItems": 1},
    "workingDirectory": {"type": "String", "default": ""},
    "executionTimeout": {
        "type": "String",
        "default": "3600",
        "allowedPattern": "([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800)",
    },
}
AWS_DOCUMENTS = {
    name: CommandDocument(
        name=name,
        version="1",
        parameters=_SCRIPT_PARAMETERS,
        steps=((action, action, {"runCommand": "{{ commands }}"}),),
    )
    for name, action in (
        ("AWS-RunShellScript", "aws:runShellScript"),
        ("AWS-RunPowerShellScript", "aws:runPowerShellScript"),
    )
}


# --- errors ---------------------------------------------------------------------------
class InvalidDocument(ServiceException):
    code = "InvalidDocument"


class InvalidDocumentVersion(ServiceException):
    code = "InvalidDocumentVersion"


class InvalidParameters(ServiceException):
    code = "InvalidParameters"


class InvalidInstanceId(ServiceException):
    code = "InvalidInstanceId"


class InvalidCommandId(MessagelessError):
    code = "InvalidCommandId"


class InvocationDoesNotExist(MessagelessError):
    code = "InvocationDoesNotExist"


class InvalidPluginName(MessagelessError):
    code = "InvalidPluginName"


class InvalidFilterKey(MessagelessError):
    code = "InvalidFilterKey"


class DuplicateInstanceId(MessagelessError):
    code = "DuplicateInstanceId"


# --- the model --------------------------------------------------------------------------
@dataclass
class PluginRun:
    name: str
    start: float  # seconds after delivery
    duration: float
    status: str  # what it ends as: Success | Failed | TimedOut
    response_code: int
    stdout: str
    stderr: str = ""


@dataclass
class Invocation:
    instance_id: str
    instance_name: str
    plugins: list[PluginRun]
    deliverable: bool = True
    cancelled: datetime | None = None

    @property
    def running_seconds(self) -> float:
        return self.plugins[-1].start + self.plugins[-1].duration if self.plugins else 0.0


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _elapsed_text(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


@dataclass
class Command:
    command_id: str
    document: CommandDocument
    comment: str
    parameters: dict[str, list[str]]
    given: dict[str, list[str]]
    instance_ids: list[str]
    targets: list[dict[str, Any]]
    requested: datetime
    timeout_seconds: int
    max_concurrency: str
    max_errors: str
    invocations: list[Invocation]
    extra: dict[str, Any] = field(default_factory=dict)  # echoed request members
    cancelled: datetime | None = None

    # -- an invocation at a moment --
    def delivered_at(self) -> datetime:
        return self.requested + timedelta(seconds=TIMINGS.delivery_seconds)

    def invocation_status(self, invocation: Invocation, now: datetime) -> tuple[str, str]:
        if not invocation.deliverable:
            return "Failed", "Undeliverable"
        end = self.delivered_at() + timedelta(seconds=invocation.running_seconds)
        if invocation.cancelled is not None and invocation.cancelled < end:
            if now >= invocation.cancelled:
                return "Cancelled", "Cancelled"
        if now < self.delivered_at():
            return "Pending", "Pending"
        if now < end:
            return "InProgress", "InProgress"
        last = invocation.plugins[-1].status if invocation.plugins else "Success"
        return last, {"TimedOut": "ExecutionTimedOut"}.get(last, last)

    def plugin_view(self, invocation: Invocation, plugin: PluginRun, now: datetime) -> dict:
        start = self.delivered_at() + timedelta(seconds=plugin.start)
        end = start + timedelta(seconds=plugin.duration)
        stopped = invocation.cancelled
        view: dict[str, Any] = {"Name": plugin.name, "ResponseCode": -1, "Output": ""}
        if not invocation.deliverable:
            return view | {"Status": "Failed", "StatusDetails": "Undeliverable"}
        if stopped is not None and now >= stopped and stopped < end:
            status = "Cancelled"
        elif now < start:
            status = "Pending"
        elif now < end:
            status = "InProgress"
        else:
            status = plugin.status
        view["Status"] = status
        view["StatusDetails"] = {"TimedOut": "ExecutionTimedOut"}.get(status, status)
        if now >= start:
            view["ResponseStartDateTime"] = start
        if status in ("Success", "Failed", "TimedOut"):
            view["ResponseFinishDateTime"] = end
            view["ResponseCode"] = plugin.response_code
            view["Output"] = (plugin.stdout + plugin.stderr)[:OUTPUT_LIMIT]
        view["StandardOutputUrl"] = ""
        view["StandardErrorUrl"] = ""
        if self.extra.get("OutputS3BucketName"):
            view["OutputS3BucketName"] = self.extra["OutputS3BucketName"]
            view["OutputS3KeyPrefix"] = self.extra.get("OutputS3KeyPrefix", "")
            view["OutputS3Region"] = self.extra.get("OutputS3Region", "")
        return view

    def invocation_view(self, invocation: Invocation, now: datetime, details: bool) -> dict:
        status, status_details = self.invocation_status(invocation, now)
        view: dict[str, Any] = {
            "CommandId": self.command_id,
            "InstanceId": invocation.instance_id,
            "InstanceName": invocation.instance_name,
            "Comment": self.comment,
            "DocumentName": self.document.name,
            "DocumentVersion": self.document.version,
            "RequestedDateTime": self.requested,
            "Status": status,
            "StatusDetails": status_details,
            "TraceOutput": "",
            "StandardOutputUrl": "",
            "StandardErrorUrl": "",
            "CommandPlugins": [
                self.plugin_view(invocation, plugin, now) for plugin in invocation.plugins
            ]
            if details
            else [],
        }
        if self.extra.get("ServiceRoleArn"):
            view["ServiceRole"] = self.extra["ServiceRoleArn"]
        if self.extra.get("NotificationConfig"):
            view["NotificationConfig"] = self.extra["NotificationConfig"]
        if self.extra.get("CloudWatchOutputConfig"):
            view["CloudWatchOutputConfig"] = self.extra["CloudWatchOutputConfig"]
        return view

    def get_invocation(
        self, invocation: Invocation, plugin_name: str | None, now: datetime
    ) -> dict:
        plugins = invocation.plugins
        if plugin_name is not None:
            plugins = [p for p in plugins if p.name == plugin_name]
            if not plugins:
                raise InvalidPluginName()
        plugin = plugins[0]
        status, status_details = self.invocation_status(invocation, now)
        plugin_view = self.plugin_view(invocation, plugin, now)
        if plugin_name is not None:
            status = plugin_view["Status"]
            status_details = plugin_view["StatusDetails"]
        finished = status in ("Success", "Failed", "TimedOut") and invocation.deliverable
        start = self.delivered_at() + timedelta(seconds=plugin.start)
        answer: dict[str, Any] = {
            "CommandId": self.command_id,
            "InstanceId": invocation.instance_id,
            "Comment": self.comment,
            "DocumentName": self.document.name,
            "DocumentVersion": self.document.version,
            "PluginName": plugin.name,
            "ResponseCode": plugin_view["ResponseCode"],
            "ExecutionStartDateTime": _iso(start) if now >= start else "",
            "ExecutionElapsedTime": _elapsed_text(plugin.duration) if finished else "",
            "ExecutionEndDateTime": (
                _iso(start + timedelta(seconds=plugin.duration)) if finished else ""
            ),
            "Status": status,
            "StatusDetails": status_details,
            "StandardOutputContent": plugin.stdout[:OUTPUT_LIMIT] if finished else "",
            "StandardOutputUrl": "",
            "StandardErrorContent": plugin.stderr[:OUTPUT_LIMIT] if finished else "",
            "StandardErrorUrl": "",
        }
        if self.extra.get("CloudWatchOutputConfig"):
            answer["CloudWatchOutputConfig"] = self.extra["CloudWatchOutputConfig"]
        return answer

    # -- the command as a whole --
    def _allowed_errors(self) -> int:
        text = self.max_errors or "0"
        count = len(self.invocations)
        if text.endswith("%"):
            return int(count * int(text[:-1]) / 100)
        return int(text)

    def view(self, now: datetime) -> dict[str, Any]:
        statuses = [self.invocation_status(i, now) for i in self.invocations]
        done = [s for s in statuses if s[0] in TERMINAL]
        errors = sum(1 for s, d in done if s in ("Failed", "TimedOut") and d != "Undeliverable")
        timed_out = sum(1 for _, d in done if d == "DeliveryTimedOut")
        if self.cancelled is not None and now >= self.cancelled and len(done) == len(statuses):
            status = details = "Cancelled"
        elif statuses and all(s == "Pending" for s, _ in statuses):
            status = details = "Pending"
        elif len(done) < len(statuses):
            status = details = "InProgress"
        elif errors > self._allowed_errors():
            status = details = "Failed"
        elif all(s == "Success" for s, _ in statuses):
            status = details = "Success"
        else:
            status, details = "Failed", "Incomplete"
        view: dict[str, Any] = {
            "CommandId": self.command_id,
            "DocumentName": self.document.name,
            "DocumentVersion": self.document.version,
            "Comment": self.comment,
            "ExpiresAfter": self.requested + timedelta(seconds=self.timeout_seconds),
            "Parameters": self.given,
            "InstanceIds": self.instance_ids,
            "Targets": self.targets,
            "RequestedDateTime": self.requested,
            "Status": status,
            "StatusDetails": details,
            "MaxConcurrency": self.max_concurrency,
            "MaxErrors": self.max_errors,
            "TargetCount": len(self.invocations),
            "CompletedCount": len(done),
            "ErrorCount": errors,
            "DeliveryTimedOutCount": timed_out,
            "TimeoutSeconds": self.timeout_seconds,
        }
        for member, wire in (
            ("OutputS3Region", "OutputS3Region"),
            ("OutputS3BucketName", "OutputS3BucketName"),
            ("OutputS3KeyPrefix", "OutputS3KeyPrefix"),
            ("ServiceRoleArn", "ServiceRole"),
            ("NotificationConfig", "NotificationConfig"),
            ("CloudWatchOutputConfig", "CloudWatchOutputConfig"),
        ):
            if self.extra.get(member):
                view[wire] = self.extra[member]
        return view


def _echo_output(commands: Any) -> str:
    """What a script's ``echo`` lines print (the sandbox runs nothing else)."""
    if isinstance(commands, str):
        commands = commands.splitlines()
    lines = []
    for command in commands or []:
        for line in str(command).splitlines():
            stripped = line.strip()
            if stripped.startswith(("echo ", "Write-Output ", "Write-Host ")):
                text = stripped.split(" ", 1)[1]
                try:
                    lines.append(" ".join(shlex.split(text)))
                except ValueError:
                    lines.append(text)
    return "".join(f"{line}\n" for line in lines)


class CommandBackend(BaseBackend):
    """Run Command in one account and region (reset with moto's backends)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.commands: dict[str, Command] = {}

    def now(self) -> datetime:
        return STATE.clock.now()

    def _ec2(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.account_id][self.region_name]

    def _document(self, name: str, version: str | None) -> CommandDocument:
        from moto.ssm.models import ssm_backends

        documents = ssm_backends[self.account_id][self.region_name]._documents.get(name)
        if documents is None:
            if name in AWS_DOCUMENTS and version in (None, "", "1", "$DEFAULT", "$LATEST"):
                return AWS_DOCUMENTS[name]
            if name in AWS_DOCUMENTS:
                raise InvalidDocumentVersion(f"Document {name} has no version {version}.")
            raise InvalidDocument("The specified document does not exist.")
        wanted = None if version in (None, "", "$DEFAULT") else version
        document = documents.find(wanted, None, strict=False)
        if document is None:
            raise InvalidDocumentVersion(f"Document {name} has no version {version}.")
        if document.document_type != "Command":
            raise InvalidDocument(
                f"Document {name} is of type {document.document_type}; SendCommand needs a "
                "Command document."
            )
        content = document.content_json or {}
        steps: list[tuple[str, str, Any]] = []
        if str(content.get("schemaVersion")) == "1.2":
            for action, config in (content.get("runtimeConfig") or {}).items():
                properties = (config or {}).get("properties") or [{}]
                steps.append((action, action, properties[0] if properties else {}))
        else:
            for index, step in enumerate(content.get("mainSteps") or []):
                action = str(step.get("action", "aws:runShellScript"))
                steps.append(
                    (str(step.get("name", f"step{index + 1}")), action, step.get("inputs"))
                )
        return CommandDocument(
            name=name,
            version=document.document_version,
            parameters=content.get("parameters") or {},
            steps=tuple(steps) or (("aws:runShellScript", "aws:runShellScript", {}),),
        )

    def _instance_name(self, instance: Any) -> str:
        try:
            return str(instance.private_dns_name)
        except (AttributeError, TypeError):
            return str(instance.id)

    def _resolve_targets(self, targets: list[dict[str, Any]]) -> list[Any]:
        filters: dict[str, list[str]] = {}
        ids: set[str] | None = None
        for target in targets:
            key, values = str(target.get("Key", "")), list(target.get("Values") or [])
            if key.startswith("tag:") or key == "tag-key":
                filters[key] = values
            elif key in ("InstanceIds", "instanceids"):
                ids = set(values) if ids is None else ids & set(values)
            else:
                raise InvalidParameters(
                    f"The sandbox resolves targets by tag:<key>, tag-key and InstanceIds, not {key}."
                )
        found = []
        reservations = self._ec2().all_reservations(filters=filters or None)
        for instance in (i for r in reservations for i in r.instances):
            if instance.state == "terminated":
                continue
            if ids is not None and instance.id not in ids:
                continue
            found.append(instance)
        return found

    def send(self, request: Mapping[str, Any]) -> Command:
        document = self._document(request["DocumentName"], request.get("DocumentVersion"))
        given = dict(request.get("Parameters") or {})
        parameters = resolve_parameters(document.parameters, given, InvalidParameters)
        instance_ids = list(request.get("InstanceIds") or [])
        targets = list(request.get("Targets") or [])
        if bool(instance_ids) == bool(targets):
            raise InvalidParameters("Specify either InstanceIds or Targets, not both or neither.")
        if len(set(instance_ids)) != len(instance_ids):
            raise DuplicateInstanceId()
        if instance_ids:
            instances = [self._ec2().get_instance_by_id(i) for i in instance_ids]
            invalid = [
                i
                for i, instance in zip(instance_ids, instances, strict=True)
                if instance is None or instance.state != "running"
            ]
            if invalid:
                raise InvalidInstanceId(
                    f"Instances [{', '.join(f'[{i}]' for i in invalid)}] not in a valid state "
                    f"for account {self.account_id}"
                )
        else:
            instances = self._resolve_targets(targets)
        command_id = str(uuid.uuid4())
        execution_timeout = float((parameters.get("executionTimeout") or ["3600"])[0] or 3600)
        slowdown = STATE.faults.command_slowdown_for(
            self.account_id, self.region_name, document.name
        )
        invocations = []
        for instance in instances:
            name_tag = next(
                (t["value"] for t in instance.get_tags() if t.get("key") == "Name"), None
            )
            fault = None
            if instance.state == "running":
                fault = STATE.faults.command_failure_for(
                    self.account_id, self.region_name, instance.id, name_tag, document.name
                )
            invocations.append(
                Invocation(
                    instance_id=instance.id,
                    instance_name=self._instance_name(instance),
                    plugins=self._plan(document, parameters, slowdown, execution_timeout, fault),
                    deliverable=instance.state == "running",
                )
            )
        extra = {
            key: request[key]
            for key in (
                "OutputS3Region",
                "OutputS3BucketName",
                "OutputS3KeyPrefix",
                "ServiceRoleArn",
                "NotificationConfig",
                "CloudWatchOutputConfig",
            )
            if request.get(key)
        }
        command = Command(
            command_id=command_id,
            document=document,
            comment=request.get("Comment") or "",
            parameters=parameters,
            given=given,
            instance_ids=instance_ids,
            targets=targets,
            requested=self.now(),
            timeout_seconds=int(request.get("TimeoutSeconds") or 3600),
            max_concurrency=request.get("MaxConcurrency") or "50",
            max_errors=request.get("MaxErrors") or "0",
            invocations=invocations,
            extra=extra,
        )
        self.commands[command_id] = command
        return command

    @staticmethod
    def _plan(
        document: CommandDocument,
        parameters: dict[str, list[str]],
        slowdown: float,
        execution_timeout: float,
        fault: Any,
    ) -> list[PluginRun]:
        from drorch.modules.ssm_automation.sandbox import interpolate

        plugins = []
        offset = 0.0
        for index, (name, _action, inputs) in enumerate(document.steps):
            resolved = interpolate(inputs or {}, parameters.get)
            commands = resolved.get("runCommand") if isinstance(resolved, Mapping) else None
            duration = TIMINGS.plugin_seconds * slowdown
            plugin = PluginRun(
                name=name,
                start=offset,
                duration=duration,
                status="Success",
                response_code=0,
                stdout=_echo_output(commands),
            )
            if offset + duration > execution_timeout:
                plugin.duration = max(0.0, execution_timeout - offset)
                plugin.status, plugin.response_code = "TimedOut", -1
                plugin.stderr = "failed to run commands: command timed out\n"
            elif fault is not None and index == len(document.steps) - 1:
                plugin.status, plugin.response_code = "Failed", fault.exit_code
                plugin.stdout = fault.stdout or plugin.stdout
                plugin.stderr = fault.stderr
            plugins.append(plugin)
            offset += plugin.duration
            if plugin.status != "Success":
                break
        return plugins

    def get(self, command_id: str | None) -> Command:
        command = self.commands.get(command_id or "")
        if command is None:
            raise InvalidCommandId()
        return command

    def ordered(self) -> list[Command]:
        return sorted(self.commands.values(), key=lambda c: c.requested, reverse=True)

    def cancel(self, command_id: str, instance_ids: list[str]) -> None:
        command = self.get(command_id)
        now = self.now()
        chosen = [
            i for i in command.invocations if not instance_ids or i.instance_id in instance_ids
        ]
        for invocation in chosen:
            if command.invocation_status(invocation, now)[0] not in TERMINAL:
                invocation.cancelled = now
        if not instance_ids:
            command.cancelled = now


command_backends = BackendDict(CommandBackend, "ssm")


# --- the wire ------------------------------------------------------------------------------
_FILTERS = {"InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName"}


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=STATE.clock.now().tzinfo)


def _keep(command: Command, status: str, filters: list[dict[str, str]]) -> bool:
    for spec in filters:
        key, value = spec.get("key"), spec.get("value", "")
        if key not in _FILTERS:
            raise InvalidFilterKey()
        if key == "InvokedAfter" and command.requested < _moment(value):
            return False
        if key == "InvokedBefore" and command.requested > _moment(value):
            return False
        if key == "Status" and status != value:
            return False
        if key == "DocumentName" and command.document.name != value:
            return False
        if key == "ExecutionStage":
            executing = status in ("Pending", "InProgress", "Cancelling")
            if (value == "Executing") != executing:
                return False
    return True


def _backend(response: Any) -> CommandBackend:
    return command_backends[response.current_account][response.region]


def send_command(self: Any) -> ActionResult:
    request = {key: self._get_param(key) for key in _SEND_MEMBERS}
    backend = _backend(self)
    command = backend.send(request)
    return ActionResult({"Command": command.view(backend.now())})


_SEND_MEMBERS = (
    "InstanceIds",
    "Targets",
    "DocumentName",
    "DocumentVersion",
    "TimeoutSeconds",
    "Comment",
    "Parameters",
    "OutputS3Region",
    "OutputS3BucketName",
    "OutputS3KeyPrefix",
    "MaxConcurrency",
    "MaxErrors",
    "ServiceRoleArn",
    "NotificationConfig",
    "CloudWatchOutputConfig",
)


def list_commands(self: Any) -> ActionResult:
    backend = _backend(self)
    now = backend.now()
    command_id, instance_id = self._get_param("CommandId"), self._get_param("InstanceId")
    commands = [backend.get(command_id)] if command_id else backend.ordered()
    if instance_id:
        commands = [c for c in commands if any(i.instance_id == instance_id for i in c.invocations)]
    views = [c.view(now) for c in commands]
    filters = self._get_param("Filters") or []
    views = [v for c, v in zip(commands, views, strict=True) if _keep(c, v["Status"], filters)]
    chunk, token = page(views, self._get_param("MaxResults"), self._get_param("NextToken"))
    result: dict[str, Any] = {"Commands": chunk}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def list_command_invocations(self: Any) -> ActionResult:
    backend = _backend(self)
    now = backend.now()
    command_id, instance_id = self._get_param("CommandId"), self._get_param("InstanceId")
    details = bool(self._get_param("Details"))
    commands = [backend.get(command_id)] if command_id else backend.ordered()
    filters = self._get_param("Filters") or []
    views = []
    for command in commands:
        for invocation in command.invocations:
            if instance_id and invocation.instance_id != instance_id:
                continue
            view = command.invocation_view(invocation, now, details)
            if _keep(command, view["Status"], filters):
                views.append(view)
    chunk, token = page(views, self._get_param("MaxResults"), self._get_param("NextToken"))
    result: dict[str, Any] = {"CommandInvocations": chunk}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def get_command_invocation(self: Any) -> ActionResult:
    backend = _backend(self)
    command = backend.get(self._get_param("CommandId"))
    instance_id = self._get_param("InstanceId")
    invocation = next((i for i in command.invocations if i.instance_id == instance_id), None)
    if invocation is None:
        raise InvocationDoesNotExist()
    answer = command.get_invocation(invocation, self._get_param("PluginName"), backend.now())
    return ActionResult(answer)


def cancel_command(self: Any) -> ActionResult:
    _backend(self).cancel(self._get_param("CommandId"), self._get_param("InstanceIds") or [])
    return ActionResult({})


OPERATIONS = {
    "SendCommand": send_command,
    "ListCommands": list_commands,
    "ListCommandInvocations": list_command_invocations,
    "GetCommandInvocation": get_command_invocation,
    "CancelCommand": cancel_command,
}


def install() -> None:
    from moto.core.utils import camelcase_to_underscores
    from moto.ssm.responses import SimpleSystemManagerResponse

    for operation, method in OPERATIONS.items():
        setattr(SimpleSystemManagerResponse, camelcase_to_underscores(operation), method)


EXTENSION = SandboxExtension(
    install=install,
    operations={"ssm": tuple(OPERATIONS)},
    # AWS answers "2020-12-23T18:55:22.684Z", "PT0.009S" and "" (not started) here; the
    # model's StringDateTime pattern allows none of them
    model_gaps=tuple(
        f"GetCommandInvocation.{member}"
        for member in ("ExecutionStartDateTime", "ExecutionElapsedTime", "ExecutionEndDateTime")
    ),
)

__all__ = ["AWS_DOCUMENTS", "EXTENSION", "TIMINGS", "CommandTimings", "command_backends"]
