"""OpenSearch Service in the sandbox: moto 5.2 applies ``UpdateDomainConfig`` at once (and
replaces the whole ``ClusterConfig`` with the part it is given), is never ``Processing``,
and has no cross-cluster connections.

This extension adds to moto's own OpenSearch service (REST-JSON, real wire shapes, checked
against the botocore model by the interceptor):

* ``UpdateDomainConfig`` with ``ClusterConfig``: merged into the domain's (as AWS does),
  refused with ``ValidationException`` while a change is in progress or for an
  ``InstanceCount`` below 1; the new configuration shows at once, and the domain is
  ``Processing`` (``DomainProcessingStatus`` ``Modifying``, ``ChangeProgressDetails``
  ``ApplyingChanges``) for :attr:`SearchTimings.change_seconds`, then ``Active``.
* ``DescribeDomain`` / ``DescribeDomains``: ``Processing``, ``DomainProcessingStatus`` and
  ``ChangeProgressDetails`` of the latest change.
* Cross-cluster connections: ``CreateOutboundConnection`` (``PENDING_ACCEPTANCE``),
  ``AcceptInboundConnection`` by the remote domain's owner (``PROVISIONING`` for
  :attr:`SearchTimings.connect_seconds`, then ``ACTIVE``), ``DescribeOutboundConnections``
  (in the local domain's account and region) and ``DescribeInboundConnections`` (in the
  remote's), with their filters, and ``DeleteOutboundConnection`` /
  ``DeleteInboundConnection`` (``DELETING`` for :attr:`SearchTimings.delete_seconds`, then
  ``DELETED``, still listed).

Faults (``sandbox.faults``): ``stick_opensearch_change(domain)`` keeps the next change
``Processing`` for good; ``fail_opensearch_change(domain, reason)`` ends it with the domain
back on its previous cluster configuration and ``ChangeProgressDetails.Message`` the reason.
Throttling and access denied are the generic wire faults.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class SearchTimings:
    """How long OpenSearch work takes, in simulated seconds."""

    change_seconds: float = 900.0  # a blue/green configuration change
    connect_seconds: float = 60.0  # an accepted connection until ACTIVE
    delete_seconds: float = 60.0  # a deleted connection until DELETED


TIMINGS = SearchTimings()


@dataclass
class Change:
    id: str
    previous: dict[str, Any]
    started: datetime
    ready: datetime | None  # None: never (a change that stays processing)
    failure: str | None = None
    done: bool = False


@dataclass
class Connection:
    id: str
    alias: str
    local: dict[str, str]  # AWSDomainInformation: OwnerId, DomainName, Region
    remote: dict[str, str]
    mode: str
    status: str = "PENDING_ACCEPTANCE"
    ready: datetime | None = None  # when the status moves on
    properties: dict[str, Any] = field(default_factory=dict)

    def to_wire(self, inbound: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "LocalDomainInfo": {"AWSDomainInformation": dict(self.local)},
            "RemoteDomainInfo": {"AWSDomainInformation": dict(self.remote)},
            "ConnectionId": self.id,
            "ConnectionStatus": {"StatusCode": self.status},
            "ConnectionMode": self.mode,
        }
        if not inbound:
            body["ConnectionAlias"] = self.alias
            if self.properties:
                body["ConnectionProperties"] = self.properties
        return body


_LOCK = threading.RLock()
_CHANGES: dict[tuple[str, str, str], Change] = {}  # (account, region, domain) -> latest
_CONNECTIONS: dict[str, Connection] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _backend(account_id: str, region: str) -> Any:
    from moto.opensearch.models import opensearch_backends

    return opensearch_backends[account_id][region]


def _error(code: str, message: str, status: int = 400) -> JsonRESTError:
    """An OpenSearch error. Its model shapes (ValidationException, ResourceNotFoundException)
    declare no members, and the checked sandbox holds the body to them: the message is
    logged, not sent."""
    error = JsonRESTError(code, message)
    error.code = status
    error.description = json.dumps({"__type": code})
    return error


def settle() -> None:
    now = _now()
    with _LOCK:
        for (account_id, region, name), change in _CHANGES.items():
            if change.done or change.ready is None or now < change.ready:
                continue
            change.done = True
            if change.failure is not None:
                domain = _backend(account_id, region).domains.get(name)
                if domain is not None:
                    domain.cluster_config = dict(change.previous)
        for connection in _CONNECTIONS.values():
            if connection.ready is None or now < connection.ready:
                continue
            connection.ready = None
            connection.status = {"PROVISIONING": "ACTIVE", "DELETING": "DELETED"}.get(
                connection.status, connection.status
            )


# --- domains ----------------------------------------------------------------------------------
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def to_dict(self: Any) -> dict[str, Any]:
    """moto's DomainStatus with the change in progress."""
    body = _ORIGINAL["to_dict"](self)
    # moto puts the service software state in SoftwareUpdateOptions; AWS answers it in
    # ServiceSoftwareOptions (AutomatedUpdateDate as a timestamp)
    software = dict(body.pop("SoftwareUpdateOptions", None) or {})
    body["SoftwareUpdateOptions"] = {
        "AutoSoftwareUpdateEnabled": bool(software.pop("AutoSoftwareUpdateEnabled", False))
    }
    software.pop("AutomatedUpdateDate", None)
    known = ("CurrentVersion", "NewVersion", "UpdateAvailable", "Cancellable", "UpdateStatus")
    body["ServiceSoftwareOptions"] = {
        k: v for k, v in software.items() if k in (*known, "Description", "OptionalDeployment")
    }
    region, account_id = self.arn.split(":")[3], self.arn.split(":")[4]
    with _LOCK:
        change = _CHANGES.get((account_id, region, self.domain_name))
    busy = change is not None and not change.done
    body["Processing"] = busy
    body["DomainProcessingStatus"] = "Modifying" if busy else "Active"
    if change is not None:
        details: dict[str, Any] = {
            "ChangeId": change.id,
            "ConfigChangeStatus": "ApplyingChanges" if busy else "Completed",
            "InitiatedBy": "CUSTOMER",
            "StartTime": change.started.timestamp(),
            "LastUpdatedTime": (
                _now() if change.ready is None else min(_now(), change.ready)
            ).timestamp(),
        }
        if change.done and change.failure:
            details["Message"] = change.failure
        body["ChangeProgressDetails"] = details
    return body


def update_domain_config(self: Any) -> str:
    cluster = self._get_param("ClusterConfig")
    account_id, region = self.current_account, self.region
    name = self._get_param("DomainName") or self.path.rstrip("/").split("/")[-2]
    if not cluster:
        return _ORIGINAL["update_domain_config"](self)
    with _LOCK:
        settle()
        backend = _backend(account_id, region)
        domain = backend.describe_domain(domain_name=name)  # ResourceNotFoundException
        change = _CHANGES.get((account_id, region, name))
        if change is not None and not change.done:
            raise _error(
                "ValidationException",
                "A change/update is in progress. Please wait for it to complete before "
                "requesting another change.",
            )
        merged = {**domain.cluster_config, **cluster}
        if int(merged.get("InstanceCount", 1)) < 1:
            raise _error("ValidationException", "InstanceCount must be at least 1.")
        previous = dict(domain.cluster_config)
        now = _now()
        stuck = STATE.faults.capacity_fault_for("opensearch-stuck", account_id, region, name)
        failure = STATE.faults.capacity_fault_for("opensearch-fail", account_id, region, name)
        _CHANGES[(account_id, region, name)] = Change(
            id=str(uuid.uuid4()),
            previous=previous,
            started=now,
            ready=None if stuck else now + timedelta(seconds=TIMINGS.change_seconds),
            failure=failure.reason if failure is not None else None,
        )
        _ORIGINAL["update_domain_config"](self)  # moto takes the part given as the whole
        domain.cluster_config = merged
        status = {
            "CreationDate": domain.creation_date,
            "UpdateDate": now.timestamp(),
            "UpdateVersion": 2,
            "State": "Processing",
            "PendingDeletion": False,
        }
        # the part of the configuration the request changed, as AWS answers it
        return json.dumps(
            {"DomainConfig": {"ClusterConfig": {"Options": merged, "Status": status}}}
        )


# --- cross-cluster connections ----------------------------------------------------------------
def _info(container: dict[str, Any] | None, account_id: str, region: str) -> dict[str, str]:
    info = dict((container or {}).get("AWSDomainInformation") or {})
    info.setdefault("OwnerId", account_id)
    info.setdefault("Region", region)
    return info


def create_outbound_connection(self: Any) -> str:
    account_id, region = self.current_account, self.region
    local = _info(self._get_param("LocalDomainInfo"), account_id, region)
    remote = _info(self._get_param("RemoteDomainInfo"), account_id, region)
    with _LOCK:
        settle()
        if (local["OwnerId"], local["Region"]) != (account_id, region):
            raise _error("ValidationException", "The local domain must be in this account/region.")
        _backend(account_id, region).describe_domain(domain_name=local["DomainName"])
        connection = Connection(
            id=f"cc-{uuid.uuid4().hex[:20]}",
            alias=self._get_param("ConnectionAlias"),
            local=local,
            remote=remote,
            mode=self._get_param("ConnectionMode") or "DIRECT",
            properties=self._get_param("ConnectionProperties") or {},
        )
        _CONNECTIONS[connection.id] = connection
        return json.dumps(connection.to_wire())


def _visible(connection: Connection, account_id: str, region: str, inbound: bool) -> bool:
    side = connection.remote if inbound else connection.local
    return (side["OwnerId"], side["Region"]) == (account_id, region)


def _connection(self: Any, inbound: bool) -> Connection:
    connection_id = self._get_param("ConnectionId") or self.uri_match.get("ConnectionId")
    found = _CONNECTIONS.get(connection_id or "")
    if found is None or not _visible(found, self.current_account, self.region, inbound):
        raise _error(
            "ResourceNotFoundException", f"Connection not found: {connection_id}", status=409
        )
    return found


def accept_inbound_connection(self: Any) -> str:
    with _LOCK:
        settle()
        connection = _connection(self, inbound=True)
        if connection.status != "PENDING_ACCEPTANCE":
            raise _error(
                "ValidationException", f"Connection is {connection.status}, not pending acceptance"
            )
        connection.status = "PROVISIONING"
        connection.ready = _now() + timedelta(seconds=TIMINGS.connect_seconds)
        return json.dumps({"Connection": connection.to_wire(inbound=True)})


def _delete(self: Any, inbound: bool) -> str:
    with _LOCK:
        settle()
        connection = _connection(self, inbound)
        if connection.status not in ("DELETING", "DELETED"):
            connection.status = "DELETING"
            connection.ready = _now() + timedelta(seconds=TIMINGS.delete_seconds)
        return json.dumps({"Connection": connection.to_wire(inbound)})


def delete_outbound_connection(self: Any) -> str:
    return _delete(self, inbound=False)


def delete_inbound_connection(self: Any) -> str:
    return _delete(self, inbound=True)


_FILTERS = {
    "connection-id": lambda c: c.id,
    "local-domain-info.domain-name": lambda c: c.local["DomainName"],
    "local-domain-info.owner-id": lambda c: c.local["OwnerId"],
    "local-domain-info.region": lambda c: c.local["Region"],
    "remote-domain-info.domain-name": lambda c: c.remote["DomainName"],
    "remote-domain-info.owner-id": lambda c: c.remote["OwnerId"],
    "remote-domain-info.region": lambda c: c.remote["Region"],
}


def _describe(self: Any, inbound: bool) -> str:
    filters = self._get_param("Filters") or []
    with _LOCK:
        settle()
        found = []
        for connection in sorted(_CONNECTIONS.values(), key=lambda c: c.id):
            if not _visible(connection, self.current_account, self.region, inbound):
                continue
            if all(
                f["Name"] in _FILTERS and _FILTERS[f["Name"]](connection) in f.get("Values", [])
                for f in filters
            ):
                found.append(connection.to_wire(inbound))
        return json.dumps({"Connections": found})


def describe_outbound_connections(self: Any) -> str:
    return _describe(self, inbound=False)


def describe_inbound_connections(self: Any) -> str:
    return _describe(self, inbound=True)


def as_if_long_ago(account_id: str) -> None:
    """Seeded connections are ACTIVE and seeded domains settled: a steady state."""
    with _LOCK:
        for connection in _CONNECTIONS.values():
            if connection.local["OwnerId"] == account_id and connection.status == "PROVISIONING":
                connection.status, connection.ready = "ACTIVE", None


OPERATIONS = {
    "UpdateDomainConfig": update_domain_config,
    "CreateOutboundConnection": create_outbound_connection,
    "AcceptInboundConnection": accept_inbound_connection,
    "DeleteOutboundConnection": delete_outbound_connection,
    "DeleteInboundConnection": delete_inbound_connection,
    "DescribeOutboundConnections": describe_outbound_connections,
    "DescribeInboundConnections": describe_inbound_connections,
}

CONNECTION_PATHS = "{0}/2021-01-01/opensearch/cc/.*$"


def install() -> None:
    from moto.core.responses import BaseResponse
    from moto.core.utils import camelcase_to_underscores
    from moto.es import urls
    from moto.opensearch.models import OpenSearchDomain
    from moto.opensearch.responses import OpenSearchServiceResponse

    # moto routes es.<region>.amazonaws.com through its ES backend's paths
    urls.url_paths.setdefault(CONNECTION_PATHS, OpenSearchServiceResponse.dispatch)
    _ORIGINAL.setdefault("to_dict", OpenSearchDomain.to_dict)
    OpenSearchDomain.to_dict = to_dict  # type: ignore[method-assign]
    for operation, method in OPERATIONS.items():
        name = camelcase_to_underscores(operation)
        if hasattr(OpenSearchServiceResponse, name):
            _ORIGINAL.setdefault(name, getattr(OpenSearchServiceResponse, name))
        setattr(OpenSearchServiceResponse, name, method)
    original = OpenSearchServiceResponse.__dict__.get("call_action", BaseResponse.call_action)

    def call_action(self: Any) -> Any:
        settle()
        return original(self)

    OpenSearchServiceResponse.call_action = call_action  # type: ignore[method-assign]


def _clear() -> None:
    with _LOCK:
        _CHANGES.clear()
        _CONNECTIONS.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"opensearch": (*OPERATIONS, "DescribeDomain")},
    start=start,
)
