"""The sandbox: a simulated multi-account, multi-region AWS in this process.

It is moto (``mock_aws``) plus drorch's own DRS and Resource Explorer backends,
a simulated clock and fault injection. Accounts are reached the way they are in
an AWS Organization: the sandbox's management identity assumes
``OrganizationAccountAccessRole`` in a member account to set it up, and the
operator works from an IAM user in the hub account.

While a :class:`Sandbox` is running, the process's default AWS credentials are
the hub operator's, so product code calls plain ``boto3.client(...)`` and cannot
tell it is not talking to AWS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from moto import mock_aws

from drorch import names
from drorch.accounts import StagingAccount
from drorch.engine import aws as engine_aws
from drorch.sandbox import (
    botocore_models,
    dynamodb,
    eventbridge,
    interceptor,
    moto_memory,
    registry,
    serialization,
    sqs_lambda,
    stepfunctions,
    timeline,
)
from drorch.sandbox.clock import SimClock
from drorch.sandbox.faults import FaultPlan
from drorch.sandbox.state import DrsQuotas, DrsTimings, reset_state

MANAGEMENT_ACCOUNT_ID = (
    "123456789012"  # moto's default account plays the Organization's management account
)
ORG_ACCESS_ROLE = "OrganizationAccountAccessRole"
DEFAULT_HUB_ACCOUNT_ID = "999999999999"
DEFAULT_HUB_REGION = "us-east-2"

_CRED_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
)


@dataclass
class Hub:
    account_id: str = DEFAULT_HUB_ACCOUNT_ID
    region: str = DEFAULT_HUB_REGION


@dataclass
class ProvisionedAccount:
    """What the sandbox created for a staging account (what the staging stack deploys)."""

    account: StagingAccount
    vpc_id: str = ""
    recovery_subnet_ids: list[str] = field(default_factory=list)
    staging_subnet_id: str = ""
    security_group_id: str = ""
    index_arns: dict[str, str] = field(default_factory=dict)  # region -> index ARN
    view_arn: str = ""


class Sandbox:
    """Start with ``with Sandbox(...) as sandbox:`` or :meth:`start` / :meth:`stop`.

    ``strict=True`` makes any response of drorch's own fakes that the real
    service model would not allow raise ``FidelityError`` in the caller.
    """

    def __init__(
        self,
        *,
        hub: Hub | None = None,
        clock: SimClock | None = None,
        drs_quotas: DrsQuotas | None = None,
        drs_timings: DrsTimings | None = None,
        strict: bool = False,
    ) -> None:
        self.hub = hub or Hub()
        self.clock = clock or SimClock()
        self._drs_quotas = drs_quotas
        self._drs_timings = drs_timings
        self._strict = strict
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._management: dict[str, str] = {}
        self._operator: dict[str, str] = {}
        self.accounts: dict[str, ProvisionedAccount] = {}  # by account id
        self._sessions: dict[tuple[str, ...], boto3.Session] = {}
        self._on_stop: list[Callable[[], None]] = []

    # --- lifecycle ----------------------------------------------------------
    def start(self) -> Sandbox:
        if self._mock is not None:
            raise RuntimeError("this sandbox is already running")
        registry.install()
        interceptor.install()
        moto_memory.install()
        serialization.install()
        engine_aws.forget()  # sessions a previous sandbox in this process assumed
        self.state = reset_state(
            self.clock, self._drs_quotas, self._drs_timings, strict=self._strict
        )
        self._saved_env = {k: os.environ.get(k) for k in _CRED_ENV}
        stepfunctions.install()
        dynamodb.install()
        eventbridge.install()
        eventbridge.reset()
        timeline.reset()
        from drorch.sandbox.drs.models import next_due, settle_all

        timeline.add_source(next_due, settle_all)  # DRS steps are due at simulated moments
        sqs_lambda.install(self.clock)
        timeline.add_source(sqs_lambda.next_due, sqs_lambda.deliver_due)  # Lambda's SQS polls
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        # a new default session picks up the sandbox's handlers (and shares its model loader)
        boto3.setup_default_session(botocore_session=botocore_models.new_session())
        botocore_models.dedupe_search_paths()
        self._management = {
            "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"],
        }
        try:
            registry.start(self)  # the modules' extensions, undone by stop()
            self._bootstrap_hub()
        except BaseException:
            self.stop()  # never leave the process half-mocked
            raise
        return self

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the sandbox stops (undo process-wide settings)."""
        self._on_stop.append(callback)

    def stop(self) -> None:
        if self._mock is None:
            return
        while self._on_stop:
            self._on_stop.pop()()
        self._mock.stop()
        self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        boto3.DEFAULT_SESSION = None
        engine_aws.forget()
        self.accounts.clear()
        self._sessions.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._mock is not None

    # --- time and faults ----------------------------------------------------
    @property
    def faults(self) -> FaultPlan:
        return self.state.faults

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward (DRS jobs progress on it, and send their events)."""
        moment = self.clock.advance(seconds)
        timeline.catch_up()
        return moment

    # --- identities -----------------------------------------------------------
    def _session(self, region: str, **credentials: str) -> boto3.Session:
        """A boto3 session sharing one model loader, so clients are cheap to create."""
        session = boto3.Session(
            botocore_session=botocore_models.new_session(), region_name=region, **credentials
        )
        botocore_models.dedupe_search_paths()
        return session

    def _assumed(
        self,
        key: tuple[str, ...],
        source: Callable[[], boto3.Session],
        region: str,
        **kwargs: Any,
    ) -> boto3.Session:
        """A session for an assumed role, made once per sandbox (key) and then reused."""
        if key not in self._sessions:
            creds = source().client("sts").assume_role(**kwargs)["Credentials"]
            self._sessions[key] = self._session(
                region,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        return self._sessions[key]

    def admin_session(self, account_id: str, region: str | None = None) -> boto3.Session:
        """Administrator access to a member account (OrganizationAccountAccessRole)."""
        region = region or self.hub.region
        return self._assumed(
            ("admin", account_id, region),
            lambda: self._session(region, **self._management),
            region,
            RoleArn=names.role_arn(account_id, ORG_ACCESS_ROLE),
            RoleSessionName="drorch-sandbox-admin",
        )

    def operator_session(self, region: str | None = None) -> boto3.Session:
        """The human operator in the hub account (the process default while running)."""
        return self._session(region or self.hub.region, **self._operator)

    def orchestrator_session(self, region: str | None = None) -> boto3.Session:
        """The hub's orchestrator role: what its Lambda functions and state machines run as."""
        region = region or self.hub.region
        return self._assumed(
            ("orchestrator", self.hub.account_id, region),
            lambda: self.admin_session(self.hub.account_id, region),
            region,
            RoleArn=names.role_arn(self.hub.account_id, names.ORCHESTRATOR_ROLE),
            RoleSessionName="drorch-orchestrator",
        )

    def set_environment(self, variables: dict[str, str]) -> None:
        """Set process environment variables for the sandbox's lifetime (restored by stop)."""
        for key, value in variables.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def execution_session(self, account_id: str, region: str | None = None) -> boto3.Session:
        """What the hub's Lambdas get: orchestrator role -> staging execution role + ExternalId."""
        provisioned = self.accounts.get(account_id)
        if provisioned is None:
            raise KeyError(
                f"account {account_id} is not provisioned in this sandbox "
                f"(provisioned: {', '.join(sorted(self.accounts)) or 'none'})"
            )
        region = region or provisioned.account.recovery_region
        orchestrator = self.orchestrator_session(region)
        return self._assumed(
            ("execution", account_id, region),
            lambda: orchestrator,
            region,
            RoleArn=provisioned.account.execution_role_arn,
            RoleSessionName="drorch-execution",
            ExternalId=provisioned.account.external_id,
        )

    # --- set-up -------------------------------------------------------------
    def _bootstrap_hub(self) -> None:
        hub = self.admin_session(self.hub.account_id)
        iam = hub.client("iam")
        iam.create_role(
            RoleName=names.ORCHESTRATOR_ROLE,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Service": ["lambda.amazonaws.com", "states.amazonaws.com"]
                            },
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            Description="drorch hub orchestrator (sandbox)",
        )
        iam.create_user(UserName=names.OPERATOR_USER)
        key = iam.create_access_key(UserName=names.OPERATOR_USER)["AccessKey"]
        self._use_operator(
            {
                "aws_access_key_id": key["AccessKeyId"],
                "aws_secret_access_key": key["SecretAccessKey"],
            }
        )

    @property
    def operator_credentials(self) -> dict[str, str]:
        """The operator's access key (``aws_access_key_id``, ``aws_secret_access_key``)."""
        return dict(self._operator)

    def adopt(self, operator: dict[str, str], accounts: dict[str, ProvisionedAccount]) -> None:
        """Take on the identities of a restored state (:mod:`drorch.sandbox.persistence`):
        its operator and its staging accounts; the roles' sessions are assumed afresh."""
        self._sessions.clear()
        self.accounts = dict(accounts)
        self._use_operator(operator)

    def _use_operator(self, operator: dict[str, str]) -> None:
        """The operator's key becomes the process's default AWS credentials."""
        self._operator = dict(operator)
        os.environ["AWS_ACCESS_KEY_ID"] = operator["aws_access_key_id"]
        os.environ["AWS_SECRET_ACCESS_KEY"] = operator["aws_secret_access_key"]
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ["AWS_DEFAULT_REGION"] = self.hub.region
        boto3.setup_default_session(botocore_session=botocore_models.new_session())
        botocore_models.dedupe_search_paths()
        stepfunctions.use_thread_local_default_session()

    def provision_account(self, account: StagingAccount) -> ProvisionedAccount:
        """Create in the simulated account what drorch's staging stack deploys in a real one."""
        if account.account_id == self.hub.account_id:
            raise ValueError(f"{account.name}: a staging account cannot be the hub account")
        if account.account_id in self.accounts:
            return self.accounts[account.account_id]
        provisioned = ProvisionedAccount(account)
        region = account.recovery_region
        session = self.admin_session(account.account_id, region)
        self._create_execution_role(session, account)
        self._create_network(session, provisioned)
        self._initialise_drs(session, provisioned)
        self._create_resource_explorer(provisioned)
        self.accounts[account.account_id] = provisioned
        return provisioned

    def _create_execution_role(self, session: boto3.Session, account: StagingAccount) -> None:
        iam = session.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": names.role_arn(self.hub.account_id, names.ORCHESTRATOR_ROLE)
                    },
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": account.external_id}},
                }
            ],
        }
        iam.create_role(
            RoleName=account.execution_role_name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="drorch cross-account execution role (sandbox)",
            Tags=[{"Key": k, "Value": v} for k, v in account.tags.items()],
        )

    def _create_network(self, session: boto3.Session, provisioned: ProvisionedAccount) -> None:
        account = provisioned.account
        if not account.vpc_cidr:
            return
        ec2 = session.client("ec2")
        tags = [
            {"Key": "Name", "Value": f"{account.name}-vpc"},
            {"Key": "Purpose", "Value": "DRS-Staging"},
        ]
        vpc_id = ec2.create_vpc(
            CidrBlock=account.vpc_cidr,
            TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}],
        )["Vpc"]["VpcId"]
        provisioned.vpc_id = vpc_id
        for index, subnet in enumerate(account.subnets):
            subnet_tags = [
                {"Key": "Name", "Value": f"{account.name}-{subnet.purpose}-{index}"},
                {"Key": "Purpose", "Value": subnet.purpose},
            ]
            if subnet.purpose == "recovery":
                subnet_tags.append({"Key": "drstarget", "Value": "true"})
            kwargs: dict[str, Any] = {"VpcId": vpc_id, "CidrBlock": subnet.cidr}
            if subnet.availability_zone:
                kwargs["AvailabilityZone"] = subnet.availability_zone
            subnet_id = ec2.create_subnet(
                **kwargs, TagSpecifications=[{"ResourceType": "subnet", "Tags": subnet_tags}]
            )["Subnet"]["SubnetId"]
            if subnet.purpose == "staging":
                provisioned.staging_subnet_id = provisioned.staging_subnet_id or subnet_id
            else:
                provisioned.recovery_subnet_ids.append(subnet_id)
        group = ec2.create_security_group(
            GroupName="drorch-drs-replication",
            Description="DRS replication servers (TCP 1500 from source servers)",
            VpcId=vpc_id,
        )["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 1500,
                    "ToPort": 1500,
                    "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                }
            ],
        )
        provisioned.security_group_id = group

    def _initialise_drs(self, session: boto3.Session, provisioned: ProvisionedAccount) -> None:
        drs = session.client("drs")
        drs.initialize_service()
        staging_subnet = (
            provisioned.staging_subnet_id or (provisioned.recovery_subnet_ids or [""])[0]
        )
        if staging_subnet:
            drs.create_replication_configuration_template(
                associateDefaultSecurityGroup=not provisioned.security_group_id,
                bandwidthThrottling=0,
                createPublicIP=False,
                dataPlaneRouting="PRIVATE_IP",
                defaultLargeStagingDiskType="GP3",
                ebsEncryption="DEFAULT",
                replicationServerInstanceType="t3.small",
                replicationServersSecurityGroupsIDs=(
                    [provisioned.security_group_id] if provisioned.security_group_id else []
                ),
                stagingAreaSubnetId=staging_subnet,
                stagingAreaTags={"Purpose": "DRS-Replication"},
                useDedicatedReplicationServer=False,
                pitPolicy=[
                    {"interval": 10, "retentionDuration": 60, "units": "MINUTE", "enabled": True},
                    {"interval": 1, "retentionDuration": 24, "units": "HOUR", "enabled": True},
                    {"interval": 1, "retentionDuration": 7, "units": "DAY", "enabled": True},
                ],
                tags={names.DRS_TEMPLATE_TAG: "true"},
            )
        drs.create_launch_configuration_template(
            copyPrivateIp=True,
            copyTags=True,
            launchDisposition="STARTED",
            licensing={"osByol": False},
            targetInstanceTypeRightSizingMethod="BASIC",
            tags={names.DRS_TEMPLATE_TAG: "true"},
        )

    def _create_resource_explorer(self, provisioned: ProvisionedAccount) -> None:
        account = provisioned.account
        regions = [account.recovery_region]
        if account.source_region != account.recovery_region:
            regions.append(account.source_region)
        for region in regions:
            rex = self.admin_session(account.account_id, region).client("resource-explorer-2")
            provisioned.index_arns[region] = rex.create_index()["Arn"]
        rex = self.admin_session(account.account_id, account.recovery_region).client(
            "resource-explorer-2"
        )
        rex.update_index_type(
            Arn=provisioned.index_arns[account.recovery_region], Type="AGGREGATOR"
        )
        provisioned.view_arn = rex.create_view(
            ViewName=names.RESOURCE_EXPLORER_VIEW,
            IncludedProperties=[{"Name": "tags"}],
        )["View"]["ViewArn"]
        rex.associate_default_view(ViewArn=provisioned.view_arn)
