"""Route 53 health checks in the sandbox: moto 5.2 reports every health check healthy.

This extension answers ``GetHealthCheckStatus`` (REST-XML, the real shape) from what the
checked endpoint answers in the sandbox (:mod:`drorch.modules.http_check.sandbox`:
the scenario's ``httpEndpoints`` and the URL faults), as Route 53's checkers would see
it from their regions:

* ``HTTP``/``HTTPS``: a 2xx or 3xx answer within 2 seconds is ``Success: HTTP Status
  Code 200, OK``; another status, a timeout, a refused connection or an unknown host
  is a ``Failure: ...`` report;
* ``*_STR_MATCH``: as above, and the search string must be in the first 5,120 bytes;
* ``TCP``: a host the sandbox answers for is reachable;
* ``Inverted`` turns the result around; a disabled check is reported healthy, as Route
  53 treats it. ``CALCULATED``, ``CLOUDWATCH_METRIC`` and ``RECOVERY_CONTROL`` keep
  moto's answer (healthy).

So ``sandbox.faults.fail_url("https://claims-primary.acme.example/health")`` fails the
Route 53 health check of that endpoint too. Every observation has the same result (the
sandbox has one network); the reports carry the simulated time.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

CHECKER_REGIONS = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)
TIMEOUT_SECONDS = 2.0  # an HTTP(S) check must answer within 2 s of connecting
MATCH_BYTES = 5120
_REASONS: dict[int, str] = {}


def _reason(status: int) -> str:
    if not _REASONS:
        import http

        _REASONS.update({code.value: code.phrase for code in http.HTTPStatus})
    return _REASONS.get(status, "Unknown")


def _url(check: Any) -> tuple[str, str]:
    """The URL the checkers request, and the host they resolve."""
    kind = check.type_ or ""
    scheme = "https" if kind.startswith("HTTPS") else "http"
    host = check.fqdn or check.ip_address or ""
    port = int(check.port or 80)
    if scheme == "https" and port == 80:  # moto stores 80 when no port was given
        port = 443
    default = {"http": 80, "https": 443}[scheme]
    netloc = host if port == default else f"{host}:{port}"
    return f"{scheme}://{netloc}{check.resource_path or '/'}", host


def evaluate(check: Any) -> tuple[bool, str]:
    """Whether the checkers find the endpoint healthy, and their report."""
    from drorch.modules.http_check.sandbox import observe

    kind = check.type_ or ""
    if kind not in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"):
        return True, "Success: HTTP Status Code 200, OK"
    url, host = _url(check)
    seen = observe(url)
    if seen.failure == "unknown host":
        healthy, report = False, f"Failure: DNS resolution failed: Rcode NXDomain(3) for {host}"
    elif seen.failure is not None:
        healthy, report = (
            False,
            "Failure: Connection refused. The endpoint rejected the connection.",
        )
    elif kind == "TCP":
        healthy, report = True, "Success: TCP connection established."
    elif seen.latency >= TIMEOUT_SECONDS:
        healthy = False
        report = (
            "Failure: The health checker could not establish a connection within the timeout limit."
        )
    elif not 200 <= (seen.status or 0) < 400:
        healthy = False
        report = f"Failure: HTTP Status Code {seen.status}, {_reason(seen.status or 0)}"
    elif (
        kind.endswith("STR_MATCH")
        and (check.search_string or "").encode() not in seen.body[:MATCH_BYTES]
    ):
        healthy = False
        report = "Failure: Search string not found in the response body."
    else:
        healthy, report = (
            True,
            f"Success: HTTP Status Code {seen.status}, {_reason(seen.status or 0)}",
        )
    if check.inverted:
        healthy = not healthy
        report = ("Success: " if healthy else "Failure: ") + f"Inverted. {report}"
    if check.disabled:
        healthy, report = True, "Success: Health checks are disabled"
    return healthy, report


def get_health_check_status(self: Any) -> ActionResult:
    check = self.backend.get_health_check(self._get_param("HealthCheckId"))
    _, report = evaluate(check)
    now = STATE.clock.now()
    regions = check.regions or CHECKER_REGIONS
    observations = [
        {
            "Region": region,
            "IPAddress": f"15.177.{index * 8 + 2}.{10 + index}",
            "StatusReport": {"Status": report, "CheckedTime": now},
        }
        for index, region in enumerate(regions)
    ]
    return ActionResult({"HealthCheckObservations": observations})


def install() -> None:
    from moto.route53.responses import Route53

    Route53.get_health_check_status = get_health_check_status  # type: ignore[method-assign]


EXTENSION = SandboxExtension(install=install, operations={"route53": ("GetHealthCheckStatus",)})
