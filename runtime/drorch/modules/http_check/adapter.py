"""The ``http-check`` health check: an HTTP(S) endpoint answers what it should.

Each attempt is one GET with ``urllib`` from the hub's Lambda (so the URL must be
reachable from the hub: a public endpoint, or the hub's VPC if the functions run
in one). It passes on the expected status code (and body text, if given); a
connection error, a timeout or another status is a failed attempt. Checks only
read: they run in drills too.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drorch.modules.base import (
    READY,
    WARNING,
    AccountContext,
    Finding,
    Resource,
    load_schema,
    resource_finding,
)
from drorch.modules.steps import RETRY_PROPERTIES, CheckModule

BODY_BYTES = 65536
USER_AGENT = "drorch-health-check"
# how a host name is looked up (readiness: the target resolvable); the sandbox answers it
# from its declared endpoints while it runs, as it answers urllib
RESOLVER: Callable[[str], Any] = lambda host: socket.getaddrinfo(host, None)  # noqa: E731


def resolve_problem(host: str) -> str | None:
    """Why ``host`` does not resolve from here (None: it does)."""
    try:
        RESOLVER(host)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        return f"{host} does not resolve ({exc})"
    return None


def target_finding(resource: Resource, host: str, what: str) -> Finding:
    """A health check's target resolvable where readiness runs (the hub's Lambda in an
    execution): OK, else a WARNING (the target may only exist once the recovery has moved it;
    the check itself runs after the recovery)."""
    problem = resolve_problem(host) if host else f"{what} names no host"
    return resource_finding(
        resource,
        "target resolvable",
        WARNING if problem else READY,
        problem or f"{host} resolves",
        f"DNS lookup of {host or '-'} (getaddrinfo, where readiness runs)",
        "check the name (and that the recovery creates its record before the check runs)"
        if problem
        else "",
    )


_schema = load_schema(Path(__file__).with_name("parameters.json"))
_schema["properties"].update(RETRY_PROPERTIES)


class HttpCheck(CheckModule):
    type = "http-check"
    parameters_schema = _schema
    summary = "An HTTP(S) endpoint answers the expected status (and text), with retries"
    drill = "Sends GET requests only; runs in drills."
    aliases = ("http", "https", "HttpHealthCheck", "endpoint")
    runs_in = "hub"
    sandbox_extension = "drorch.modules.http_check.sandbox"

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """The URL's host resolvable (a DNS lookup)."""
        host = urlsplit(str(params.get("url", ""))).hostname or ""
        return [target_finding(r, host, f"url {params.get('url')!r}") for r in resources]

    def attempt(
        self, ctx: AccountContext, params: Mapping[str, Any]
    ) -> tuple[bool, dict[str, Any], str | None]:
        url = params["url"]
        expected = params.get("expectedStatus", 200)
        wanted = set(expected) if isinstance(expected, list) else {expected}
        detail: dict[str, Any] = {"url": url}
        request = urllib.request.Request(url, method="GET", headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(
                request, timeout=params.get("timeoutSeconds", 10)
            ) as answer:
                code, body = answer.status, answer.read(BODY_BYTES)
        except urllib.error.HTTPError as exc:
            code, body = exc.code, exc.read(BODY_BYTES) if exc.fp else b""
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            return False, detail, f"{url}: no answer ({reason})"
        detail["status"] = code
        if code not in wanted:
            return False, detail, f"{url} answered {code}, expected {sorted(wanted)}"
        text = params.get("contains")
        if text and text not in body.decode("utf-8", "replace"):
            return False, detail, f"{url} answered {code} without {text!r} in the body"
        return True, detail, None
