"""A DRS drill rehearsed against the sandbox, straight through the AWS APIs.

This is what ``drorch demo`` runs until the orchestration engine lands: from the
hub, assume each staging account's execution role (with its ExternalId),
discover the DR-enabled source servers through Resource Explorer, check their
tags, launch drill instances wave by wave in as few DRS jobs as the quotas
allow, follow the jobs on the simulated clock, then terminate the drill
instances. Every call is a plain boto3 call that would work against AWS.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drorch import names
from drorch.sandbox.core import Sandbox
from drorch.tags import check_tags

ACTIVE_JOB_STATES = ("PENDING", "STARTED")


@dataclass
class ServerResult:
    account_id: str
    source_server_id: str
    hostname: str
    wave: str
    launch_status: str = "PENDING"
    recovery_instance_id: str | None = None
    ec2_instance_id: str | None = None


@dataclass
class WaveResult:
    wave: str
    started: float  # simulated seconds since the rehearsal began
    finished: float
    jobs: list[str] = field(default_factory=list)
    servers: list[ServerResult] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.finished - self.started

    @property
    def failed(self) -> list[ServerResult]:
        return [s for s in self.servers if s.launch_status != "LAUNCHED"]


@dataclass
class Excluded:
    account_id: str
    source_server_id: str
    hostname: str
    reasons: tuple[str, ...]


@dataclass
class RehearsalResult:
    waves: list[WaveResult] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    opted_out: int = 0
    terminated_instances: int = 0
    cleanup_seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return all(not w.failed for w in self.waves)


Event = Callable[[str, dict[str, Any]], None]


def _discover(sandbox: Sandbox, account_id: str, sessions: dict[str, Any]) -> list[dict[str, Any]]:
    session = sessions[account_id]
    rex = session.client("resource-explorer-2")
    arns: list[str] = []
    # every source server, not only dr:enabled=true: a missing or malformed
    # dr:enabled must be reported, and opted-out servers are counted
    # ListResources, unlike Search, is not capped at 1,000 results
    pages = rex.get_paginator("list_resources").paginate(
        Filters={"FilterString": "resourcetype:drs:source-server"}
    )
    for page in pages:
        arns.extend(resource["Arn"] for resource in page["Resources"])
    if not arns:
        return []
    ids = [arn.rsplit("/", 1)[-1] for arn in arns]
    drs = session.client("drs")
    servers: list[dict[str, Any]] = []
    for start in range(0, len(ids), 200):
        pages = drs.get_paginator("describe_source_servers").paginate(
            filters={"sourceServerIDs": ids[start : start + 200]}
        )
        for page in pages:
            servers.extend(page["items"])
    return servers


def _wait_for_jobs(
    sandbox: Sandbox,
    jobs_by_account: dict[str, list[str]],
    sessions: dict[str, Any],
    poll_seconds: float,
    on_event: Event,
    max_polls: int = 2000,
) -> dict[str, dict[str, Any]]:
    """Poll DescribeJobs every ``poll_seconds`` of simulated time until no job is active."""
    finished: dict[str, dict[str, Any]] = {}
    for _ in range(max_polls):
        active = 0
        for account_id, job_ids in jobs_by_account.items():
            pending = [j for j in job_ids if j not in finished]
            if not pending:
                continue
            drs = sessions[account_id].client("drs")
            for page in drs.get_paginator("describe_jobs").paginate(filters={"jobIDs": pending}):
                for job in page["items"]:
                    if job["status"] in ACTIVE_JOB_STATES:
                        active += 1
                    else:
                        finished[job["jobID"]] = job
                    on_event("job", {"account": account_id, "job": job})
        if not active:
            return finished
        sandbox.advance(poll_seconds)
    raise TimeoutError(f"DRS jobs still active after {max_polls} polls")


def _run_batches(
    sandbox: Sandbox,
    sessions: dict[str, Any],
    batches: dict[str, list[list[str]]],
    start: Callable[[Any, list[str]], str],
    poll_seconds: float,
    on_event: Event,
) -> dict[str, dict[str, Any]]:
    """Run every batch as one DRS job, in rounds that stay within the DRS quotas.

    Per account, a round starts no more jobs than may be active at once (the
    concurrent-jobs quota, and the servers-in-active-jobs quota divided by the
    job size), then waits for them all before the next round.
    """
    limits = sandbox.state.drs_quotas
    per_round = max(
        1,
        min(
            limits.max_concurrent_jobs,
            limits.max_servers_in_active_jobs // limits.max_servers_per_job,
        ),
    )
    pending = {account_id: list(items) for account_id, items in batches.items()}
    finished: dict[str, dict[str, Any]] = {}
    while any(pending.values()):
        round_jobs: dict[str, list[str]] = defaultdict(list)
        for account_id, items in pending.items():
            drs = sessions[account_id].client("drs")
            for batch in items[:per_round]:
                round_jobs[account_id].append(start(drs, batch))
            del items[:per_round]
        finished |= _wait_for_jobs(sandbox, round_jobs, sessions, poll_seconds, on_event)
    return finished


def rehearse_drill(
    sandbox: Sandbox,
    account_ids: list[str],
    *,
    poll_seconds: float = 15.0,
    cleanup: bool = True,
    on_event: Event = lambda kind, data: None,
) -> RehearsalResult:
    result = RehearsalResult()
    sessions = {a: sandbox.execution_session(a) for a in account_ids}
    origin = sandbox.clock.elapsed()
    waves: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for account_id in account_ids:
        for server in _discover(sandbox, account_id, sessions):
            check = check_tags(server.get("tags", {}))
            hostname = server["sourceProperties"]["identificationHints"].get("hostname", "")
            if not check.dr_enabled and not check.errors:
                result.opted_out += 1
            elif not check.valid:
                result.excluded.append(
                    Excluded(account_id, server["sourceServerID"], hostname, check.errors)
                )
                on_event("excluded", {"hostname": hostname, "reasons": check.errors})
            else:
                waves[server["tags"][names.TAG_WAVE]].append((account_id, server))

    quota = sandbox.state.drs_quotas.max_servers_per_job
    for wave in sorted(waves, key=int):
        started = sandbox.clock.elapsed() - origin
        wave_result = WaveResult(wave=wave, started=started, finished=started)
        results: dict[str, ServerResult] = {}
        batches: dict[str, list[list[str]]] = defaultdict(list)
        for account_id, server in waves[wave]:
            server_id = server["sourceServerID"]
            hostname = server["sourceProperties"]["identificationHints"].get("hostname", "")
            results[server_id] = ServerResult(account_id, server_id, hostname, wave)
            pending = batches[account_id]
            if not pending or len(pending[-1]) == quota:
                pending.append([])
            pending[-1].append(server_id)

        def launch(drs: Any, batch: list[str], wave: str = wave) -> str:
            return drs.start_recovery(
                isDrill=True,
                sourceServers=[{"sourceServerID": server_id} for server_id in batch],
                tags={"drorch:wave": wave, "drorch:operation": "drill"},
            )["job"]["jobID"]

        on_event(
            "wave-start",
            {"wave": wave, "servers": len(results), "jobs": sum(map(len, batches.values()))},
        )
        finished = _run_batches(sandbox, sessions, batches, launch, poll_seconds, on_event)
        for job in finished.values():
            wave_result.jobs.append(job["jobID"])
            for participant in job.get("participatingServers", []):
                server_result = results.get(participant["sourceServerID"])
                if server_result:
                    server_result.launch_status = participant.get("launchStatus", "FAILED")
                    server_result.recovery_instance_id = participant.get("recoveryInstanceID")
        wave_result.servers = list(results.values())
        wave_result.finished = sandbox.clock.elapsed() - origin
        result.waves.append(wave_result)
        on_event("wave-end", {"wave": wave_result})

    if cleanup:
        cleanup_started = sandbox.clock.elapsed()
        batches = defaultdict(list)
        for account_id in account_ids:
            drs = sessions[account_id].client("drs")
            drill_ids = [
                instance["recoveryInstanceID"]
                for page in drs.get_paginator("describe_recovery_instances").paginate()
                for instance in page["items"]
                if instance.get("isDrill")
            ]
            batches[account_id] = [
                drill_ids[start : start + quota] for start in range(0, len(drill_ids), quota)
            ]
            result.terminated_instances += len(drill_ids)

        def terminate(drs: Any, batch: list[str]) -> str:
            return drs.terminate_recovery_instances(recoveryInstanceIDs=batch)["job"]["jobID"]

        on_event("cleanup-start", {"instances": result.terminated_instances})
        _run_batches(sandbox, sessions, batches, terminate, poll_seconds, on_event)
        result.cleanup_seconds = sandbox.clock.elapsed() - cleanup_started
    return result
