"""What every resource creator shares: where a resource goes, the deployer's clients,
what the deployment records, and the conversions from Pulumi inputs to API parameters."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from drorch.errors import DrorchError
from drorch.sandbox.core import Sandbox


class SandboxDeployError(DrorchError):
    """The program could not be deployed into the sandbox."""


@dataclass(frozen=True)
class Target:
    """Where a provider's resources go."""

    account_id: str
    region: str
    role_arn: str | None = None


@dataclass
class Created:
    typ: str
    name: str
    id: str
    account_id: str
    region: str


class Clients:
    """A session whose clients are made once (creating a botocore client is the slow part)."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]


@dataclass
class Record:
    """What the creators keep besides the resources themselves."""

    sandbox: Sandbox
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> inputs
    bucket_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # as declared


# creator(record, clients, target, resource name, inputs) -> (id, outputs)
Creator = Callable[[Record, Clients, Target, str, dict], tuple[str, dict]]


def json_or(value: Any) -> Any:
    """Provider inputs arrive JSON-encoded (``"[{...}]"``); resource inputs do not."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_SIG_KEY = "4dabf18193072939515e22adb298388d"  # pulumi.runtime.rpc: special value marker
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def unwrap(value: Any) -> Any:
    """Secrets reach the mocks as ``{<sig>: <secret sig>, "value": v}``: the sandbox needs ``v``."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return unwrap(value.get("value"))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def as_int(value: Any) -> int:
    return int(value) if value is not None else 0


def tag_list(tags: Any) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (tags or {}).items()]


def zip_files(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def asset_root(code: Any, relative: str) -> str | None:
    """The local folder a code-asset folder came from (``/var/task/<relative>`` in Lambda)."""
    assets = getattr(code, "assets", None) or {}
    prefix = relative.rstrip("/") + "/"
    for key, asset in assets.items():
        path = getattr(asset, "path", None)
        if key.startswith(prefix) and path:
            suffix = key[len(prefix) :]
            local = Path(path)
            if local.as_posix().endswith(suffix):
                return local.as_posix()[: -len(suffix)].rstrip("/")
    return None
