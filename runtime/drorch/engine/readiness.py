"""Readiness evaluation: could the application fail over now, and what stands in the way?

For every resource of the application's plan (discovery + plan, read-only), the module's
per-resource probes (:meth:`Module.resource_readiness`) give findings OK, WARNING or
BLOCKER, each naming the resource, the call that showed it and what to do. Resources
discovery matched but left out are findings too (:meth:`Module.exclusion_readiness`), and
so is each staging account the plan uses: its execution role assumable with the
ExternalId, its Resource Explorer index and view (the checks of ``accounts verify``).

It runs three ways:

* ``drorch readiness APP`` (:func:`plan_now` + :func:`evaluate`, from the operator's side);
* the ``Readiness`` state of every execution, after the read-only discovery and plan and
  before anything changes (:func:`check_execution`): a BLOCKER ends a failover, failback
  or drill FAILED with ``ReadinessBlocked`` unless it was started with ``--force`` (recorded
  with who); a cleanup records the findings and goes on (it only removes what a run left);
* on a schedule (:func:`scheduled`): per application, the number of BLOCKERs and WARNINGs as
  CloudWatch metrics (namespace ``drorch/Readiness``), which the hub's alarms watch.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drorch import names
from drorch.engine import aws, clock, discovery
from drorch.engine import plan as planning
from drorch.engine.errors import ReadinessBlocked
from drorch.errors import DrorchError
from drorch.manifest import Manifest
from drorch.modules.base import (
    BLOCKER,
    READINESS_RESULTS,
    READY,
    WARNING,
    AccountContext,
    Finding,
    Module,
    Resource,
)
from drorch.tags import OPTIONAL

log = logging.getLogger(__name__)

# what a BLOCKER stops (unless --force); a cleanup only removes what a run left behind
GATED_OPERATIONS = frozenset({"failover", "failback", "drill"})
METRIC_NAMESPACE = names.READINESS_NAMESPACE
METRIC_BLOCKERS, METRIC_WARNINGS = "Blockers", "Warnings"
ALL_APPLICATIONS = names.READINESS_ALL  # the Application dimension of the sum
HISTORY_FINDINGS = 150  # findings kept in the execution item (worst first); all of them in S3
CAUSE_BLOCKERS = 10  # BLOCKERs named in the failure cause
_ORDER = {BLOCKER: 0, WARNING: 1, READY: 2}
# the account checks of ``accounts verify`` (onboarding.Verifier) readiness reuses, by call
ACCOUNT_CALLS = {
    "assume execution role": "sts:AssumeRole (with the ExternalId)",
    "Resource Explorer index": "resource-explorer-2:GetIndex",
    "Resource Explorer view": "resource-explorer-2:ListViews",
}

ContextFor = Callable[[str], AccountContext]


def readiness_key(run_id: str) -> str:
    """The full findings of one evaluation (an execution's, or a scheduled one's)."""
    return f"{names.ARTIFACTS_PREFIX}{run_id}/readiness.json"


def row(finding: Finding, group_id: str, module: str, account_id: str) -> dict[str, str]:
    """A finding as readiness reports it (JSON, the history, the report)."""
    if finding.result not in READINESS_RESULTS:
        raise ValueError(
            f"{module}: readiness result {finding.result!r} is not one of {READINESS_RESULTS}"
        )
    return {
        "groupId": group_id,
        "module": module,
        "accountId": account_id,
        "resource": finding.resource,
        "name": finding.name or finding.resource,
        "result": finding.result,
        "check": finding.check,
        "call": finding.call,
        "detail": finding.detail,
        "fix": finding.fix,
    }


# --- the checks ---------------------------------------------------------------------------
def account_findings(hub: Any, access: aws.AccountAccess) -> list[dict[str, str]]:
    """The execution role assumable with the ExternalId, the Resource Explorer index and view:
    the checks ``accounts verify`` makes (a check that fails is a BLOCKER)."""
    from drorch.onboarding import OK, SKIP, Verifier

    verifier = Verifier(hub, access)  # type: ignore[arg-type]  # an AccountAccess suffices
    session = verifier.assume_role()
    if session is not None:
        verifier.resource_explorer(session)
    rows = []
    for check in verifier.report.checks:
        result = {OK: READY, SKIP: WARNING}.get(check.result, BLOCKER)
        finding = Finding(
            check.check,
            result,
            check.detail,
            check.fix,
            access.account_id,
            access.name,
            ACCOUNT_CALLS.get(check.check, ""),
        )
        rows.append(row(finding, "", "account", access.account_id))
    return rows


def _failed(group_id: str, module: str, account_id: str, doing: str, exc: Exception) -> dict:
    """A probe that could not run: the group cannot be shown ready (a BLOCKER)."""
    text = str(exc)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        text = f"{error.get('Code', 'Error')}: {error.get('Message', '') or exc}"
    finding = Finding(
        doing,
        BLOCKER,
        f"could not evaluate: {text}",
        getattr(exc, "hint", None) or "grant the execution role the module's read actions",
        group_id,
        group_id,
        "",
    )
    return row(finding, group_id, module, account_id)


def group_findings(
    group_id: str, found: Mapping[str, Any], module: Module, context_for: ContextFor
) -> list[dict[str, str]]:
    """One module group's findings in each account it has resources or exclusions in."""
    excluded = _excluded_by_account(found)
    rows: list[dict[str, str]] = []
    for account_id in sorted(set(found.get("resources", {})) | set(excluded)):
        entries = found.get("resources", {}).get(account_id, [])
        rows += group_account_findings(
            group_id, found, module, account_id, context_for, entries, excluded.get(account_id, [])
        )
    return rows


def _excluded_by_account(found: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    excluded: dict[str, list[dict[str, Any]]] = {}
    for item in found.get("excluded", []):
        excluded.setdefault(item.get("accountId", ""), []).append(item)
    return excluded


def group_account_findings(
    group_id: str,
    found: Mapping[str, Any],
    module: Module,
    account_id: str,
    context_for: ContextFor,
    entries: list[Mapping[str, Any]],
    excluded: list[dict[str, Any]] | None,
) -> list[dict[str, str]]:
    """The findings of ``entries`` (some of a group's resources in one account) and of
    ``excluded`` (what discovery left out there; None: not evaluated here); a probe that
    cannot run is a BLOCKER."""
    params = dict(found.get("parameters") or {})
    resources = [Resource.from_dict(e, account_id) for e in entries]
    try:
        ctx = context_for(account_id)
        findings = module.resource_readiness(ctx, resources, params) if resources else []
        findings += module.exclusion_readiness(ctx, excluded) if excluded is not None else []
    except (ClientError, BotoCoreError, DrorchError) as exc:
        return [_failed(group_id, module.type, account_id, "readiness probes", exc)]
    optional = {e["id"] for e in entries if e.get("impact") == OPTIONAL}
    return [
        as_optional(r) if r["resource"] in optional else r
        for r in (row(f, group_id, module.type, account_id) for f in findings)
    ]


def as_optional(finding: dict[str, str]) -> dict[str, str]:
    """A finding on a resource tagged ``dr:impact=optional``: its failure would not fail its
    wave, so what would be a BLOCKER is a WARNING (and says why)."""
    finding["impact"] = OPTIONAL
    if finding["result"] == BLOCKER:
        finding["result"] = WARNING
        finding["detail"] += " (a BLOCKER, but the resource is dr:impact=optional)"
    return finding


def ordered(rows: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Worst first, then by group, account and resource."""
    return sorted(
        (dict(r) for r in rows),
        key=lambda r: (_ORDER[r["result"]], r["groupId"], r["accountId"], r["name"], r["check"]),
    )


def summary(rows: list[dict[str, str]], operation: str, evaluated_at: str) -> dict[str, Any]:
    counts = Counter(r["result"] for r in rows)
    blockers = counts.get(BLOCKER, 0)
    verdict = "BLOCKED" if blockers else ("WARNINGS" if counts.get(WARNING) else "READY")
    return {
        "operation": operation,
        "evaluatedAt": evaluated_at,
        "verdict": verdict,
        "counts": {result: counts.get(result, 0) for result in READINESS_RESULTS},
        "resources": len({(r["accountId"], r["resource"]) for r in rows if r["resource"]}),
        "findings": rows,
    }


def evaluate(
    groups: Mapping[str, Mapping[str, Any]],
    operation: str,
    accounts: Mapping[str, aws.AccountAccess],
    modules: Mapping[str, Module],
    hub: Any,
    context_for: ContextFor,
    problems: Iterable[str] = (),
) -> dict[str, Any]:
    """Every finding for the plan's groups (their discovery files) and their accounts.

    ``hub`` is the session the account checks assume the execution roles from;
    ``context_for(account_id)`` gives where a module's probes run; ``problems`` are the
    plan's own errors (a selector that matched nothing), each a BLOCKER."""
    rows: list[dict[str, str]] = []
    used: set[str] = set()
    for group_id, found in groups.items():
        module = modules.get(found.get("module", ""))
        if module is None:
            continue  # the manifest names only registered modules (validated before)
        used |= {a for a in found.get("resources", {}) if a in accounts}
        rows += group_findings(group_id, found, module, context_for)
    for account_id in sorted(used):
        rows += account_findings(hub, accounts[account_id])
    for problem in problems:
        finding = Finding("plan", BLOCKER, problem, "fix the manifest's selector")
        rows.append(row(finding, "", "plan", ""))
    return summary(ordered(rows), operation, clock.now().isoformat())


def plan_now(
    manifest: Manifest,
    operation: str,
    run_id: str,
    accounts: Mapping[str, aws.AccountAccess],
    modules: Mapping[str, Module],
    s3: Any,
    bucket: str,
    session_for: Callable[[aws.AccountAccess], Any] = discovery.assume_for_discovery,
) -> tuple[dict[str, Any], dict[str, discovery.GroupDiscovery]]:
    """What an execution of ``operation`` would touch: discovery (group files under
    ``run_id`` in the artifacts bucket) and the plan; nothing is started."""
    found = discovery.discover(run_id, manifest, accounts, modules, s3, bucket, session_for)
    files = {k: g.to_dict() for k, g in found.groups.items()}
    full = planning.build_plan(
        manifest,
        operation,
        modules=modules,
        execution_id=run_id,
        **discovery.plan_inputs(files),
    )
    return full, found.groups


def write(s3: Any, bucket: str, run_id: str, result: Mapping[str, Any]) -> str:
    key = readiness_key(run_id)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(result, default=str).encode(),
        ContentType="application/json",
    )
    return key


def blockers_text(result: Mapping[str, Any], limit: int = CAUSE_BLOCKERS) -> str:
    """The BLOCKERs in one line each: resource, group/account, what, the call."""
    lines = []
    for r in result["findings"]:
        if r["result"] != BLOCKER:
            continue
        where = f"{r['groupId']} in {r['accountId']}" if r["groupId"] else r["accountId"]
        call = f" [{r['call']}]" if r["call"] else ""
        lines.append(f"{r['name'] or r['check']} ({where or r['module']}): {r['detail']}{call}")
    # (an execution's result lists the worst findings only: its counts say how many more)
    more = max(len(lines), (result.get("counts") or {}).get(BLOCKER, 0)) - limit
    return "; ".join(lines[:limit]) + (f"; and {more} more" if more > 0 else "")


# --- the first state of every execution -----------------------------------------------------
# The master runs it sharded (``Readiness``: a Map over :func:`shards`, each shard one page of
# one account's resources, :func:`check_shard`), then decides (``ReadinessVerdict``,
# :func:`verdict`) from each shard's worst findings and counts: no invocation probes or
# reads more than a page of the estate. :func:`check_execution` does it all in one.
SHARD_RESOURCES = 200  # resources one readiness shard probes (a page of one account's)


def shards_prefix(run_id: str) -> str:
    return f"{names.ARTIFACTS_PREFIX}{run_id}/readiness/"


def shard_key(run_id: str, account_id: str, page: int, kind: str) -> str:
    """A shard's findings (``kind`` ``findings``: all of them; ``head``: its counts and its
    :data:`HISTORY_FINDINGS` worst)."""
    return f"{shards_prefix(run_id)}{kind}/{account_id}-{page:05d}.json"


def shards(groups: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The readiness shards of a plan's groups (group id -> discovery file):
    ``{"accountId", "page"}`` for each page of :data:`SHARD_RESOURCES` resources of each
    account the groups have resources or exclusions in (page 0 also evaluates the
    exclusions and the account's own checks)."""
    sizes: dict[str, int] = {}
    for found in groups.values():
        for account_id, entries in found.get("resources", {}).items():
            sizes[account_id] = sizes.get(account_id, 0) + len(entries)
        for account_id in _excluded_by_account(found):
            sizes.setdefault(account_id, 0)
    return [
        {"accountId": account_id, "page": page}
        for account_id in sorted(sizes)
        for page in range(max(1, -(-sizes[account_id] // SHARD_RESOURCES)))
    ]


def shard_findings(
    groups: Mapping[str, Mapping[str, Any]],
    account_id: str,
    page: int,
    modules: Mapping[str, Module],
    context_for: ContextFor,
) -> list[dict[str, str]]:
    """The findings of one shard: resources ``page * SHARD_RESOURCES`` on of ``account_id``
    (the groups' resources there, in group order), and on page 0 its exclusions."""
    first, last = page * SHARD_RESOURCES, (page + 1) * SHARD_RESOURCES
    offset = 0
    rows: list[dict[str, str]] = []
    for group_id in sorted(groups):
        found = groups[group_id]
        entries = found.get("resources", {}).get(account_id, [])
        part = entries[max(0, first - offset) : max(0, last - offset)]
        offset += len(entries)
        module = modules.get(found.get("module", ""))
        if module is None:
            continue  # the manifest names only registered modules (validated before)
        excluded = None
        if page == 0:
            left_out = _excluded_by_account(found).get(account_id, [])
            if left_out or account_id in found.get("resources", {}):
                excluded = left_out
        if part or excluded is not None:
            rows += group_account_findings(
                group_id, found, module, account_id, context_for, part, excluded
            )
    return rows


def _plan_groups(
    engine: Any, execution_id: str, account_id: str | None = None
) -> dict[str, dict[str, Any]]:
    """The plan's group files (``account_id``: with that account's resources only)."""
    full = planning.read_plan(engine.s3, engine.bucket, execution_id)
    s3, bucket = engine.s3, engine.bucket
    return {
        group_id: discovery.load_group(s3, bucket, execution_id, group_id)
        if account_id is None
        else discovery.load_group_in(s3, bucket, execution_id, group_id, account_id)
        for group_id in full.get("groups", {})
    }


def _context_for(engine: Any, execution: Mapping[str, Any]) -> ContextFor:
    from drorch.engine.executor import account_context

    operation, execution_id = execution["operation"], execution["executionId"]
    drill = operation == planning.DRILL

    def context_for(account_id: str) -> AccountContext:
        return account_context(engine, account_id, drill, execution_id, operation=operation)

    return context_for


def _put(s3: Any, bucket: str, key: str, document: Mapping[str, Any]) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, default=str).encode(),
        ContentType="application/json",
    )


def check_shard(engine: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    """One shard of an execution's readiness (``accountId`` and ``page`` in the event): its
    findings to S3, in full and as a head (counts and the worst); returns its counts."""
    execution_id, account_id = event["executionId"], event["accountId"]
    page = int(event.get("page") or 0)
    execution = engine.history.require_execution(execution_id)
    groups = _plan_groups(engine, execution_id, account_id)
    rows = shard_findings(groups, account_id, page, engine.modules, _context_for(engine, execution))
    used = any(
        account_id in found.get("resources", {})
        for found in groups.values()
        if found.get("module", "") in engine.modules
    )
    if page == 0 and used and account_id in engine.accounts:
        rows += account_findings(aws.hub_session(), engine.accounts[account_id])
    result = summary(ordered(rows), execution["operation"], clock.now().isoformat())
    _put(engine.s3, engine.bucket, shard_key(execution_id, account_id, page, "findings"), result)
    head = {**result, "findings": result["findings"][:HISTORY_FINDINGS]}
    _put(engine.s3, engine.bucket, shard_key(execution_id, account_id, page, "head"), head)
    return {"accountId": account_id, "page": page, **result["counts"]}


def merge(heads: Iterable[Mapping[str, Any]], operation: str) -> dict[str, Any]:
    """The shards' heads as one result: counts and resources summed, the worst findings."""
    heads = list(heads)
    rows = ordered(f for head in heads for f in head["findings"])[:HISTORY_FINDINGS]
    result = summary(rows, operation, clock.now().isoformat())
    result["counts"] = {
        kind: sum(int(head["counts"].get(kind, 0)) for head in heads) for kind in READINESS_RESULTS
    }
    blockers, warnings = result["counts"][BLOCKER], result["counts"][WARNING]
    result["verdict"] = "BLOCKED" if blockers else ("WARNINGS" if warnings else "READY")
    result["resources"] = sum(int(head.get("resources", 0)) for head in heads)
    return result


def verdict(engine: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    """After the shards: their heads merged into the history; a BLOCKER refuses a gated
    operation unless forced (as :func:`check_execution`)."""
    execution_id = event["executionId"]
    execution = engine.history.require_execution(execution_id)
    prefix = f"{shards_prefix(execution_id)}head/"
    heads = []
    for page in engine.s3.get_paginator("list_objects_v2").paginate(
        Bucket=engine.bucket, Prefix=prefix
    ):
        for item in page.get("Contents", []):
            body = engine.s3.get_object(Bucket=engine.bucket, Key=item["Key"])["Body"].read()
            heads.append(json.loads(body))
    result = merge(heads, execution["operation"])
    return _decide(engine, execution, result, shards_prefix(execution_id) + "findings/")


def check_execution(engine: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate the execution's plan before its first change, in one invocation; record it
    in the history (and in full in S3); refuse a gated operation with a BLOCKER unless it
    was started forced."""
    execution_id = event["executionId"]
    execution = engine.history.require_execution(execution_id)
    groups = _plan_groups(engine, execution_id)
    result = evaluate(
        groups,
        execution["operation"],
        engine.accounts,
        engine.modules,
        aws.hub_session(),
        _context_for(engine, execution),
    )
    key = write(engine.s3, engine.bucket, execution_id, result)
    return _decide(engine, execution, result, key)


def _decide(
    engine: Any, execution: Mapping[str, Any], result: Mapping[str, Any], key: str
) -> dict[str, Any]:
    """Record ``result`` (its worst findings) in the history, with where all of them are
    (``key``); raise :class:`ReadinessBlocked` for a gated operation's BLOCKERs unless the
    execution was started with ``--force``."""
    execution_id, operation = execution["executionId"], execution["operation"]
    blockers = result["counts"][BLOCKER]
    gated = operation in GATED_OPERATIONS
    forced = bool(execution.get("force")) and gated and blockers > 0
    record = {k: v for k, v in result.items() if k != "findings"}
    record["findings"] = result["findings"][:HISTORY_FINDINGS]
    record["findingsKey"] = key
    record["gated"] = gated
    if forced:
        record["forcedBy"] = execution.get("requestedBy") or "unknown"
    engine.history.update_execution(execution_id, readiness=record)
    if blockers and gated and not forced:
        raise ReadinessBlocked(
            f"{operation} of {execution['application']} refused before any change: "
            f"readiness found {blockers} BLOCKER(s): {blockers_text(result)}",
            hint="fix them (`drorch readiness` shows every finding), or start the execution "
            "with --force to go on regardless (recorded with who)",
        )
    return {
        "verdict": result["verdict"],
        "blockers": blockers,
        "warnings": result["counts"][WARNING],
        "forced": forced,
    }


# --- on a schedule: a metric per application -----------------------------------------------
def applications(engine: Any) -> list[str]:
    """Every application with a manifest in the manifest bucket."""
    s3, bucket = engine.s3, engine.config.manifest_bucket
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=names.MANIFEST_PREFIX
    ):
        for item in page.get("Contents", []):
            name = item["Key"][len(names.MANIFEST_PREFIX) :]
            if name.endswith(".json") and "/" not in name:
                found.append(name.removesuffix(".json"))
    return sorted(found)


def _evaluate_application(engine: Any, application: str, operation: str) -> dict[str, Any]:
    from drorch.engine.executor import account_context

    run_id = f"readiness-{application}-{clock.now().strftime('%Y%m%dT%H%M%S')}"[:80]
    try:
        manifest = engine.manifest(
            {"bucket": engine.config.manifest_bucket, "key": names.manifest_key(application)}
        )
        full, groups = plan_now(
            manifest, operation, run_id, engine.accounts, engine.modules, engine.s3, engine.bucket
        )
    except (DrorchError, ClientError, BotoCoreError) as exc:
        finding = Finding("discovery and plan", BLOCKER, f"could not plan: {exc}", "", "", "")
        result = summary([row(finding, "", "plan", "")], operation, clock.now().isoformat())
        write(engine.s3, engine.bucket, run_id, result)
        return result

    def context_for(account_id: str) -> AccountContext:
        return account_context(engine, account_id, False, run_id, operation=operation)

    result = evaluate(
        {k: g.to_dict() for k, g in groups.items()},
        operation,
        engine.accounts,
        engine.modules,
        aws.hub_session(),
        context_for,
        problems=full.get("errors", []),
    )
    write(engine.s3, engine.bucket, run_id, result)
    return result


def put_metrics(cloudwatch: Any, counts: Mapping[str, Mapping[str, int]]) -> None:
    """Blockers and Warnings per application (dimension ``Application``), and their sums
    (``Application=ALL``)."""
    totals: Counter[str] = Counter()
    data = []
    for application, found in sorted(counts.items()):
        totals.update(found)
        for metric, result in ((METRIC_BLOCKERS, BLOCKER), (METRIC_WARNINGS, WARNING)):
            data.append((metric, application, found.get(result, 0)))
    for metric, result in ((METRIC_BLOCKERS, BLOCKER), (METRIC_WARNINGS, WARNING)):
        data.append((metric, ALL_APPLICATIONS, totals.get(result, 0)))
    now = clock.now()
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(
            Namespace=METRIC_NAMESPACE,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "Application", "Value": application}],
                    "Timestamp": now,
                    "Value": float(value),
                    "Unit": "Count",
                }
                for metric, application, value in data[start : start + 1000]
            ],
        )


def scheduled(engine: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    """The scheduled run: each application (``application`` in the event, else every one
    with a manifest) evaluated for ``operation`` (default failover), then the metrics."""
    operation = event.get("operation") or "failover"
    wanted = event.get("application")
    chosen = [wanted] if wanted else applications(engine)
    results = {app: _evaluate_application(engine, app, operation) for app in chosen}
    counts = {app: r["counts"] for app, r in results.items()}
    put_metrics(aws.client("cloudwatch"), counts)
    for app, result in results.items():
        if result["counts"][BLOCKER]:
            log.warning("readiness of %s: %s", app, blockers_text(result))
    return {
        "operation": operation,
        "applications": {
            app: {"verdict": r["verdict"], **r["counts"]} for app, r in results.items()
        },
    }


# --- how people see it (the CLI, `drorch status`, the report) ---------------------------------
def headline(record: Mapping[str, Any]) -> str:
    """``readiness: BLOCKED (1 blocker(s), 2 warning(s), 40 ok; 20 resource(s))``, with who
    forced it past its BLOCKERs."""
    counts = record.get("counts") or {}
    text = (
        f"readiness for {record.get('operation', '?')}: {record.get('verdict', '?')} "
        f"({counts.get(BLOCKER, 0)} blocker(s), {counts.get(WARNING, 0)} warning(s), "
        f"{counts.get(READY, 0)} ok; {record.get('resources', 0)} resource(s))"
    )
    if record.get("forcedBy"):
        text += f"; BLOCKERs overridden with --force by {record['forcedBy']}"
    return text


def where(finding: Mapping[str, Any]) -> str:
    """The group and account (or the account alone) a finding is about."""
    if finding.get("groupId"):
        return f"{finding['groupId']} ({finding['module']}) in {finding['accountId']}"
    return finding.get("accountId") or finding.get("module", "")


def named(finding: Mapping[str, Any]) -> str:
    """The resource a finding is about, for people: its name, ``(optional)`` when it is
    tagged ``dr:impact=optional``."""
    name = finding.get("name") or "-"
    return f"{name} ({OPTIONAL})" if finding.get("impact") == OPTIONAL else name


def finding_line(finding: Mapping[str, Any]) -> str:
    """One finding in one line: result, resource, where, check, detail, the call, the fix."""
    line = (
        f"{finding['result']} {named(finding)} [{where(finding)}] "
        f"{finding['check']}: {finding['detail']}"
    )
    if finding.get("call"):
        line += f" (call: {finding['call']})"
    if finding.get("fix") and finding["result"] != READY:
        line += f"; fix: {finding['fix']}"
    return line


def notable(record: Mapping[str, Any], limit: int = 5) -> list[str]:
    """The BLOCKERs and WARNINGs, worst first, as lines (at most ``limit``, then a count)."""
    lines = [finding_line(f) for f in record.get("findings", []) if f["result"] != READY]
    more = len(lines) - limit
    return lines[:limit] + ([f"... and {more} more (drorch readiness)"] if more > 0 else [])
