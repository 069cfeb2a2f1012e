"""Finding and talking to a running sandbox endpoint (``drorch sandbox up``).

The endpoint is one process (:mod:`drorch.sandbox.server`) serving every service
the sandbox fakes over HTTP on one port. While it runs, a state file
(``endpoint.json`` in the state folder: ``$DRORCH_SANDBOX_DIR`` or
``~/.drorch/sandbox``) says where it is and as whom to call it: its pid, port,
URL, the hub's account and region, and the sandbox operator's credentials.

This module is what other processes use: the CLI reads :func:`running_endpoint`
to decide its target, and :func:`control` speaks to the endpoint's own control
paths (``/_drorch/...``: status, clock, shutdown). It imports nothing of moto,
so it costs nothing to a command that does not use the endpoint.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import urllib.parse
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "endpoint.json"
LOG_FILE = "endpoint.log"
CONTROL_PREFIX = "/_drorch/"
DEFAULT_PORT = 4599
# commands that talk to a hub: with the endpoint up and no --profile/--region they
# talk to it (``demo`` and ``sandbox`` keep their own in-process sandbox)
HUB_COMMANDS = frozenset(
    {
        "execute",
        "status",
        "list",
        "approve",
        "reject",
        "pause",
        "resume",
        "cancel",
        "report",
        "reconcile",
        "plan",  # drorch plan show|edit
        "readiness",  # drorch readiness APP: the endpoint's uploaded manifest
    }
)
# subcommands of a group that talk to a hub too
HUB_SUBCOMMANDS = {"manifest": frozenset({"upload", "plan"})}
OFF = ("0", "off", "no", "false")


def state_dir(given: Path | str | None = None) -> Path:
    """Where the endpoint's state file lives: ``given``, ``$DRORCH_SANDBOX_DIR`` or
    ``~/.drorch/sandbox``."""
    if given:
        return Path(given).expanduser()
    env = os.environ.get("DRORCH_SANDBOX_DIR")
    return Path(env).expanduser() if env else Path.home() / ".drorch" / "sandbox"


@dataclass(frozen=True)
class Endpoint:
    """A running endpoint, as its state file describes it."""

    pid: int
    port: int
    url: str
    account_id: str
    region: str
    access_key_id: str
    secret_access_key: str
    scenario: str = ""
    clock: str = "manual"
    started_at: str = ""
    state_dir: str = ""
    saved_state: str = ""  # the file its state is saved to when it stops (--state-dir)
    restored_from: str = ""  # when the state it restored was saved
    environment: dict[str, str] = field(default_factory=dict)  # the hub's DRORCH_* names
    arguments: list[str] = field(default_factory=list)  # what `sandbox up` was given

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Endpoint:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    def client_environment(self) -> dict[str, str]:
        """What an AWS SDK or the AWS CLI needs to call the endpoint as the operator."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client of the sandbox operator, pointed at the endpoint."""
        import boto3

        return boto3.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=region or self.region,
        ).client(service, endpoint_url=self.url)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(directory: Path | str | None = None) -> Endpoint | None:
    """The state file's endpoint (running or not), or None."""
    path = state_dir(directory) / STATE_FILE
    try:
        return Endpoint.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def running_endpoint(directory: Path | str | None = None) -> Endpoint | None:
    """The endpoint that is up (its state file names a live process), or None.
    ``DRORCH_SANDBOX_ENDPOINT=off`` hides it."""
    if os.environ.get("DRORCH_SANDBOX_ENDPOINT", "").lower() in OFF:
        return None
    endpoint = read_state(directory)
    if endpoint is None or not _alive(endpoint.pid):
        return None
    return endpoint


def target_endpoint(
    command: str | None,
    arguments: Sequence[str],
    environ: MutableMapping[str, str] | None = None,
) -> Endpoint | None:
    """Point a hub command at the running endpoint (the CLI calls this before the
    command parses its options): unless ``--profile``, ``AWS_PROFILE`` or a ``--region``
    other than the endpoint's choose a hub in AWS, the process's AWS settings become the endpoint's and the
    operator's (``AWS_ENDPOINT_URL``, credentials, ``AWS_REGION``), and the hub's
    ``DRORCH_*`` names are set. Returns the endpoint it targets, or None. Any other
    command forgets a local ``AWS_ENDPOINT_URL`` (it runs its own sandbox)."""
    env = os.environ if environ is None else environ
    if not is_hub_command(command, arguments):
        _forget_local_endpoint(env)
        return None
    if env.get("AWS_PROFILE"):
        return None
    if any(a == "--profile" or a.startswith("--profile=") for a in arguments):
        return None
    endpoint = running_endpoint()
    if endpoint is None or _region_given(arguments) not in (None, endpoint.region):
        return None
    env.update(endpoint.client_environment())
    env.pop("AWS_SESSION_TOKEN", None)
    for key, value in endpoint.environment.items():
        env.setdefault(key, value)
    return endpoint


def is_hub_command(command: str | None, arguments: Sequence[str]) -> bool:
    """Whether ``drorch COMMAND ARGUMENTS...`` talks to a hub (``status``, ``manifest
    upload``...)."""
    if command in HUB_COMMANDS:
        return True
    subcommand = next((a for a in arguments if not a.startswith("-")), None)
    return subcommand in HUB_SUBCOMMANDS.get(command or "", ())


_LOOPBACK = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?/?$")


def _forget_local_endpoint(env: MutableMapping[str, str]) -> None:
    """A command with its own in-process sandbox (``demo``, ``sandbox show``, ``manifest
    plan``...) must not send its calls to a local endpoint that a shell exported
    (``eval "$(drorch sandbox env)"``): the in-process sandbox answers AWS's host names."""
    for key in [k for k in env if k.startswith("AWS_ENDPOINT_URL")]:
        if _LOOPBACK.match(env[key].strip()):
            del env[key]


def _region_given(arguments: Sequence[str]) -> str | None:
    for index, word in enumerate(arguments):
        if word == "--region":
            return arguments[index + 1] if index + 1 < len(arguments) else ""
        if word.startswith("--region="):
            return word.split("=", 1)[1]
    return None


class EndpointError(RuntimeError):
    pass


def control(
    endpoint: Endpoint, path: str, payload: Mapping[str, Any] | None = None, timeout: float = 30
) -> dict[str, Any]:
    """Call one of the endpoint's control paths (``status``, ``clock``, ``shutdown``):
    GET without a payload, POST with one. Plain ``http.client``: never through a proxy
    (nor the sandbox's own simulation of ``urllib`` endpoints)."""
    target = urllib.parse.urlsplit(endpoint.url)
    connection = http.client.HTTPConnection(
        target.hostname or "localhost", target.port or 80, timeout=timeout
    )
    data = None if payload is None else json.dumps(payload).encode()
    try:
        connection.request(
            "GET" if data is None else "POST",
            CONTROL_PREFIX + path,
            body=data,
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        body = response.read()
    except OSError as error:
        raise EndpointError(
            f"the sandbox endpoint at {endpoint.url} does not answer: {error}"
        ) from error
    finally:
        connection.close()
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        answer = {"message": body.decode("utf-8", "replace")}
    if response.status != 200:
        raise EndpointError(answer.get("message") or f"HTTP {response.status}")
    return answer
