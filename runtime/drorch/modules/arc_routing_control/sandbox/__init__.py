"""The arc-routing-control module's sandbox extension: Route 53 ARC as two whole services
(moto 5.2 has neither), backed by one model (:mod:`.models`).

A cluster endpoint that cannot be reached is simulated below the fakes, where the network
would fail: a ``before-send`` hook of the data plane raises botocore's
``EndpointConnectionError`` for an endpoint ``sandbox.faults.arc_endpoint_unreachable``
names, and for the service's own Regional name (``route53-recovery-cluster.<region>``),
where ARC has no API: only a cluster's endpoints answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from drorch.sandbox.extensions import SandboxExtension

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox

PACKAGE = "drorch.modules.arc_routing_control.sandbox"
_HOST = re.compile(r"^(?P<id>[a-z0-9]+\.)?route53-recovery-cluster\.(?P<region>[a-z0-9-]+)\.")
_CREDENTIAL = re.compile(r"Credential=([^/]+)/")


def unreachable(request: Any, **_: Any) -> None:
    """Refuse the connection to a cluster endpoint that is down (botocore retries or raises)."""
    from botocore.exceptions import EndpointConnectionError
    from moto.core.models import botocore_stubber

    from drorch.sandbox.state import STATE

    if not botocore_stubber.enabled:
        return
    match = _HOST.match(urlparse(request.url).netloc)
    if match is None:
        return
    auth = request.headers.get("Authorization", b"")
    found = _CREDENTIAL.search(auth.decode() if isinstance(auth, bytes) else auth)
    account = None
    if found:
        from moto.iam.models import get_account_id_from

        account = get_account_id_from(found.group(1))
    if not match.group("id") or STATE.faults.arc_endpoint_down(account, match.group("region")):
        raise EndpointConnectionError(endpoint_url=request.url)


def install() -> None:
    import botocore.handlers

    event = "before-send.route53-recovery-cluster"
    if not any(spec[1] is unreachable for spec in botocore.handlers.BUILTIN_HANDLERS):
        botocore.handlers.BUILTIN_HANDLERS.append((event, unreachable))


def start(sandbox: Sandbox) -> Callable[[], None]:
    from drorch.modules.arc_routing_control.sandbox.models import arc_backends

    arc_backends.reset()
    return arc_backends.reset


EXTENSION = SandboxExtension(
    services={
        "route53-recovery-control-config": (f"{PACKAGE}.config", "arc_backends"),
        "route53-recovery-cluster": (f"{PACKAGE}.cluster", "arc_backends"),
    },
    install=install,
    start=start,
)
