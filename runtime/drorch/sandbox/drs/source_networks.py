"""DRS source networks: a VPC whose network settings DRS keeps a copy of.

CreateSourceNetwork records a VPC of an origin account and Region (it must exist:
ResourceNotFoundException otherwise, ConflictException when it is recorded already);
StartSourceNetworkReplication makes it ``PROTECTED``, StopSourceNetworkReplication
``STOPPED`` (the state a new source network starts in); DeleteSourceNetwork needs its
replication stopped; DescribeSourceNetworks filters by ids, origin account and Region.
Recovering a network (StartSourceNetworkRecovery, AssociateSourceNetworkStack,
ExportSourceNetworkCfnTemplate: CloudFormation stacks of the copied network) is not
modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drorch.sandbox.drs import ec2
from drorch.sandbox.drs.exceptions import ConflictException, ResourceNotFoundException
from drorch.sandbox.drs.util import new_id

if TYPE_CHECKING:
    from drorch.sandbox.drs.models import DrsBackend


@dataclass
class SourceNetwork:
    source_network_id: str
    arn: str
    vpc_id: str
    account_id: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "STOPPED"

    def describe(self) -> dict[str, Any]:
        return {
            "sourceNetworkID": self.source_network_id,
            "arn": self.arn,
            "sourceVpcID": self.vpc_id,
            "sourceAccountID": self.account_id,
            "sourceRegion": self.region,
            "replicationStatus": self.status,
            "tags": dict(self.tags),
        }


class SourceNetworks:
    def __init__(self, backend: DrsBackend) -> None:
        self.backend = backend
        self.networks: dict[str, SourceNetwork] = {}

    def get(self, network_id: str) -> SourceNetwork:
        network = self.networks.get(network_id)
        if network is None:
            raise ResourceNotFoundException(
                f"Source network {network_id} not found",
                resource_id=network_id,
                resource_type="SOURCE_NETWORK",
            )
        return network

    def tags_of(self, arn: str) -> dict[str, str] | None:
        for network in self.networks.values():
            if network.arn == arn:
                return network.tags
        return None

    def create(self, params: dict[str, Any]) -> str:
        vpc_id, account, region = params["vpcID"], params["originAccountID"], params["originRegion"]
        if vpc_id not in ec2.backend(account, region).vpcs:
            raise ResourceNotFoundException(
                f"VPC {vpc_id} not found in account {account}, {region}",
                resource_id=vpc_id,
                resource_type="VPC",
            )
        for network in self.networks.values():
            if (network.vpc_id, network.account_id, network.region) == (vpc_id, account, region):
                raise ConflictException(
                    f"VPC {vpc_id} is already source network {network.source_network_id}",
                    resource_id=network.source_network_id,
                    resource_type="SOURCE_NETWORK",
                )
        network_id = new_id("sn-")
        self.networks[network_id] = SourceNetwork(
            network_id,
            self.backend.arn("source-network", network_id),
            vpc_id,
            account,
            region,
            dict(params.get("tags") or {}),
        )
        return network_id

    def describe(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        ids = filters.get("sourceNetworkIDs")
        return [
            network.describe()
            for network in self.networks.values()
            if (not ids or network.source_network_id in ids)
            and filters.get("originAccountID") in (None, network.account_id)
            and filters.get("originRegion") in (None, network.region)
        ]

    def set_replication(self, network_id: str, status: str) -> dict[str, Any]:
        network = self.get(network_id)
        if network.status == status:
            raise ConflictException(
                f"Replication of source network {network_id} is already {status}",
                resource_id=network_id,
                resource_type="SOURCE_NETWORK",
            )
        network.status = status
        return network.describe()

    def delete(self, network_id: str) -> None:
        network = self.get(network_id)
        if network.status != "STOPPED":
            raise ConflictException(
                f"Stop the replication of source network {network_id} before deleting it",
                resource_id=network_id,
                resource_type="SOURCE_NETWORK",
            )
        del self.networks[network_id]
