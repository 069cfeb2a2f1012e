"""The module interface (technology adapters) and the module registry.

A module turns a kind of resource (a DRS source server, an Aurora global
cluster, ...) into four phases, each as ``start`` + ``status``: ``start`` does
the work that can be done at once and returns the module's state (small,
JSON-serialisable), ``status`` is called by the executor loop with that state
until it says SUCCEEDED or FAILED. No module sleeps, polls in a loop or reads a
clock: it asks AWS.

Drill safety: a module declares the API calls that would be disruptive to
production (``disruptive_calls``); in a drill it must never make them, and the
clients it gets from :meth:`AccountContext.client` refuse them before they are
sent.
"""

from __future__ import annotations

import importlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from botocore.config import Config
from botocore.exceptions import ClientError

from drorch.errors import DrorchError, InputError

# --- vocabulary (drorch.vocabulary; re-exported here for the modules) ----------
from drorch.vocabulary import (
    CANONICAL_STATUSES as CANONICAL_STATUSES,
)
from drorch.vocabulary import (
    FAILED,
    MODULE_STATUSES,
    PHASES,
    RESOURCE_STATUSES,
    RUNNING,
    SUCCEEDED,
)
from drorch.vocabulary import (
    SKIPPED as SKIPPED,
)

# botocore client configuration for module calls: botocore absorbs short
# throttling bursts; what is left is raised for the state machine to retry.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


# --- errors ---------------------------------------------------------------------


class ModuleError(DrorchError):
    """A module cannot do what it was asked; the message says why."""


class AccessDenied(ModuleError):
    """The execution role may not make a call the module needs."""


class DrillSafetyError(ModuleError):
    """A disruptive call was asked for during a drill; nothing was sent."""


THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


def classify(error: ClientError) -> str:
    """``retryable``, ``access-denied``, ``conflict``, ``not-found``, ``quota``,
    ``validation`` or ``other``: each is handled on purpose by the caller."""
    code = error_code(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in THROTTLING_CODES or code == "InternalServerException" or status >= 500:
        return "retryable"
    if code in ACCESS_DENIED_CODES:
        return "access-denied"
    if code == "ConflictException":
        return "conflict"
    if code in ("ResourceNotFoundException", "NotFoundException") or code.endswith("NotFound"):
        return "not-found"
    if code == "ServiceQuotaExceededException":
        return "quota"
    if code in ("ValidationException", "InvalidParameterException"):
        return "validation"
    return "other"


def raise_if_fatal(error: ClientError, ctx: AccountContext, doing: str) -> None:
    """Re-raise what the caller must not absorb: throttling and 5xx (the state
    machine retries them), and access denied (as :class:`AccessDenied`)."""
    kind = classify(error)
    if kind == "retryable":
        raise error
    if kind == "access-denied":
        raise AccessDenied(
            f"access denied in account {ctx.account_id} ({ctx.region}) while {doing}: "
            f"{error_message(error)}",
            hint="grant the action to the drorch execution role in that account",
        ) from error


# --- resources and results ------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    id: str
    arn: str
    account_id: str
    region: str
    name: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    type: str = ""
    matched_by: str = ""  # the selector id that named it (an id, hostname, instance id, ARN)

    def to_dict(self) -> dict[str, Any]:
        """The discovery-output shape (plus ``accountId`` and ``type``; ``matchedBy``
        when a selector id named it)."""
        found = {
            "id": self.id,
            "arn": self.arn,
            "accountId": self.account_id,
            "region": self.region,
            "name": self.name,
            "tags": dict(self.tags),
            "type": self.type,
        }
        if self.matched_by:
            found["matchedBy"] = self.matched_by
        return found

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], account_id: str | None = None, type: str = ""
    ) -> Resource:
        return cls(
            id=data["id"],
            arn=data.get("arn", ""),
            account_id=data.get("accountId") or account_id or "",
            region=data.get("region", ""),
            name=data.get("name", ""),
            tags=dict(data.get("tags", {})),
            type=data.get("type") or type,
            matched_by=data.get("matchedBy", ""),
        )


@dataclass(frozen=True)
class Exclusion:
    """A resource the selector matched but the module will not act on, and why."""

    id: str
    arn: str
    account_id: str
    region: str
    name: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "arn": self.arn,
            "accountId": self.account_id,
            "region": self.region,
            "name": self.name,
            "reasons": list(self.reasons),
        }


class Discovered(list):
    """What ``discover`` returns: the resources (a plain list of :class:`Resource`),
    with the matched-but-excluded ones in ``excluded``."""

    def __init__(
        self, resources: Iterable[Resource] = (), excluded: Iterable[Exclusion] = ()
    ) -> None:
        super().__init__(resources)
        self.excluded: list[Exclusion] = list(excluded)


@dataclass
class ResourceResult:
    id: str
    name: str
    status: str  # RUNNING | SUCCEEDED | FAILED | SKIPPED
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in RESOURCE_STATUSES:
            raise ValueError(f"resource status {self.status!r} is not one of {RESOURCE_STATUSES}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StatusResult:
    status: str  # RUNNING | SUCCEEDED | FAILED
    resources: list[ResourceResult]
    state: dict[str, Any]

    def __post_init__(self) -> None:
        if self.status not in MODULE_STATUSES:
            raise ValueError(f"module status {self.status!r} is not one of {MODULE_STATUSES}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "resources": [r.to_dict() for r in self.resources],
            "state": self.state,
        }

    def summary(self) -> str:
        """One line for humans and for the executor's failure cause."""
        counts: dict[str, int] = {}
        for result in self.resources:
            counts[result.status] = counts.get(result.status, 0) + 1
        parts = [f"{n} {s.lower()}" for s, n in sorted(counts.items())]
        failed = [f"{r.name or r.id}: {r.error}" for r in self.resources if r.status == FAILED]
        text = f"{self.status}: " + (", ".join(parts) or "no resources")
        if failed:
            text += "; " + "; ".join(failed[:5]) + (" ..." if len(failed) > 5 else "")
        return text


def aggregate_status(statuses: Iterable[str], finished: bool = True) -> str:
    """The module status for a set of resource statuses.

    RUNNING while the module has work outstanding (``finished`` false) or any
    resource still runs; then FAILED if any resource failed, else SUCCEEDED
    (SKIPPED resources count as done)."""
    seen = set(statuses)
    unknown = seen - set(RESOURCE_STATUSES)
    if unknown:
        raise ValueError(f"unknown resource status(es): {', '.join(sorted(unknown))}")
    if not finished or RUNNING in seen:
        return RUNNING
    return FAILED if FAILED in seen else SUCCEEDED


def to_canonical(module_status: str) -> str:
    """A module status in the engine's canonical vocabulary (they coincide)."""
    if module_status not in MODULE_STATUSES:
        raise ValueError(f"module status {module_status!r} is not one of {MODULE_STATUSES}")
    return module_status


# --- where a module runs ----------------------------------------------------------


@dataclass(frozen=True)
class AccountContext:
    """One staging account and region, reached through the execution role."""

    session: Any  # boto3.Session for the execution role (with its ExternalId)
    account_id: str
    region: str
    account_name: str = ""
    drill: bool = False
    # the engine's clock (epoch seconds) when the engine calls the module; modules never
    # read a clock themselves (in the sandbox this is simulated time)
    now: float | None = None
    execution_id: str = ""
    # CLEANUP and REPLICATE: what the run they follow recorded for this module group in this
    # account — resource id -> that resource's last ``detail`` in its ACTIVATE (else
    # INSTANTIATE) — and that run's execution id. A module that changes something a later
    # phase must put back (capacity) records the value before its change in ``detail``, and
    # restores it from here: kept in the history, never guessed. Empty: no earlier run
    # recorded anything for the group (the module says so rather than guess).
    recorded: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    recorded_from: str = ""
    operation: str = ""  # drill, failover, failback or cleanup ("" when not known)
    # clients made so far, by (service, region): making one costs tens of milliseconds,
    # and a module may ask for one per resource (boto3 clients are safe to share)
    _clients: dict[tuple[str, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def client(
        self,
        service: str,
        region: str | None = None,
        guard: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> Any:
        """A client in this account; ``guard(operation, params)`` runs before every
        call is built and may raise to stop it (drill safety). Without a guard, the same
        client for the same service and region."""
        key = (service, region or self.region)
        if guard is None and key in self._clients:
            return self._clients[key]
        client = self.session.client(service, region_name=key[1], config=CLIENT_CONFIG)
        if guard is None:
            return self._clients.setdefault(key, client)

        def check(params: dict[str, Any], model: Any, **_: Any) -> None:
            guard(model.name, params)

        prefix = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-parameter-build.{prefix}", check)
        return client


# --- selectors ----------------------------------------------------------------------


@runtime_checkable
class Selector(Protocol):
    """What a manifest's ``selector`` becomes (``drorch.manifest.model.Selector``)."""

    tags: Mapping[str, str]
    resource_types: Sequence[str]
    accounts: Sequence[str]
    regions: Sequence[str]
    ids: Sequence[str]


_SELECTOR_KEYS = {
    "tags": "tags",
    "resource_types": "resourceTypes",
    "accounts": "accounts",
    "regions": "regions",
    "ids": "ids",
}


def selector_field(selector: Any, name: str) -> Any:
    """A selector field from a Selector object or a manifest-shaped mapping."""
    if selector is None:
        return {} if name == "tags" else ()
    if isinstance(selector, Mapping):
        value = selector.get(_SELECTOR_KEYS[name], selector.get(name))
    else:
        value = getattr(selector, name, None)
    if value is None:
        return {} if name == "tags" else ()
    return value


def selector_scope_matches(selector: Any, ctx: AccountContext, resource_type: str) -> bool:
    """Whether this account, region and resource type are inside the selector's scope."""
    accounts = selector_field(selector, "accounts")
    if accounts and ctx.account_id not in accounts and ctx.account_name not in accounts:
        return False
    regions = selector_field(selector, "regions")
    if regions and ctx.region not in regions:
        return False
    types = selector_field(selector, "resource_types")
    return not types or resource_type in types


def tags_match(tags: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """AND of key=value."""
    return all(tags.get(key) == str(value) for key, value in wanted.items())


# --- declarations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A read action checked by calling it, with arguments that change nothing."""

    action: str  # the IAM action, e.g. "drs:DescribeJobs"
    service: str  # the boto3 client name
    operation: str  # the client method
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One readiness finding.

    Account-level (``Module.readiness``, ``accounts verify``): ``result`` is OK, WARNING,
    FAIL or SKIP. Per resource (``Module.resource_readiness``, ``drorch readiness``):
    ``result`` is OK, WARNING or BLOCKER, ``resource`` names the resource (its id, and
    ``name`` for people) and ``call`` the API call that showed it; ``fix`` says what to do.
    """

    check: str
    result: str
    detail: str = ""
    fix: str = ""
    resource: str = ""
    name: str = ""
    call: str = ""


# per-resource readiness results; a BLOCKER stops a failover (and failback, drill) unless forced
READY, WARNING, BLOCKER = "OK", "WARNING", "BLOCKER"
READINESS_RESULTS = (READY, WARNING, BLOCKER)


def resource_finding(
    resource: Resource, check: str, result: str, detail: str, call: str, fix: str = ""
) -> Finding:
    """A per-resource readiness finding about ``resource``."""
    if result not in READINESS_RESULTS:
        raise ValueError(f"readiness result {result!r} is not one of {READINESS_RESULTS}")
    return Finding(check, result, detail, fix, resource.id, resource.name or resource.id, call)


def rpo_exceeded(resource: Resource, lag_seconds: float | None) -> int | None:
    """The resource's ``dr:rpo-target`` (minutes) when ``lag_seconds`` of replication lag
    exceed it; None when within it, or either is unknown."""
    from drorch.names import TAG_RPO

    target = str(resource.tags.get(TAG_RPO, ""))
    if lag_seconds is None or not target.isdigit():
        return None
    return int(target) if lag_seconds > int(target) * 60 else None


@dataclass(frozen=True)
class ModuleIam:
    """A module's IAM statements in one account, by what they are for.

    ``read``: describe/list calls; ``drill_safe``: the writes a drill makes (they
    never change production); ``write``: the writes only a failover, failback or
    cleanup makes. A drill-only role needs ``read`` + ``drill_safe``.
    """

    read: list[dict[str, Any]] = field(default_factory=list)
    drill_safe: list[dict[str, Any]] = field(default_factory=list)
    write: list[dict[str, Any]] = field(default_factory=list)

    @property
    def statements(self) -> list[dict[str, Any]]:
        return [*self.read, *self.drill_safe, *self.write]

    def actions(self, *parts: str) -> set[str]:
        chosen = parts or ("read", "drill_safe", "write")
        return {
            action
            for part in chosen
            for s in getattr(self, part)
            for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "drillSafe": self.drill_safe, "write": self.write}


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str] | str,
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Allow statement as plain data (the shape the Pulumi stacks deploy)."""
    body: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": resources if isinstance(resources, str) else list(resources),
    }
    if condition:
        body["Condition"] = dict(condition)
    return body


def in_regions(regions: Sequence[str]) -> dict[str, Any]:
    """The condition that limits a ``*``-resource statement to the account's regions."""
    return {"StringEquals": {"aws:RequestedRegion": sorted(set(regions))}}


def arns(service: str, account_id: str, regions: Sequence[str], *kinds: str) -> list[str]:
    """``arn:aws:<service>:<region>:<account>:<kind>`` for every region and kind."""
    return [f"arn:aws:{service}:{r}:{account_id}:{k}" for r in sorted(set(regions)) for k in kinds]


def load_schema(path: Path) -> dict[str, Any]:
    """A module's ``parameters.json`` (the contract kit checks it is a valid JSON Schema;
    importing a module in a Lambda handler does not load jsonschema)."""
    return json.loads(path.read_text())


@dataclass
class LayerMapping:
    """A layers-format resource as manifest entries, plus what did not map.

    ``technology`` joins the wave of the resource's layer, beside the layer's other
    resources. A resource that carries waves or wave-level settings of its own (DRS
    ``WaveConfiguration``, ``PauseBeforeActivation``) gives ``waves`` instead (or as
    well): manifest wave fragments, each ``{"technologies": [...]}`` with optionally
    ``waveName``, ``description``, ``pauseBeforeWave``, ``pauseAfterWave`` and
    ``dependsOn`` — *indexes* into ``waves``; absent: the previous fragment; ``[]``:
    none of them. ``manifest convert`` numbers and names them, and puts them after
    the previous layer.

    A technology entry needs only ``type`` and ``parameters``; convert adds the group
    ``name`` (from ``resourceName``), ``selector.accounts`` (from ``AccountId``) and,
    when the module selects by neither tags nor ids, a conservative selector (noted).
    ``unmapped`` names each thing not carried over by its JSON path, ``reasons`` says
    why for some of them (default: the module declares no such parameter), ``notes``
    are what to review by hand.
    """

    technology: dict[str, Any] | None = None
    unmapped: list[str] = field(default_factory=list)  # JSON paths of what was not carried over
    notes: list[str] = field(default_factory=list)
    waves: list[dict[str, Any]] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # unmapped path -> why


# --- the interface --------------------------------------------------------------------


def never(_: Mapping[str, Any]) -> bool:
    return False


def always(_: Mapping[str, Any]) -> bool:
    return True


class Module(ABC):
    """A technology adapter, and everything drorch needs to know about it.

    A module lives in one folder (``drorch/modules/<name>/``) and is registered with
    one line in :mod:`drorch.modules.registry`. Its class attributes declare what the
    rest of drorch reads from the registry: the IAM policy (``iam``), the readiness
    probes (``probes``/``readiness``), the resource types it discovers, its aliases
    in the layers format, its sandbox extension and what a drill does.
    """

    type: str
    parameters_schema: dict[str, Any]
    drill_safe_phases: frozenset[str]
    # API operation -> "is this call, with these parameters, disruptive?"
    disruptive_calls: Mapping[str, Callable[[Mapping[str, Any]], bool]] = {}
    # --- declarations read through the registry ------------------------------------------
    kind: str = "resource"  # "resource" (discovers AWS resources), "step" or "check"
    summary: str = ""  # one line: what it recovers or does
    drill: str = ""  # what a drill does, and why it cannot harm production
    aliases: tuple[str, ...] = ()  # layers-format names (seed 004 §3.1 ``action``)
    resource_types: tuple[str, ...] = ()  # Resource Explorer types it discovers
    identified_by: str = ""  # how a resource is named in a selector's ``ids``
    # the ``dr:recovery-strategy`` tag values (TRS App. T.4) of the resources it recovers:
    # strategy routing (``drorch.modules.routing``) hands a resource to the module its
    # strategy names, and other modules leave it alone
    strategies: tuple[str, ...] = ()
    phases: tuple[str, ...] = PHASES  # the phases it does something in
    runs_in_drill: bool = True  # steps and checks: whether they run in a drill by default
    probes: tuple[Probe, ...] = ()  # read calls `accounts verify` makes (permission checks)
    # the module's sandbox extension (``drorch.modules.<name>.sandbox``), or None; the
    # Lambda asset leaves it out
    sandbox_extension: str | None = None

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        """The statements the execution role needs in ``account_id`` for ``regions``."""
        return ModuleIam()

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        """Module-specific readiness findings for one account (beyond permission probes)."""
        return []

    def resource_readiness(
        self,
        ctx: AccountContext,
        resources: Sequence[Resource],
        params: Mapping[str, Any],
    ) -> list[Finding]:
        """Per-resource readiness probes (read-only) for the plan's resources of one group in
        one account: at least one :func:`resource_finding` per resource, OK, WARNING or
        BLOCKER, naming the call that showed it. ``ctx.operation`` says what the run would
        do; ``params`` are the group's parameters. The default: discovery found the
        resource in a state the module can recover (it excludes the others, and readiness
        reports those exclusions itself). Steps and checks have nothing of their own to
        probe unless they say so (none by default)."""
        if self.kind != "resource":
            return []
        call = f"{self.type} discovery" + (
            f" ({', '.join(self.resource_types)})" if self.resource_types else ""
        )
        return [
            resource_finding(r, "exists", READY, "found in a recoverable state", call)
            for r in resources
        ]

    def exclusion_readiness(
        self, ctx: AccountContext, excluded: Sequence[Mapping[str, Any]]
    ) -> list[Finding]:
        """Findings for what discovery matched in this account but left out of the plan
        (``excluded``: the discovery file's entries, with their ``reasons``). The default:
        a WARNING each, with discovery's reasons (the run goes on without them)."""
        call = f"{self.type} discovery"
        return [
            resource_finding(
                Resource.from_dict(item, ctx.account_id),
                "excluded from the plan",
                WARNING,
                "; ".join(item.get("reasons", [])) or "excluded by discovery",
                call,
                "fix its tags or state if it should be recovered; it is left out otherwise",
            )
            for item in excluded
        ]

    def preconditions(
        self, ctx: AccountContext, operation: str, resources: Sequence[Resource]
    ) -> list[str]:
        """Why ``operation`` must not start for these resources in this account (empty: it
        may). Checked before anything changes: read-only calls only. Each reason names
        the resource and the call that showed it."""
        return []

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """A layers-format resource (``{"action", "resourceName", "AccountId",
        "parameters"}``) as a technology entry of a manifest. The default keeps the
        parameters this module's schema declares and names the rest as unmapped."""
        params = dict(resource.get("parameters") or {})
        known = set(self.parameters_schema.get("properties", {}))
        kept = {k: v for k, v in params.items() if k in known}
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology={"type": self.type, "parameters": kept}, unmapped=unmapped)

    def describe(self) -> dict[str, Any]:
        """What ``drorch modules list/show`` prints (JSON)."""
        iam = self.iam("111111111111", ["us-east-1"])
        return {
            "name": self.type,
            "kind": self.kind,
            "summary": self.summary,
            "drill": self.drill,
            "runsInDrill": self.runs_in_drill,
            "drillSafePhases": sorted(self.drill_safe_phases),
            "phases": list(self.phases),
            "disruptiveCalls": sorted(self.disruptive_calls),
            "aliases": list(self.aliases),
            "resourceTypes": list(self.resource_types),
            "identifiedBy": self.identified_by,
            "strategies": list(self.strategies),
            "parameters": self.parameters_schema,
            "iam": iam.to_dict(),
            "probes": [p.action for p in self.probes],
            "sandboxExtension": self.sandbox_extension,
        }

    @abstractmethod
    def discover(self, ctx: AccountContext, selector: Any) -> list[Resource]:
        """The resources the selector picks in this account and region
        (a :class:`Discovered`, whose ``excluded`` says what was left out and why)."""

    @abstractmethod
    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Start a phase; returns the module state (JSON) the handler persists.
        A retried start with the same ``idempotency_key`` must not redo work."""

    @abstractmethod
    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        """Where a started phase is; the returned state replaces the old one."""

    def finished_at_start(self, phase: str, state: Mapping[str, Any]) -> bool:
        """Whether ``start`` did all of the phase (its state says ``finished: true``): the
        executor then records the status at once and its state machine skips the poll."""
        return state.get("finished") is True

    def awaits(self, phase: str, state: Mapping[str, Any]) -> list[dict[str, Any]]:
        """What a running phase waits for that announces its end on EventBridge
        (``{"key", "expect"}`` each, see :mod:`drorch.engine.waiters`): the executor then
        waits for those events instead of polling. Empty (the default): it polls."""
        return []

    # --- helpers every module shares -----------------------------------------------
    def is_disruptive(self, operation: str, params: Mapping[str, Any]) -> bool:
        predicate = self.disruptive_calls.get(operation)
        return bool(predicate and predicate(params))

    def drill_guard(self, drill: bool) -> Callable[[str, dict[str, Any]], None] | None:
        """A client guard refusing disruptive calls in a drill (None outside a drill)."""
        if not drill:
            return None

        def guard(operation: str, params: dict[str, Any]) -> None:
            if self.is_disruptive(operation, params):
                raise DrillSafetyError(
                    f"{self.type}: {operation} is disruptive and was refused during a drill"
                )

        return guard

    def check_phase(self, phase: str, drill: bool) -> None:
        if phase not in PHASES:
            raise InputError(f"{self.type}: unknown phase {phase!r} (one of {', '.join(PHASES)})")
        if drill and phase not in self.drill_safe_phases:
            raise DrillSafetyError(
                f"{self.type}: phase {phase} is not drill-safe and cannot run in a drill",
                hint=f"drill-safe phases: {', '.join(sorted(self.drill_safe_phases))}",
            )

    def validate_parameters(self, params: Mapping[str, Any] | None, where: str = "$") -> dict:
        """The parameters checked against ``parameters_schema``, with defaults filled in."""
        data = dict(params or {})
        validator = parameters_validator(self.parameters_schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            problems = []
            for error in errors:
                path = where
                for part in error.absolute_path:
                    path += f"[{part}]" if isinstance(part, int) else f".{part}"
                problems.append(f"{path}: {error.message}")
            raise InputError(f"{self.type} parameters: " + "; ".join(problems))
        for key, spec in self.parameters_schema.get("properties", {}).items():
            if key not in data and "default" in spec:
                data[key] = spec["default"]
        return data


_VALIDATORS: dict[str, Any] = {}


def parameters_validator(schema: Mapping[str, Any]) -> Any:
    """A JSON Schema validator for a parameters schema, built once per schema and process
    (jsonschema is imported on the first validation, not with the module)."""
    key = json.dumps(schema, sort_keys=True, default=str)
    validator = _VALIDATORS.get(key)
    if validator is None:
        import jsonschema

        validator = _VALIDATORS[key] = jsonschema.Draft202012Validator(schema)
    return validator


class Registry(MutableMapping[str, Module]):
    """The registered modules by ``type``; :data:`REGISTRY` is the one instance.

    A built-in module is *declared* (:meth:`declare`: its type and package) and imported
    the first time it is asked for by name, so a Lambda handler loads only the modules its
    groups use. ``name in REGISTRY`` imports nothing; iterating (``items()``, ``sorted()``,
    ``len()``) imports every declared module first. Otherwise a plain mapping.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Module] = {}
        self._packages: dict[str, str] = {}

    def declare(self, name: str, package: str) -> None:
        """``package`` (``drorch.modules.<name>``) holds the module of type ``name`` in its
        ``MODULE``; it is imported on first use."""
        self._packages[name] = package

    def loaded(self, name: str) -> Module | None:
        """The module of type ``name`` if it is imported already (never imports)."""
        return self._loaded.get(name)

    def _load(self, name: str) -> Module:
        package = self._packages[name]
        module = importlib.import_module(package).MODULE
        if getattr(module, "type", None) != name:
            raise ValueError(
                f"{package}.MODULE has type {getattr(module, 'type', None)!r}; "
                f"the registry declares it as {name!r}"
            )
        return register(module)

    def load_all(self) -> None:
        for name in list(self._packages):
            if name not in self._loaded:
                self._load(name)

    def __getitem__(self, name: str) -> Module:
        found = self._loaded.get(name)
        if found is not None:
            return found
        if name in self._packages:
            return self._load(name)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._packages

    def __setitem__(self, name: str, module: Module) -> None:
        self._loaded[name] = module

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._packages.pop(name, None)

    def _names(self) -> list[str]:
        self.load_all()
        return [*self._packages, *(n for n in self._loaded if n not in self._packages)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"Registry({sorted(self._loaded)} loaded, {len(self._packages)} declared)"


REGISTRY = Registry()

_TYPE = re.compile(r"^[a-z][a-z0-9-]*$")


def register(module: Module) -> Module:
    """Add a module instance to :data:`REGISTRY` under its ``type``."""
    if not _TYPE.match(getattr(module, "type", "") or ""):
        raise ValueError(f"module type {getattr(module, 'type', None)!r} is not a valid name")
    existing = REGISTRY.loaded(module.type)
    package = REGISTRY._packages.get(module.type)
    own = type(module).__module__
    if existing is None and package and own != package and not own.startswith(package + "."):
        existing = REGISTRY[module.type]  # a built-in declared under that name: load it to compare
    if existing is not None and type(existing) is not type(module):
        raise ValueError(
            f"module type {module.type!r} is already registered by {type(existing).__name__}"
        )
    REGISTRY[module.type] = module
    return module
