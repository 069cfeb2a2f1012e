"""Route 53 record changes in the sandbox: moto 5.2 answers every change ``INSYNC`` at once,
with the same change id every time, and ``GetChange`` of any id ``INSYNC``.

This extension gives each ``ChangeResourceRecordSets`` its own change id (``C`` and 13
upper-case letters and digits, as Route 53's), answers it ``PENDING`` and has ``GetChange``
say ``PENDING`` until the change has propagated to the authoritative servers
(:data:`TIMINGS`, simulated seconds; Route 53 takes up to 60 s) and ``INSYNC`` from then
on; an unknown id is ``NoSuchChange`` (404). Faults
(``sandbox.faults.reject_record_change`` / ``slow_record_propagation``) make Route 53
refuse a batch with ``InvalidChangeBatch`` (nothing is changed, as the batch is atomic)
or take longer to propagate. Wire shapes are the REST-XML ones of the botocore model.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class RecordTimings:
    propagation_seconds: float = 45.0  # a change reaches every authoritative server


TIMINGS = RecordTimings()
_ALPHABET = string.ascii_uppercase + string.digits
_LOCK = threading.RLock()
# change id -> (submitted, in sync from, comment)
_CHANGES: dict[str, tuple[datetime, datetime, str | None]] = {}
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _error(code: str, message: str) -> Exception:
    """An error of the botocore model (moto serializes it with the model's HTTP status)."""
    from moto.route53.exceptions import Route53ClientError

    return Route53ClientError(code, message)


def _names(self: Any) -> list[str]:
    changes = self._get_param("ChangeBatch.Changes") or []
    return [str(c["ResourceRecordSet"]["Name"]).rstrip(".").lower() for c in changes]


def change_resource_record_sets(self: Any) -> ActionResult:
    account = self.current_account
    names = _names(self)
    rejected = STATE.faults.record_change_rejection_for(account, names)
    if rejected is not None:
        raise _error("InvalidChangeBatch", rejected)
    _ORIGINAL["change_resource_record_sets"](self)
    now = STATE.clock.now()
    seconds = TIMINGS.propagation_seconds + STATE.faults.record_propagation_delay_for(
        account, names
    )
    change_id = "C" + "".join(secrets.choice(_ALPHABET) for _ in range(13))
    comment = (self._get_param("ChangeBatch") or {}).get("Comment")
    with _LOCK:
        _CHANGES[change_id] = (now, now + timedelta(seconds=seconds), comment)
    return ActionResult({"ChangeInfo": _info(change_id, now)})


def _info(change_id: str, now: datetime) -> dict[str, Any]:
    submitted, ready, comment = _CHANGES[change_id]
    info: dict[str, Any] = {
        "Id": f"/change/{change_id}",
        "Status": "INSYNC" if now >= ready else "PENDING",
        "SubmittedAt": submitted,
    }
    if comment:
        info["Comment"] = comment
    return info


def get_change(self: Any) -> ActionResult:
    change_id = str(self._get_param("Id") or "").split("/")[-1]
    with _LOCK:
        if change_id not in _CHANGES:
            raise _error("NoSuchChange", f"Could not find resource with ID: {change_id}")
        return ActionResult({"ChangeInfo": _info(change_id, STATE.clock.now())})


OPERATIONS = {
    "ChangeResourceRecordSets": change_resource_record_sets,
    "GetChange": get_change,
}


def install() -> None:
    from moto.core.utils import camelcase_to_underscores
    from moto.route53.responses import Route53

    for operation, method in OPERATIONS.items():
        name = camelcase_to_underscores(operation)
        _ORIGINAL[name] = getattr(Route53, name)
        setattr(Route53, name, method)


def _clear() -> None:
    with _LOCK:
        _CHANGES.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install, operations={"route53": tuple(OPERATIONS)}, start=start
)
