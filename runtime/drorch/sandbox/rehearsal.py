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
        by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for account_id, server in waves[wave]:
            by_account[account_id].append(server)
        jobs_by_account: dict[str, list[str]] = defaultdict(list)
        results: dict[str, ServerResult] = {}
        for account_id, servers in by_account.items():
            drs = sessions[account_id].client("drs")
            for start in range(0, len(servers), quota):
                batch = servers[start : start + quota]
                job = drs.start_recovery(
                    isDrill=True,
                    sourceServers=[{"sourceServerID": s["sourceServerID"]} for s in batch],
                    tags={"drorch:wave": wave, "drorch:operation": "drill"},
                )["job"]
                jobs_by_account[account_id].append(job["jobID"])
                wave_result.jobs.append(job["jobID"])
                for s in batch:
                    results[s["sourceServerID"]] = ServerResult(
                        account_id,
                        s["sourceServerID"],
                        s["sourceProperties"]["identificationHints"].get("hostname", ""),
                        wave,
                    )
        on_event(
            "wave-start", {"wave": wave, "servers": len(results), "jobs": len(wave_result.jobs)}
        )
        finished = _wait_for_jobs(sandbox, jobs_by_account, sessions, poll_seconds, on_event)
        for job in finished.values():
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
        jobs_by_account = defaultdict(list)
        for account_id in account_ids:
            drs = sessions[account_id].client("drs")
            drill_ids = [
                instance["recoveryInstanceID"]
                for page in drs.get_paginator("describe_recovery_instances").paginate()
                for instance in page["items"]
                if instance.get("isDrill")
            ]
            for start in range(0, len(drill_ids), quota):
                job = drs.terminate_recovery_instances(
                    recoveryInstanceIDs=drill_ids[start : start + quota]
                )["job"]
                jobs_by_account[account_id].append(job["jobID"])
                result.terminated_instances += len(drill_ids[start : start + quota])
        on_event("cleanup-start", {"instances": result.terminated_instances})
        _wait_for_jobs(sandbox, jobs_by_account, sessions, poll_seconds, on_event)
        result.cleanup_seconds = sandbox.clock.elapsed() - cleanup_started
    return result
