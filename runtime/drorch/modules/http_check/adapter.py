"""The ``http-check`` health check: an HTTP(S) endpoint answers what it should.

Each attempt is one GET with ``urllib`` from the hub's Lambda (so the URL must be
reachable from the hub: a public endpoint, or the hub's VPC if the functions run
in one). It passes on the expected status code (and body text, if given); a
connection error, a timeout or another status is a failed attempt. Checks only
read: they run in drills too.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drorch.modules.base import AccountContext, load_schema
from drorch.modules.steps import RETRY_PROPERTIES, CheckModule

BODY_BYTES = 65536
USER_AGENT = "drorch-health-check"

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
