"""The sandbox as a local AWS endpoint: ``drorch sandbox up`` runs this module.

One process, one port. The process starts a sandbox as ``drorch execute`` does in
process (:func:`drorch.cli.sandbox_run.sandbox_hub`: moto, drorch's DRS and
Resource Explorer backends and the modules' extensions, the hub deployed by the
Pulumi program, the scenario seeded), then serves moto's server-mode WSGI
application on the port. moto's server dispatches a request by its host or its
SigV4 credential scope (``.../us-east-2/drs/aws4_request``) through
``moto.backend_index.backend_url_patterns`` and ``moto.backends.get_backend``,
the two places :mod:`drorch.sandbox.registry` adds drorch's services to, so an
HTTP request reaches the very backends the in-process sandbox uses. Step
Functions executions started over HTTP run on the sandbox's interpreter in this
process, and their Lambda handlers run here too (in-process calls go through
:mod:`drorch.sandbox.interceptor` as always). Scheduled EventBridge rules fire on
the sandbox's clock (:class:`drorch.sandbox.triggers.Scheduler`).

Around moto's application, :class:`EndpointApp` does for HTTP requests what the
interceptor does for in-process ones where it matters for consistency: one
request at a time inside moto (the interceptor's lock), DRS work due by now
settled before any other service answers, an ``sts:AssumeRole`` without the
ExternalId a role's trust policy requires refused, an operation no fake
implements answered as AWS answers an unknown operation (naming it), and a fake's
Python exception turned into an AWS-shaped ``InternalFailure``. Faults injected
with ``sandbox.faults`` and the wire-fidelity checks apply to in-process calls
only.

The control paths (``/_drorch/status``, ``/_drorch/clock``, ``/_drorch/shutdown``)
belong to drorch, not AWS; :mod:`drorch.sandbox.endpoint` is their client.

Run it as ``python -m drorch.sandbox.server --port N --state-dir DIR ...`` (what
``drorch sandbox up`` does, in the background).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from drorch.sandbox.endpoint import (
    CONTROL_PREFIX,
    DEFAULT_PORT,
    STATE_FILE,
    Endpoint,
    state_dir,
)

CLOCK_MODES = "realtime, fast:FACTOR or manual"


def clock_speed(mode: str) -> float:
    """The sandbox clock's speed for ``--clock``: realtime 1, fast:FACTOR, manual 0."""
    if mode == "realtime":
        return 1.0
    if mode == "manual":
        return 0.0
    if mode.startswith("fast:"):
        try:
            factor = float(mode.split(":", 1)[1])
        except ValueError:
            factor = 0.0
        if factor > 0:
            return factor
    raise ValueError(f"--clock {mode!r} is not a clock mode (use {CLOCK_MODES})")


def clock_mode(speed: float) -> str:
    if speed == 0:
        return "manual"
    if speed == 1:
        return "realtime"
    return f"fast:{speed:g}"


def _service_of(environ: dict[str, Any]) -> str:
    """The SigV4 signing name of a request (``drs``, ``states``...), or ''."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split(",")[0].split()[1].split("/")[3]
    except IndexError:
        return ""


class EndpointApp:
    """moto's server application, plus drorch's control paths and consistency rules."""

    def __init__(self, sandbox: Any, info: dict[str, Any]) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.sandbox = sandbox
        self.info = info
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.shutdown = threading.Event()

    # --- AWS ------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response, path[len(CONTROL_PREFIX) :])
        from drorch.sandbox.drs.models import settle_all
        from drorch.sandbox.interceptor import _MOTO_LOCK

        body = _buffer_body(environ)
        signing = _service_of(environ)
        refused = _refusal(environ, signing, body)
        if refused is not None:
            return _answer(start_response, *refused)
        try:
            if signing != "drs":
                settle_all()  # DRS work due by now shows in every service
            with _MOTO_LOCK:
                captured: dict[str, Any] = {}

                def capture(status: str, headers: list, exc_info: Any = None) -> Any:
                    captured["status"], captured["headers"] = status, headers
                    return lambda data: None

                answer = b"".join(self.moto(environ, capture))
        except NotImplementedError:
            return _answer(start_response, *_unsupported(environ, signing, body))
        except Exception as error:  # noqa: BLE001 - a fake's bug must not reach the client raw
            problem = f"the sandbox endpoint failed: {type(error).__name__}: {error}"
            traceback.print_exc()
            return _json(
                start_response,
                500,
                {"__type": "InternalFailure", "message": problem},
                {"x-amzn-ErrorType": "InternalFailure"},
            )
        if captured["status"].startswith("404") and answer == b"Not yet implemented":
            return _answer(start_response, *_unsupported(environ, signing, body))
        start_response(captured["status"], captured["headers"])
        return [answer]

    # --- drorch's own paths -----------------------------------------------------------
    def status(self) -> dict[str, Any]:
        clock = self.sandbox.clock
        return self.info | {
            "clock": clock_mode(clock.speed),
            "now": clock.now().isoformat(),
            "uptimeSeconds": round(time.monotonic() - self.info["_started"], 1),
        }

    def _control(self, environ: dict[str, Any], start_response: Any, what: str) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            payload = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            if what == "status":
                answer = self.status()
            elif what == "clock":
                answer = self._clock(payload)
            elif what == "shutdown":
                self.shutdown.set()
                answer = {"stopping": True}
            else:
                return _json(start_response, 404, {"message": f"no control path {what!r}"})
        except ValueError as error:
            return _json(start_response, 400, {"message": str(error)})
        return _json(start_response, 200, {k: v for k, v in answer.items() if k[0] != "_"})

    def _clock(self, payload: dict[str, Any]) -> dict[str, Any]:
        clock = self.sandbox.clock
        if "mode" in payload:
            clock.set_speed(clock_speed(str(payload["mode"])))
        if "advance" in payload:
            seconds = float(payload["advance"])
            if seconds < 0:
                raise ValueError("the simulated clock cannot go backwards")
            clock.advance(seconds)
        return {"clock": clock_mode(clock.speed), "now": clock.now().isoformat()}


def _buffer_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _client_name(signing_name: str) -> str:
    """botocore's client name for a SigV4 signing name (``states`` -> ``stepfunctions``)."""
    return {"states": "stepfunctions", "execute-api": "apigateway"}.get(signing_name, signing_name)


def _operation(environ: dict[str, Any], body: bytes) -> str:
    """The operation a request calls: ``X-Amz-Target``, the query ``Action``, or the
    REST path's last segment (DRS and Resource Explorer: ``POST /DescribeJobs``)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    form = parse_qs(environ.get("QUERY_STRING", "")) | parse_qs(body.decode("utf-8", "replace"))
    if form.get("Action"):
        return form["Action"][0]
    return environ.get("PATH_INFO", "").rstrip("/").rsplit("/", 1)[-1] or "Unknown"


def _caller_account(environ: dict[str, Any]) -> str | None:
    match = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    from moto.iam.models import get_account_id_from

    return get_account_id_from(match.group(1))


def _refusal(
    environ: dict[str, Any], signing: str, body: bytes
) -> tuple[int, dict[str, str], bytes] | None:
    """What the interceptor refuses in process, refused over HTTP too: an
    ``sts:AssumeRole`` without the ExternalId the role's trust policy requires."""
    if signing != "sts" or _operation(environ, body) != "AssumeRole":
        return None
    from drorch.sandbox.interceptor import _assume_role_denial, error_response

    denial = _assume_role_denial(SimpleNamespace(body=body), _caller_account(environ))
    if denial is None:
        return None
    return error_response("sts", "AssumeRole", None, None, denial, "access_denied")


def _unsupported(
    environ: dict[str, Any], signing: str, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """AWS's answer to an operation it does not know, naming what the sandbox lacks."""
    from drorch.sandbox.interceptor import error_response, unsupported_message

    operation = _operation(environ, body)
    client = _client_name(signing)
    try:
        message = unsupported_message(client, operation)
        return error_response(client, operation, None, None, message, "unsupported")
    except LookupError:
        message = f"{signing}:{operation} is not supported by the drorch sandbox"
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": "UnknownOperationException",
        }
        return (
            400,
            headers,
            json.dumps({"__type": "UnknownOperationException", "message": message}).encode(),
        )


def _answer(start_response: Any, status: int, headers: dict[str, str], body: bytes) -> list[bytes]:
    start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
    return [body]


def _json(
    start_response: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[bytes]:
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    data = json.dumps(body).encode()
    start_response(
        f"{status} {reasons.get(status, '')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        + list((headers or {}).items()),
    )
    return [data]


def _write_state(directory: Path, endpoint: Endpoint) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(endpoint.to_json(), indent=2))
    os.chmod(temporary, 0o600)  # it holds the operator's (sandbox) credentials
    temporary.replace(path)
    return path


def serve(
    *,
    port: int,
    directory: Path,
    clock: str,
    scenario: str,
    accounts_dir: Path,
    host: str = "127.0.0.1",
    arguments: list[str] | None = None,
    persist: bool = False,
) -> None:
    """Set the sandbox up, serve it until SIGTERM/SIGINT or ``/_drorch/shutdown``.
    With ``persist``, the state saved in ``directory`` (if any) is restored instead of
    deploying and seeding afresh, and the state is saved there when the endpoint stops."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from drorch.cli.sandbox_run import sandbox_hub
    from drorch.sandbox import persistence
    from drorch.sandbox.triggers import Scheduler

    speed = clock_speed(clock)
    saved_state = directory / persistence.SNAPSHOT_FILE
    snapshot = persistence.load(saved_state) if persist and saved_state.exists() else None
    if snapshot is not None:
        scenario = snapshot.extra.get("scenario", scenario)
    started = time.monotonic()
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[key]  # the in-process sandbox answers by AWS host names
    # bind first: a port in use fails at once, not after the set-up
    server = make_server(
        host, port, lambda e, s: [], threaded=True, request_handler=MotoRequestHandler
    )
    port = server.server_address[1]
    with sandbox_hub(scenario, accounts_dir, speed=speed, progress=True, snapshot=snapshot) as hub:
        sandbox = hub.sandbox
        credentials = sandbox.operator_session().get_credentials()
        environment = {
            k: v for k, v in hub.deployment.environment.items() if k.startswith("DRORCH_")
        }
        endpoint = Endpoint(
            pid=os.getpid(),
            port=port,
            url=f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}",
            account_id=sandbox.hub.account_id,
            region=sandbox.hub.region,
            access_key_id=credentials.access_key,
            secret_access_key=credentials.secret_key,
            scenario=scenario,
            clock=clock_mode(speed),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            state_dir=str(directory),
            saved_state=str(saved_state) if persist else "",
            restored_from=snapshot.saved_at if snapshot is not None else "",
            environment=environment,
            arguments=list(arguments or []),
        )
        info = endpoint.to_json() | {
            "startupSeconds": round(time.monotonic() - started, 1),
            "_started": time.monotonic(),
        }
        info.pop("secret_access_key")
        app = EndpointApp(sandbox, info)
        server.app = app
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: app.shutdown.set())
        thread = threading.Thread(target=server.serve_forever, name="endpoint", daemon=True)
        thread.start()
        scheduler = Scheduler(sandbox.clock)
        if snapshot is not None and "scheduler" in snapshot.extra:
            scheduler.resume(snapshot.extra["scheduler"])
        stop_scheduler = scheduler.start()  # scheduled rules fire on the clock
        state = _write_state(directory, endpoint)
        print(
            f"drorch sandbox endpoint on {endpoint.url} (pid {endpoint.pid}, "
            f"ready in {info['startupSeconds']}s, clock {endpoint.clock})",
            flush=True,
        )
        try:
            app.shutdown.wait()
        finally:
            stop_scheduler()
            server.shutdown()
            thread.join(timeout=10)
            if persist:
                _save(hub, scheduler, scenario, saved_state)
            if state.exists():
                current = json.loads(state.read_text())
                if current.get("pid") == os.getpid():
                    state.unlink()
    print("drorch sandbox endpoint stopped", flush=True)


def _save(hub: Any, scheduler: Any, scenario: str, path: Path) -> None:
    """Stop the executions still running (their interpreter threads cannot be saved),
    then write the sandbox's state."""
    from drorch.sandbox import persistence
    from drorch.sandbox.stepfunctions import stop_executions

    sandbox = hub.sandbox
    stop_executions(sandbox.operator_session(), hub.deployment.state_machines.values())
    extra = {"deployment": hub.deployment, "seeded": hub.seeded, "scenario": scenario}
    persistence.save(lambda: persistence.capture(sandbox, extra, scheduler), path)
    print(f"drorch sandbox state saved to {path}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drorch.sandbox.server", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", default=None)
    parser.add_argument("--clock", default="manual", help=CLOCK_MODES)
    parser.add_argument("--scenario", default="three-tier")
    parser.add_argument("--accounts-dir", default="accounts")
    parser.add_argument(
        "--persist",
        action="store_true",
        help="restore the state saved in --state-dir, and save it there on shutdown",
    )
    args = parser.parse_args(argv)
    from drorch.sandbox.persistence import SnapshotError

    try:
        serve(
            port=args.port,
            directory=state_dir(args.state_dir),
            clock=args.clock,
            scenario=args.scenario,
            accounts_dir=Path(args.accounts_dir),
            host=args.host,
            arguments=list(sys.argv[1:] if argv is None else argv),
            persist=args.persist,
        )
    except SnapshotError as error:
        print(f"error: {error}\nhint: `drorch sandbox reset` starts afresh", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
