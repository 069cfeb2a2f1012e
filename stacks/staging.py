"""A DRS staging account (SPEC §7): what the hub needs to find and recover its servers.

One :class:`StagingAccountStack` per ``accounts/<name>.yaml``, deployed through an
explicit ``aws.Provider`` per region that assumes the account's bootstrap role:

* the execution role the hub assumes — trusted only by the hub's principals, only
  with the account's ExternalId (and, optionally, only from the organisation), allowed
  only what the modules in use call, only in the account's regions;
* Resource Explorer: the aggregator index in the recovery region, a local index in
  the source region, and the ``drorch-discovery`` view (tags included);
* the staging network (when ``network`` is described), DRS initialised, the
  replication configuration template and the launch configuration template;
* an EventBridge rule forwarding DRS and RDS events to the hub's bus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from drorch import names
from drorch.accounts import StagingAccount
from stacks import permissions
from stacks.drs_resources import DrsInitialization, LaunchConfigurationTemplate
from stacks.policies import MANAGED_POLICIES_PER_ROLE, document, pack, statement, to_json

BOOTSTRAP_ROLE = "OrganizationAccountAccessRole"
FORWARDER_ROLE = f"{names.PREFIX}-event-forwarder"
FORWARD_RULE = f"{names.PREFIX}-forward-dr-events"
FORWARDED_SOURCES = ("aws.drs", "aws.rds")
REPLICATION_PORT = 1500
LAUNCH_SETTINGS = {
    "copyPrivateIp": True,
    "copyTags": True,
    "launchDisposition": "STARTED",
    "licensing": {"osByol": False},
    "targetInstanceTypeRightSizingMethod": "BASIC",
}


@dataclass(frozen=True)
class StagingConfig:
    account: StagingAccount
    hub_account_id: str
    hub_region: str
    environment: str = "prod"
    organization_id: str | None = None
    modules: tuple[str, ...] = ("drs",)
    partition: str = "aws"

    @classmethod
    def from_account(
        cls,
        account: StagingAccount,
        hub_account_id: str,
        hub_region: str,
        environment: str = "prod",
        organization_id: str | None = None,
    ) -> StagingConfig:
        return cls(
            account=account,
            hub_account_id=hub_account_id,
            hub_region=hub_region,
            environment=environment,
            organization_id=getattr(account, "organization_id", None) or organization_id,
            modules=tuple(getattr(account, "modules", None) or ("drs",)),
        )

    @property
    def bootstrap_role_arn(self) -> str:
        return self.account.bootstrap_role_arn or names.role_arn(
            self.account.account_id, BOOTSTRAP_ROLE, self.partition
        )

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({self.account.recovery_region, self.account.source_region}))

    @property
    def hub_bus_arn(self) -> str:
        return (
            f"arn:{self.partition}:events:{self.hub_region}:{self.hub_account_id}:"
            f"event-bus/{names.EVENT_BUS}"
        )


def execution_trust(
    principals: list[str], external_id: str, organization_id: str | None
) -> dict[str, Any]:
    condition: dict[str, Any] = {"StringEquals": {"sts:ExternalId": external_id}}
    if organization_id:
        condition["StringEquals"]["aws:PrincipalOrgID"] = organization_id
    return document(
        [
            {
                "Sid": "HubOnlyWithExternalId",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(set(principals))},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ]
    )


class StagingAccountStack(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        config: StagingConfig,
        hub_principals: pulumi.Input[list[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("drorch:staging:StagingAccountStack", name, None, opts)
        self.config = config
        account = config.account
        self.tags = {
            "drorch:environment": config.environment,
            "drorch:component": "staging",
            "drorch:account": account.name,
            **account.tags,
        }
        self.providers: dict[str, aws.Provider] = {}
        for region in config.regions:
            self.providers[region] = aws.Provider(
                f"{name}-{region}",
                region=region,
                assume_roles=[
                    aws.ProviderAssumeRoleArgs(
                        role_arn=config.bootstrap_role_arn, session_name="drorch-deploy"
                    )
                ],
                allowed_account_ids=[account.account_id],
                default_tags=aws.ProviderDefaultTagsArgs(tags=self.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
        recovery = self._in(account.recovery_region)

        self.execution_role = aws.iam.Role(
            f"{name}-execution-role",
            name=account.execution_role_name,
            description="drorch: assumed by the hub with this account's ExternalId",
            max_session_duration=3600,
            assume_role_policy=pulumi.Output.from_input(hub_principals).apply(
                lambda p: json.dumps(
                    execution_trust(list(p), account.external_id, config.organization_id),
                    sort_keys=True,
                )
            ),
            opts=recovery,
        )
        # what the modules in use call, as customer managed policies (an inline policy would
        # meet IAM's 10,240-character limit per role with a few modules)
        statements = permissions.execution_statements(
            account.account_id, config.regions, config.modules
        )
        self.execution_policy_document = document(statements)
        self.execution_policy_documents = pack(statements)
        if len(self.execution_policy_documents) > MANAGED_POLICIES_PER_ROLE:
            raise ValueError(
                f"account {account.name}: the modules {', '.join(config.modules)} need "
                f"{len(self.execution_policy_documents)} managed policies, more than the "
                f"{MANAGED_POLICIES_PER_ROLE} IAM attaches to one role by default; use fewer "
                "modules in this account or raise the quota 'Managed policies per role'"
            )
        self.execution_policies = []
        for number, policy_document in enumerate(self.execution_policy_documents, 1):
            policy = aws.iam.Policy(
                f"{name}-execution-policy-{number}",
                name=f"{account.execution_role_name}-modules-{number}",
                description=f"drorch: what the modules in use call ({number} of "
                f"{len(self.execution_policy_documents)})",
                policy=json.dumps(policy_document, sort_keys=True),
                opts=recovery,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-execution-policy-{number}",
                role=self.execution_role.name,
                policy_arn=policy.arn,
                opts=recovery,
            )
            self.execution_policies.append(policy)

        self.indexes = {
            account.recovery_region: aws.resourceexplorer.Index(
                f"{name}-index-{account.recovery_region}", type="AGGREGATOR", opts=recovery
            )
        }
        if account.source_region != account.recovery_region:
            self.indexes[account.source_region] = aws.resourceexplorer.Index(
                f"{name}-index-{account.source_region}",
                type="LOCAL",
                opts=self._in(account.source_region),
            )
        self.view = aws.resourceexplorer.View(
            f"{name}-view",
            name=names.RESOURCE_EXPLORER_VIEW,
            included_properties=[{"name": "tags"}],
            opts=self._in(account.recovery_region, depends_on=list(self.indexes.values())),
        )

        self.drs_initialization = DrsInitialization(
            f"{name}-drs-init",
            account_id=account.account_id,
            region=account.recovery_region,
            role_arn=config.bootstrap_role_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.replication_template = self._network_and_replication(name, recovery)
        self.launch_template = LaunchConfigurationTemplate(
            f"{name}-launch-template",
            region=account.recovery_region,
            role_arn=config.bootstrap_role_arn,
            settings=LAUNCH_SETTINGS,
            tags={names.DRS_TEMPLATE_TAG: "true"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.drs_initialization]),
        )
        self._forward_events(name, recovery)

        self.outputs = {
            "executionRoleArn": self.execution_role.arn,
            "viewArn": self.view.arn,
            "indexes": {r: i.arn for r, i in self.indexes.items()},
            "launchTemplateId": self.launch_template.id,
        }
        self.register_outputs(self.outputs)

    def _in(self, region: str, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self.providers[region], **kwargs)

    def _network_and_replication(
        self, name: str, recovery: pulumi.ResourceOptions
    ) -> aws.drs.ReplicationConfigurationTemplate | None:
        account = self.config.account
        if not account.vpc_cidr:
            return None
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=account.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{account.name}-vpc"},
            opts=recovery,
        )
        self.subnets = {}
        staging_subnet = None
        for index, subnet in enumerate(account.subnets):
            created = aws.ec2.Subnet(
                f"{name}-subnet-{index}",
                vpc_id=vpc.id,
                cidr_block=subnet.cidr,
                availability_zone=subnet.availability_zone,
                tags={
                    "Name": f"{account.name}-{subnet.purpose}-{index}",
                    "drorch:purpose": subnet.purpose,
                },
                opts=recovery,
            )
            self.subnets[subnet.cidr] = created
            if subnet.purpose == "staging" and staging_subnet is None:
                staging_subnet = created
        if staging_subnet is None and self.subnets:
            staging_subnet = next(iter(self.subnets.values()))
        if staging_subnet is None:
            return None
        group = aws.ec2.SecurityGroup(
            f"{name}-replication-sg",
            name=f"{names.PREFIX}-drs-replication",
            description="DRS replication servers: agents connect on TCP 1500",
            vpc_id=vpc.id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": REPLICATION_PORT,
                    "to_port": REPLICATION_PORT,
                    "cidr_blocks": [account.vpc_cidr],
                    "description": "DRS replication agents",
                }
            ],
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": ["0.0.0.0/0"],
                    "description": "DRS, S3 and EC2 endpoints",
                }
            ],
            opts=recovery,
        )
        return aws.drs.ReplicationConfigurationTemplate(
            f"{name}-replication-template",
            associate_default_security_group=False,
            bandwidth_throttling=0,
            create_public_ip=False,
            data_plane_routing="PRIVATE_IP",
            default_large_staging_disk_type="GP3",
            ebs_encryption="DEFAULT",
            replication_server_instance_type="t3.small",
            replication_servers_security_groups_ids=[group.id],
            staging_area_subnet_id=staging_subnet.id,
            staging_area_tags={"Purpose": "DRS-Replication"},
            use_dedicated_replication_server=False,
            pit_policies=[
                {
                    "interval": 10,
                    "retention_duration": 60,
                    "units": "MINUTE",
                    "enabled": True,
                    "rule_id": 1,
                },
                {
                    "interval": 1,
                    "retention_duration": 24,
                    "units": "HOUR",
                    "enabled": True,
                    "rule_id": 2,
                },
                {
                    "interval": 1,
                    "retention_duration": 7,
                    "units": "DAY",
                    "enabled": True,
                    "rule_id": 3,
                },
            ],
            tags={names.DRS_TEMPLATE_TAG: "true"},
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.providers[account.recovery_region],
                depends_on=[self.drs_initialization],
            ),
        )

    def forwarder_policy(self) -> dict[str, Any]:
        return document(
            [statement("ForwardToHubBus", ["events:PutEvents"], [self.config.hub_bus_arn])]
        )

    def _forward_events(self, name: str, recovery: pulumi.ResourceOptions) -> None:
        account = self.config.account
        role = aws.iam.Role(
            f"{name}-forwarder-role",
            name=FORWARDER_ROLE,
            description="drorch: forwards DRS and RDS events to the hub's bus",
            assume_role_policy=json.dumps(
                document(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": account.account_id}
                            },
                        }
                    ]
                ),
                sort_keys=True,
            ),
            opts=recovery,
        )
        self.forwarder_role = role
        aws.iam.RolePolicy(
            f"{name}-forwarder-policy",
            name=f"{FORWARDER_ROLE}-hub-bus",
            role=role.id,
            policy=to_json(self.forwarder_policy()),
            opts=recovery,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-forward-rule",
            name=FORWARD_RULE,
            description="drorch: DRS and RDS events to the hub",
            event_pattern=json.dumps({"source": list(FORWARDED_SOURCES)}),
            opts=recovery,
        )
        self.forward_rule = rule
        aws.cloudwatch.EventTarget(
            f"{name}-forward-target",
            rule=rule.name,
            arn=self.config.hub_bus_arn,
            role_arn=role.arn,
            opts=recovery,
        )
