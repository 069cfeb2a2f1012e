"""The model from a valid manifest document: every default resolved here."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from drorch.manifest.model import (
    DEFAULT_ACTION_TIMEOUT_MINUTES,
    DEFAULT_APPROVAL_PHASES,
    DEFAULT_APPROVAL_TIMEOUT_MINUTES,
    DEFAULT_FAILURE_POLICY,
    DEFAULT_PHASES,
    DEFAULT_POLL_SECONDS,
    DEFAULT_WAVE_TIMEOUT_MINUTES,
    END_OF_RUN,
    FAILURE_POLICY_ALIASES,
    OPERATIONS,
    OPTIONAL,
    Approval,
    Manifest,
    ModuleGroup,
    Notifications,
    Selector,
    Wave,
)
from drorch.names import TAG_CUSTOMER, TAG_ENVIRONMENT, TAG_WAVE


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")


def group_id(wave_name: str, group_name: str) -> str:
    """``<waveName>-<name>`` as a name-safe slug (S3 keys, Step Functions names)."""
    return _slug(f"{wave_name}-{group_name}")


def default_application(customer: str, environment: str) -> str:
    """``<customer>-<environment>`` in lower case, reduced to name-safe characters."""
    return _slug(f"{customer}-{environment}")


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def default_dependencies(waves: list[tuple[int, dict]]) -> dict[int, str | None]:
    """Index of each wave -> the name of the wave with the previous waveNumber."""
    numbered = sorted(
        (integer(w.get("waveNumber")), i, w.get("waveName"))
        for i, w in waves
        if integer(w.get("waveNumber")) is not None and isinstance(w.get("waveName"), str)
    )
    previous: dict[int, str | None] = {}
    for position, (_, index, _) in enumerate(numbered):
        previous[index] = numbered[position - 1][2] if position else None
    return previous


def _phases(raw: Any) -> dict[str, tuple[str, ...]]:
    if isinstance(raw, list):
        return {op: tuple(p for p in DEFAULT_PHASES[op] if p in raw) for op in OPERATIONS}
    phases = dict(DEFAULT_PHASES)
    for operation, listed in (raw or {}).items():
        phases[operation] = tuple(listed)
    return phases


def _approval(raw: dict) -> Approval:
    if "timeoutMinutes" in raw:
        timeout = raw["timeoutMinutes"]
    elif "timeout" in raw:
        timeout = math.ceil(raw["timeout"] / 60)
    else:
        timeout = DEFAULT_APPROVAL_TIMEOUT_MINUTES
    return Approval(
        required=bool(raw.get("required", raw.get("enabled", False))),
        phases=tuple(raw.get("phases", DEFAULT_APPROVAL_PHASES)),
        timeout_minutes=timeout,
        approvers=tuple(raw.get("approvers", ())),
    )


def _notifications(raw: dict) -> Notifications:
    emails = [*raw.get("emails", ()), *raw.get("emailRecipients", ())]
    return Notifications(raw.get("snsTopicArn"), tuple(dict.fromkeys(emails)))


# keys every wave action and health check has; the rest are its module's parameters
STEP_KEYS = frozenset(
    {"type", "name", "accounts", "timeoutMinutes", "failurePolicy", "impact", "runInDrill",
     "phases", "description"}
)  # fmt: skip
HTTP_CHECK = "http-check"


def step_type(raw: Mapping[str, Any], modules: Mapping[str, Any] | None) -> str:
    """The module type an action or check names (an alias resolved; ``url`` alone: HTTP)."""
    kind = raw.get("type") or (HTTP_CHECK if "url" in raw else "")
    if not isinstance(kind, str):
        return kind  # not a name: the schema's problem to report, not an alias to look up
    if modules and kind not in modules:
        for name, module in modules.items():
            aliases = getattr(module, "aliases", ())
            if kind in aliases or kind.lower() in {a.lower() for a in aliases}:
                return name
    return kind


def step_parameters(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in STEP_KEYS and not k.startswith("x-")}


def default_step_name(raw: Mapping[str, Any], kind: str, position: int) -> str:
    for key in ("documentName", "functionName", "functionArn"):
        value = raw.get(key)
        if isinstance(value, str) and value:
            return value.split(":function:")[-1].split(":")[0].split("/")[-1]
    return f"{kind}-{position + 1}"


def wave_policy(raw: Any) -> str:
    """A wave's (or the manifest's) failure policy, its other names resolved."""
    return FAILURE_POLICY_ALIASES.get(raw, raw)


def member_policy(raw: Mapping[str, Any], policy: str) -> tuple[str, str]:
    """(failure policy, impact) of a module group, action or check in a wave whose policy is
    ``policy``: its own, else ask in an ``ask`` wave, else fail; an optional member only warns."""
    impact = raw.get("impact", "critical")
    if impact == OPTIONAL:
        return "continue", impact
    return raw.get("failurePolicy", "ask" if policy == "ask" else "fail"), impact


def step_group(
    raw: Mapping[str, Any],
    role: str,
    position: int,
    wave_name: str,
    modules: Mapping[str, Any] | None,
    timeout_minutes: int | None = None,
    policy: str = DEFAULT_FAILURE_POLICY,
) -> ModuleGroup:
    kind = step_type(raw, modules)
    failure_policy, impact = member_policy(raw, policy)
    name = raw.get("name") or default_step_name(raw, kind, position)
    return ModuleGroup(
        id=group_id(wave_name, f"{role}-{name}"),
        type=kind,
        name=name,
        selector=Selector(ids=(name,), accounts=tuple(raw.get("accounts", ()))),
        parameters=step_parameters(raw),
        role=role,
        failure_policy=failure_policy,
        impact=impact,
        run_in_drill=raw.get("runInDrill"),
        phases=tuple(raw.get("phases", ())),
        timeout_minutes=raw.get(
            "timeoutMinutes", timeout_minutes or DEFAULT_ACTION_TIMEOUT_MINUTES
        ),
    )


def health_check_entries(raw: Any) -> tuple[list[Mapping[str, Any]], int | None]:
    """The top-level ``healthChecks`` as a list of checks (and a timeout in minutes, from
    the TRS 2.0 object's ``timeout`` seconds)."""
    if isinstance(raw, list):
        return raw, None
    if isinstance(raw, Mapping):
        if raw.get("enabled") is False:
            return [], None
        timeout = raw.get("timeout")
        return list(raw.get("endpoints", ())), math.ceil(timeout / 60) if timeout else None
    return [], None


def _routes(types: list[str], modules: Mapping[str, Any] | None) -> list[list[str] | None]:
    if not modules:
        return [None] * len(types)
    from drorch.modules.routing import wave_routes

    return wave_routes(types, modules)


def _selector(raw: dict | None, number: int, customer: str, environment: str) -> Selector:
    if raw is None:  # TRS 2.0 manifests: the wave comes from the dr:wave tag
        return Selector(
            tags={TAG_WAVE: str(number), TAG_CUSTOMER: customer, TAG_ENVIRONMENT: environment}
        )
    return Selector(
        tags=dict(raw.get("tags", {})),
        resource_types=tuple(raw.get("resourceTypes", ())),
        accounts=tuple(raw.get("accounts", ())),
        regions=tuple(raw.get("regions", ())),
        ids=tuple(raw.get("ids", ())),
    )


def build(document: dict, modules: Mapping[str, Any] | None = None) -> Manifest:
    """The model of a manifest that :func:`problems_in` found no problem in (``modules``
    resolves the aliases of step and check types)."""
    customer, environment = document["customer"], document["environment"]
    failure_policy = wave_policy(document.get("failurePolicy", DEFAULT_FAILURE_POLICY))
    waves_raw = list(enumerate(document["waves"]))
    previous = default_dependencies(waves_raw)
    waves = []
    for index, raw in sorted(waves_raw, key=lambda iw: iw[1]["waveNumber"]):
        name, number = raw["waveName"], raw["waveNumber"]
        policy = wave_policy(raw.get("failurePolicy", failure_policy))
        if "dependsOn" in raw:
            depends_on = tuple(raw["dependsOn"])
        else:
            depends_on = (previous[index],) if previous.get(index) else ()
        groups = []
        routes = _routes([t["type"] for t in raw["technologies"]], modules)
        for position, (tech, route) in enumerate(zip(raw["technologies"], routes, strict=True)):
            group_name = tech.get("name", f"{tech['type']}-{position}")
            selector = _selector(tech.get("selector"), number, customer, environment)
            member, impact = member_policy(tech, policy)
            # a TRS category (database, ...): one group per module its resources' dr:recovery-
            # strategy tags can name (drorch.modules.routing); else the group of one module
            for kind, routed_from in (
                [(m, tech["type"]) for m in route] if route else [(tech["type"], "")]
            ):
                member_name = f"{group_name}-{kind}" if routed_from else group_name
                groups.append(
                    ModuleGroup(
                        id=group_id(name, member_name),
                        type=kind,
                        name=member_name,
                        selector=selector,
                        parameters=dict(tech.get("parameters", {})),
                        routed_from=routed_from,
                        technology=group_name,
                        allow_empty=bool(tech.get("allowEmpty", False)),
                        failure_policy=member,
                        impact=impact,
                    )
                )
        waves.append(
            Wave(
                name=name,
                number=number,
                depends_on=depends_on,
                pause_before=raw.get("pauseBeforeWave", False),
                pause_after=raw.get("pauseAfterWave", False),
                timeout_minutes=raw.get("timeoutMinutes", DEFAULT_WAVE_TIMEOUT_MINUTES),
                failure_policy=policy,
                rto_target_minutes=raw.get("rtoTargetMinutes"),
                groups=tuple(groups),
                pre_actions=tuple(
                    step_group(a, "pre", i, name, modules, policy=policy)
                    for i, a in enumerate(raw.get("preWaveActions", ()))
                ),
                post_actions=tuple(
                    step_group(a, "post", i, name, modules, policy=policy)
                    for i, a in enumerate(raw.get("postWaveActions", ()))
                ),
                health_checks=tuple(
                    step_group(c, "check", i, name, modules, policy=policy)
                    for i, c in enumerate(raw.get("healthChecks", ()))
                ),
            )
        )
    checks, checks_timeout = health_check_entries(document.get("healthChecks"))
    return Manifest(
        application=document.get("application") or default_application(customer, environment),
        customer=customer,
        environment=environment,
        manifest_version=document["manifestVersion"],
        phases=_phases(document.get("phases")),
        approval=_approval(document.get("approvalWorkflow", {})),
        notifications=_notifications(document.get("notifications", {})),
        failure_policy=failure_policy,
        poll_seconds=document.get("pollSeconds", DEFAULT_POLL_SECONDS),
        rto_target_minutes=document.get("rtoTargetMinutes"),
        waves=tuple(waves),
        health_checks=tuple(
            step_group(c, "check", i, END_OF_RUN, modules, checks_timeout, failure_policy)
            for i, c in enumerate(checks)
        ),
    )
