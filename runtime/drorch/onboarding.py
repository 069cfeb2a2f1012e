"""Onboarding staging accounts: write ``accounts/<name>.yaml``, then verify readiness from the hub.

``new_account`` / ``write_account`` produce a validated account description
(``drorch accounts onboard``). ``verify_account`` checks, from the hub's
identity, what the staging stack should have deployed in the account
(``drorch accounts verify``):

* the execution role can be assumed with its ExternalId, and is refused without it;
* DRS is initialised in the recovery region, with replication and launch
  configuration templates;
* a Resource Explorer index in the recovery region is the account's aggregator,
  and the discovery view exists;
* the permissions the account's modules need: read actions by dry-run calls
  (the effective permissions, SCPs and boundaries included), write actions with
  ``iam:SimulatePrincipalPolicy`` where the service answers it.

Each check is a :class:`Check` with a result and, when not ready, a fix hint.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from drorch import names
from drorch.accounts import DEFAULT_MODULES, StagingAccount, load_accounts, parse_account
from drorch.errors import InputError
from drorch.modules import REGISTRY, Module, Probe

OK, FAIL, SKIP = "ready", "not ready", "skipped"
# a module's Finding.result -> this report's words (a warning does not block readiness)
_RESULTS = {"OK": OK, "WARNING": OK, "FAIL": FAIL, "SKIP": SKIP}

# --- onboard -------------------------------------------------------------------------------


def generate_external_id(name: str) -> str:
    """A random ExternalId: unguessable, and recognisable in a trust policy."""
    return f"drorch-{name}-{secrets.token_hex(12)}"


def default_subnets(vpc_cidr: str, recovery_region: str) -> list[dict[str, str]]:
    """Three recovery subnets (zones a, b, c) and a DRS staging subnet, carved from the VPC."""
    try:
        vpc = ipaddress.ip_network(vpc_cidr)
    except ValueError as exc:
        raise InputError(f"--vpc-cidr {vpc_cidr!r}: {exc}") from exc
    if vpc.version != 4 or vpc.prefixlen > 26:
        raise InputError(
            f"--vpc-cidr {vpc_cidr}: an IPv4 network of /26 or larger is needed "
            "for three recovery subnets and a staging subnet"
        )
    new_prefix = max(24, vpc.prefixlen + 2)
    blocks = list(vpc.subnets(new_prefix=new_prefix))
    subnets = [
        {"cidr": str(blocks[i]), "availabilityZone": f"{recovery_region}{zone}"}
        for i, zone in enumerate("abc")
    ]
    subnets.append(
        {"cidr": str(blocks[-1]), "availabilityZone": f"{recovery_region}a", "purpose": "staging"}
    )
    return subnets


def new_account(
    name: str,
    account_id: str,
    *,
    recovery_region: str = "us-east-2",
    source_region: str = "us-east-1",
    external_id: str = "auto",
    environment: str = "production",
    vpc_cidr: str | None = None,
    modules: Sequence[str] = DEFAULT_MODULES,
    organization_id: str | None = None,
    capacity: int | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The account document (validated; raises :class:`InputError` naming the field)."""
    document: dict[str, Any] = {"name": name, "accountId": account_id}
    if description:
        document["description"] = description
    document |= {
        "environment": environment,
        "sourceRegion": source_region,
        "recoveryRegion": recovery_region,
        "externalId": generate_external_id(name) if external_id == "auto" else external_id,
        "modules": list(modules),
    }
    if organization_id:
        document["organizationId"] = organization_id
    if capacity is not None:
        document["capacity"] = capacity
    if vpc_cidr:
        document["network"] = {
            "vpcCidr": vpc_cidr,
            "subnets": default_subnets(vpc_cidr, recovery_region),
        }
    document["tags"] = {"Purpose": "DRS-Staging"}
    parse_account(document, f"account {name!r}")
    return document


_HEADER = """\
# DRS staging account, written by `drorch accounts onboard`.
# The hub assumes {role} in this account with the externalId below;
# deploy with `pulumi up`, then check with `drorch accounts verify {name}`.
"""


def write_account(directory: Path, document: dict[str, Any]) -> Path:
    """Write ``<directory>/<name>.yaml``; never overwrites, never duplicates an account id."""
    name = document["name"]
    path = directory / f"{name}.yaml"
    if path.exists():
        raise InputError(
            f"{path} already exists; drorch will not overwrite an onboarded account",
            hint="edit the file, or pick another name",
        )
    if directory.is_dir():
        for existing in load_accounts(directory):
            if existing.account_id == document["accountId"]:
                raise InputError(
                    f"account {document['accountId']} is already onboarded as {existing.name}",
                    hint=f"see {directory / (existing.name + '.yaml')}",
                )
    directory.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    header = _HEADER.format(role=names.EXECUTION_ROLE, name=name)
    path.write_text(header + body)
    return path


def next_steps(account: StagingAccount, path: Path) -> list[str]:
    return [
        f"review {path}",
        f"give the hub's deployment a way into {account.account_id}: a bootstrap role "
        "(bootstrapRoleArn) the Pulumi provider can assume, or run as an administrator there",
        "deploy: `pulumi up` (creates the execution role, DRS templates, Resource Explorer "
        "index and view in the account)",
        f"verify from the hub: `drorch accounts verify {account.name} --profile HUB --region "
        f"{account.recovery_region}`",
    ]


# --- verify --------------------------------------------------------------------------------


@dataclass
class Check:
    account: str
    check: str
    result: str  # OK, FAIL or SKIP
    detail: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Readiness:
    account: StagingAccount
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.result != FAIL for c in self.checks)

    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.result == FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.account.name,
            "accountId": self.account.account_id,
            "recoveryRegion": self.account.recovery_region,
            "ready": self.ready,
            "checks": [c.to_dict() for c in self.checks],
        }


def describe_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '') or error}"
    return f"{type(error).__name__}: {error}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


# What discovery calls in a staging account (each module declares its own probes).
DISCOVERY_READS: tuple[Probe, ...] = (
    Probe("resource-explorer-2:ListViews", "resource-explorer-2", "list_views"),
    Probe("resource-explorer-2:GetIndex", "resource-explorer-2", "get_index"),
)


def _module(name: str) -> Module | None:
    return REGISTRY.get(name)


@dataclass
class Verifier:
    """Runs the checks for one account from ``hub`` (a session with the hub's identity)."""

    hub: boto3.Session
    account: StagingAccount
    report: Readiness = field(init=False)

    def __post_init__(self) -> None:
        self.report = Readiness(self.account)

    def add(self, check: str, result: str, detail: str = "", fix: str = "") -> None:
        self.report.checks.append(Check(self.account.name, check, result, detail, fix))

    # --- the role -----------------------------------------------------------------------
    def _assume(self, external_id: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "RoleArn": self.account.execution_role_arn,
            "RoleSessionName": "drorch-verify",
        }
        if external_id is not None:
            kwargs["ExternalId"] = external_id
        sts = self.hub.client("sts", region_name=self.account.recovery_region)
        return sts.assume_role(**kwargs)["Credentials"]

    def assume_role(self) -> boto3.Session | None:
        role = self.account.execution_role_arn
        try:
            creds = self._assume(self.account.external_id)
        except (ClientError, BotoCoreError) as exc:
            self.add(
                "assume execution role",
                FAIL,
                f"{role} with ExternalId refused: {describe_error(exc)}",
                "deploy the staging stack (`pulumi up`); check that externalId in "
                f"accounts/{self.account.name}.yaml is the one in the role's trust policy and "
                f"that it trusts {names.ORCHESTRATOR_ROLE} in the hub account",
            )
            return None
        self.add("assume execution role", OK, f"{role} with its ExternalId")
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.account.recovery_region,
        )

    def external_id_required(self) -> None:
        role = self.account.execution_role_arn
        try:
            self._assume(None)
        except ClientError as exc:
            if _code(exc) in _DENIED:
                self.add("ExternalId required", OK, "assuming the role without it is refused")
            else:
                self.add(
                    "ExternalId required",
                    FAIL,
                    f"could not check: {describe_error(exc)}",
                    "re-run; if it persists, check STS in the hub account",
                )
            return
        self.add(
            "ExternalId required",
            FAIL,
            f"role {role} does not require an ExternalId (assumed without one)",
            'add Condition {"StringEquals": {"sts:ExternalId": "<externalId>"}} to its trust '
            "policy: redeploy the staging stack (`pulumi up`)",
        )

    # --- the modules' own readiness checks (DRS initialised and its templates, ...) --------
    def modules(self, session: boto3.Session) -> None:
        for name in self.account.modules:
            module = _module(name)
            if module is None:
                continue  # named by permissions()
            for finding in module.readiness(
                session, self.account.account_id, self.account.recovery_region
            ):
                result = _RESULTS.get(finding.result, FAIL)
                self.add(finding.check, result, finding.detail, finding.fix)

    # --- Resource Explorer --------------------------------------------------------------------
    def resource_explorer(self, session: boto3.Session) -> None:
        region = self.account.recovery_region
        rex = session.client("resource-explorer-2", region_name=region)
        try:
            index = rex.get_index()
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                self.add(
                    "Resource Explorer index",
                    FAIL,
                    f"no Resource Explorer index in {region}",
                    "deploy the staging stack (`pulumi up`): it creates the index as the "
                    f"account's aggregator in {region}",
                )
            else:
                self.add(
                    "Resource Explorer index",
                    FAIL,
                    f"could not read the index in {region}: {describe_error(exc)}",
                    "grant resource-explorer-2:GetIndex to the execution role",
                )
        else:
            state, kind = index.get("State"), index.get("Type")
            if state != "ACTIVE":
                self.add(
                    "Resource Explorer index",
                    FAIL,
                    f"the index in {region} is {state}",
                    "wait until it is ACTIVE (creation and type changes take minutes)",
                )
            elif kind != "AGGREGATOR":
                self.add(
                    "Resource Explorer index",
                    FAIL,
                    f"the index in {region} is {kind}, not the account's aggregator",
                    f"make it the aggregator: `aws resource-explorer-2 update-index-type "
                    f"--arn {index.get('Arn')} --type AGGREGATOR --region {region}`",
                )
            else:
                self.add("Resource Explorer index", OK, f"aggregator in {region}")
        try:
            views = [
                arn
                for page in rex.get_paginator("list_views").paginate()
                for arn in page.get("Views", [])
            ]
        except ClientError as exc:
            self.add(
                "Resource Explorer view",
                FAIL,
                f"could not list views in {region}: {describe_error(exc)}",
                "grant resource-explorer-2:ListViews to the execution role",
            )
            return
        wanted = [v for v in views if f":view/{names.RESOURCE_EXPLORER_VIEW}/" in v]
        if wanted:
            self.add("Resource Explorer view", OK, wanted[0])
        else:
            self.add(
                "Resource Explorer view",
                FAIL,
                f"no view named {names.RESOURCE_EXPLORER_VIEW} in {region}",
                "deploy the staging stack (`pulumi up`): it creates the discovery view",
            )

    # --- permissions --------------------------------------------------------------------------
    def permissions(self, session: boto3.Session) -> None:
        region = self.account.recovery_region
        groups: list[tuple[str, Iterable[Probe]]] = [("discovery", DISCOVERY_READS)]
        for name in self.account.modules:
            module = _module(name)
            if module is None:
                self.add(
                    f"permissions: {name}",
                    FAIL,
                    f"no module {name!r} is registered in this drorch",
                    f"use one of {', '.join(sorted(REGISTRY))} in accounts/{self.account.name}.yaml",
                )
                continue
            if module.probes:
                groups.append((name, module.probes))
        for label, probes in groups:
            denied: list[str] = []
            for probe in probes:
                client = session.client(probe.service, region_name=region)
                try:
                    getattr(client, probe.operation)(**probe.params)
                except ClientError as exc:
                    if _code(exc) in _DENIED:
                        denied.append(f"{probe.action} ({describe_error(exc)})")
                    # anything else (not initialised, not found) is another check's finding
            if denied:
                self.add(
                    f"permissions: {label}",
                    FAIL,
                    "denied: " + "; ".join(denied),
                    "grant these actions to the execution role (redeploy the staging stack "
                    f"with {label!r} in the account's modules)",
                )
            else:
                self.add(f"permissions: {label}", OK, f"{len(list(probes))} read actions allowed")
        self.simulate_writes(session)

    def simulate_writes(self, session: boto3.Session) -> None:
        regions = [self.account.recovery_region]
        actions = sorted(
            {
                action
                for name in self.account.modules
                if (module := _module(name)) is not None
                for action in module.iam(self.account.account_id, regions).actions(
                    "drill_safe", "write"
                )
            }
        )
        if not actions:
            return
        iam = session.client("iam")
        try:
            answer = iam.simulate_principal_policy(
                PolicySourceArn=self.account.execution_role_arn, ActionNames=actions
            )
        except (ClientError, NotImplementedError) as exc:
            self.add(
                "permissions: write actions",
                SKIP,
                f"not simulated: iam:SimulatePrincipalPolicy unavailable ({describe_error(exc)})",
                "allow the execution role iam:SimulatePrincipalPolicy on itself to check them",
            )
            return
        denied = [
            r["EvalActionName"]
            for r in answer.get("EvaluationResults", [])
            if r.get("EvalDecision") != "allowed"
        ]
        if denied:
            self.add(
                "permissions: write actions",
                FAIL,
                "not allowed: " + ", ".join(denied),
                "grant them to the execution role (redeploy the staging stack)",
            )
        else:
            self.add("permissions: write actions", OK, f"{len(actions)} actions allowed")

    def run(self) -> Readiness:
        session = self.assume_role()
        self.external_id_required()
        if session is None:
            for check in (
                "DRS initialised",
                "Resource Explorer index",
                "Resource Explorer view",
                "permissions",
            ):
                self.add(check, SKIP, "the execution role could not be assumed")
            return self.report
        self.modules(session)
        self.resource_explorer(session)
        self.permissions(session)
        return self.report


def verify_account(hub: boto3.Session, account: StagingAccount) -> Readiness:
    """Every readiness check for one staging account, from the hub's identity."""
    return Verifier(hub, account).run()


def verify_accounts(
    hub: boto3.Session,
    accounts: Sequence[StagingAccount],
    on_done: Callable[[Readiness], None] | None = None,
) -> list[Readiness]:
    results = []
    for account in accounts:
        result = verify_account(hub, account)
        if on_done:
            on_done(result)
        results.append(result)
    return results


def hub_identity(session: boto3.Session, role: str | None) -> boto3.Session:
    """The identity the checks run as: the hub's orchestrator role (assumed), or ``session``.

    ``role`` is a role ARN, ``"current"`` (use ``session`` itself) or None (the
    orchestrator role in ``session``'s account, the identity the Lambdas have).
    """
    if role == "current":
        return session
    sts = session.client("sts")
    try:
        if role is None:
            account_id = sts.get_caller_identity()["Account"]
            role = names.role_arn(account_id, names.ORCHESTRATOR_ROLE)
        creds = sts.assume_role(RoleArn=role, RoleSessionName="drorch-verify-hub")["Credentials"]
    except (ClientError, BotoCoreError) as exc:
        raise InputError(
            f"cannot act as the hub's orchestrator role {role or ''}: {describe_error(exc)}",
            hint="the execution roles trust only that role: use credentials allowed to assume "
            "it, pass --hub-role ARN, or --hub-role current to check as yourself",
        ) from exc
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=session.region_name,
    )
