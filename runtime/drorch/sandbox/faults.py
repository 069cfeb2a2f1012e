"""Fault injection for the sandbox.

Two families of faults:

* **wire faults** (throttling bursts, access denied) answer a matching request
  with the service's own error response before the fake sees it, so botocore's
  retry logic and the product's error handling run exactly as against AWS;
* **behavioural faults** (a named server fails to launch, a job fails, jobs are
  slow) are consulted by the DRS fake while it simulates work.

Every rule can be scoped to an account and/or region and limited to a number of
occurrences (``times``); ``times=None`` means "until cleared".
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from drorch.sandbox.botocore_models import service_id


@dataclass
class _Rule:
    account: str | None = None
    region: str | None = None
    times: int | None = None
    hits: int = 0

    def matches_scope(self, account: str | None, region: str | None) -> bool:
        return (self.account is None or self.account == account) and (
            self.region is None or self.region == region
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass
class WireFault(_Rule):
    kind: str = "throttle"  # "throttle" | "access_denied"
    service: str = ""  # botocore service id; declared with the client name ("drs", "ec2", ...)
    operation: str | None = None  # e.g. "StartRecovery"; None = every operation
    message: str | None = None


@dataclass
class LaunchFailure(_Rule):
    server: str = ""  # source server id or hostname
    reason: str = "Failed to launch recovery instance: simulated failure"


@dataclass
class JobFailure(_Rule):
    job_type: str | None = None  # LAUNCH | TERMINATE | CREATE_CONVERTED_SNAPSHOT; None = any
    reason: str = "Job failed: simulated failure"


@dataclass
class SlowJobs(_Rule):
    factor: float = 10.0


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.wire: list[WireFault] = []
        self.launch_failures: list[LaunchFailure] = []
        self.job_failures: list[JobFailure] = []
        self.slow: list[SlowJobs] = []
        self.calls: Counter[tuple[str, str, str, str]] = Counter()

    # --- declaring faults -------------------------------------------------
    def throttle(
        self,
        service: str,
        operation: str | None = None,
        *,
        times: int | None = 3,
        account: str | None = None,
        region: str | None = None,
    ) -> WireFault:
        """Answer the next ``times`` matching calls with the service's throttling error."""
        return self._add_wire("throttle", service, operation, times, account, region)

    def deny(
        self,
        service: str,
        operation: str | None = None,
        *,
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> WireFault:
        """Answer matching calls with the service's access-denied error."""
        return self._add_wire("access_denied", service, operation, times, account, region)

    def _add_wire(self, kind, service, operation, times, account, region) -> WireFault:
        rule = WireFault(
            kind=kind,
            service=service_id(service),
            operation=operation,
            times=times,
            account=account,
            region=region,
        )
        with self._lock:
            self.wire.append(rule)
        return rule

    def fail_launch(
        self,
        server: str,
        *,
        reason: str | None = None,
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> LaunchFailure:
        """Make the recovery launch of one source server (id or hostname) fail."""
        rule = LaunchFailure(server=server, times=times, account=account, region=region)
        if reason:
            rule.reason = reason
        with self._lock:
            self.launch_failures.append(rule)
        return rule

    def fail_job(
        self,
        job_type: str | None = "LAUNCH",
        *,
        reason: str | None = None,
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> JobFailure:
        """Make the next ``times`` DRS jobs of ``job_type`` fail as a whole."""
        rule = JobFailure(job_type=job_type, times=times, account=account, region=region)
        if reason:
            rule.reason = reason
        with self._lock:
            self.job_failures.append(rule)
        return rule

    def slow_jobs(
        self, factor: float = 10.0, *, account: str | None = None, region: str | None = None
    ) -> SlowJobs:
        """Make DRS jobs take ``factor`` times longer (simulated time)."""
        if factor <= 0:
            raise ValueError("slow_jobs factor must be > 0")
        rule = SlowJobs(factor=factor, account=account, region=region)
        with self._lock:
            self.slow.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.wire.clear()
            self.launch_failures.clear()
            self.job_failures.clear()
            self.slow.clear()

    # --- consulted by the wire interceptor ---------------------------------
    def take_wire_fault(
        self, service: str, operation: str, account: str | None, region: str | None
    ) -> WireFault | None:
        with self._lock:
            for rule in self.wire:
                if rule.exhausted or rule.service != service:
                    continue
                if rule.operation not in (None, operation):
                    continue
                if not rule.matches_scope(account, region):
                    continue
                rule.hits += 1
                return rule
        return None

    def record_call(self, service: str, operation: str, account: str, region: str) -> None:
        with self._lock:
            self.calls[(service, operation, account, region)] += 1

    def call_count(
        self,
        service: str | None = None,
        operation: str | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> int:
        with self._lock:
            return sum(
                n
                for (s, o, a, r), n in self.calls.items()
                if service in (None, s)
                and operation in (None, o)
                and account in (None, a)
                and region in (None, r)
            )

    # --- consulted by the DRS fake -----------------------------------------
    def launch_failure_for(
        self, account: str, region: str, source_server_id: str, hostname: str | None
    ) -> str | None:
        """Reason the launch of this server must fail, or None (consumes one hit)."""
        with self._lock:
            for rule in self.launch_failures:
                if rule.exhausted or not rule.matches_scope(account, region):
                    continue
                if rule.server in (source_server_id, hostname):
                    rule.hits += 1
                    return rule.reason
        return None

    def job_failure_for(self, account: str, region: str, job_type: str) -> str | None:
        """Reason a new job of this type must fail, or None (consumes one hit)."""
        with self._lock:
            for rule in self.job_failures:
                if rule.exhausted or not rule.matches_scope(account, region):
                    continue
                if rule.job_type in (None, job_type):
                    rule.hits += 1
                    return rule.reason
        return None

    def slowdown_for(self, account: str, region: str) -> float:
        """Multiplier for the duration of DRS work in this account/region."""
        factor = 1.0
        with self._lock:
            for rule in self.slow:
                if rule.matches_scope(account, region):
                    factor *= rule.factor
        return factor
