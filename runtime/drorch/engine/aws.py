"""Sessions and clients for the hub's own account and for the staging accounts.

The hub session is boto3's default session (in a Lambda: the function's role).
Clients are cached per session, so a warm Lambda reuses them; staging-account
sessions come from ``sts:AssumeRole`` on the account's execution role with its
ExternalId, and are reused until shortly before their credentials expire.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from drorch import names

_lock = threading.Lock()
_clients: dict[tuple[str, str, str | None], Any] = {}
_assumed: dict[tuple[str, str, str, str], tuple[boto3.Session, datetime]] = {}
_identities: dict[str, str] = {}
REFRESH_BEFORE = timedelta(minutes=10)
# One model loader for every session made here: a service model is parsed once per process.
_LOADER = botocore.loaders.create_loader()


def _botocore_session() -> botocore.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return core


def hub_session() -> boto3.Session:
    """The process's default session (the Lambda's own credentials).

    Whoever set ``boto3.DEFAULT_SESSION`` decides what it is (the sandbox makes it
    thread-aware, so an in-process Lambda gets its role's credentials); if nobody
    did, it is made here, as ``boto3.client()`` would make it.
    """
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session(botocore_session=_botocore_session())
        _dedupe_search_paths()
    return boto3.DEFAULT_SESSION


def forget() -> None:
    """Drop every cached client, assumed session and caller identity: the credentials
    they hold are no longer valid (a simulated AWS whose state was replaced, in the
    sandbox); the next call assumes the roles afresh."""
    with _lock:
        _clients.clear()
        _assumed.clear()
        _identities.clear()


def identity(session: boto3.Session) -> str:
    """What tells sessions apart for caching: their access key (the default session may be a
    proxy that stands for different credentials in different threads)."""
    credentials = session.get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials: the hub's session cannot call AWS")
    return f"{credentials.access_key}@{session.region_name}"


def client(service: str, session: boto3.Session | None = None, region: str | None = None) -> Any:
    """A client for ``service``, made once per identity (and region)."""
    session = session or hub_session()
    key = (identity(session), service, region)
    with _lock:
        found = _clients.get(key)
    if found is None:
        found = session.client(service, region_name=region) if region else session.client(service)
        with _lock:
            _clients[key] = found
    return found


def table(name: str, session: boto3.Session | None = None) -> Any:
    """A ``dynamodb.Table`` resource, made once per session."""
    session = session or hub_session()
    key = (identity(session), f"dynamodb-table:{name}", None)
    with _lock:
        found = _clients.get(key)
    if found is None:
        found = session.resource("dynamodb").Table(name)
        with _lock:
            _clients[key] = found
    return found


def hub_account_id(session: boto3.Session | None = None) -> str:
    session = session or hub_session()
    key = identity(session)
    with _lock:
        known = _identities.get(key)
    if known is None:
        known = client("sts", session).get_caller_identity()["Account"]
        with _lock:
            _identities[key] = known
    return known


def resolve_config(
    config: names.EnvConfig | None = None, session: boto3.Session | None = None
) -> names.EnvConfig:
    """``env_config()`` with the account-specific names (buckets, topic) filled in."""
    config = config or names.env_config()
    if config.artifacts_bucket and config.manifest_bucket and config.topic_arn:
        return config
    session = session or hub_session()
    account, region = hub_account_id(session), session.region_name
    return replace(
        config,
        artifacts_bucket=config.artifacts_bucket or names.artifacts_bucket(account, region),
        manifest_bucket=config.manifest_bucket or names.manifest_bucket(account, region),
        topic_arn=config.topic_arn or names.topic_arn(account, region),
    )


@dataclass(frozen=True)
class AccountAccess:
    """How the hub reaches one staging account (an entry of ``DRORCH_ACCOUNTS``)."""

    account_id: str
    name: str
    recovery_region: str
    source_region: str
    execution_role_arn: str
    external_id: str

    @classmethod
    def from_config(cls, entry: dict[str, str]) -> AccountAccess:
        try:
            return cls(
                account_id=str(entry["accountId"]),
                name=entry.get("name") or str(entry["accountId"]),
                recovery_region=entry["recoveryRegion"],
                source_region=entry.get("sourceRegion") or entry["recoveryRegion"],
                execution_role_arn=entry.get("executionRoleArn")
                or names.role_arn(str(entry["accountId"]), names.EXECUTION_ROLE),
                external_id=entry["externalId"],
            )
        except KeyError as exc:
            raise ValueError(f"DRORCH_ACCOUNTS entry {entry!r} has no {exc.args[0]!r}") from exc


def accounts(config: names.EnvConfig) -> dict[str, AccountAccess]:
    """The configured staging accounts, by account id."""
    found = [AccountAccess.from_config(entry) for entry in config.accounts]
    return {a.account_id: a for a in found}


def assume(
    access: AccountAccess,
    region: str | None = None,
    session_name: str = "drorch-engine",
    source: boto3.Session | None = None,
) -> boto3.Session:
    """A session in the staging account: its execution role, assumed with its ExternalId."""
    source = source or hub_session()
    region = region or access.recovery_region
    key = (identity(source), access.execution_role_arn, access.external_id, region)
    with _lock:
        cached = _assumed.get(key)
    if cached and cached[1] - datetime.now(UTC) > REFRESH_BEFORE:
        return cached[0]
    credentials = client("sts", source).assume_role(
        RoleArn=access.execution_role_arn,
        RoleSessionName=session_name,
        ExternalId=access.external_id,
    )["Credentials"]
    # one shared model loader: cheap clients in a warm Lambda
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
        botocore_session=_botocore_session(),
    )
    _dedupe_search_paths()
    expiration = credentials["Expiration"]
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    with _lock:
        _assumed[key] = (session, expiration)
    return session


def _dedupe_search_paths() -> None:
    """boto3 appends its data path to the loader on every new session: keep one."""
    _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
