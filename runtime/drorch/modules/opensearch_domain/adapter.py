"""The opensearch-domain module: OpenSearch Service domains in the recovery region.

A resource is a domain in the recovery region (the account's region), by its name.
Discovery makes direct calls there (``ListDomainNames``, ``DescribeDomains``,
``ListTags``), by the selector's ids (domain name or ARN) and tags.

Two modes (``mode``), after the AWS guidance for OpenSearch in a second region: keep a
smaller standby domain there and scale it when it must take the load (``scale``), or keep a
follower of the primary's indices with cross-cluster replication and make it stop
following on failover (``stop-replication``).

Phases (each ``start`` + ``status``; status reads ``DescribeDomain``, never a timer):

* ``scale`` — INSTANTIATE and ACTIVATE: ``UpdateDomainConfig`` ``ClusterConfig``
  ``InstanceType``/``InstanceCount`` (what the parameters give; the rest is kept). Done
  when ``DescribeDomain`` says ``Processing`` false and its ``ClusterConfig`` is the
  target (a change AWS rolled back fails, with its ``ChangeProgressDetails`` message). A
  domain already at the target is only waited for. The configuration before is recorded
  in the result (``detail.before``) and kept on the domain as the tag
  ``drorch:capacity-before`` until CLEANUP, so a retried start or a second run before any
  cleanup records the original capacity. CLEANUP puts back exactly what the earlier run
  recorded (``AccountContext.recorded``), waits the same way and removes the tag; a domain
  no run recorded is left alone (SKIPPED). A domain busy with another change is waited
  for before the update is asked.
* ``stop-replication`` — ACTIVATE (failover): deletes the follower's outbound
  cross-cluster connection(s) to its leader (``DeleteOutboundConnection``, from the
  recovery region: the leader's region may be down, so the leader side's
  ``DeleteInboundConnection`` is not used) and waits until they are ``DELETED`` and the
  domain is not processing. Follower indices stay read-only until replication is stopped
  on each of them with the domain's own API (``POST _plugins/_replication/<index>/_stop``),
  which drorch does not call: the result says so. INSTANTIATE and CLEANUP do nothing.
* REPLICATE (failback) — nothing: a connection the other way, and its replication rules,
  are set up outside drorch (SKIPPED, said so).

Drill: ``scale`` makes the same scale-up of the recovery-region (standby) domain and never
a scale-down (fewer nodes, or a smaller or different instance family, is refused before
anything is sent); its CLEANUP only puts back the capacity the drill recorded.
``stop-replication`` deletes nothing in a drill: it checks the connection is ``ACTIVE`` and
the domain not processing a change. Production, in the source region, is never called;
the drill client refuses every call in ``DISRUPTIVE_CALLS`` before it is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules import capacity
from drorch.modules.base import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Finding,
    LayerMapping,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    error_code,
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.opensearch_domain import iam
from drorch.modules.opensearch_domain.iam import BEFORE_TAG
from drorch.modules.opensearch_domain.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "es:domain"
STATE_VERSION = 1
POLL_SECONDS = 60
BATCH = 5  # DescribeDomains takes at most 5 names
CAPACITY = ("InstanceType", "InstanceCount")
NOT_FOUND = "ResourceNotFoundException"
GONE = ("DELETED", "REJECTED", "VALIDATION_FAILED")
STOP_NOTE = (
    "follower indices stay read-only until replication is stopped on each of them "
    "(POST _plugins/_replication/<index>/_stop on the domain); drorch does not call the "
    "domain's own API"
)
# what UpdateDomainConfig may carry in a drill: data node type and count, nothing else
SCALING_CALL = frozenset({"DomainName", "ClusterConfig"})
SIZES = ("nano", "micro", "small", "medium", "large", "xlarge")


def _not_only_capacity(params: Mapping[str, Any]) -> bool:
    cluster = params.get("ClusterConfig") or {}
    return bool(set(params) - SCALING_CALL) or bool(set(cluster) - set(CAPACITY))


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "UpdateDomainConfig": _not_only_capacity,  # policies, options, dedicated masters, ...
    "DeleteOutboundConnection": always,
    "DeleteInboundConnection": always,
    "RejectInboundConnection": always,
    "DeleteDomain": always,
    "UpgradeDomain": always,
    "StartServiceSoftwareUpdate": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def name_of(identifier: str) -> str:
    """The domain name from it or its ARN (``arn:aws:es:<region>:<account>:domain/<name>``)."""
    return identifier.split(":domain/", 1)[1] if ":domain/" in identifier else identifier


def encode(config: Mapping[str, Any]) -> str:
    return ",".join(f"{key}={config[key]}" for key in CAPACITY)


def decode(text: str) -> dict[str, Any] | None:
    """The capacity a ``drorch:capacity-before`` tag holds (None: not one)."""
    try:
        found = dict(part.split("=", 1) for part in text.split(","))
        return {"InstanceType": found["InstanceType"], "InstanceCount": int(found["InstanceCount"])}
    except (KeyError, ValueError):
        return None


def capacity_of(domain: Mapping[str, Any]) -> dict[str, Any]:
    cluster = domain.get("ClusterConfig") or {}
    return {
        "InstanceType": str(cluster.get("InstanceType", "")),
        "InstanceCount": int(cluster.get("InstanceCount", 0)),
    }


def size_rank(instance_type: str) -> tuple[str, int] | None:
    """(family, rank of its size) of ``r6g.2xlarge.search``; None when not known."""
    match = re.fullmatch(r"([a-z0-9]+)\.([0-9]*)([a-z]+)\.search", instance_type)
    if not match or match.group(3) not in SIZES:
        return None
    family, times, size = match.groups()
    rank = SIZES.index(size) + (int(times) if times and size == "xlarge" else 0)
    return family, rank


def smaller(target: str, current: str) -> bool:
    """Whether ``target`` is not known to be at least as large as ``current``."""
    if target == current:
        return False
    new, old = size_rank(target), size_rank(current)
    return new is None or old is None or new[0] != old[0] or new[1] < old[1]


class OpenSearchDomainModule(ResourceModule):
    type = "opensearch-domain"
    service = "opensearch"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "OpenSearch Service domains: scale the recovery-region domain's data nodes (CLEANUP "
        "puts back the recorded capacity), or make a cross-cluster replication follower stop "
        "following"
    )
    drill = (
        "scale: scales the recovery-region domain up only (a smaller count or instance type "
        "is refused before anything is sent); CLEANUP puts back what the drill recorded. "
        "stop-replication: deletes nothing; checks the follower's cross-cluster connection "
        "is ACTIVE and the domain is not processing a change. The drill client refuses "
        "DeleteOutboundConnection, DeleteDomain and any non-capacity UpdateDomainConfig."
    )
    aliases = ("OpenSearchService", "OpenSearch", "opensearch_domain", "Search")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "domain name (in the recovery region) or the domain's ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.opensearch_domain.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``DomainName``/``DomainArn`` -> selector ids; ``InstanceCount``,
        ``InstanceType``; ``StopReplication: true`` (or ``Mode``) -> the mode."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        domain = params.pop("DomainName", None) or params.pop("DomainArn", None)
        if domain:
            technology["selector"] = {"ids": domain if isinstance(domain, list) else [domain]}
        out = technology["parameters"]
        if params.pop("StopReplication", False):
            out["mode"] = "stop-replication"
        if "Mode" in params:
            out["mode"] = str(params.pop("Mode")).lower()
        for key, name in (
            ("InstanceCount", "instanceCount"),
            ("InstanceType", "instanceType"),
            ("ConnectionAlias", "connectionAlias"),
        ):
            if key in params:
                out[name] = params.pop(key)
        notes = []
        if out.get("mode", "scale") == "scale" and not {"instanceCount", "instanceType"} & set(out):
            notes.append(f"{where}: set parameters.instanceCount or instanceType (scale mode)")
        known = set(self.parameters_schema["properties"])
        out.update({k: v for k, v in params.items() if k in known})
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology=technology, unmapped=unmapped, notes=notes)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = sorted({name_of(str(i)) for i in selector_field(selector, "ids")})
        client = ctx.client("opensearch")
        try:
            names = ids or sorted(
                d["DomainName"] for d in client.list_domain_names().get("DomainNames", [])
            )
            for start in range(0, len(names), BATCH):
                batch = client.describe_domains(DomainNames=names[start : start + BATCH])
                for domain in batch.get("DomainStatusList", []):
                    if domain.get("Deleted"):
                        continue
                    arn = domain["ARN"]
                    tags = {
                        t["Key"]: t.get("Value", "") for t in client.list_tags(ARN=arn)["TagList"]
                    }
                    if not tags_match(tags, wanted_tags):
                        continue
                    name = domain["DomainName"]
                    found.append(
                        Resource(name, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                    )
        except ClientError as error:
            self.fail(error, ctx, "listing OpenSearch domains")
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"started": ctx.now, "waitSeconds": POLL_SECONDS}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        scale = params["mode"] == "scale"
        for resource in items:
            item = state["items"][resource.id]
            try:
                if phase == "REPLICATE":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "set up replication the other way outside drorch (a connection "
                        "from the original domain and its replication rules)"
                        if not scale
                        else "nothing to replicate: CLEANUP puts the capacity back",
                    }
                elif scale and phase in ("INSTANTIATE", "ACTIVATE"):
                    self._start_scale(client, resource, item, params, drill)
                    if "result" not in item:
                        self._request(client, resource.id, item)
                elif scale:  # CLEANUP
                    self._start_restore(ctx, client, resource, item)
                    if "result" not in item:
                        self._request(client, resource.id, item)
                elif phase == "ACTIVATE":
                    self._start_stop(ctx, client, resource, item, params, drill)
                else:
                    item["result"] = {
                        "status": SKIPPED,
                        "note": f"stop-replication does nothing in {phase}",
                    }
            except ClientError as error:
                self.fail(error, ctx, f"{phase} of domain {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        params = state.get("params") or {}
        for name, item in state["items"].items():
            if "result" in item:
                continue
            try:
                if "connections" in item:
                    self._check_stop(client, name, item)
                else:
                    self._check_scale(client, name, item)
                    if phase == "CLEANUP" and item.get("result", {}).get("status") == SUCCEEDED:
                        self._untag(client, item)
                if "result" not in item:
                    self._check_timeout(ctx, state, params, item)
            except ClientError as error:
                self.fail(error, ctx, f"checking domain {name}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------
    def detail(self, item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
        return capacity.carry(item, detail, "before", "target")

    @staticmethod
    def _describe(client: Any, name: str) -> dict[str, Any] | None:
        try:
            return client.describe_domain(DomainName=name)["DomainStatus"]
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                return None
            raise

    @staticmethod
    def _check_timeout(ctx: AccountContext, state: dict, params: Mapping, item: dict) -> None:
        started, limit = state.get("started"), params.get("timeoutSeconds")
        if ctx.now is None or started is None or not limit or ctx.now - started <= limit:
            return
        item["result"] = {
            "status": FAILED,
            "error": f"not done after {int(ctx.now - started)} s (timeoutSeconds {limit})",
            **item.get("live", {}),
        }

    # --- scale --------------------------------------------------------------------------------
    def _start_scale(
        self, client: Any, resource: Resource, item: dict, params: Mapping, drill: bool
    ) -> None:
        domain = self._describe(client, resource.id)
        if domain is None:
            item["result"] = {"status": FAILED, "error": f"no domain {resource.id} here"}
            return
        current = capacity_of(domain)
        tags = {
            t["Key"]: t.get("Value", "") for t in client.list_tags(ARN=domain["ARN"])["TagList"]
        }
        kept = decode(tags[BEFORE_TAG]) if BEFORE_TAG in tags else None
        before = kept or current
        target = {
            "InstanceType": params.get("instanceType") or current["InstanceType"],
            "InstanceCount": int(params.get("instanceCount") or current["InstanceCount"]),
        }
        item.update(before=before, target=target, arn=domain["ARN"])
        if drill:
            refused = []
            if target["InstanceCount"] < current["InstanceCount"]:
                refused.append(
                    f"InstanceCount {target['InstanceCount']} is below the current "
                    f"{current['InstanceCount']}"
                )
            if smaller(target["InstanceType"], current["InstanceType"]):
                refused.append(
                    f"InstanceType {target['InstanceType']} is not known to be larger than the "
                    f"current {current['InstanceType']}"
                )
            if refused:
                item["result"] = {
                    "status": FAILED,
                    "error": "a drill scales up only: "
                    + "; ".join(refused)
                    + " (nothing was changed)",
                }
                return
        if kept is None:
            client.add_tags(
                ARN=domain["ARN"], TagList=[{"Key": BEFORE_TAG, "Value": encode(before)}]
            )

    def _start_restore(
        self, ctx: AccountContext, client: Any, resource: Resource, item: dict
    ) -> None:
        recorded = capacity.recorded_before(ctx, resource.id)
        before = decode(encode(recorded)) if isinstance(recorded, Mapping) else None
        if before is None:
            item["result"] = {
                "status": SKIPPED,
                "note": "no earlier run recorded this domain's capacity: left as it is",
            }
            return
        domain = self._describe(client, resource.id)
        if domain is None:
            item["result"] = {"status": FAILED, "error": f"no domain {resource.id} here"}
            return
        item.update(target=before, arn=domain["ARN"], restoredFrom=ctx.recorded_from or "")

    def _request(self, client: Any, name: str, item: dict) -> None:
        """Ask for the target capacity once the domain is not processing (at most once)."""
        if item.get("requested"):
            return
        domain = self._describe(client, name)
        if domain is None:
            item["result"] = {"status": FAILED, "error": f"domain {name} is gone"}
            return
        if capacity_of(domain) == item["target"]:
            item["requested"] = True  # nothing to change: wait until it is not processing
            return
        if domain.get("Processing"):
            item["live"] = {"processing": True, "note": "waiting for a change in progress"}
            return
        client.update_domain_config(DomainName=name, ClusterConfig=dict(item["target"]))
        item["requested"] = True

    def _check_scale(self, client: Any, name: str, item: dict) -> None:
        if not item.get("requested"):
            self._request(client, name, item)
            if not item.get("requested"):
                return
        domain = self._describe(client, name)
        if domain is None:
            item["result"] = {"status": FAILED, "error": f"domain {name} is gone"}
            return
        live: dict[str, Any] = {
            "processing": bool(domain.get("Processing")),
            "capacity": capacity_of(domain),
        }
        if domain.get("DomainProcessingStatus"):
            live["processingStatus"] = domain["DomainProcessingStatus"]
        if domain.get("Processing"):
            item["live"] = live
            return
        if capacity_of(domain) != item["target"]:
            message = (domain.get("ChangeProgressDetails") or {}).get("Message")
            item["result"] = {
                "status": FAILED,
                "error": f"the domain is {encode(capacity_of(domain))}, not "
                f"{encode(item['target'])}: the change did not apply"
                + (f" ({message})" if message else ""),
                **live,
            }
            return
        item["result"] = {"status": SUCCEEDED, **live}

    def _untag(self, client: Any, item: dict) -> None:
        tags = client.list_tags(ARN=item["arn"])["TagList"]
        if any(t["Key"] == BEFORE_TAG for t in tags):
            client.remove_tags(ARN=item["arn"], TagKeys=[BEFORE_TAG])

    # --- stop-replication ---------------------------------------------------------------------
    def _connections(self, client: Any, name: str, alias: str | None) -> list[dict[str, Any]]:
        filters = [{"Name": "local-domain-info.domain-name", "Values": [name]}]
        found: list[dict[str, Any]] = []
        token = None
        while True:
            page = client.describe_outbound_connections(
                Filters=filters, **({"NextToken": token} if token else {})
            )
            found += page.get("Connections", [])
            token = page.get("NextToken")
            if not token:
                break
        return [c for c in found if alias is None or c.get("ConnectionAlias") == alias]

    def _start_stop(
        self,
        ctx: AccountContext,
        client: Any,
        resource: Resource,
        item: dict,
        params: Mapping,
        drill: bool,
    ) -> None:
        domain = self._describe(client, resource.id)
        if domain is None:
            item["result"] = {"status": FAILED, "error": f"no domain {resource.id} here"}
            return
        connections = self._connections(client, resource.id, params.get("connectionAlias"))
        statuses = {c["ConnectionId"]: c["ConnectionStatus"]["StatusCode"] for c in connections}
        live = {"connections": statuses, "processing": bool(domain.get("Processing"))}
        if not connections:
            item["result"] = {
                "status": FAILED,
                "error": f"{resource.id} has no outbound cross-cluster connection"
                + (f" {params['connectionAlias']}" if params.get("connectionAlias") else "")
                + ": is it a follower?",
            }
            return
        if drill:
            bad = {c: s for c, s in statuses.items() if s != "ACTIVE"}
            if bad:
                item["result"] = {
                    "status": FAILED,
                    "error": "not every connection is ACTIVE: "
                    + ", ".join(f"{c} is {s}" for c, s in bad.items()),
                    **live,
                }
            elif domain.get("Processing"):
                item["result"] = {
                    "status": FAILED,
                    "error": "the domain is processing a change",
                    **live,
                }
            else:
                item["result"] = {
                    "status": SUCCEEDED,
                    "note": "drill: the follower's connection is ACTIVE (nothing was deleted)",
                    **live,
                }
            return
        for connection_id, status in statuses.items():
            if status not in (*GONE, "DELETING"):
                client.delete_outbound_connection(ConnectionId=connection_id)
        item["connections"] = sorted(statuses)

    def _check_stop(self, client: Any, name: str, item: dict) -> None:
        statuses = {}
        for connection_id in item["connections"]:
            found = client.describe_outbound_connections(
                Filters=[{"Name": "connection-id", "Values": [connection_id]}]
            ).get("Connections", [])
            statuses[connection_id] = (
                found[0]["ConnectionStatus"]["StatusCode"] if found else "DELETED"
            )
        domain = self._describe(client, name)
        if domain is None:
            item["result"] = {"status": FAILED, "error": f"domain {name} is gone"}
            return
        live = {"connections": statuses, "processing": bool(domain.get("Processing"))}
        if all(s in GONE for s in statuses.values()) and not domain.get("Processing"):
            item["result"] = {"status": SUCCEEDED, "note": STOP_NOTE, **live}
        else:
            item["live"] = live
