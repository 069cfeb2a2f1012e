"""SQL Server Always On availability groups in the sandbox, behind Run Command.

moto has no SQL Server, and the Run Command extension (:mod:`drorch.modules.ssm_command.
sandbox`) answers a script with its ``echo`` lines. This extension teaches it what the
SQL Server of a declared instance answers: when a ``SendCommand`` of
``AWS-RunPowerShellScript`` reaches an instance that hosts a declared availability
group replica, and the script is one of the sqlserver-ag module's (recognised by its
header, :mod:`drorch.modules.sqlserver_ag.scripts`), the invocation's output is what
that script prints on a SQL Server in the declared state, at the simulated moment the
script runs:

* ``read`` prints each AG's role, availability mode, health and databases
  (synchronisation state, suspended, log send / redo queue, lag), in
  :attr:`SqlTimings.query_seconds`;
* ``failover`` does what the script does: a replica already PRIMARY is left alone;
  a planned failover needs SYNCHRONOUS_COMMIT and every database SYNCHRONIZED, else
  it is refused (or forced, with ``allowDataLoss``, unless a lag is above
  ``maxLagSeconds``). The roles flip when the ALTER finishes
  (:attr:`SqlTimings.planned_failover_seconds` / ``forced_failover_seconds`` later):
  the old primary becomes SECONDARY (SYNCHRONIZED after a planned failover; after a
  forced one every other replica's databases are NOT SYNCHRONIZING and suspended);
* ``resume`` resumes the local replica's suspended databases (SYNCHRONIZING at once,
  SYNCHRONIZED :attr:`SqlTimings.resync_seconds` later on a synchronous-commit
  replica).

Commands on other instances, other documents and other scripts are answered as before.

Declaring (for the running sandbox; cleared when one starts): :func:`declare_group`
(what the ``sqlserver-ag`` scenario seeder, :mod:`drorch.sandbox.seeders.sqlserver`,
calls) with each replica's instance, role, availability mode, synchronisation state,
lag and queues.

Faults (:data:`SQL_SERVERS`): ``fail_failover(target, reason=, times=)`` makes the
ALTER of an AG (or of the AGs of an instance) fail with SQL Server error 41131 and
the reason; ``desynchronise(target, state=, lag_seconds=, log_send_queue_kb=)`` makes
a replica's databases fall behind from now on (``replica not synchronised``). Run
Command's own faults still apply: ``sandbox.faults.fail_command(instance)`` fails the
invocation before SQL Server is reached (nothing changes), ``slow_commands`` too.

Not simulated: what the PowerShell really does (it is never run), distributed AGs,
read-scale (clusterless) AGs, the Windows failover cluster and its quorum, automatic
failover, listeners and DNS, per-database states that differ within one replica
(``desynchronise`` sets every database of the replica), and lag that grows by itself.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drorch.modules.sqlserver_ag.scripts import (
    ERROR_PREFIX,
    OUTPUT_PREFIX,
    REFUSED_PREFIX,
    Script,
    parse_header,
)
from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox

DOCUMENT = "AWS-RunPowerShellScript"
ROLES = ("PRIMARY", "SECONDARY")
MODES = ("SYNCHRONOUS_COMMIT", "ASYNCHRONOUS_COMMIT")
SYNC_STATES = ("SYNCHRONIZED", "SYNCHRONIZING", "NOT SYNCHRONIZING", "INITIALIZING", "REVERTING")


@dataclass
class SqlTimings:
    """How long SQL Server takes, in simulated seconds (the script's plugin duration)."""

    query_seconds: float = 5.0  # the DMV query
    planned_failover_seconds: float = 45.0  # ALTER AVAILABILITY GROUP ... FAILOVER
    forced_failover_seconds: float = 30.0  # ... FORCE_FAILOVER_ALLOW_DATA_LOSS
    resume_seconds: float = 10.0  # ALTER DATABASE ... SET HADR RESUME
    resync_seconds: float = 120.0  # a resumed synchronous-commit replica catches up


TIMINGS = SqlTimings()


@dataclass(frozen=True)
class ReplicaState:
    """One replica's view of its AG from one moment on."""

    role: str
    mode: str = "SYNCHRONOUS_COMMIT"
    sync: str = "SYNCHRONIZED"
    suspended: bool = False
    lag_seconds: int | None = 0
    log_send_queue_kb: int = 0
    redo_queue_kb: int = 0
    health: str = "HEALTHY"


@dataclass
class Replica:
    instance_id: str
    region: str
    timeline: list[tuple[datetime, ReplicaState]]

    def at(self, moment: datetime) -> ReplicaState:
        current = self.timeline[0][1]
        for since, state in self.timeline:
            if since <= moment:
                current = state
        return current

    def set(self, moment: datetime, state: ReplicaState) -> None:
        self.timeline = [(t, s) for t, s in self.timeline if t < moment]
        self.timeline.append((moment, state))


@dataclass
class Group:
    account_id: str
    name: str
    databases: tuple[str, ...]
    replicas: dict[str, Replica]  # instance id -> replica

    def view(self, instance_id: str, moment: datetime) -> dict[str, Any]:
        """What the script prints for this AG on this instance at ``moment``."""
        state = self.replicas[instance_id].at(moment)
        primary = state.role == "PRIMARY"
        return {
            "ag": self.name,
            "role": state.role,
            "availabilityMode": state.mode,
            "health": state.health,
            "databases": [
                {
                    "name": name,
                    "state": state.sync,
                    "suspended": state.suspended,
                    "logSendQueueKb": 0 if primary else state.log_send_queue_kb,
                    "redoQueueKb": 0 if primary else state.redo_queue_kb,
                    "lagSeconds": None if primary else state.lag_seconds,
                }
                for name in self.databases
            ],
        }


@dataclass
class FailoverFault:
    target: str  # AG name, instance id or the instance's Name tag
    reason: str
    times: int | None = None
    hits: int = 0


@dataclass
class Outcome:
    stdout: str
    stderr: str
    exit_code: int
    seconds: float


class SqlServers:
    """The declared availability groups and their faults (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.groups: dict[tuple[str, str], Group] = {}
        self.names: dict[tuple[str, str], str] = {}  # (account, instance id) -> Name tag
        self.failover_faults: list[FailoverFault] = []

    def clear(self) -> None:
        with self._lock:
            self.groups.clear()
            self.names.clear()
            self.failover_faults.clear()

    # --- declaring ------------------------------------------------------------------
    def declare_group(
        self,
        account_id: str,
        name: str,
        databases: Iterable[str],
        replicas: Iterable[Mapping[str, Any]],
        *,
        since: datetime | None = None,
    ) -> Group:
        """An AG with its replicas: each ``{"instanceId", "region", "role", "name"?,
        "availabilityMode"?, "synchronizationState"?, "suspended"?, "lagSeconds"?,
        "logSendQueueKb"?, "redoQueueKb"?}``; exactly one PRIMARY."""
        moment = since or STATE.clock.now()
        built: dict[str, Replica] = {}
        for item in replicas:
            state = ReplicaState(
                role=item["role"],
                mode=item.get("availabilityMode", "SYNCHRONOUS_COMMIT"),
                sync=item.get("synchronizationState", "SYNCHRONIZED"),
                suspended=bool(item.get("suspended", False)),
                lag_seconds=item.get("lagSeconds", 0),
                log_send_queue_kb=int(item.get("logSendQueueKb", 0)),
                redo_queue_kb=int(item.get("redoQueueKb", 0)),
            )
            built[item["instanceId"]] = Replica(
                item["instanceId"], item["region"], [(moment, state)]
            )
            if item.get("name"):
                self.names[(account_id, item["instanceId"])] = str(item["name"])
        primaries = [r for r in built.values() if r.timeline[0][1].role == "PRIMARY"]
        if len(primaries) != 1:
            raise ValueError(f"availability group {name}: exactly one replica must be PRIMARY")
        group = Group(account_id, name, tuple(databases), built)
        with self._lock:
            self.groups[(account_id, name)] = group
        return group

    def forget_group(self, account_id: str, name: str) -> None:
        with self._lock:
            self.groups.pop((account_id, name), None)

    # --- faults -----------------------------------------------------------------------
    def fail_failover(
        self, target: str, *, reason: str = "simulated failure", times: int | None = None
    ) -> FailoverFault:
        """The failover ALTER of AG ``target`` (or of every AG of instance ``target``,
        by id or Name tag) fails with SQL Server error 41131; the roles do not change."""
        fault = FailoverFault(target, reason, times)
        with self._lock:
            self.failover_faults.append(fault)
        return fault

    def desynchronise(
        self,
        target: str,
        *,
        state: str = "SYNCHRONIZING",
        lag_seconds: int | None = 600,
        log_send_queue_kb: int = 51200,
        redo_queue_kb: int = 0,
        mode: str | None = None,
    ) -> None:
        """From now on, the secondary replica ``target`` (instance id or Name tag) is
        behind: its databases are ``state`` with this lag and these queues."""
        if state not in SYNC_STATES:
            raise ValueError(f"desynchronise: {state!r} is not one of {SYNC_STATES}")
        now = STATE.clock.now()
        with self._lock:
            found = False
            for group in self.groups.values():
                for instance_id, replica in group.replicas.items():
                    if target not in (instance_id, self.names.get((group.account_id, instance_id))):
                        continue
                    current = replica.at(now)
                    replica.set(
                        now,
                        replace(
                            current,
                            sync=state,
                            lag_seconds=lag_seconds,
                            log_send_queue_kb=log_send_queue_kb,
                            redo_queue_kb=redo_queue_kb,
                            mode=mode or current.mode,
                        ),
                    )
                    found = True
        if not found:
            raise ValueError(f"desynchronise: no declared replica is {target!r}")

    def _failover_fault(self, group: Group, instance_id: str) -> FailoverFault | None:
        name = self.names.get((group.account_id, instance_id))
        for fault in self.failover_faults:
            if fault.times is not None and fault.hits >= fault.times:
                continue
            if fault.target in (group.name, instance_id, name):
                fault.hits += 1
                return fault
        return None

    # --- what a script does -------------------------------------------------------------
    def hosts(self, account_id: str, region: str, instance_id: str) -> bool:
        with self._lock:
            return any(
                g.account_id == account_id
                and instance_id in g.replicas
                and g.replicas[instance_id].region == region
                for g in self.groups.values()
            )

    def run(self, account_id: str, instance_id: str, script: Script, started: datetime) -> Outcome:
        with self._lock:
            local = sorted(
                (
                    g
                    for g in self.groups.values()
                    if g.account_id == account_id and instance_id in g.replicas
                ),
                key=lambda g: g.name,
            )
            return self._run(local, instance_id, script, started)

    def _run(
        self, local: list[Group], instance_id: str, script: Script, started: datetime
    ) -> Outcome:
        out: list[str] = []
        err: list[str] = []
        seconds = TIMINGS.query_seconds
        chosen = [g for g in local if not script.groups or g.name in script.groups]
        missing = [name for name in script.groups if name not in {g.name for g in local}]
        for name in missing:
            err.append(
                f"{ERROR_PREFIX}{name}: no replica of this availability group on this instance"
            )
        if missing or not chosen:
            return Outcome("", _lines(err), 2, seconds)
        out += [_line("before", g.view(instance_id, started)) for g in chosen]
        if script.action == "read":
            return Outcome(_lines(out), "", 0, seconds)
        failed = 0
        changes: list[Callable[[datetime], None]] = []
        for group in chosen:
            if script.action == "resume":
                seconds += self._resume(group, instance_id, started, changes)
                continue
            taken, problem = self._failover(group, instance_id, script, started, changes)
            seconds += taken
            if problem:
                err.append(problem)
                failed += 1
        ended = started + timedelta(seconds=seconds)
        for change in changes:
            change(ended)
        out += [_line("after", g.view(instance_id, ended)) for g in chosen]
        return Outcome(_lines(out), _lines(err), 3 if failed else 0, seconds)

    def _failover(
        self,
        group: Group,
        instance_id: str,
        script: Script,
        started: datetime,
        changes: list[Callable[[datetime], None]],
    ) -> tuple[float, str | None]:
        local = group.replicas[instance_id].at(started)
        if local.role == "PRIMARY":
            return 0.0, None
        planned = local.mode == "SYNCHRONOUS_COMMIT" and local.sync == "SYNCHRONIZED"
        if not planned and not script.allow_data_loss:
            behind = ", ".join(f"{d} {local.sync}" for d in group.databases)
            return 0.0, (
                f"{REFUSED_PREFIX}{group.name}: a planned failover needs SYNCHRONOUS_COMMIT and "
                f"every database SYNCHRONIZED ({local.mode}; {behind})"
            )
        if (
            not planned
            and script.max_lag_seconds is not None
            and script.max_lag_seconds >= 0
            and local.lag_seconds is not None
            and local.lag_seconds > script.max_lag_seconds
        ):
            late = ", ".join(f"{d} {local.lag_seconds} s" for d in group.databases)
            return 0.0, (
                f"{REFUSED_PREFIX}{group.name}: lag above maxLagSeconds "
                f"{script.max_lag_seconds}: {late}"
            )
        taken = TIMINGS.planned_failover_seconds if planned else TIMINGS.forced_failover_seconds
        fault = self._failover_fault(group, instance_id)
        if fault is not None:
            return taken, (
                f"{ERROR_PREFIX}{group.name}: Msg 41131, Level 16: Failed to bring availability "
                f"group '{group.name}' online. {fault.reason}"
            )

        def flip(moment: datetime, group: Group = group, planned: bool = planned) -> None:
            for other_id, replica in group.replicas.items():
                state = replica.at(moment)
                if other_id == instance_id:
                    new = replace(
                        state,
                        role="PRIMARY",
                        sync="SYNCHRONIZED",
                        suspended=False,
                        lag_seconds=0,
                        log_send_queue_kb=0,
                        redo_queue_kb=0,
                    )
                elif planned:
                    new = replace(state, role="SECONDARY")
                else:  # forced: every other replica's databases are suspended
                    new = replace(state, role="SECONDARY", sync="NOT SYNCHRONIZING", suspended=True)
                replica.set(moment, new)

        changes.append(flip)
        return taken, None

    def _resume(
        self,
        group: Group,
        instance_id: str,
        started: datetime,
        changes: list[Callable[[datetime], None]],
    ) -> float:
        replica = group.replicas[instance_id]
        if not replica.at(started).suspended:
            return 0.0

        def resume(moment: datetime) -> None:
            state = replica.at(moment)
            replica.set(moment, replace(state, suspended=False, sync="SYNCHRONIZING"))
            if state.mode == "SYNCHRONOUS_COMMIT":
                caught_up = moment + timedelta(seconds=TIMINGS.resync_seconds)
                replica.set(
                    caught_up,
                    replace(
                        state,
                        suspended=False,
                        sync="SYNCHRONIZED",
                        lag_seconds=0,
                        log_send_queue_kb=0,
                        redo_queue_kb=0,
                    ),
                )

        changes.append(resume)
        return TIMINGS.resume_seconds


def _line(stage: str, view: Mapping[str, Any]) -> str:
    return OUTPUT_PREFIX + json.dumps({"stage": stage, **copy.deepcopy(dict(view))})


def _lines(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


SQL_SERVERS = SqlServers()


def declare_group(
    account_id: str,
    name: str,
    databases: Iterable[str],
    replicas: Iterable[Mapping[str, Any]],
) -> Group:
    """Declare an availability group for the running sandbox (see :class:`SqlServers`)."""
    return SQL_SERVERS.declare_group(account_id, name, databases, replicas)


# --- the hook into Run Command ---------------------------------------------------------------
_original_send: Callable[..., Any] | None = None
_install_lock = threading.Lock()


def _answer(backend: Any, command: Any) -> None:
    """Replace the output of this extension's scripts on declared replicas."""
    if command.document.name != DOCUMENT:
        return
    script = parse_header(command.parameters.get("commands"))
    if script is None:
        return
    for invocation in command.invocations:
        if not invocation.deliverable or not invocation.plugins:
            continue
        if not SQL_SERVERS.hosts(backend.account_id, backend.region_name, invocation.instance_id):
            continue
        plugin = invocation.plugins[-1]
        if plugin.status != "Success":  # a Run Command fault: SQL Server was never reached
            continue
        started = command.delivered_at() + timedelta(seconds=plugin.start)
        outcome = SQL_SERVERS.run(backend.account_id, invocation.instance_id, script, started)
        plugin.duration = outcome.seconds
        plugin.stdout = outcome.stdout
        plugin.stderr = outcome.stderr
        if outcome.exit_code:
            plugin.status, plugin.response_code = "Failed", outcome.exit_code


def install() -> None:
    """Wrap the Run Command backend's ``send`` (once per process)."""
    global _original_send
    from drorch.modules.ssm_command.sandbox import CommandBackend

    with _install_lock:
        if _original_send is not None:
            return
        original = CommandBackend.send
        _original_send = original

        def send(self: Any, request: Mapping[str, Any]) -> Any:
            command = original(self, request)
            _answer(self, command)
            return command

        CommandBackend.send = send  # type: ignore[method-assign]


def start(sandbox: Sandbox) -> Callable[[], None]:
    SQL_SERVERS.clear()
    return SQL_SERVERS.clear


EXTENSION = SandboxExtension(install=install, start=start)

__all__ = [
    "EXTENSION",
    "SQL_SERVERS",
    "TIMINGS",
    "ReplicaState",
    "SqlServers",
    "SqlTimings",
    "declare_group",
]
