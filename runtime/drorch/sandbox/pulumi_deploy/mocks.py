"""The ``pulumi.runtime.Mocks`` of the sandbox: every resource is created for real in it.

:class:`SandboxMocks` routes each ``new_resource`` to its creator (one module per
group of services), in the account and region of the resource's provider, with
the access that provider would have (the role it assumes). It never invents
state: a type without a creator is recorded in :attr:`SandboxMocks.unsupported`.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

import boto3

from drorch.sandbox.core import Sandbox
from drorch.sandbox.pulumi_deploy import compute, events, iam, staging, storage
from drorch.sandbox.pulumi_deploy.base import (
    Clients,
    Created,
    Creator,
    Record,
    SandboxDeployError,
    Target,
    json_or,
    unwrap,
)

DYNAMIC = "pulumi-python:dynamic:Resource"
CREATORS: dict[str, Creator] = {
    **storage.CREATORS,
    **events.CREATORS,
    **iam.CREATORS,
    **compute.CREATORS,
    **staging.CREATORS,
}


class SandboxMocks:
    """``pulumi.runtime.Mocks`` that create each resource in the sandbox."""

    def __init__(self, sandbox: Sandbox, *, hub_region: str | None = None) -> None:
        self.sandbox = sandbox
        self.hub_region = hub_region or sandbox.hub.region
        self.providers: dict[str, Target] = {}  # provider id -> target
        self.created: list[Created] = []
        self.unsupported: list[tuple[str, str]] = []
        self.record = Record(sandbox)
        self.messages: list[str] = []  # the program's pulumi.log messages
        self._sessions: dict[tuple[str, str, str | None], Clients] = {}
        self._lock = threading.Lock()

    @property
    def functions(self) -> dict[str, dict[str, Any]]:
        """The Lambda functions created, by ARN, with their inputs."""
        return self.record.functions

    @property
    def bucket_policies(self) -> dict[str, dict[str, Any]]:
        """Bucket policies as the program declared them (see :func:`storage.bucket_policy`)."""
        return self.record.bucket_policies

    # --- the Mocks interface ----------------------------------------------------------------
    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        with self._lock:
            return self._new_resource(args)

    def call(self, args: Any) -> tuple[dict, list | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            target = self._target(args.provider)
            identity = self._session(target).client("sts").get_caller_identity()
            return {
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
                "id": identity["Account"],
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            region = self._target(args.provider).region
            return {"name": region, "region": region, "id": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        self.unsupported.append((args.token, "(invoke)"))
        raise SandboxDeployError(f"the sandbox cannot answer the Pulumi invoke {args.token}")

    def register_transform(self, transform: Any) -> None:  # pragma: no cover - none used
        pass

    def register_invoke_transform(self, transform: Any) -> None:  # pragma: no cover
        pass

    # --- routing ------------------------------------------------------------------------------
    def _new_resource(self, args: Any) -> tuple[str | None, dict]:
        inputs = unwrap(dict(args.inputs))
        if args.typ.startswith("pulumi:providers:"):
            return self._provider(args.typ, args.name, inputs)
        if not args.custom:
            return None, {}  # a component: nothing exists in AWS for it
        if args.typ == DYNAMIC:
            return self._dynamic(args.name, inputs)
        creator = CREATORS.get(args.typ)
        if creator is None:
            self.unsupported.append((args.typ, args.name))
            # the program goes on so that every unsupported type is named at once
            return f"unsupported-{args.name}", dict(inputs)
        target = self._target(args.provider)
        resource_id, outputs = creator(
            self.record, self._session(target), target, args.name, inputs
        )
        self.created.append(
            Created(args.typ, args.name, resource_id, target.account_id, target.region)
        )
        return resource_id, {**inputs, **outputs, "id": resource_id}

    def _provider(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        if typ != "pulumi:providers:aws":
            self.unsupported.append((typ, name))
            return f"unsupported-provider-{name}", inputs
        region = inputs.get("region") or self.hub_region
        roles = json_or(inputs.get("assumeRoles")) or []
        single = json_or(inputs.get("assumeRole"))
        if single:
            roles = [single]
        role_arn = None
        if roles:
            last = roles[-1]
            role_arn = last.get("roleArn") or last.get("role_arn")
        account = role_arn.split(":")[4] if role_arn else self.sandbox.hub.account_id
        allowed = json_or(inputs.get("allowedAccountIds")) or []
        if allowed and account not in allowed:
            raise SandboxDeployError(
                f"provider {name}: account {account} is not in its allowedAccountIds {allowed}"
            )
        provider_id = f"{name}-{account}-{region}"
        self.providers[provider_id] = Target(account, region, role_arn)
        return provider_id, inputs

    def _target(self, provider: str | None) -> Target:
        if not provider:  # the default provider: the deployer's account, the hub's region
            return Target(self.sandbox.hub.account_id, self.hub_region)
        provider_id = provider.rsplit("::", 1)[-1]
        if provider_id not in self.providers:
            raise SandboxDeployError(f"resource uses an unknown provider {provider}")
        return self.providers[provider_id]

    def _session(self, target: Target) -> Clients:
        """The deployer's access to the target: the provider's role, assumed like the provider does."""
        key = (target.account_id, target.region, target.role_arn)
        if key not in self._sessions:
            if target.role_arn is None or target.role_arn.endswith(
                "/OrganizationAccountAccessRole"
            ):
                session = self.sandbox.admin_session(target.account_id, target.region)
            else:
                creds = (
                    self.sandbox.operator_session(target.region)
                    .client("sts")
                    .assume_role(RoleArn=target.role_arn, RoleSessionName="drorch-deploy")[
                        "Credentials"
                    ]
                )
                session = boto3.Session(
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                    region_name=target.region,
                )
            self._sessions[key] = Clients(session)
        return self._sessions[key]

    def _dynamic(self, name: str, inputs: dict) -> tuple[str, dict]:
        """Run the dynamic resource's own provider (``create``) against the sandbox."""
        import dill

        serialized = inputs.pop("__provider")
        provider = dill.loads(base64.b64decode(serialized))
        result = provider.create(inputs)
        outs = dict(result.outs or {})
        self.created.append(
            Created(
                f"{DYNAMIC}:{type(provider).__name__}",
                name,
                result.id,
                str(inputs.get("accountId", "")),
                str(inputs.get("region", "")),
            )
        )
        return result.id, {**outs, "__provider": serialized}
