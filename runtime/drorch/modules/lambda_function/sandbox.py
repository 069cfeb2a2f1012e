"""Lambda capacity and event source mappings in the sandbox: moto 5.2 has reserved
concurrency and event source mappings, but no provisioned concurrency, and a mapping
switches between Enabled and Disabled at once.

This extension adds to moto's own Lambda service (REST-JSON, real wire shapes, checked
against the botocore model by the interceptor):

* ``PutProvisionedConcurrencyConfig`` / ``GetProvisionedConcurrencyConfig`` /
  ``DeleteProvisionedConcurrencyConfig`` on an alias or a published version
  (``$LATEST`` is refused, as AWS does, and so is more than the function's reserved
  concurrency). A new or changed configuration is ``IN_PROGRESS`` for
  :attr:`LambdaTimings.provisioned_seconds`, then ``READY`` with the requested
  executions available, or ``FAILED`` with a ``StatusReason`` under
  ``sandbox.faults.fail_provisioned_concurrency(function, reason=..., qualifier=...)``.
  A function without a configuration answers ``ProvisionedConcurrencyConfigNotFoundException``.
* ``UpdateEventSourceMapping`` with ``Enabled`` that changes it: the mapping is
  ``Enabling`` / ``Disabling`` for :attr:`LambdaTimings.mapping_seconds`, then
  ``Enabled`` / ``Disabled``; another update meanwhile is refused with
  ``ResourceInUseException``, as AWS does. Every answer describing a mapping
  (``Get``/``List``/``Update``) shows that state.

Not simulated: allocation progress (``AllocatedProvisionedConcurrentExecutions`` jumps
from 0 to the request when READY), the account's concurrency quota (moto's
``MOTO_LAMBDA_CONCURRENCY_QUOTA`` still applies to reserved concurrency), and messages
being consumed by an enabled mapping.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class LambdaTimings:
    """How long Lambda capacity work takes, in simulated seconds."""

    provisioned_seconds: float = 180.0  # provisioned concurrency is allocated
    mapping_seconds: float = 20.0  # an event source mapping is enabled or disabled


TIMINGS = LambdaTimings()
PROVISIONED_PATH = (
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
)


class _Error(JsonRESTError):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.code = status


@dataclass
class Provisioned:
    requested: int
    ready_at: datetime
    modified: datetime
    failure: str | None = None  # StatusReason once FAILED


_LOCK = threading.RLock()
_PROVISIONED: dict[tuple[str, str, str, str], Provisioned] = {}  # account, region, fn, qualifier
_SWITCHING: dict[str, tuple[str, datetime]] = {}  # mapping UUID -> (Enabling|Disabling, until)
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _describe(config: Provisioned) -> dict[str, Any]:
    now = _now()
    if now < config.ready_at:
        status, available = "IN_PROGRESS", 0
    elif config.failure is not None:
        status, available = "FAILED", 0
    else:
        status, available = "READY", config.requested
    body: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": config.requested,
        "AvailableProvisionedConcurrentExecutions": available,
        "AllocatedProvisionedConcurrentExecutions": available,
        "Status": status,
        "LastModified": _stamp(config.modified),
    }
    if status == "FAILED":
        body["StatusReason"] = config.failure
    return body


# --- provisioned concurrency: methods added to moto's LambdaResponse ------------------------
def _target(self: Any) -> tuple[Any, tuple[str, str, str, str]]:
    name = unquote(self.path.rstrip("/").split("/")[-2])
    qualifier = (self.querystring.get("Qualifier") or [None])[0]
    function = self.backend.get_function(name)  # ResourceNotFoundException as moto says
    if not qualifier:
        raise _Error("InvalidParameterValueException", "Qualifier is required.")
    if qualifier == "$LATEST":
        raise _Error(
            "InvalidParameterValueException",
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
        )
    self.backend.get_function(name, qualifier)  # the alias or version exists
    key = (self.current_account, self.region, function.function_name, qualifier)
    return function, key


def put_provisioned_concurrency_config(self: Any) -> Any:
    function, key = _target(self)
    requested = int(self.json_body["ProvisionedConcurrentExecutions"])
    reserved = function.reserved_concurrency
    with _LOCK:
        others = sum(c.requested for k, c in _PROVISIONED.items() if k[:3] == key[:3] and k != key)
        if reserved is not None and requested + others > int(reserved):
            raise _Error(
                "InvalidParameterValueException",
                "Requested Provisioned Concurrency should not be greater than the "
                "reservedConcurrentExecution for function",
            )
        now = _now()
        failure = STATE.faults.provisioned_concurrency_failure_for(key[0], key[1], key[2], key[3])
        config = Provisioned(
            requested, now + timedelta(seconds=TIMINGS.provisioned_seconds), now, failure
        )
        _PROVISIONED[key] = config
        return 202, {"status": 202}, json.dumps(_describe(config))


def get_provisioned_concurrency_config(self: Any) -> Any:
    _, key = _target(self)
    with _LOCK:
        config = _PROVISIONED.get(key)
        if config is None:
            raise _Error(
                "ProvisionedConcurrencyConfigNotFoundException",
                "No Provisioned Concurrency Config found for this function",
                404,
            )
        return 200, {}, json.dumps(_describe(config))


def delete_provisioned_concurrency_config(self: Any) -> Any:
    _, key = _target(self)
    with _LOCK:
        _PROVISIONED.pop(key, None)
    return 204, {"status": 204}, ""


PROVISIONED = {
    "PutProvisionedConcurrencyConfig": put_provisioned_concurrency_config,
    "GetProvisionedConcurrencyConfig": get_provisioned_concurrency_config,
    "DeleteProvisionedConcurrencyConfig": delete_provisioned_concurrency_config,
}


def provisioned_requested(account_id: str, region: str, function: str) -> int:
    """The provisioned concurrency requested on every qualifier of a function (for tests)."""
    with _LOCK:
        return sum(
            c.requested for k, c in _PROVISIONED.items() if k[:3] == (account_id, region, function)
        )


# --- event source mappings: Enabling / Disabling ---------------------------------------------
def get_configuration(self: Any) -> dict[str, Any]:
    body = _ORIGINAL["get_configuration"](self)
    body.pop("Tags", None)  # not a member of EventSourceMappingConfiguration
    with _LOCK:
        switching = _SWITCHING.get(self.uuid)
        if switching is not None and _now() < switching[1]:
            body["State"] = switching[0]
    body["StateTransitionReason"] = "USER_INITIATED"
    return body


def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
    esm = self.get_event_source_mapping(uuid)
    with _LOCK:
        switching = _SWITCHING.get(uuid)
        if esm is not None and switching is not None and _now() < switching[1]:
            raise _Error(
                "ResourceInUseException",
                f"Cannot update the event source mapping because it is in use ({switching[0]}).",
            )
        before = esm.enabled if esm is not None else None
        updated = _ORIGINAL["update_event_source_mapping"](self, uuid, spec)
        if updated is not None and "Enabled" in spec and bool(spec["Enabled"]) != before:
            state = "Enabling" if spec["Enabled"] else "Disabling"
            _SWITCHING[uuid] = (state, _now() + timedelta(seconds=TIMINGS.mapping_seconds))
        return updated


def install() -> None:
    import moto.awslambda.urls as urls
    from moto.awslambda.models import EventSourceMapping, LambdaBackend
    from moto.awslambda.responses import LambdaResponse
    from moto.core.utils import camelcase_to_underscores

    urls.url_paths[PROVISIONED_PATH] = LambdaResponse.dispatch
    for operation, method in PROVISIONED.items():
        setattr(LambdaResponse, camelcase_to_underscores(operation), method)
    _ORIGINAL["get_configuration"] = EventSourceMapping.get_configuration
    EventSourceMapping.get_configuration = get_configuration  # type: ignore[method-assign]
    _ORIGINAL["update_event_source_mapping"] = LambdaBackend.update_event_source_mapping
    LambdaBackend.update_event_source_mapping = update_event_source_mapping  # type: ignore[method-assign]


def _clear() -> None:
    with _LOCK:
        _PROVISIONED.clear()
        _SWITCHING.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={
        "lambda": (
            *PROVISIONED,
            "UpdateEventSourceMapping",
            "GetEventSourceMapping",
            "ListEventSourceMappings",
        )
    },
    start=start,
)
