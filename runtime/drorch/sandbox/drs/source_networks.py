"""DRS source networks: a VPC whose network settings DRS keeps a copy of.

CreateSourceNetwork records a VPC of an origin account and Region (it must exist:
ResourceNotFoundException otherwise, ConflictException when it is recorded already);
StartSourceNetworkReplication makes it ``PROTECTED`` (its settings copied),
StopSourceNetworkReplication ``STOPPED`` (the state a new source network starts in);
DeleteSourceNetwork needs its replication stopped; DescribeSourceNetworks filters by
ids, origin account and Region.

Recovering a network works with the CloudFormation template of the copied VPC (the VPC
and its subnets, in the recovering account's Region; the sandbox copies no route
tables, gateways or security groups):

* ExportSourceNetworkCfnTemplate writes it to the account's S3 bucket
  ``drs-source-network-templates-ACCOUNT-REGION`` and answers its URL;
* StartSourceNetworkRecovery starts a LAUNCH job (``CREATE_NETWORK_RECOVERY``, or
  ``UPDATE_NETWORK_RECOVERY`` when the network's stack exists and ``deployAsNew`` is not
  set) that deploys the template as a CloudFormation stack (``cfnStackName`` or
  ``drs-source-network-ID``) after :attr:`DrsTimings.network_deploy_seconds`;
  ``launchedVpcID``, ``cfnStackName`` and ``lastRecovery`` of the network follow. A
  network whose settings were never copied fails its part of the job
  (``DEPLOY_NETWORK_CONFIGURATION_FAILED``);
* AssociateSourceNetworkStack points the network at an existing stack of the account
  (a job ``ASSOCIATE_NETWORK_RECOVERY``; ``ASSOCIATE_SUCCESS``, or ``ASSOCIATE_FAIL``
  when the stack has no VPC).

The sandbox does not rewrite the source servers' launch templates for the recovered
network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drorch.sandbox.drs import ec2
from drorch.sandbox.drs.exceptions import ConflictException, ResourceNotFoundException
from drorch.sandbox.drs.util import iso, new_id
from drorch.sandbox.drs.validation import field_error
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.drs.models import DrsBackend
    from drorch.sandbox.drs.resources import Job, Step

TEMPLATE_BUCKET = "drs-source-network-templates-{account}-{region}"


@dataclass
class SourceNetwork:
    source_network_id: str
    arn: str
    vpc_id: str
    account_id: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "STOPPED"
    copied: bool = False  # its settings were replicated once (a recovery can use them)
    stack_name: str = ""
    launched_vpc_id: str = ""
    last_recovery: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        item = {
            "sourceNetworkID": self.source_network_id,
            "arn": self.arn,
            "sourceVpcID": self.vpc_id,
            "sourceAccountID": self.account_id,
            "sourceRegion": self.region,
            "replicationStatus": self.status,
            "tags": dict(self.tags),
        }
        if self.stack_name:
            item["cfnStackName"] = self.stack_name
        if self.launched_vpc_id:
            item["launchedVpcID"] = self.launched_vpc_id
        if self.last_recovery:
            item["lastRecovery"] = dict(self.last_recovery)
        return item


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
        network.copied = network.copied or status == "PROTECTED"
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

    # --- recovering a network -----------------------------------------------------------
    def template(self, network_id: str) -> dict[str, Any]:
        """The CloudFormation template of the network's copy, in this backend's Region."""
        network = self.get(network_id)
        source = ec2.backend(network.account_id, network.region)
        vpc = source.vpcs.get(network.vpc_id)
        if vpc is None:
            raise ConflictException(
                f"The VPC {network.vpc_id} of source network {network_id} no longer exists",
                resource_id=network_id,
                resource_type="SOURCE_NETWORK",
            )
        region = self.backend.region_name
        name = [{"Key": "Name", "Value": f"{network_id} ({network.vpc_id})"}]
        resources: dict[str, Any] = {
            "Vpc": {
                "Type": "AWS::EC2::VPC",
                "Properties": {"CidrBlock": vpc.cidr_block, "Tags": name},
            }
        }
        subnets = sorted(
            (s for s in source.describe_subnets() if s.vpc_id == network.vpc_id),
            key=lambda subnet: subnet.cidr_block,
        )
        for index, subnet in enumerate(subnets):
            resources[f"Subnet{index}"] = {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": subnet.cidr_block,
                    "AvailabilityZone": region + subnet.availability_zone[-1],
                    "Tags": [{"Key": "Name", "Value": f"{network_id} {subnet.id}"}],
                },
            }
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"AWS DRS source network {network_id}: {network.vpc_id} of "
            f"{network.account_id} in {network.region}",
            "Resources": resources,
            "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}}},
        }

    def export_template(self, network_id: str) -> str:
        """ExportSourceNetworkCfnTemplate: the template, written to the account's bucket."""
        from moto.s3.models import s3_backends

        body = json.dumps(self.template(network_id), indent=2).encode()
        account, region = self.backend.account_id, self.backend.region_name
        s3 = s3_backends[account]["aws"]
        bucket = TEMPLATE_BUCKET.format(account=account, region=region)
        if bucket not in s3.buckets:
            s3.create_bucket(bucket, region)
        key = f"{network_id}.json"
        s3.put_object(bucket, key, body)
        return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"

    def _busy(self, now: datetime) -> set[str]:
        return {
            network_id
            for job in self.backend.jobs.values()
            if job.active_at(now)
            for network_id in job.resources
        }

    def _check_idle(self, network_ids: list[str]) -> None:
        busy = self._busy(self.backend.now())
        for network_id in network_ids:
            if network_id in busy:
                raise ConflictException(
                    f"Source network {network_id} is already part of an active job",
                    resource_id=network_id,
                    resource_type="SOURCE_NETWORK",
                )

    def start_recovery(
        self, entries: list[dict[str, Any]], deploy_as_new: bool, tags: dict[str, str] | None
    ) -> dict[str, Any]:
        """StartSourceNetworkRecovery: one job deploying each network's stack."""
        chosen: dict[str, str] = {}
        for entry in entries:
            network = self.networks.get(entry["sourceNetworkID"])
            if network is None:  # the operation declares no ResourceNotFoundException
                raise field_error(
                    "sourceNetworks", f"source network {entry['sourceNetworkID']} not found"
                )
            stack = entry.get("cfnStackName") or network.stack_name
            if deploy_as_new or not stack:
                stack = (
                    entry.get("cfnStackName") or f"drs-source-network-{network.source_network_id}"
                )
            chosen[network.source_network_id] = stack
        self._check_idle(list(chosen))
        updating = all(
            not deploy_as_new and self._stack(stack) is not None for stack in chosen.values()
        )
        kind = "UPDATE" if updating else "CREATE"
        return self._job(f"{kind}_NETWORK_RECOVERY", chosen, tags, kind)

    def associate_stack(self, network_id: str, stack_name: str) -> dict[str, Any]:
        """AssociateSourceNetworkStack: the network's recovered VPC is the stack's."""
        self.get(network_id)
        if self._stack(stack_name) is None:
            raise ResourceNotFoundException(
                f"CloudFormation stack {stack_name} not found in {self.backend.region_name}",
                resource_id=stack_name,
                resource_type="CFN_STACK",
            )
        self._check_idle([network_id])
        return self._job("ASSOCIATE_NETWORK_RECOVERY", {network_id: stack_name}, None, "ASSOCIATE")

    def _stack(self, name: str) -> Any | None:
        from moto.cloudformation.models import cloudformation_backends

        stacks = cloudformation_backends[self.backend.account_id][self.backend.region_name]
        return next(
            (s for s in stacks.stacks.values() if s.name == name and s.status != "DELETE_COMPLETE"),
            None,
        )

    def _job(
        self, initiated_by: str, chosen: dict[str, str], tags: dict[str, str] | None, kind: str
    ) -> dict[str, Any]:
        backend = self.backend
        now = backend.now()
        seconds = STATE.drs_timings.network_deploy_seconds * backend._slowdown()

        def plan(at: Any, start: datetime, factor: float, timings: Any) -> datetime:
            done = start + timedelta(seconds=seconds if kind != "ASSOCIATE" else 0)
            for network_id, stack in chosen.items():
                at(start, "network_start", network_id, stack=stack, kind=kind)
                at(done, "network_done", network_id, stack=stack, kind=kind)
            return done

        job = backend._new_job("LAUNCH", initiated_by, tags, {}, plan)
        job.resources.update(dict.fromkeys(chosen, "PENDING"))
        for network_id in chosen:
            self.networks[network_id].last_recovery = {
                "apiCallDateTime": iso(now),
                "jobID": job.job_id,
                "lastRecoveryResult": "IN_PROGRESS",
            }
        return job.describe(now)

    def apply(self, job: Job, step: Step) -> None:
        """A network recovery job's step (see :meth:`_job`)."""
        network = self.networks.get(step.key or "")
        stack, kind = step.data["stack"], step.data["kind"]
        verb = "UPDATE" if kind == "UPDATE" else "DEPLOY"
        data = {"sourceNetworkID": step.key, "stackName": stack}
        if network is not None:
            data["sourceVpc"] = network.vpc_id
        if step.action == "network_start":
            job.resources[step.key or ""] = "IN_PROGRESS"
            if kind != "ASSOCIATE":
                self._log(job, step, f"{verb}_NETWORK_CONFIGURATION_START", data)
            return
        failure = self._finish(network, stack, kind) if network is not None else "deleted"
        if failure is None:
            assert network is not None
            data["targetVpc"] = network.launched_vpc_id
            job.resources[step.key or ""] = "LAUNCHED"
            if kind != "ASSOCIATE":
                self._log(job, step, f"{verb}_NETWORK_CONFIGURATION_END", data)
            self._log(job, step, "UPDATE_LAUNCH_TEMPLATE_START", data)
            self._log(job, step, "UPDATE_LAUNCH_TEMPLATE_END", data)
            result = "ASSOCIATE_SUCCESS" if kind == "ASSOCIATE" else "SUCCESS"
        else:
            job.resources[step.key or ""] = "FAILED"
            event = (
                "NETWORK_RECOVERY_FAIL"
                if kind == "ASSOCIATE"
                else f"{verb}_NETWORK_CONFIGURATION_FAILED"
            )
            self._log(job, step, event, data, raw_error=failure)
            result = "ASSOCIATE_FAIL" if kind == "ASSOCIATE" else "FAIL"
        if network is not None and network.last_recovery.get("jobID") == job.job_id:
            network.last_recovery["lastRecoveryResult"] = result

    def _finish(self, network: SourceNetwork, stack_name: str, kind: str) -> str | None:
        """Deploy, update or adopt the stack; the reason it failed, or None."""
        from moto.cloudformation.models import cloudformation_backends
        from moto.ec2.models.vpcs import VPC

        if kind != "ASSOCIATE":
            if not network.copied:
                return (
                    f"The network settings of {network.source_network_id} were never "
                    "replicated (StartSourceNetworkReplication)"
                )
            try:
                template = json.dumps(self.template(network.source_network_id))
            except ConflictException as error:
                return str(error.message)
            stacks = cloudformation_backends[self.backend.account_id][self.backend.region_name]
            if self._stack(stack_name) is None:
                stacks.create_stack(name=stack_name, template=template, parameters={})
        stack = self._stack(stack_name)
        vpcs = [r.id for r in stack.stack_resources if isinstance(r, VPC)] if stack else []
        if not vpcs:
            return f"CloudFormation stack {stack_name} has no VPC"
        vpc_id = vpcs[0]
        network.stack_name, network.launched_vpc_id = stack_name, vpc_id
        return None

    def _log(
        self, job: Job, step: Step, event: str, data: dict[str, Any], raw_error: str = ""
    ) -> None:
        item: dict[str, Any] = {"logDateTime": iso(step.at), "event": event}
        event_data: dict[str, Any] = {"eventResourceData": {"sourceNetworkData": data}}
        if raw_error:
            event_data["rawError"] = raw_error
        item["eventData"] = event_data
        job.log.append(item)
