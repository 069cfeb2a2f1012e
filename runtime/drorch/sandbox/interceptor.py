"""The sandbox's HTTP-level interceptor.

botocore emits ``before-send.<service-id>.<Operation>`` with the signed request
just before it would go on the network; moto answers it there. drorch wraps
moto's handler so that, for every request of every service, the sandbox can:

* count the call per service, operation, account and region (for benchmarks);
* answer with an injected wire fault (throttling, access denied), serialized in
  the service's own protocol so botocore parses and retries it like the real one;
* enforce what moto does not: an ``sts:AssumeRole`` into a role whose trust
  policy requires an ``sts:ExternalId`` fails without the right ExternalId;
* answer an operation that no fake implements (moto raises ``NotImplementedError``,
  drorch's DRS and Resource Explorer fakes leave a few out) the way an AWS endpoint
  answers an operation it does not know, naming the operation — never with a
  Python exception in the client;
* make botocore's retry back-off and waiter delays simulated time
  (:func:`sandbox_sleep`): with a manual clock the clock moves to the end of the
  delay and real time barely passes; with a scaled clock the real pause is the
  delay divided by the speed;
* check every answer of drorch's own fakes against the botocore model: the
  custom services and the operations the modules' extensions add to moto's
  services (:mod:`drorch.sandbox.registry`), tolerating only the constraints AWS's
  own documented answers break (an extension's ``model_gaps``).

Everything else is handed to moto unchanged.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError, EndpointConnectionError
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from drorch.sandbox import registry
from drorch.sandbox.botocore_models import service_model
from drorch.sandbox.fidelity import FidelityError, check_response
from drorch.sandbox.state import STATE
from drorch.sandbox.stepfunctions import SERVICE_ACCESS_KEY, invoke_in_process

# One request at a time inside moto: AWS applies each request to an item atomically,
# while moto's models are not thread-safe (a query could see half of an UpdateItem).
# Re-entrant, and never held while an in-process Lambda runs.
_MOTO_LOCK = threading.RLock()

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/")


def _resign_service_calls(request: Any) -> None:
    """moto's Step Functions interpreter signs with a fixed key: make it the hub's service role."""
    key = STATE.service_access_key
    if not key:
        return
    auth = request.headers.get("Authorization", b"")
    if isinstance(auth, bytes):
        auth = auth.decode()
    marker = f"Credential={SERVICE_ACCESS_KEY}/"
    if marker in auth:
        request.headers["Authorization"] = auth.replace(marker, f"Credential={key}/")


def _caller(request: Any) -> tuple[str | None, str | None]:
    auth = request.headers.get("Authorization", b"")
    if isinstance(auth, bytes):
        auth = auth.decode()
    match = _CREDENTIAL.search(auth)
    if not match:
        return None, None
    from moto.iam.models import get_account_id_from

    return get_account_id_from(match.group(1)), match.group(2)


# (code, HTTP status) per protocol for each fault kind; per-service exceptions below.
_PROTOCOL_ERRORS = {
    "throttle": {
        "rest-json": ("ThrottlingException", 429),
        "json": ("ThrottlingException", 400),
        "query": ("Throttling", 400),
        "ec2": ("RequestLimitExceeded", 503),
        "rest-xml": ("Throttling", 400),
    },
    "access_denied": {
        "rest-json": ("AccessDeniedException", 403),
        "json": ("AccessDeniedException", 400),
        "query": ("AccessDenied", 403),
        "ec2": ("UnauthorizedOperation", 403),
        "rest-xml": ("AccessDenied", 403),
    },
    # What an endpoint answers for an operation it does not know (AWS's "common errors":
    # UnknownOperationException on the JSON protocols, InvalidAction on the query ones).
    "unsupported": {
        "rest-json": ("UnknownOperationException", 404),
        "json": ("UnknownOperationException", 400),
        "query": ("InvalidAction", 400),
        "ec2": ("InvalidAction", 400),
        "rest-xml": ("NotImplemented", 501),
    },
    # A fake that fails with a Python exception: AWS's common InternalFailure (HTTP 500),
    # recorded as a fidelity violation so that tests see the fake's bug.
    "internal": {
        "rest-json": ("InternalFailure", 500),
        "json": ("InternalFailure", 500),
        "query": ("InternalFailure", 500),
        "ec2": ("InternalError", 500),
        "rest-xml": ("InternalError", 500),
    },
}
_SERVICE_ERRORS = {
    ("s3", "throttle"): ("SlowDown", 503),
    ("rds", "throttle"): ("ThrottlingException", 400),
}


def error_response(
    service_id: str, operation: str, code: str | None, status: int | None, message: str, kind: str
) -> tuple[int, dict[str, str], bytes]:
    """Serialize an error the way ``service_id`` does on the wire."""
    model = service_model(service_id)
    protocol = model.protocol
    if protocol == "smithy-rpc-v2-cbor":  # pragma: no cover - not used by drorch's services
        protocol = "json"
    default_code, default_status = _SERVICE_ERRORS.get(
        (model.service_name, kind), _PROTOCOL_ERRORS[kind][protocol]
    )
    code = code or default_code
    status = status or default_status
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id}
    if protocol == "rest-json":
        headers |= {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
        body = {"message": message}
        if code == "ThrottlingException" and model.service_name == "drs":
            body |= {"retryAfterSeconds": "1", "serviceCode": "drs", "quotaCode": "L-SIM"}
        return status, headers, json.dumps(body).encode()
    if protocol == "json":
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return status, headers, json.dumps({"__type": code, "message": message}).encode()
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return status, headers | {"Content-Type": "text/xml"}, body.encode()
    if protocol == "rest-xml" and model.service_name == "s3":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return status, headers | {"Content-Type": "application/xml"}, body.encode()
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, headers | {"Content-Type": "text/xml"}, body.encode()


def _assume_role_denial(request: Any, caller_account: str | None) -> str | None:
    """Why an sts:AssumeRole must be refused (trust policy ExternalId), or None."""
    body = request.body or b""
    if isinstance(body, bytes):
        body = body.decode()
    form = {k: v[0] for k, v in parse_qs(body).items()}
    role_arn = form.get("RoleArn", "")
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None
    account, role_name = parts[4], parts[5].split("/")[-1]
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["aws"].get_role(role_name)
    except Exception:  # noqa: BLE001 - moto lets callers assume roles that do not exist
        return None
    try:
        policy = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return None
    required: set[str] = set()
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for operator, conditions in (statement.get("Condition") or {}).items():
            if operator not in ("StringEquals", "StringLike"):
                continue
            for key, value in conditions.items():
                if key.lower() == "sts:externalid":
                    required.update([value] if isinstance(value, str) else value)
    if not required or form.get("ExternalId") in required:
        return None
    caller = caller_account or "unknown"
    return (
        f"User: arn:aws:sts::{caller}:assumed-role is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn}"
    )


def intercept(event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
    if not botocore_stubber.enabled:
        return None
    _, service_id, operation = event_name.split(".", 2)
    _resign_service_calls(request)
    account, region = _caller(request)
    STATE.faults.record_call(service_id, operation, account or "", region or "")

    fault = STATE.faults.take_wire_fault(service_id, operation, account, region)
    if fault is not None and fault.kind == "unreachable":  # a blackholed region
        raise EndpointConnectionError(endpoint_url=request.url)
    denial = None
    if fault is None and service_id == "sts" and operation == "AssumeRole":
        denial = _assume_role_denial(request, account)
    if fault is not None or denial is not None:
        kind = fault.kind if fault else "access_denied"
        message = (
            (fault and fault.message)
            or denial
            or (
                "Rate exceeded"
                if kind == "throttle"
                else f"User is not authorized to perform: {service_id}:{operation}"
            )
        )
        status, headers, body = error_response(service_id, operation, None, None, message, kind)
        return AWSResponse(request.url, status, headers, MockRawResponse(body))
    if service_id == "lambda" and operation == "Invoke":
        answer = invoke_in_process(STATE.lambda_runtime, request)
        if answer is not None:
            return answer
    if service_id != "drs":
        # DRS work due by now (instances launched or terminated) shows in every service
        from drorch.sandbox.drs.models import settle_all

        settle_all()
    try:
        with _MOTO_LOCK:
            answer = botocore_stubber.process_request(request)
    except NotImplementedError:
        answer = (404, {}, "Not yet implemented")
    except BotoCoreError:
        raise  # a connection error and its kin: what a client of AWS can see too
    except Exception as error:  # noqa: BLE001 - a fake's bug must not reach the client raw
        problem = f"{service_id}:{operation}: the fake raised {type(error).__name__}: {error}"
        STATE.fidelity.violations.append(problem)
        status, headers, body = error_response(
            service_id, operation, None, None, problem, "internal"
        )
        return AWSResponse(request.url, status, headers, MockRawResponse(body))
    if answer is None:
        return None
    status, headers, body = answer
    if status == 404 and body == "Not yet implemented":  # moto knows the URL, not the operation
        return unsupported_operation(request, service_id, operation)
    if service_id in STATE.fidelity.services or registry.is_checked(service_id, operation):
        _check_fidelity(service_id, operation, status, headers, body)
    return AWSResponse(request.url, status, headers, MockRawResponse(body))


def unsupported_message(service_id: str, operation: str) -> str:
    name = service_model(service_id).service_name
    return (
        f"{name}:{operation} is not supported by the drorch sandbox (AWS supports it; "
        "the sandbox's fake does not implement it yet)"
    )


def unsupported_operation(request: Any, service_id: str, operation: str) -> AWSResponse:
    """An AWS-shaped "unknown operation" error naming the operation the sandbox lacks."""
    message = unsupported_message(service_id, operation)
    status, headers, body = error_response(
        service_id, operation, None, None, message, "unsupported"
    )
    return AWSResponse(request.url, status, headers, MockRawResponse(body))


def _check_fidelity(service_id: str, operation: str, status: int, headers: Any, body: Any) -> None:
    model = service_model(service_id).operation_model(operation)
    raw = body.encode() if isinstance(body, str) else (body or b"")
    problems = [
        p for p in check_response(model, status, dict(headers), raw) if not registry.tolerated(p)
    ]
    if not problems:
        return
    STATE.fidelity.violations.extend(problems)
    if STATE.fidelity.strict:
        raise FidelityError("; ".join(problems))


REAL_PAUSE_SECONDS = 0.01
_real_sleep = time.sleep


def sandbox_sleep(seconds: float) -> None:
    """``time.sleep`` for botocore while a sandbox runs: the delay passes on the sandbox's
    clock. Outside a sandbox it is the real ``time.sleep``."""
    if not botocore_stubber.enabled or seconds <= 0:
        _real_sleep(max(seconds, 0))
        return
    clock = STATE.clock
    if clock.speed > 0:
        _real_sleep(seconds / clock.speed)
        return
    # like a Wait state: parallel waiters move the clock to the end of the delay once
    clock.advance_to(clock.now() + timedelta(seconds=seconds))
    _real_sleep(REAL_PAUSE_SECONDS)


class _SandboxTime:
    """The ``time`` module as botocore's retry and waiter code (and the Step Functions
    interpreter's Retry) sees it: ``sleep`` is :func:`sandbox_sleep`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        sandbox_sleep(seconds)


def _sleep_on_the_sandbox_clock() -> None:
    import botocore.endpoint
    import botocore.waiter

    for module in (botocore.endpoint, botocore.waiter):
        if not isinstance(module.time, _SandboxTime):
            module.time = _SandboxTime()  # type: ignore[assignment]


def install() -> None:
    """Put :func:`intercept` in place of moto's handler for sessions created from now on."""
    _sleep_on_the_sandbox_clock()
    handlers = botocore.handlers.BUILTIN_HANDLERS
    for index, spec in enumerate(handlers):
        if spec[0] == "before-send" and spec[1] is botocore_stubber:
            handlers[index] = ("before-send", intercept, *spec[2:])
            return
    if not any(spec[1] is intercept for spec in handlers):  # pragma: no cover
        handlers.append(("before-send", intercept))
