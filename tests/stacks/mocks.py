"""Pulumi mocks that record every resource the program declares, with resolved inputs.

Resources get realistic ids and ARNs (account and region from their provider), so
policies and state-machine definitions built from Outputs can be checked as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi

HUB_ACCOUNT = "999999999999"
HUB_REGION = "us-east-2"


@dataclass
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]
    account: str
    region: str
    state: dict[str, Any] = field(default_factory=dict)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Declared] = []
        self.providers: dict[str, tuple[str, str]] = {}  # provider id -> (account, region)

    def reset(self) -> None:
        self.resources = []
        self.providers = {}

    def _place(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, str]:
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        return self.providers.get(provider_id, (HUB_ACCOUNT, HUB_REGION))

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ == "pulumi:providers:aws":
            accounts = inputs.get("allowedAccountIds") or [HUB_ACCOUNT]
            if isinstance(accounts, str):  # provider inputs arrive JSON-encoded
                accounts = json.loads(accounts)
            provider_id = f"provider-{args.name}"
            self.providers[provider_id] = (accounts[0], inputs.get("region", HUB_REGION))
            self.resources.append(
                Declared(args.typ, args.name, inputs, accounts[0], inputs.get("region", HUB_REGION))
            )
            return provider_id, inputs
        account, region = self._place(args)
        name = inputs.get("name") or args.name
        state = dict(inputs)
        short = args.typ.split(":")[1].split("/")[0]
        arn = {
            "iam": f"arn:aws:iam::{account}:{'role' if 'Role' in args.typ else 'policy'}/{name}",
            "lambda": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "sfn": f"arn:aws:states:{region}:{account}:stateMachine:{name}",
            "sns": f"arn:aws:sns:{region}:{account}:{name}",
            "kms": f"arn:aws:kms:{region}:{account}:key/{args.name}-id",
            "s3": f"arn:aws:s3:::{inputs.get('bucket', name)}",
            "dynamodb": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "cloudwatch": f"arn:aws:events:{region}:{account}:event-bus/{name}"
            if "EventBus" in args.typ
            else f"arn:aws:logs:{region}:{account}:log-group:{name}",
            "resourceexplorer": f"arn:aws:resource-explorer-2:{region}:{account}:"
            + (f"view/{name}/0000" if "View" in args.typ else "index/0000"),
        }.get(short, f"arn:aws:{short}:{region}:{account}:{name}")
        if args.typ == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{region}:{account}:log-group:{name}"
        state.setdefault("arn", arn)
        if args.typ == "aws:kms/key:Key":
            state["keyId"] = f"{args.name}-id"
        if args.typ == "aws:lambda/layerVersion:LayerVersion":
            state["arn"] = f"arn:aws:lambda:{region}:{account}:layer:{inputs['layerName']}:1"
        self.resources.append(Declared(args.typ, args.name, inputs, account, region, state))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list] | dict:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": HUB_ACCOUNT,
                "arn": f"arn:aws:iam::{HUB_ACCOUNT}:user/deployer",
                "userId": "deployer",
                "id": HUB_ACCOUNT,
            }
        return {}

    # --- queries ------------------------------------------------------------------------------
    def of_type(self, typ: str) -> list[Declared]:
        return [r for r in self.resources if r.type == typ]

    def named(self, typ: str, name: str) -> Declared:
        found = [r for r in self.of_type(typ) if r.name == name or r.inputs.get("name") == name]
        assert len(found) == 1, f"{typ} {name}: {len(found)} found"
        return found[0]


MOCKS = RecordingMocks()
pulumi.runtime.set_mocks(MOCKS, project="drorch", stack="test", preview=False)


def deploy(config: Any) -> RecordingMocks:
    """Run the program's ``build`` under the mocks; every Output resolved on return."""
    from stacks.program import build

    MOCKS.reset()

    @pulumi.runtime.test
    def run() -> None:
        build(config)

    run()
    snapshot = RecordingMocks()  # later deployments reset MOCKS, not this
    snapshot.resources = list(MOCKS.resources)
    snapshot.providers = dict(MOCKS.providers)
    return snapshot
