"""What an operation needs before its first change (issue 11, item 6).

Checked by the plan step, after discovery (read-only) and before any phase starts;
a precondition that does not hold ends the execution with :class:`PreconditionFailed`
and a reason that names the run, the resource and the call that showed it:

* failback: a completed failover of the application in the history, not already
  failed back; then each module's own check (DRS: the servers' recovery instances
  exist and their replication back is not broken);
* cleanup: an earlier drill or failover of the application that left something
  (recorded resources), not already cleaned up;
* failover (and every operation): no other execution of the application runs, which
  the application's lock enforces at initialise (``ExecutionConflict``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.engine.discovery import load_group
from drorch.engine.errors import PreconditionFailed
from drorch.engine.executor import account_context
from drorch.engine.runtime import Engine
from drorch.modules.base import Module, Resource
from drorch.vocabulary import SUCCEEDED

LOOKBACK = 50  # earlier executions of the application read


def _earlier(engine: Engine, execution: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The application's earlier executions, newest first."""
    found = [
        e
        for e in engine.history.list_executions(
            application=execution["application"], limit=LOOKBACK
        )
        if e["executionId"] != execution["executionId"]
        and str(e.get("startedAt", "")) <= str(execution.get("startedAt", ""))
    ]
    return sorted(found, key=lambda e: str(e.get("startedAt", "")), reverse=True)


def _name(e: Mapping[str, Any]) -> str:
    return f"{e.get('operation')} {e['executionId']} ({e.get('status')})"


def history_problem(engine: Engine, execution: Mapping[str, Any]) -> str | None:
    """Why the history says the operation has nothing to act on (None: it has)."""
    operation, app = execution["operation"], execution["application"]
    earlier = _earlier(engine, execution)
    if operation == "failback":
        for e in earlier:
            if e.get("operation") == "failback" and e.get("status") == SUCCEEDED:
                return (
                    f"failback of {app}: the newest completed run is {_name(e)}, which already "
                    "failed back; nothing has failed over since"
                )
            if e.get("operation") == "failover" and e.get("status") == SUCCEEDED:
                return None
        failovers = [e for e in earlier if e.get("operation") == "failover"]
        newest = f"; newest failover: {_name(failovers[0])}" if failovers else ""
        return (
            f"failback of {app}: no completed failover in the history{newest}; nothing to fail back"
        )
    if operation == "cleanup":
        for e in earlier:
            if e.get("operation") == "cleanup" and e.get("status") == SUCCEEDED:
                return (
                    f"cleanup of {app}: {_name(e)} already cleaned up after the last drill "
                    "or failover; nothing to clean"
                )
            if e.get("operation") in ("drill", "failover") and engine.history.resources(
                e["executionId"]
            ):
                return None
        return (
            f"cleanup of {app}: no drill or failover in the history left anything "
            "(no recorded resources); nothing to clean"
        )
    return None


def module_problems(engine: Engine, execution: Mapping[str, Any], plan: Mapping[str, Any]) -> list:
    """Each module's own preconditions, per group and account of the plan."""
    operation, execution_id = execution["operation"], execution["executionId"]
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for phase in plan["phases"]:
        for level in phase["levels"]:
            for item in level["groups"]:
                group_id = item["groupId"]
                for account_id in item["accounts"]:
                    if (group_id, account_id) in seen:
                        continue
                    seen.add((group_id, account_id))
                    found = load_group(engine.s3, engine.bucket, execution_id, group_id)
                    module = engine.modules[found["module"]]
                    if type(module).preconditions is Module.preconditions:
                        continue  # the module has none of its own
                    entries = found["resources"].get(account_id, [])
                    resources = [Resource.from_dict(e, account_id) for e in entries]
                    ctx = account_context(
                        engine, account_id, False, execution_id, operation=operation
                    )
                    for problem in module.preconditions(ctx, operation, resources):
                        problems.append(f"{group_id} in account {account_id}: {problem}")
    return problems


def check(engine: Engine, execution: Mapping[str, Any], plan: Mapping[str, Any]) -> None:
    """Refuse the operation, before its first change, when a precondition does not hold."""
    problem = history_problem(engine, execution)
    if problem:
        raise PreconditionFailed(problem, hint=_HINTS.get(execution["operation"]))
    problems = module_problems(engine, execution, plan)
    if problems:
        raise PreconditionFailed(
            f"{execution['operation']} of {execution['application']} refused before any "
            "change: " + "; ".join(problems)[:3000],
            hint=_HINTS.get(execution["operation"]),
        )


_HINTS = {
    "failback": "a failback returns from a completed failover whose recovery instances "
    "still run; check `drorch list` and the DRS console",
    "cleanup": "cleanup removes what a drill or failover left; run one first",
}
