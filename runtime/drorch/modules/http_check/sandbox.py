"""HTTP(S) endpoints in the sandbox: what each URL answers, for health checks.

While a sandbox runs, every request made through :mod:`urllib.request` (``urlopen``,
with or without an SSL context, or any opener) is answered here instead of going
to the network: product code is unchanged and cannot tell. A scenario's
``httpEndpoints`` (or a test, through :data:`ENDPOINTS`) declares what each URL
answers: a status, a body and headers, a latency on the simulated clock, and
optionally that the first N requests fail.

* a declared URL (matched on scheme, host, port and path, with its query if the
  declaration has one) gets its answer; 4xx/5xx become ``HTTPError`` as usual;
* another path on a declared host gets 404, as a web server would;
* an undeclared host is unreachable: ``URLError`` (name not known);
* a latency at or past the caller's ``timeout`` raises ``TimeoutError`` (what a
  read timeout raises) once the simulated clock has moved by the timeout.

Faults (``sandbox.faults``): ``fail_url(url, status=503)`` makes a URL answer an
error (``status=None``: the connection is refused); ``slow_url(url, seconds)`` adds
latency. Everything is undone when the sandbox stops: urllib reaches the network
again and the declarations are forgotten.

Only :mod:`urllib.request` is intercepted (what drorch's checks use); ``requests``,
``urllib3`` or raw sockets are not.
"""

from __future__ import annotations

import http
import http.client
import io
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_url(url: str, *, with_query: bool = True) -> str:
    """``url`` as endpoints are matched: scheme and host in lower case, no default port,
    ``/`` for an empty path, no fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if with_query and parts.query else ""
    return f"{scheme}://{netloc}{path}{query}"


def _host(url: str) -> str:
    return normal_url(url).split("/", 3)[2]


@dataclass
class Endpoint:
    """What one URL answers."""

    url: str
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    fail_first: int = 0  # the first N requests fail ...
    fail_status: int | None = 503  # ... with this status (None: connection refused)
    latency: float = 0.0  # simulated seconds before it answers
    requests: int = 0


@dataclass(frozen=True)
class Request:
    """One intercepted request and how it was answered (``status`` None: no answer)."""

    method: str
    url: str
    status: int | None
    error: str | None = None


class Endpoints:
    """The declared endpoints of the running sandbox, and the requests they received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_url: dict[str, Endpoint] = {}
        self.requests: list[Request] = []

    def declare(
        self,
        url: str,
        *,
        status: int = 200,
        body: str | bytes | Mapping[str, Any] | list[Any] = "",
        headers: Mapping[str, str] | None = None,
        fail_first: int = 0,
        fail_status: int | None = 503,
        latency: float = 0.0,
    ) -> Endpoint:
        """Declare (or replace) what ``url`` answers."""
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL with a host")
        if not 100 <= status <= 599:
            raise ValueError(f"{status} is not an HTTP status code")
        if fail_first < 0 or latency < 0:
            raise ValueError("fail_first and latency must be >= 0")
        content_type = "text/plain; charset=utf-8"
        if isinstance(body, Mapping | list):
            data, content_type = json.dumps(body).encode(), "application/json"
        else:
            data = body.encode() if isinstance(body, str) else bytes(body)
        merged = {"Content-Type": content_type, **dict(headers or {})}
        endpoint = Endpoint(
            url=normal_url(url),
            status=status,
            body=data,
            headers=merged,
            fail_first=fail_first,
            fail_status=fail_status,
            latency=latency,
        )
        with self._lock:
            self._by_url[endpoint.url] = endpoint
        return endpoint

    def get(self, url: str) -> Endpoint | None:
        with self._lock:
            return self._by_url.get(normal_url(url)) or self._by_url.get(
                normal_url(url, with_query=False)
            )

    def knows_host(self, url: str) -> bool:
        host = _host(url)
        with self._lock:
            return any(_host(u) == host for u in self._by_url)

    def count(self, url: str) -> int:
        """How many requests ``url`` received."""
        wanted = normal_url(url)
        with self._lock:
            return sum(1 for r in self.requests if normal_url(r.url) == wanted)

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def take_attempt(self, endpoint: Endpoint) -> int:
        with self._lock:
            endpoint.requests += 1
            return endpoint.requests

    def clear(self) -> None:
        with self._lock:
            self._by_url.clear()
            self.requests.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_url)


ENDPOINTS = Endpoints()

_REASONS = {code.value: code.phrase for code in http.HTTPStatus}


class _Wire:
    """A socket that holds one whole HTTP response."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def makefile(self, *args: Any, **kwargs: Any) -> io.BytesIO:
        return self._file

    def close(self) -> None:
        pass


def _response(
    method: str, url: str, status: int, body: bytes, headers: Mapping[str, str]
) -> http.client.HTTPResponse:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    raw = "\r\n".join(lines).encode("latin-1") + body
    response = http.client.HTTPResponse(_Wire(raw), method=method, url=url)  # type: ignore[arg-type]
    response.begin()
    return response


def _refused() -> urllib.error.URLError:
    return urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))


def answer(request: urllib.request.Request) -> http.client.HTTPResponse:
    """The sandbox's answer to one urllib request (raises as urllib would)."""
    url = request.get_full_url()
    method = request.get_method()
    timeout = request.timeout
    limit = None if timeout in (None, socket._GLOBAL_DEFAULT_TIMEOUT) else float(timeout)  # type: ignore[attr-defined]

    def fail(error: BaseException, note: str) -> BaseException:
        ENDPOINTS.record(Request(method, url, None, note))
        return error

    fault = STATE.faults.url_failure_for(url)
    endpoint = ENDPOINTS.get(url)
    if fault is not None and fault.status is None:
        raise fail(_refused(), "connection refused (fault)")
    if fault is None and endpoint is None and not ENDPOINTS.knows_host(url):
        error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise fail(urllib.error.URLError(error), "unknown host")
    delay = (endpoint.latency if endpoint else 0.0) + STATE.faults.url_delay_for(url)
    if limit is not None and delay >= limit:
        STATE.clock.advance_to(STATE.clock.now() + timedelta(seconds=limit))
        raise fail(TimeoutError("timed out"), f"timed out after {limit:g} s")
    if delay:
        STATE.clock.advance_to(STATE.clock.now() + timedelta(seconds=delay))
    headers: Mapping[str, str] = {"Content-Type": "text/plain; charset=utf-8"}
    if fault is not None:
        status, body = int(fault.status or 503), fault.body.encode()
    elif endpoint is None:
        status, body = 404, b"Not Found"
    else:
        attempt = ENDPOINTS.take_attempt(endpoint)
        if attempt <= endpoint.fail_first:
            if endpoint.fail_status is None:
                raise fail(_refused(), f"connection refused (request {attempt})")
            status, body = endpoint.fail_status, b""
        else:
            status, body, headers = endpoint.status, endpoint.body, endpoint.headers
    ENDPOINTS.record(Request(method, url, status))
    return _response(method, url, status, body, headers)


@dataclass(frozen=True)
class Observation:
    """What a URL answers in steady state, as an outside checker sees it."""

    status: int | None  # None: no HTTP answer (see ``failure``)
    body: bytes = b""
    latency: float = 0.0
    failure: str | None = None  # "unknown host" | "connection refused"


def observe(url: str) -> Observation:
    """What ``url`` answers now, without counting a request or consuming a fault (a
    Route 53 health checker's view: it polls all the time, so ``fail_first`` is past)."""
    fault = STATE.faults.url_failure_for(url, consume=False)
    endpoint = ENDPOINTS.get(url)
    delay = (endpoint.latency if endpoint else 0.0) + STATE.faults.url_delay(url)
    if fault is not None:
        if fault.status is None:
            return Observation(None, failure="connection refused")
        return Observation(fault.status, fault.body.encode(), delay)
    if endpoint is not None:
        return Observation(endpoint.status, endpoint.body, delay)
    if ENDPOINTS.knows_host(url):
        return Observation(404, b"Not Found", delay)
    return Observation(None, failure="unknown host")


def _do_open(
    self: urllib.request.AbstractHTTPHandler,
    http_class: Any,
    req: urllib.request.Request,
    **http_conn_args: Any,
) -> http.client.HTTPResponse:
    if not req.host:
        raise urllib.error.URLError("no host given")
    response = answer(req)
    response.url = req.get_full_url()  # type: ignore[attr-defined]
    response.msg = response.reason  # type: ignore[assignment]
    return response


_ORIGINAL_DO_OPEN = urllib.request.AbstractHTTPHandler.do_open


def resolve(host: str) -> list[Any]:
    """A host name lookup (readiness): a declared host resolves, another is not known."""
    if not ENDPOINTS.knows_host(f"https://{host}/"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("198.51.100.10", 0))]


def start(sandbox: Sandbox) -> Callable[[], None]:
    """Intercept urllib (and the checks' name lookups) for the sandbox's lifetime; the
    returned function undoes it."""
    from drorch.modules.http_check import adapter

    ENDPOINTS.clear()
    urllib.request.AbstractHTTPHandler.do_open = _do_open  # type: ignore[method-assign]
    original_resolver, adapter.RESOLVER = adapter.RESOLVER, resolve

    def stop() -> None:
        urllib.request.AbstractHTTPHandler.do_open = _ORIGINAL_DO_OPEN  # type: ignore[method-assign]
        adapter.RESOLVER = original_resolver
        ENDPOINTS.clear()

    return stop


EXTENSION = SandboxExtension(start=start)
