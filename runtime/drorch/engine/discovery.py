"""Discovery: each module group's resources in each staging account its selector allows.

For every (module group, staging account) pair the hub assumes the account's
execution role with its ExternalId, asks the group's module to discover — each
module reads its own service's authoritative API in the recovery region (the DRS
module: ``DescribeSourceServers``, whose answer carries every server's tags and
replication state; Aurora: ``DescribeDBClusters``; ...), not Resource Explorer
``Search``, whose index lags behind changes by minutes and would still need the
service's own describe call for the state a recovery acts on (Resource Explorer
is checked by readiness: the index and the ``drorch-discovery`` view) — and checks every
resource's DR tags (:func:`drorch.tags.check_tags`): resources with invalid
tags are excluded and reported, ``dr:enabled=false`` ones are skipped. Each
group's result is written to S3 as ``executions/<id>/groups/<groupId>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws
from drorch.errors import DrorchError
from drorch.manifest import Manifest, ModuleGroup, Wave
from drorch.manifest.model import DEFAULT_APPROVAL_TIMEOUT_MINUTES, END_OF_RUN
from drorch.modules.base import AccountContext, Module, Resource
from drorch.modules.routing import split_by_strategy
from drorch.modules.steps import STEP_RESOURCE_TYPE
from drorch.tags import OPTIONAL, check_tags, impact_of


class DiscoveryFailed(DrorchError):
    """A staging account could not be reached or searched."""


def group_key(execution_id: str, group_id: str) -> str:
    return names.group_key(execution_id, group_id)


def in_scope(group: ModuleGroup, access: aws.AccountAccess) -> bool:
    """Whether the group's selector allows this staging account (by name or id)."""
    wanted = group.selector.accounts
    return not wanted or access.account_id in wanted or access.name in wanted


def resource_counts(resources: Mapping[str, list[Mapping[str, Any]]]) -> dict[str, int]:
    """Resources per account of a group file's ``resources`` (accounts with none left out)."""
    return {account: len(items) for account, items in resources.items() if items}


def rto_target_minutes(resources: Mapping[str, list[Mapping[str, Any]]]) -> int | None:
    """The smallest ``dr:rto-target`` (minutes) among a group file's resources."""
    targets = [
        int(r["tags"][names.TAG_RTO])
        for items in resources.values()
        for r in items
        if str(r.get("tags", {}).get(names.TAG_RTO, "")).isdigit()
    ]
    return min(targets) if targets else None


@dataclass
class GroupDiscovery:
    """One module group's discovery, as written to S3."""

    group_id: str
    wave: str
    module: str
    parameters: dict[str, Any]
    timeout_minutes: int
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    step: dict[str, Any] = field(default_factory=dict)  # wave actions and checks: how they run
    # what a failure does: the member's policy (fail | continue | ask) and its wave's
    failure_policy: str = "fail"
    wave_policy: str = "stop"
    # how long a failed step waits for retry or skip (the manifest's approval timeout)
    decision_timeout_minutes: int = DEFAULT_APPROVAL_TIMEOUT_MINUTES
    isolation: bool = False  # some wave's policy is isolate: a start checks its wave first

    def to_dict(self) -> dict[str, Any]:
        found = {
            "groupId": self.group_id,
            "wave": self.wave,
            "module": self.module,
            "parameters": self.parameters,
            "timeoutMinutes": self.timeout_minutes,
            "resources": self.resources,
            "excluded": self.excluded,
            "skipped": self.skipped,
            "failurePolicy": self.failure_policy,
            "wavePolicy": self.wave_policy,
            "decisionTimeoutMinutes": self.decision_timeout_minutes,
            "isolation": self.isolation,
        }
        if self.step:
            found["step"] = self.step
        return found

    def counts(self) -> dict[str, int]:
        return resource_counts(self.resources)

    def rto_target_minutes(self) -> int | None:
        return rto_target_minutes(self.resources)


@dataclass
class DiscoverySummary:
    groups: dict[str, GroupDiscovery]

    @property
    def discovered(self) -> int:
        return sum(sum(g.counts().values()) for g in self.groups.values())

    @property
    def excluded(self) -> int:
        return sum(len(g.excluded) for g in self.groups.values())

    @property
    def skipped(self) -> int:
        return sum(len(g.skipped) for g in self.groups.values())

    def counts(self) -> dict[str, dict[str, int]]:
        """groupId -> accountId -> number of resources."""
        return {group_id: g.counts() for group_id, g in self.groups.items()}

    def rto_targets(self) -> dict[str, int | None]:
        return {group_id: g.rto_target_minutes() for group_id, g in self.groups.items()}


def sort_resources(
    resources: list[Resource], account_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept, excluded, skipped) after checking each resource's DR tags; a kept resource
    tagged ``dr:impact=optional`` says so (``impact``: its failure only warns)."""
    kept, excluded, skipped = [], [], []
    for resource in resources:
        check = check_tags(resource.tags)
        entry = resource.to_dict()
        entry["accountId"] = entry.get("accountId") or account_id
        if check.errors:
            excluded.append(
                {
                    "id": resource.id,
                    "arn": resource.arn,
                    "name": resource.name,
                    "accountId": entry["accountId"],
                    "region": resource.region,
                    "reasons": list(check.errors),
                }
            )
        elif not check.dr_enabled:
            skipped.append(
                {"id": resource.id, "arn": resource.arn, "accountId": entry["accountId"]}
            )
        else:
            if impact_of(resource.tags) == OPTIONAL:  # dr:impact (absent: critical)
                entry["impact"] = OPTIONAL
            kept.append(entry)
    return kept, excluded, skipped


Found = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]
# what one account holds for one group: (kept, excluded, skipped), see discovered_in
FoundIn = Callable[[ModuleGroup, aws.AccountAccess], Found]


def discovered_in(
    group: ModuleGroup, module: Module, access: aws.AccountAccess, session: Any
) -> Found:
    """(kept, excluded, skipped): what the group's module discovers in one account, sorted
    by the resources' DR tags (a TRS category's group keeps only its module's strategies)."""
    ctx = AccountContext(
        session=session,
        account_id=access.account_id,
        region=access.recovery_region,
        account_name=access.name,
    )
    resources = module.discover(ctx, group.selector)
    kept, excluded, skipped = sort_resources(list(resources), access.account_id)
    if group.routed_from:  # a TRS category's group: only its module's strategies
        kept, strayed = split_by_strategy(kept, module)
        excluded += strayed
    for exclusion in getattr(resources, "excluded", []):  # the module's own exclusions
        excluded.append(exclusion.to_dict())
    return kept, excluded, skipped


def discover_group(
    wave: Wave,
    group: ModuleGroup,
    accounts: Mapping[str, aws.AccountAccess],
    module: Module,
    session_for: Callable[[aws.AccountAccess], Any],
    found_in: FoundIn | None = None,
) -> GroupDiscovery:
    """One group in every staging account its selector allows; ``found_in`` gives what an
    account holds (default: the module discovers it now)."""
    found = GroupDiscovery(
        group_id=group.id,
        wave=wave.name,
        module=group.type,
        parameters=dict(group.parameters),
        timeout_minutes=wave.timeout_minutes,
        failure_policy=group.failure_policy,
        wave_policy=wave.failure_policy,
    )
    for access in accounts.values():
        if not in_scope(group, access):
            continue
        if found_in is None:
            kept, excluded, skipped = discovered_in(group, module, access, session_for(access))
        else:
            kept, excluded, skipped = found_in(group, access)
        found.resources[access.account_id] = kept
        found.excluded.extend({**e, "groupId": group.id} for e in excluded)
        found.skipped.extend({**s, "groupId": group.id} for s in skipped)
    return found


def _lambda_account(group: ModuleGroup) -> str | None:
    arn = str(group.parameters.get("functionArn") or group.parameters.get("functionName") or "")
    parts = arn.split(":")
    return parts[4] if arn.startswith("arn:") and len(parts) > 4 else None


def step_accounts(
    group: ModuleGroup,
    module: Module,
    accounts: Mapping[str, aws.AccountAccess],
    default: list[str],
) -> list[str]:
    """Where a wave action or health check runs: the hub (HTTP checks), the accounts it
    names, a Lambda ARN's own account, or else ``default`` (where the wave's module
    groups found resources)."""
    if getattr(module, "runs_in", "account") == "hub":
        return [names.HUB_TARGET]
    if group.selector.accounts:
        chosen = []
        for wanted in group.selector.accounts:
            match = [a.account_id for a in accounts.values() if wanted in (a.account_id, a.name)]
            if not match:
                raise DiscoveryFailed(
                    f"{group.role} {group.name!r} ({group.id}) names staging account "
                    f"{wanted!r}, which this hub does not know",
                    hint=f"known: {', '.join(sorted(a.name for a in accounts.values()))}",
                )
            chosen += match
        return sorted(set(chosen))
    owner = _lambda_account(group)
    if owner and owner in accounts:
        return [owner]
    return sorted(set(default))


def discover_step(
    wave_name: str,
    group: ModuleGroup,
    module: Module,
    accounts: Mapping[str, aws.AccountAccess],
    default: list[str],
    timeout_minutes: int,
    wave_policy: str = "stop",
) -> GroupDiscovery:
    """A wave action or health check: one resource (the step) per account it runs in."""
    found = GroupDiscovery(
        group_id=group.id,
        wave=wave_name,
        module=group.type,
        parameters=dict(group.parameters),
        timeout_minutes=group.timeout_minutes or timeout_minutes,
        failure_policy=group.failure_policy,
        wave_policy=wave_policy,
        step={
            "role": group.role,
            "name": group.name,
            "failurePolicy": group.failure_policy,
            "runInDrill": group.run_in_drill,
            "phases": list(group.phases),
        },
    )
    for account_id in step_accounts(group, module, accounts, default):
        access = accounts.get(account_id)
        region = access.recovery_region if access else ""
        found.resources[account_id] = [
            {
                "id": group.name,
                "arn": "",
                "accountId": account_id,
                "region": region,
                "name": group.name,
                "tags": {},
                "type": STEP_RESOURCE_TYPE,
            }
        ]
    return found


def assume_for_discovery(access: aws.AccountAccess) -> Any:
    try:
        return aws.assume(access, session_name="drorch-discovery")
    except ClientError as exc:
        raise DiscoveryFailed(
            f"cannot assume {access.execution_role_arn} in staging account {access.name} "
            f"({access.account_id}) with its ExternalId: {exc}",
            hint="check the staging stack of that account and its ExternalId in accounts/",
        ) from exc


def _module_of(modules: Mapping[str, Module], group: ModuleGroup) -> Module:
    module = modules.get(group.type)
    if module is None:
        raise DiscoveryFailed(
            f"group {group.id}: no module of type {group.type!r} is registered",
            hint=f"registered: {', '.join(sorted(modules)) or 'none'}",
        )
    return module


def _module_groups(manifest: Manifest) -> list[ModuleGroup]:
    """The groups discovery asks their module about (wave actions and checks are not)."""
    return [group for wave in manifest.waves for group in wave.groups]


def accounts_in_scope(manifest: Manifest, accounts: Mapping[str, aws.AccountAccess]) -> list[str]:
    """The staging accounts some module group of the manifest may discover in."""
    return sorted(
        access.account_id
        for access in accounts.values()
        if any(in_scope(group, access) for group in _module_groups(manifest))
    )


def discover_account(
    execution_id: str,
    manifest: Manifest,
    access: aws.AccountAccess,
    modules: Mapping[str, Module],
    s3: Any,
    bucket: str,
    session_for: Callable[[aws.AccountAccess], Any] = assume_for_discovery,
) -> dict[str, int]:
    """Discover every module group in one staging account (one role assumption), each
    group's part to S3 (:func:`drorch.names.group_part_key`, merged by :func:`discover`
    with ``from_parts``); returns the account's counts (discovered, excluded, skipped)."""
    session = None
    totals = {"discovered": 0, "excluded": 0, "skipped": 0}
    for group in _module_groups(manifest):
        if not in_scope(group, access):
            continue
        module = _module_of(modules, group)
        session = session or session_for(access)
        kept, excluded, skipped = discovered_in(group, module, access, session)
        s3.put_object(
            Bucket=bucket,
            Key=names.group_part_key(execution_id, group.id, access.account_id),
            Body=json.dumps({"resources": kept, "excluded": excluded, "skipped": skipped}).encode(),
            ContentType="application/json",
        )
        totals["discovered"] += len(kept)
        totals["excluded"] += len(excluded)
        totals["skipped"] += len(skipped)
    return totals


def discover(
    execution_id: str,
    manifest: Manifest,
    accounts: Mapping[str, aws.AccountAccess],
    modules: Mapping[str, Module],
    s3: Any,
    bucket: str,
    session_for: Callable[[aws.AccountAccess], Any] = assume_for_discovery,
    *,
    from_parts: bool = False,
) -> DiscoverySummary:
    """Discover every group in every allowed account and write the group files to S3;
    ``from_parts``: what :func:`discover_account` wrote for each account, merged."""
    groups: dict[str, GroupDiscovery] = {}
    isolating = any(w.failure_policy == "isolate" for w in manifest.waves)
    sessions: dict[str, Any] = {}

    def session_once(access: aws.AccountAccess) -> Any:  # one role assumption per account
        if access.account_id not in sessions:
            sessions[access.account_id] = session_for(access)
        return sessions[access.account_id]

    def read_part(group: ModuleGroup, access: aws.AccountAccess) -> Found:
        key = names.group_part_key(execution_id, group.id, access.account_id)
        part = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return part["resources"], part["excluded"], part["skipped"]

    def save(found: GroupDiscovery) -> None:
        found.decision_timeout_minutes = manifest.approval.timeout_minutes
        found.isolation = isolating
        whole = found.to_dict()
        s3.put_object(
            Bucket=bucket,
            Key=group_key(execution_id, found.group_id),
            Body=json.dumps(whole).encode(),
            ContentType="application/json",
        )
        if from_parts and not found.step:  # one account's work reads the head and its part
            head = {k: v for k, v in whole.items() if k not in ("resources", "excluded", "skipped")}
            head["accounts"] = sorted(found.resources)
            s3.put_object(
                Bucket=bucket,
                Key=names.group_head_key(execution_id, found.group_id),
                Body=json.dumps(head).encode(),
                ContentType="application/json",
            )
        groups[found.group_id] = found

    everywhere: set[str] = set()
    for wave in manifest.waves:
        used: set[str] = set()
        for group in wave.groups:
            found = discover_group(
                wave,
                group,
                accounts,
                _module_of(modules, group),
                session_once,
                read_part if from_parts else None,
            )
            used |= set(found.counts())
            save(found)
        everywhere |= used
        for group in (*wave.pre_actions, *wave.post_actions, *wave.health_checks):
            save(
                discover_step(
                    wave.name,
                    group,
                    _module_of(modules, group),
                    accounts,
                    sorted(used),
                    wave.timeout_minutes,
                    wave.failure_policy,
                )
            )
    for group in manifest.health_checks:
        save(
            discover_step(
                END_OF_RUN, group, _module_of(modules, group), accounts, sorted(everywhere), 30
            )
        )
    return DiscoverySummary(groups)


def plan_inputs(found: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """What ``build_plan`` takes from group files (group id -> file): ``counts``,
    ``rto_targets``, ``excluded`` and ``skipped_off``."""
    return {
        "counts": {g: resource_counts(f["resources"]) for g, f in found.items()},
        "rto_targets": {g: rto_target_minutes(f["resources"]) for g, f in found.items()},
        "excluded": {g: len(f.get("excluded", [])) for g, f in found.items()},
        "skipped_off": {g: len(f.get("skipped", [])) for g, f in found.items()},
    }


def load_group(s3: Any, bucket: str, execution_id: str, group_id: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=group_key(execution_id, group_id))["Body"].read()
    return json.loads(body)


def load_group_in(
    s3: Any, bucket: str, execution_id: str, group_id: str, account_id: str
) -> dict[str, Any]:
    """A group file with only ``account_id``'s resources, exclusions and skips: from the
    group's head and that account's part when the Discover Map left them (nothing of the
    other accounts is read), else from the whole file."""
    try:
        head = _read(s3, bucket, names.group_head_key(execution_id, group_id))
    except s3.exceptions.NoSuchKey:
        whole = load_group(s3, bucket, execution_id, group_id)
        resources = whole.get("resources", {})
        mine = {account_id: resources[account_id]} if account_id in resources else {}
        return {
            **whole,
            "resources": mine,
            "excluded": [e for e in whole.get("excluded", []) if e.get("accountId") == account_id],
            "skipped": [e for e in whole.get("skipped", []) if e.get("accountId") == account_id],
        }
    accounts = head.pop("accounts")
    if account_id not in accounts:
        return {**head, "resources": {}, "excluded": [], "skipped": []}
    part = _read(s3, bucket, names.group_part_key(execution_id, group_id, account_id))
    return {
        **head,
        "resources": {account_id: part["resources"]},
        "excluded": [{**e, "groupId": group_id} for e in part["excluded"]],
        "skipped": [{**e, "groupId": group_id} for e in part["skipped"]],
    }


def _read(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
