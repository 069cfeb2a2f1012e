"""DRS jobs started in quota-sized batches, idempotently, and followed to the end.

A :class:`JobRunner` owns a queue of batches (lists of source server or
recovery instance ids). Each ``advance`` call:

1. describes the runner's active jobs and turns their participants into
   per-item :class:`Outcome` s (a job that has finished is forgotten);
2. if batches are still queued, lists the account's jobs once, adopts a job
   that an earlier, interrupted call already started for a batch (found by its
   ``drorch:idempotency-key`` tag, or for terminate jobs — which DRS does not
   tag — by their recovery instances), and starts the queued batches that fit
   under the quotas (jobs active in the account, servers in active jobs).

The runner's state is a small JSON dict kept inside the module state.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from drorch.engine.waiters import drs_job_key
from drorch.modules.base import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    AccountContext,
    ModuleError,
    classify,
    error_message,
    raise_if_fatal,
)

IDEMPOTENCY_TAG = "drorch:idempotency-key"
MAX_KEY_IN_TAG = 200
API_MAX_IDS = 200  # StartRecovery / TerminateRecoveryInstances / StartFailbackLaunch list limit
DESCRIBE_JOBS_MAX_IDS = 1000
# the account's jobs a runner lists to start its batches (the quotas count the jobs still
# running; an interrupted start of its own is adopted): those created in this many days,
# not the account's whole job history (no DRS job runs this long)
JOB_LOOKBACK_SECONDS = 7 * 24 * 3600
FAILURE_EVENTS = {
    "SERVER_SKIPPED",
    "SNAPSHOT_FAIL",
    "USING_PREVIOUS_SNAPSHOT_FAILED",
    "CONVERSION_FAIL",
    "LAUNCH_FAILED",
    "CLEANUP_FAIL",
    "JOB_CANCEL",
}


@dataclass(frozen=True)
class Limits:
    """DRS quotas the module respects (defaults are the AWS defaults)."""

    servers_per_job: int = 100
    concurrent_jobs: int = 20
    servers_in_active_jobs: int = 500

    @property
    def batch_size(self) -> int:
        return max(1, min(self.servers_per_job, self.servers_in_active_jobs, API_MAX_IDS))

    def to_dict(self) -> dict[str, int]:
        return {
            "maxServersPerJob": self.servers_per_job,
            "maxConcurrentJobs": self.concurrent_jobs,
            "maxServersInActiveJobs": self.servers_in_active_jobs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        return cls(
            servers_per_job=int(data.get("maxServersPerJob", 100)),
            concurrent_jobs=int(data.get("maxConcurrentJobs", 20)),
            servers_in_active_jobs=int(data.get("maxServersInActiveJobs", 500)),
        )


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@dataclass(frozen=True)
class JobKind:
    """What kind of DRS job a runner starts and how its participants read."""

    name: str  # "launch" | "terminate" | "failback"
    item_key: str  # participant field naming an item: sourceServerID | recoveryInstanceID
    job_type: str  # DescribeJobs "type"
    initiated_by: frozenset[str]  # DescribeJobs "initiatedBy" values this kind starts
    success: str  # participant launchStatus that means done
    tagged: bool  # the start call takes tags (idempotency by tag)
    requeue_missing: bool  # items an adopted job lacks go back to the queue

    def owns(self, job: dict[str, Any]) -> bool:
        return job.get("type") == self.job_type and job.get("initiatedBy") in self.initiated_by


LAUNCH = JobKind(
    "launch",
    "sourceServerID",
    "LAUNCH",
    frozenset({"START_DRILL", "START_RECOVERY"}),
    "LAUNCHED",
    tagged=True,
    requeue_missing=False,
)
TERMINATE = JobKind(
    "terminate",
    "recoveryInstanceID",
    "TERMINATE",
    frozenset({"TERMINATE_RECOVERY_INSTANCES"}),
    "TERMINATED",
    tagged=False,
    requeue_missing=False,
)
FAILBACK = JobKind(
    "failback",
    "recoveryInstanceID",
    "LAUNCH",
    frozenset({"FAILBACK"}),
    "LAUNCHED",
    tagged=True,
    requeue_missing=True,
)
KINDS = {kind.name: kind for kind in (LAUNCH, TERMINATE, FAILBACK)}


@dataclass
class Outcome:
    item: str
    status: str  # RUNNING | SUCCEEDED | FAILED
    final: bool
    job_id: str | None = None
    recovery_instance_id: str | None = None
    error: str | None = None
    launch_status: str | None = None


# start(drs client, items, tags) -> the job description StartRecovery & co. return
Starter = Callable[[Any, list[str], dict[str, str]], dict[str, Any]]


def new_runner_state(
    kind: JobKind, key: str, limits: Limits, batches: Iterable[list[str]]
) -> dict[str, Any]:
    pending = [{"n": n, "items": list(items)} for n, items in enumerate(batches) if items]
    return {
        "kind": kind.name,
        "key": key,
        "limits": limits.to_dict(),
        "next": len(pending),
        "pending": pending,
        "active": {},
    }


def add_batches(state: dict[str, Any], items: list[str]) -> None:
    """Queue more items (in batches sized to the limits)."""
    limits = Limits.from_dict(state["limits"])
    for batch in chunks(items, limits.batch_size):
        state["pending"].append({"n": state["next"], "items": batch})
        state["next"] += 1


def launch_result_awaits(
    runner: dict[str, Any], results: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The launch jobs still to finish, as ``{"key", "expect"}`` for event-driven completion:
    DRS sends one "DRS Source Server Launch Result" per participating server, so a job's
    results are complete when each of its servers has one. Servers already finished
    without a launch status (never taken into the job) send none and are not counted."""
    if runner.get("kind") != LAUNCH.name:
        return []
    found = []
    for job_id, entry in sorted((runner.get("active") or {}).items()):
        items = entry.get("items") or []
        unfinished = [item for item in items if item not in results]
        if not unfinished:
            continue  # its results are in: the job's COMPLETED status is a poll away
        launched = [i for i in items if i in results and results[i].get("launchStatus")]
        found.append({"key": drs_job_key(job_id), "expect": len(unfinished) + len(launched)})
    return found


def describe_jobs(
    drs: Any, job_ids: list[str] | None = None, since: float | None = None
) -> list[dict[str, Any]]:
    """The account's jobs (``job_ids`` None; created at or after ``since``, epoch seconds,
    when given) or the given ones, every page."""
    paginator = drs.get_paginator("describe_jobs")
    if job_ids is None:
        filters = {}
        if since is not None:
            filters["fromDate"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))
        return [
            job for page in paginator.paginate(filters=filters) for job in page.get("items", [])
        ]
    found: list[dict[str, Any]] = []
    for part in chunks(job_ids, DESCRIBE_JOBS_MAX_IDS):
        for page in paginator.paginate(filters={"jobIDs": part}):
            found.extend(page.get("items", []))
    return found


class JobRunner:
    def __init__(
        self, ctx: AccountContext, drs: Any, state: dict[str, Any], starter: Starter | None
    ) -> None:
        self.ctx = ctx
        self.drs = drs
        self.state = state
        self.kind = KINDS[state["kind"]]
        self.limits = Limits.from_dict(state["limits"])
        self.starter = starter

    @property
    def finished(self) -> bool:
        return not self.state["pending"] and not self.state["active"]

    def queued_items(self) -> set[str]:
        return {item for batch in self.state["pending"] for item in batch["items"]}

    def tag_for(self, batch: dict[str, Any]) -> str:
        key = self.state["key"]
        if len(key) > MAX_KEY_IN_TAG:  # DRS tag values hold 256 characters
            key = key[:40] + "-" + hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"{key}-{batch['n']}"

    # --- one step -------------------------------------------------------------------
    def advance(self, known: set[str] | None = None) -> list[Outcome]:
        """Outcomes of items in active jobs (skipping ``known`` ones) and of items
        refused at start; starts the queued batches that fit."""
        known = known or set()
        outcomes: list[Outcome] = []
        listing: list[dict[str, Any]] | None = None
        try:
            if self.state["pending"]:
                since = self.ctx.now - JOB_LOOKBACK_SECONDS if self.ctx.now is not None else None
                listing = describe_jobs(self.drs, since=since)
                jobs = {job["jobID"]: job for job in listing}
            else:
                jobs = {
                    job["jobID"]: job for job in describe_jobs(self.drs, list(self.state["active"]))
                }
        except ClientError as error:
            raise_if_fatal(error, self.ctx, "describing DRS jobs")
            raise
        for job_id in list(self.state["active"]):
            outcomes.extend(self._follow(job_id, jobs.get(job_id), known))
        if self.state["pending"] and listing is not None:
            outcomes.extend(self._start_pending(listing))
        return outcomes

    # --- following ------------------------------------------------------------------
    def _follow(self, job_id: str, job: dict[str, Any] | None, known: set[str]) -> list[Outcome]:
        entry = self.state["active"][job_id]
        items = [item for item in entry["items"] if item not in known]
        if job is None:
            del self.state["active"][job_id]
            return [
                Outcome(item, FAILED, True, job_id, error=f"DRS job {job_id} no longer exists")
                for item in items
            ]
        completed = job.get("status") == "COMPLETED"
        participants = {
            p.get(self.kind.item_key): p for p in job.get("participatingServers", []) if p
        }
        outcomes = []
        needs_reason = []
        for item in items:
            participant = participants.get(item)
            launch_status = participant.get("launchStatus") if participant else None
            recovery_id = participant.get("recoveryInstanceID") if participant else None
            if launch_status == self.kind.success:
                outcomes.append(
                    Outcome(item, SUCCEEDED, True, job_id, recovery_id, launch_status=launch_status)
                )
            elif launch_status == "FAILED" or (
                completed or (participant is None and job.get("status") != "PENDING")
            ):
                needs_reason.append(item)
                outcomes.append(
                    Outcome(item, FAILED, True, job_id, recovery_id, launch_status=launch_status)
                )
            else:
                outcomes.append(
                    Outcome(item, RUNNING, False, job_id, recovery_id, launch_status=launch_status)
                )
        if needs_reason:
            reasons = self._reasons(job, participants)
            for outcome in outcomes:
                if outcome.item in needs_reason:
                    outcome.error = reasons.get(outcome.item) or self._default_reason(outcome, job)
        if completed:
            del self.state["active"][job_id]
        return outcomes

    def _default_reason(self, outcome: Outcome, job: dict[str, Any]) -> str:
        if outcome.launch_status is None:
            return f"not taken into DRS job {job['jobID']}"
        return f"DRS job {job['jobID']} ended with launch status {outcome.launch_status}"

    def _reasons(self, job: dict[str, Any], participants: dict[str, Any]) -> dict[str, str]:
        """item -> the job log's error for it (DescribeJobLogItems)."""
        by_server: dict[str, str] = {}
        try:
            paginator = self.drs.get_paginator("describe_job_log_items")
            for page in paginator.paginate(jobID=job["jobID"]):
                for entry in page.get("items", []):
                    data = entry.get("eventData") or {}
                    server = data.get("sourceServerID")
                    if server and entry.get("event") in FAILURE_EVENTS:
                        by_server[server] = data.get("rawError") or entry["event"]
        except ClientError as error:
            raise_if_fatal(error, self.ctx, "reading a DRS job log")
            return {}
        if self.kind.item_key == "sourceServerID":
            return by_server
        reasons = {}
        for item, participant in participants.items():
            reason = by_server.get(participant.get("sourceServerID", ""))
            if reason:
                reasons[item] = reason
        return reasons

    # --- starting -------------------------------------------------------------------
    def _adopt(
        self, listing: list[dict[str, Any]], batch: dict[str, Any]
    ) -> list[tuple[str, list[str]]]:
        """Jobs an earlier call already started for this batch: (job id, items)."""
        mine = [job for job in listing if self.kind.owns(job)]
        if self.kind.tagged:
            tag = self.tag_for(batch)
            for job in mine:
                if self._tags(job).get(IDEMPOTENCY_TAG) == tag:
                    taken = {p.get(self.kind.item_key) for p in job.get("participatingServers", [])}
                    items = batch["items"]
                    if self.kind.requeue_missing:
                        items = [item for item in items if item in taken]
                    return [(job["jobID"], items)]
            return []
        # untagged (terminate): a job holding these items that is running or succeeded
        adopted: dict[str, list[str]] = {}
        wanted = set(batch["items"])
        for job in mine:
            for participant in job.get("participatingServers", []):
                item = participant.get(self.kind.item_key)
                if item not in wanted:
                    continue
                if (
                    job.get("status") != "COMPLETED"
                    or participant.get("launchStatus") == self.kind.success
                ):
                    adopted.setdefault(job["jobID"], []).append(item)
                    wanted.discard(item)
        return list(adopted.items())

    def _tags(self, job: dict[str, Any]) -> dict[str, str]:
        if "tags" in job:
            return job.get("tags") or {}
        try:
            return self.drs.list_tags_for_resource(resourceArn=job["arn"]).get("tags", {})
        except ClientError as error:
            raise_if_fatal(error, self.ctx, "reading DRS job tags")
            return {}

    def _start_pending(self, listing: list[dict[str, Any]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        active = [job for job in listing if job.get("status") != "COMPLETED"]
        jobs_active = len(active)
        servers_active = sum(len(job.get("participatingServers", [])) for job in active)
        pending = self.state["pending"]
        while pending:
            batch = pending[0]
            adopted = self._adopt(listing, batch)
            if adopted:  # an earlier, interrupted call started it: follow that job
                leftover = list(batch["items"])
                for job_id, items in adopted:
                    self.state["active"][job_id] = {"n": batch["n"], "items": items}
                    leftover = [item for item in leftover if item not in items]
                pending.pop(0)
                if leftover:
                    pending.append({"n": self.state["next"], "items": leftover})
                    self.state["next"] += 1
                continue
            if (
                jobs_active >= self.limits.concurrent_jobs
                or servers_active + len(batch["items"]) > self.limits.servers_in_active_jobs
            ):
                break
            started, refused, quota = self._start(batch)
            outcomes.extend(refused)
            if quota is not None:
                if jobs_active == 0 and not self.state["active"]:
                    raise ModuleError(
                        f"DRS refused a job of {len(batch['items'])} in account "
                        f"{self.ctx.account_id} with nothing else running: {quota}; lower the "
                        "module parameters maxServersPerJob / maxServersInActiveJobs to the "
                        "account's DRS quotas"
                    )
                break
            pending.pop(0)
            if started is not None:
                taken = [p.get(self.kind.item_key) for p in started.get("participatingServers", [])]
                self.state["active"][started["jobID"]] = {
                    "n": batch["n"],
                    "items": [
                        item for item in batch["items"] if item not in {o.item for o in refused}
                    ],
                }
                jobs_active += 1
                servers_active += len(taken) or len(batch["items"])
        return outcomes

    def _start(
        self, batch: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[Outcome], str | None]:
        """Start one batch: (job, items refused with a conflict, quota message)."""
        assert self.starter is not None, "this runner cannot start jobs"
        items = list(batch["items"])
        refused: list[Outcome] = []
        tags = {IDEMPOTENCY_TAG: self.tag_for(batch)} if self.kind.tagged else {}
        while items:
            try:
                return self.starter(self.drs, items, tags), refused, None
            except ClientError as error:
                raise_if_fatal(error, self.ctx, f"starting a DRS {self.kind.name} job")
                kind = classify(error)
                if kind == "quota":
                    return None, refused, error_message(error)
                if kind != "conflict":
                    raise ModuleError(
                        f"DRS refused a {self.kind.name} job in account {self.ctx.account_id}: "
                        f"{error_message(error)}"
                    ) from error
                culprit = error.response.get("resourceId")
                if culprit in items:
                    refused.append(Outcome(culprit, FAILED, True, error=error_message(error)))
                    items.remove(culprit)
                else:  # cannot tell which one: the whole batch is refused
                    refused.extend(
                        Outcome(item, FAILED, True, error=error_message(error)) for item in items
                    )
                    items = []
        return None, refused, None
