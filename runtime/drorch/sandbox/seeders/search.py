"""OpenSearch Service domains, and cross-cluster replication followers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    fail,
    identifier,
    tag_list,
)

_REGION = {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$"}


class OpenSearchDomain(Seeder):
    type = "opensearch-domain"
    description = (
        "An OpenSearch Service domain (data nodes instanceType x instanceCount, gp3 EBS). "
        "With followerOf it is the follower of a cross-cluster replication: a leader domain "
        "of the same name is created in followerOf.region (same account) and an outbound "
        "connection from this domain to it is created and accepted; seeded connections are "
        "ACTIVE at once."
    )
    name_schema = identifier(
        "a domain name: 3-28 lower-case letters, digits and hyphens, starting with a letter",
        r"^[a-z][a-z0-9\-]{2,27}$",
        28,
        3,
    )
    properties = {
        "engineVersion": {
            "type": "string",
            "pattern": r"^OpenSearch_[0-9]+\.[0-9]+$",
            "default": "OpenSearch_2.13",
        },
        "instanceType": {
            "type": "string",
            "pattern": r"^[a-z0-9]+\.[0-9]*[a-z]+\.search$",
            "default": "r6g.large.search",
        },
        "instanceCount": {"type": "integer", "minimum": 1, "maximum": 80, "default": 2},
        "followerOf": {
            "type": "object",
            "additionalProperties": False,
            "required": ["region"],
            "properties": {
                "region": {**_REGION, "description": "the leader domain's region"},
                "connectionAlias": {
                    "type": "string",
                    "pattern": r"^[a-zA-Z][a-zA-Z0-9\-_]{1,99}$",
                    "description": "defaults to <name>-leader",
                },
            },
        },
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        leader = spec.get("followerOf")
        if leader and leader["region"] == ctx.region:
            raise fail(f"{where}.followerOf.region", "the leader must be in another region")

    def _domain(self, client: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
        return client.create_domain(
            DomainName=spec["name"],
            EngineVersion=spec.get("engineVersion", "OpenSearch_2.13"),
            ClusterConfig={
                "InstanceType": spec.get("instanceType", "r6g.large.search"),
                "InstanceCount": spec.get("instanceCount", 2),
            },
            EBSOptions={"EBSEnabled": True, "VolumeType": "gp3", "VolumeSize": 20},
            TagList=tag_list(spec.get("tags", {})),
        )["DomainStatus"]

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        name = spec["name"]
        client = ctx.client("opensearch")
        domain = self._domain(client, spec)
        undo.push(f"OpenSearch domain {name}", lambda: client.delete_domain(DomainName=name))
        seeded = [self.resource(ctx, name, domain["ARN"])]
        leader = spec.get("followerOf")
        if not leader:
            return seeded
        region = leader["region"]
        remote = ctx.client("opensearch", region)
        leading = self._domain(remote, spec)
        undo.push(
            f"OpenSearch domain {name} ({region})", lambda: remote.delete_domain(DomainName=name)
        )
        seeded.append(self.resource(ctx, name, leading["ARN"], "leader", region))
        info = {"OwnerId": ctx.account_id, "DomainName": name}
        connection = client.create_outbound_connection(
            LocalDomainInfo={"AWSDomainInformation": {**info, "Region": ctx.region}},
            RemoteDomainInfo={"AWSDomainInformation": {**info, "Region": region}},
            ConnectionAlias=leader.get("connectionAlias", f"{name}-leader"),
            ConnectionMode="DIRECT",
        )
        connection_id = connection["ConnectionId"]
        undo.push(
            f"connection {connection_id}",
            lambda: client.delete_outbound_connection(ConnectionId=connection_id),
        )
        remote.accept_inbound_connection(ConnectionId=connection_id)
        from drorch.modules.opensearch_domain.sandbox import as_if_long_ago

        as_if_long_ago(ctx.account_id)
        arn = f"arn:aws:es:{ctx.region}:{ctx.account_id}:domain/{name}"
        seeded.append(self.resource(ctx, connection_id, arn, "connection"))
        return seeded
