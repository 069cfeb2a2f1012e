"""Fault injection for the sandbox.

Two families of faults:

* **wire faults** (throttling bursts, access denied) answer a matching request
  with the service's own error response before the fake sees it, so botocore's
  retry logic and the product's error handling run exactly as against AWS;
* **behavioural faults** are consulted by the fakes while they simulate work: a
  named DRS server fails to launch, a job fails, jobs are slow; an SSM Automation
  of a named document fails or is slow; a Run Command fails on a named instance;
  a Lambda function of a staging account fails; an HTTP(S) URL answers an error,
  refuses connections or is slow.

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
    kind: str = "throttle"  # "throttle" | "access_denied" | "unreachable" (a gone region)
    service: str = ""  # botocore service id; declared with the client name ("drs", "ec2", ...)
    operation: str | None = None  # e.g. "StartRecovery"; None = every operation
    message: str | None = None


@dataclass
class LaunchFailure(_Rule):
    server: str = ""  # source server id or hostname
    reason: str = "Failed to launch recovery instance: simulated failure"


@dataclass
class ReplicationLag(_Rule):
    """A DRS source server whose continuous replication falls behind (a slow link, a write
    burst): ``dataReplicationInfo.lagDuration`` reports ``seconds``; its state is unchanged."""

    server: str = ""  # source server id or hostname
    seconds: float = 0.0


@dataclass
class JobFailure(_Rule):
    job_type: str | None = None  # LAUNCH | TERMINATE | CREATE_CONVERTED_SNAPSHOT; None = any
    reason: str = "Job failed: simulated failure"


@dataclass
class DroppedEvents(_Rule):
    source: str | None = None  # "aws.drs", "aws.rds"; None = every service
    detail_type: str | None = None  # None = every event of the source


@dataclass
class SlowJobs(_Rule):
    factor: float = 10.0


@dataclass
class AutomationFailure(_Rule):
    document: str = ""
    step: str | None = None  # the step that fails; None = the last one
    reason: str = "simulated failure"


@dataclass
class SlowAutomation(_Rule):
    document: str | None = None  # None = every document
    factor: float = 10.0


@dataclass
class CommandFailure(_Rule):
    instance: str = ""  # instance id or Name tag
    document: str | None = None  # None = any document
    exit_code: int = 1
    stdout: str = ""
    stderr: str = "simulated failure"


@dataclass
class SlowCommands(_Rule):
    document: str | None = None
    factor: float = 10.0


@dataclass
class FunctionFailure(_Rule):
    function: str = ""  # function name or ARN
    message: str = "simulated failure"
    error_type: str = "Exception"


@dataclass
class UrlFailure(_Rule):
    url: str = ""
    status: int | None = 503  # None: the connection is refused
    body: str = ""


@dataclass
class SlowUrl(_Rule):
    url: str = ""
    seconds: float = 30.0


@dataclass
class DatastoreFailoverFailure(_Rule):
    """An ElastiCache global datastore failover that ends without promoting anything."""

    datastore: str | None = None  # global replication group id; None = any
    reason: str = "Failover of the global datastore failed: simulated failure"


@dataclass
class GlobalReplicationLag(_Rule):
    """Cross-region replication of a global table or global datastore that falls behind."""

    service: str = ""  # "dynamodb" or "elasticache"
    resource: str = ""  # table name, global datastore id or replication group id
    seconds: float = 600.0


@dataclass
class MemoryDbRestoreFailure(_Rule):
    """A MemoryDB cluster restored from a snapshot that ends in create-failed."""

    cluster: str | None = None  # the new cluster's name; None = any restore
    reason: str = "Restore from the snapshot failed: simulated failure"


@dataclass
class RdsFailoverFailure(_Rule):
    """An RDS or Aurora role change that is accepted and then does not happen: a global
    database switchover or failover that is cancelled, a read replica promotion that ends
    with the instance still a replica, a reboot with failover that comes back in the same
    Availability Zone."""

    resource: str = ""  # DB cluster or DB instance identifier or ARN (the target)
    reason: str = "simulated failure"


@dataclass
class RdsReplicationLag(_Rule):
    """An Aurora global database secondary or an RDS read replica that falls behind, as its
    CloudWatch metric (AuroraGlobalDBReplicationLag, ReplicaLag) reports it."""

    resource: str = ""  # the secondary DB cluster's or read replica's identifier or ARN
    seconds: float = 600.0


@dataclass
class SlowRds(_Rule):
    factor: float = 10.0


# the attributes the modules' fault blocks (at the end of FaultPlan) create on first use
LAZY_RULES = (
    "storage_faults",
    "serverless_faults",
    "compute_faults",
    "_dns_arc",
    "capacity_faults",
)


def _normal_url(url: str) -> str:
    return url.rstrip("/").lower()


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.wire: list[WireFault] = []
        self.launch_failures: list[LaunchFailure] = []
        self.replication_lags: list[ReplicationLag] = []
        self.job_failures: list[JobFailure] = []
        self.slow: list[SlowJobs] = []
        self.dropped_events: list[DroppedEvents] = []
        self.automation_failures: list[AutomationFailure] = []
        self.slow_automations: list[SlowAutomation] = []
        self.command_failures: list[CommandFailure] = []
        self.slow_command_rules: list[SlowCommands] = []
        self.function_failures: list[FunctionFailure] = []
        self.url_failures: list[UrlFailure] = []
        self.slow_urls: list[SlowUrl] = []
        self.datastore_failover_failures: list[DatastoreFailoverFailure] = []
        self.global_replication_lags: list[GlobalReplicationLag] = []
        self.memorydb_restore_failures: list[MemoryDbRestoreFailure] = []
        self.rds_failover_failures: list[RdsFailoverFailure] = []
        self.rds_replication_lags: list[RdsReplicationLag] = []
        self.slow_rds_rules: list[SlowRds] = []
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

    def blackhole_region(self, region: str, *, account: str | None = None) -> WireFault:
        """The region is gone: every call to it, of every service (in ``account``, or
        any), fails as unreachable (botocore's ``EndpointConnectionError``, after its
        retries), until cleared."""
        rule = WireFault(kind="unreachable", service="*", region=region, account=account)
        with self._lock:
            self.wire.append(rule)
        return rule

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

    def lag_replication(
        self,
        server: str,
        seconds: float,
        *,
        account: str | None = None,
        region: str | None = None,
    ) -> ReplicationLag:
        """Make one DRS source server (id or hostname) that replicates continuously report
        its data ``seconds`` behind (``lagDuration``, an ISO 8601 duration), until cleared."""
        _positive(seconds, "lag_replication")
        rule = ReplicationLag(server=server, seconds=seconds, account=account, region=region)
        return self._add(self.replication_lags, rule)

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

    def drop_events(
        self,
        source: str | None = None,
        detail_type: str | None = None,
        *,
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> DroppedEvents:
        """Lose the events a service sends to EventBridge (``source``: ``aws.drs``; all
        when None) before any rule sees them: EventBridge delivers on a best-effort basis."""
        return self._add(
            self.dropped_events,
            DroppedEvents(
                source=source, detail_type=detail_type, times=times, account=account, region=region
            ),
        )

    def fail_automation(
        self,
        document: str,
        *,
        step: str | None = None,
        reason: str | None = None,
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> AutomationFailure:
        """Make Automation executions of ``document`` fail at ``step`` (default: the
        last step), with ``reason`` in the FailureMessage."""
        rule = AutomationFailure(
            document=document, step=step, times=times, account=account, region=region
        )
        if reason:
            rule.reason = reason
        return self._add(self.automation_failures, rule)

    def slow_automation(
        self,
        factor: float = 10.0,
        *,
        document: str | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> SlowAutomation:
        """Make the steps of Automation executions (of ``document``, or all) take ``factor``
        times longer; a step that then outlasts its ``timeoutSeconds`` times out."""
        _positive(factor, "slow_automation")
        rule = SlowAutomation(document=document, factor=factor, account=account, region=region)
        return self._add(self.slow_automations, rule)

    def fail_command(
        self,
        instance: str,
        *,
        document: str | None = None,
        exit_code: int = 1,
        stderr: str | None = None,
        stdout: str = "",
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> CommandFailure:
        """Make Run Command invocations on ``instance`` (id or Name tag) fail with
        ``exit_code`` and ``stderr`` as the StandardErrorContent."""
        if exit_code == 0:
            raise ValueError("a failed command has a non-zero exit code")
        rule = CommandFailure(
            instance=instance,
            document=document,
            exit_code=exit_code,
            stdout=stdout,
            times=times,
            account=account,
            region=region,
        )
        if stderr is not None:
            rule.stderr = stderr
        return self._add(self.command_failures, rule)

    def slow_commands(
        self,
        factor: float = 10.0,
        *,
        document: str | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> SlowCommands:
        """Make Run Command invocations take ``factor`` times longer (they time out past
        the document's ``executionTimeout``)."""
        _positive(factor, "slow_commands")
        rule = SlowCommands(document=document, factor=factor, account=account, region=region)
        return self._add(self.slow_command_rules, rule)

    def fail_function(
        self,
        function: str,
        *,
        message: str | None = None,
        error_type: str = "Exception",
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> FunctionFailure:
        """Make invocations of a staging account's Lambda function (name or ARN) fail as an
        unhandled error (``X-Amz-Function-Error: Unhandled``)."""
        rule = FunctionFailure(
            function=function, error_type=error_type, times=times, account=account, region=region
        )
        if message:
            rule.message = message
        return self._add(self.function_failures, rule)

    def fail_url(
        self,
        url: str,
        *,
        status: int | None = 503,
        body: str = "",
        times: int | None = None,
    ) -> UrlFailure:
        """Make an HTTP(S) URL answer ``status`` (or refuse connections: ``status=None``)."""
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"fail_url: {status} is not an HTTP status code")
        return self._add(
            self.url_failures, UrlFailure(url=url, status=status, body=body, times=times)
        )

    def slow_url(self, url: str, seconds: float, *, times: int | None = None) -> SlowUrl:
        """Make an HTTP(S) URL answer ``seconds`` (simulated) later; past the caller's
        timeout, the caller times out."""
        _positive(seconds, "slow_url")
        return self._add(self.slow_urls, SlowUrl(url=url, seconds=seconds, times=times))

    def _add(self, rules: list, rule):  # type: ignore[no-untyped-def]
        with self._lock:
            rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.wire.clear()
            self.launch_failures.clear()
            self.replication_lags.clear()
            self.job_failures.clear()
            self.slow.clear()
            self.dropped_events.clear()
            self.automation_failures.clear()
            self.slow_automations.clear()
            self.command_failures.clear()
            self.slow_command_rules.clear()
            self.function_failures.clear()
            self.url_failures.clear()
            self.slow_urls.clear()
            self.datastore_failover_failures.clear()
            self.global_replication_lags.clear()
            self.memorydb_restore_failures.clear()
            self.rds_failover_failures.clear()
            self.rds_replication_lags.clear()
            self.slow_rds_rules.clear()
            # the modules' rules, made on first use by their blocks below
            for key in LAZY_RULES:
                self.__dict__.pop(key, None)

    # --- consulted by the wire interceptor ---------------------------------
    def take_wire_fault(
        self, service: str, operation: str, account: str | None, region: str | None
    ) -> WireFault | None:
        with self._lock:
            for rule in self.wire:
                if rule.exhausted or rule.service not in (service, "*"):
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

    def replication_lag_for(
        self, account: str, region: str, source_server_id: str, hostname: str | None
    ) -> float | None:
        """The injected replication lag (seconds) of this server, or None (nothing consumed)."""
        rule = self._take(
            self.replication_lags,
            account,
            region,
            lambda r: r.server in (source_server_id, hostname),
            False,
        )
        return rule.seconds if rule is not None else None

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

    def event_dropped_for(self, account: str, region: str, source: str, detail_type: str) -> bool:
        """Whether this service event is lost (consumes one hit)."""
        rule = self._take(
            self.dropped_events,
            account,
            region,
            lambda r: r.source in (None, source) and r.detail_type in (None, detail_type),
        )
        return rule is not None

    def slowdown_for(self, account: str, region: str) -> float:
        """Multiplier for the duration of DRS work in this account/region."""
        factor = 1.0
        with self._lock:
            for rule in self.slow:
                if rule.matches_scope(account, region):
                    factor *= rule.factor
        return factor

    # --- consulted by the step extensions (SSM, Lambda, HTTP) ------------------
    def automation_failure_for(
        self, account: str, region: str, document: str
    ) -> AutomationFailure | None:
        """The failure a new execution of ``document`` must have, or None (consumes a hit)."""
        return self._take(
            self.automation_failures, account, region, lambda r: r.document == document
        )

    def automation_slowdown_for(self, account: str, region: str, document: str) -> float:
        return self._factor(
            self.slow_automations, account, region, lambda r: r.document in (None, document)
        )

    def command_failure_for(
        self, account: str, region: str, instance_id: str, name: str | None, document: str
    ) -> CommandFailure | None:
        """The failure of a new invocation on this instance, or None (consumes a hit)."""
        return self._take(
            self.command_failures,
            account,
            region,
            lambda r: r.instance in (instance_id, name) and r.document in (None, document),
        )

    def command_slowdown_for(self, account: str, region: str, document: str) -> float:
        return self._factor(
            self.slow_command_rules, account, region, lambda r: r.document in (None, document)
        )

    def function_failure_for(
        self, account: str, region: str, name: str, arn: str
    ) -> FunctionFailure | None:
        """The failure of this invocation of a function, or None (consumes a hit)."""
        return self._take(
            self.function_failures, account, region, lambda r: r.function in (name, arn)
        )

    def url_failure_for(self, url: str, *, consume: bool = True) -> UrlFailure | None:
        """How a request to ``url`` must fail, or None (consumes a hit unless told not to:
        an observer such as a Route 53 health checker only looks)."""
        wanted = _normal_url(url)
        return self._take(
            self.url_failures, None, None, lambda r: _normal_url(r.url) == wanted, consume
        )

    def url_delay(self, url: str) -> float:
        """Extra seconds before ``url`` answers, without consuming anything."""
        wanted = _normal_url(url)
        with self._lock:
            return sum(
                r.seconds
                for r in self.slow_urls
                if not r.exhausted and _normal_url(r.url) == wanted
            )

    def url_delay_for(self, url: str) -> float:
        """Extra seconds before ``url`` answers (consumes a hit of each matching rule)."""
        wanted = _normal_url(url)
        delay = 0.0
        with self._lock:
            for rule in self.slow_urls:
                if not rule.exhausted and _normal_url(rule.url) == wanted:
                    rule.hits += 1
                    delay += rule.seconds
        return delay

    def _take(self, rules, account, region, matches, consume=True):  # type: ignore[no-untyped-def]
        with self._lock:
            for rule in rules:
                if rule.exhausted or not rule.matches_scope(account, region):
                    continue
                if matches(rule):
                    if consume:
                        rule.hits += 1
                    return rule
        return None

    def _factor(self, rules, account, region, matches) -> float:  # type: ignore[no-untyped-def]
        factor = 1.0
        with self._lock:
            for rule in rules:
                if rule.matches_scope(account, region) and matches(rule):
                    factor *= rule.factor
        return factor

    # --- data tier: ElastiCache global datastores, DynamoDB global tables, MemoryDB ---------
    def fail_datastore_failover(
        self,
        datastore: str | None = None,
        *,
        reason: str | None = None,
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> DatastoreFailoverFailure:
        """Make the next ``times`` FailoverGlobalReplicationGroup calls (of ``datastore``, or
        any) be accepted, then end with the old primary still primary."""
        rule = DatastoreFailoverFailure(
            datastore=datastore, times=times, account=account, region=region
        )
        if reason:
            rule.reason = reason
        return self._add(self.datastore_failover_failures, rule)

    def lag_global_replication(
        self,
        service: str,
        resource: str,
        seconds: float,
        *,
        account: str | None = None,
        region: str | None = None,
    ) -> GlobalReplicationLag:
        """Make the cross-region replication of ``resource`` (a DynamoDB global table, or an
        ElastiCache global datastore or its replication group) ``seconds`` behind, as its
        CloudWatch metric reports it (``region``: where the replica that lags is)."""
        if service not in ("dynamodb", "elasticache"):
            raise ValueError(f"lag_global_replication: unknown service {service!r}")
        _positive(seconds, "lag_global_replication")
        rule = GlobalReplicationLag(
            service=service, resource=resource, seconds=seconds, account=account, region=region
        )
        return self._add(self.global_replication_lags, rule)

    def fail_memorydb_restore(
        self,
        cluster: str | None = None,
        *,
        reason: str | None = None,
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> MemoryDbRestoreFailure:
        """Make the next ``times`` MemoryDB clusters created from a snapshot (named
        ``cluster``, or any) end in ``create-failed``."""
        rule = MemoryDbRestoreFailure(cluster=cluster, times=times, account=account, region=region)
        if reason:
            rule.reason = reason
        return self._add(self.memorydb_restore_failures, rule)

    def datastore_failover_failure_for(
        self, account: str, region: str, datastore: str
    ) -> DatastoreFailoverFailure | None:
        """How a new failover of ``datastore`` must fail, or None (consumes a hit)."""
        return self._take(
            self.datastore_failover_failures,
            account,
            region,
            lambda r: r.datastore in (None, datastore),
        )

    def global_replication_lag_for(
        self, service: str, account: str, region: str, resources: tuple[str, ...]
    ) -> float | None:
        """The injected lag (seconds) of any of ``resources``, or None; nothing is consumed."""
        rule = self._take(
            self.global_replication_lags,
            account,
            region,
            lambda r: r.service == service and r.resource in resources,
            False,
        )
        return rule.seconds if rule is not None else None

    def memorydb_restore_failure_for(
        self, account: str, region: str, cluster: str
    ) -> MemoryDbRestoreFailure | None:
        """How a new restore into ``cluster`` must fail, or None (consumes a hit)."""
        return self._take(
            self.memorydb_restore_failures, account, region, lambda r: r.cluster in (None, cluster)
        )

    # --- data tier: Aurora global databases and RDS instances -------------------------------
    def fail_rds_failover(
        self,
        resource: str,
        *,
        reason: str | None = None,
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> RdsFailoverFailure:
        """Make the next ``times`` role changes towards ``resource`` (a DB cluster or DB
        instance identifier or ARN) be accepted and then not happen: an Aurora global
        switchover or failover is cancelled (FailoverState ``cancelling``, then the old
        writer stays the writer), a PromoteReadReplica leaves a read replica, a reboot with
        failover comes back in the same Availability Zone."""
        rule = RdsFailoverFailure(resource=resource, times=times, account=account, region=region)
        if reason:
            rule.reason = reason
        return self._add(self.rds_failover_failures, rule)

    def lag_rds_replication(
        self,
        resource: str,
        seconds: float,
        *,
        account: str | None = None,
        region: str | None = None,
    ) -> RdsReplicationLag:
        """Make an Aurora global secondary cluster or an RDS read replica (identifier or ARN)
        ``seconds`` behind its source, as CloudWatch reports it (``region``: the lagging
        copy's region)."""
        _positive(seconds, "lag_rds_replication")
        rule = RdsReplicationLag(resource=resource, seconds=seconds, account=account, region=region)
        return self._add(self.rds_replication_lags, rule)

    def slow_rds(
        self, factor: float = 10.0, *, account: str | None = None, region: str | None = None
    ) -> SlowRds:
        """Make simulated RDS work (creating, restoring, promoting, switching over) take
        ``factor`` times longer."""
        _positive(factor, "slow_rds")
        return self._add(
            self.slow_rds_rules, SlowRds(factor=factor, account=account, region=region)
        )

    def rds_failover_failure_for(
        self, account: str, region: str, resources: tuple[str, ...]
    ) -> RdsFailoverFailure | None:
        """How a new role change towards any of ``resources`` must fail, or None (consumes a
        hit)."""
        return self._take(
            self.rds_failover_failures, account, region, lambda r: r.resource in resources
        )

    def rds_replication_lag_for(
        self, account: str, region: str, resources: tuple[str, ...]
    ) -> float | None:
        """The injected lag (seconds) of any of ``resources``, or None; nothing is consumed."""
        rule = self._take(
            self.rds_replication_lags,
            account,
            region,
            lambda r: r.resource in resources,
            False,
        )
        return rule.seconds if rule is not None else None

    def rds_slowdown_for(self, account: str, region: str) -> float:
        """Multiplier for the duration of simulated RDS work in this account and region."""
        return self._factor(self.slow_rds_rules, account, region, lambda r: True)

    # --- efs-replication, fsx ---
    @dataclass
    class StorageFault(_Rule):
        """An EFS replication or an FSx restore that goes wrong (``kind``): ``efs-error``
        (the replication reports ERROR), ``efs-stuck-delete`` (a deleted replication stays
        DELETING), ``efs-lag`` (LastReplicatedTimestamp ``seconds`` behind), ``fsx-restore``
        (a file system created from a backup ends FAILED)."""

        kind: str = ""
        resource: str | None = None  # file system id (EFS: source or destination; FSx: backup)
        message: str = ""
        seconds: float = 0.0

    def _storage_faults(self) -> list[StorageFault]:
        # created on first use: FaultPlan.clear() does not know these rules, a new sandbox does
        return self.__dict__.setdefault("storage_faults", [])

    def fail_efs_replication(
        self,
        file_system: str,
        *,
        message: str = "Replication failed: simulated failure",
        account: str | None = None,
        region: str | None = None,
    ) -> StorageFault:
        """Make the EFS replication of ``file_system`` (its source or destination id) report
        ``ERROR`` with ``message`` until cleared."""
        rule = self.StorageFault(kind="efs-error", resource=file_system, message=message)
        rule.account, rule.region = account, region
        return self._add(self._storage_faults(), rule)

    def stick_efs_replication_deletion(
        self, file_system: str, *, account: str | None = None, region: str | None = None
    ) -> StorageFault:
        """Make a deleted EFS replication of ``file_system`` stay ``DELETING`` until cleared."""
        rule = self.StorageFault(kind="efs-stuck-delete", resource=file_system)
        rule.account, rule.region = account, region
        return self._add(self._storage_faults(), rule)

    def lag_efs_replication(
        self,
        file_system: str,
        seconds: float,
        *,
        account: str | None = None,
        region: str | None = None,
    ) -> StorageFault:
        """Make the EFS replication of ``file_system`` ``seconds`` behind: its destination's
        LastReplicatedTimestamp is that long ago."""
        _positive(seconds, "lag_efs_replication")
        rule = self.StorageFault(kind="efs-lag", resource=file_system, seconds=seconds)
        rule.account, rule.region = account, region
        return self._add(self._storage_faults(), rule)

    def fail_fsx_restore(
        self,
        backup: str | None = None,
        *,
        message: str = "Restore from the backup failed: simulated failure",
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> StorageFault:
        """Make the next ``times`` FSx file systems created from ``backup`` (or any backup)
        end ``FAILED`` with ``FailureDetails.Message`` ``message``."""
        rule = self.StorageFault(kind="fsx-restore", resource=backup, message=message)
        rule.account, rule.region, rule.times = account, region, times
        return self._add(self._storage_faults(), rule)

    def storage_fault_for(
        self,
        kind: str,
        account: str,
        region: str,
        resources: tuple[str, ...],
        *,
        consume: bool = False,
    ) -> StorageFault | None:
        """The rule of ``kind`` for any of ``resources`` (None: any), or None."""
        return self._take(
            self._storage_faults(),
            account,
            region,
            lambda r: r.kind == kind and (r.resource is None or r.resource in resources),
            consume,
        )

    # --- lambda-function, eventbridge-rule, eventbridge-archive ---
    @dataclass
    class ServerlessFault(_Rule):
        """Lambda provisioned concurrency that ends ``FAILED`` (``kind`` ``provisioned``,
        ``resource`` the function name, ``qualifier`` its alias or version or None for
        any) or an EventBridge replay that ends ``FAILED`` (``kind`` ``replay``,
        ``resource`` the archive name); ``reason`` is the StatusReason / StateReason."""

        kind: str = ""
        resource: str = ""
        qualifier: str | None = None
        reason: str = ""

    def _serverless_faults(self) -> list[ServerlessFault]:
        # created on first use: FaultPlan.clear() does not know these rules, a new sandbox does
        return self.__dict__.setdefault("serverless_faults", [])

    def fail_provisioned_concurrency(
        self,
        function: str,
        *,
        reason: str = "FUNCTION_ERROR_INIT_FAILURE: simulated failure",
        qualifier: str | None = None,
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> ServerlessFault:
        """Make the next ``times`` provisioned concurrency configurations of ``function``
        (on ``qualifier``, or any) end ``FAILED`` with ``reason``."""
        rule = self.ServerlessFault(kind="provisioned", resource=function, qualifier=qualifier)
        rule.reason, rule.times, rule.account, rule.region = reason, times, account, region
        return self._add(self._serverless_faults(), rule)

    def fail_replay(
        self,
        archive: str,
        *,
        reason: str = "Replay failed: simulated failure",
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> ServerlessFault:
        """Make the next ``times`` replays from ``archive`` end ``FAILED`` with ``reason``."""
        rule = self.ServerlessFault(kind="replay", resource=archive)
        rule.reason, rule.times, rule.account, rule.region = reason, times, account, region
        return self._add(self._serverless_faults(), rule)

    def provisioned_concurrency_failure_for(
        self, account: str, region: str, function: str, qualifier: str
    ) -> str | None:
        """The StatusReason a new provisioned concurrency configuration must fail with, or
        None (consumes a hit)."""
        rule = self._take(
            self._serverless_faults(),
            account,
            region,
            lambda r: (
                r.kind == "provisioned"
                and r.resource == function
                and r.qualifier in (None, qualifier)
            ),
        )
        return rule.reason if rule is not None else None

    def replay_failure_for(self, account: str, region: str, archive: str) -> str | None:
        """The StateReason a new replay from ``archive`` must fail with, or None (consumes
        a hit)."""
        rule = self._take(
            self._serverless_faults(),
            account,
            region,
            lambda r: r.kind == "replay" and r.resource == archive,
        )
        return rule.reason if rule is not None else None

    # --- capacity: ecs-service, auto-scaling, ec2-instance ---
    @dataclass
    class ComputeFault(_Rule):
        """ECS tasks that fail to start, Auto Scaling launches that fail, or an EC2
        status check that is impaired (``kind``: ecs-tasks, asg-launch, ec2-status)."""

        kind: str = ""
        target: str | None = None  # service name, group name or instance id; None = any
        reason: str = ""
        check: str = "instance"  # ec2-status: "instance" or "system"

    def _compute_faults(self) -> list:  # type: ignore[type-arg]
        return self.__dict__.setdefault("compute_faults", [])

    def fail_ecs_tasks(
        self,
        service: str | None = None,
        *,
        reason: str = "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> ComputeFault:
        """Make the tasks an UpdateService asks for (of ``service``, or any) fail to start:
        the service stays below its desired count, ``failedTasks`` grows and its events say
        ``reason`` (``times``: how many UpdateService calls it affects)."""
        rule = self.ComputeFault(
            kind="ecs-tasks", target=service, reason=reason, times=times, account=account,
            region=region,
        )  # fmt: skip
        return self._add(self._compute_faults(), rule)

    def fail_asg_launches(
        self,
        group: str | None = None,
        *,
        reason: str = "We currently do not have sufficient capacity in the Availability Zone "
        "you requested. Launching EC2 instance failed.",
        times: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> ComputeFault:
        """Make the next ``times`` launch attempts of Auto Scaling group ``group`` (or any)
        fail: a Failed scaling activity with ``reason`` as its StatusMessage, no instance."""
        rule = self.ComputeFault(
            kind="asg-launch", target=group, reason=reason, times=times, account=account,
            region=region,
        )  # fmt: skip
        return self._add(self._compute_faults(), rule)

    def impair_ec2_status(
        self,
        instance: str | None = None,
        *,
        check: str = "instance",
        account: str | None = None,
        region: str | None = None,
    ) -> ComputeFault:
        """Make the ``check`` (instance or system) status check of ``instance`` (or any)
        impaired once it has run after a start (until cleared)."""
        if check not in ("instance", "system"):
            raise ValueError(f"impair_ec2_status: check must be instance or system, not {check!r}")
        rule = self.ComputeFault(
            kind="ec2-status", target=instance, check=check, account=account, region=region
        )
        return self._add(self._compute_faults(), rule)

    def compute_fault_for(
        self, kind: str, account: str, region: str, names: tuple[str, ...], consume: bool = True
    ) -> ComputeFault | None:
        """The capacity fault of ``kind`` for any of ``names``, or None (``consume``: a hit)."""
        return self._take(
            self._compute_faults(),
            account,
            region,
            lambda r: r.kind == kind and (r.target is None or r.target in names),
            consume,
        )

    # --- route53-record, arc-routing-control ---
    def _dns_arc_rules(self) -> dict[str, list[dict]]:
        """This block's rules (a fresh plan has none; kept beside the plan's own lists)."""
        return self.__dict__.setdefault("_dns_arc", {"reject": [], "slow": [], "down": []})

    def _dns_arc_add(self, kind: str, rule: dict) -> dict:
        with self._lock:
            self._dns_arc_rules()[kind].append({**rule, "hits": 0})
        return rule

    def _dns_arc_take(self, kind: str, account: str | None, matches, consume=True):  # type: ignore[no-untyped-def]
        with self._lock:
            for rule in self._dns_arc_rules()[kind]:
                if rule["times"] is not None and rule["hits"] >= rule["times"]:
                    continue
                if rule["account"] not in (None, account) or not matches(rule):
                    continue
                if consume:
                    rule["hits"] += 1
                return rule
        return None

    def reject_record_change(
        self,
        name: str | None = None,
        message: str = "RRSet of type CNAME with DNS name {name} is not permitted",
        *,
        times: int | None = None,
        account: str | None = None,
    ) -> dict:
        """Route 53 refuses a ChangeResourceRecordSets batch (``InvalidChangeBatch``) that
        changes ``name`` (any batch with None); nothing of the batch is changed."""
        rule = {"name": name and name.rstrip(".").lower(), "message": message}
        return self._dns_arc_add("reject", {**rule, "times": times, "account": account})

    def slow_record_propagation(
        self,
        seconds: float,
        name: str | None = None,
        *,
        times: int | None = None,
        account: str | None = None,
    ) -> dict:
        """A record change (of ``name``; any with None) takes ``seconds`` longer to be INSYNC."""
        _positive(seconds, "slow_record_propagation")
        rule = {"name": name and name.rstrip(".").lower(), "seconds": seconds}
        return self._dns_arc_add("slow", {**rule, "times": times, "account": account})

    def record_change_rejection_for(self, account: str, names: list[str]) -> str | None:
        """Why a change batch of ``names`` is refused, or None (consumes a hit)."""
        rule = self._dns_arc_take(
            "reject", account, lambda r: r["name"] is None or r["name"] in names
        )
        return rule["message"].format(name=rule["name"] or names[0]) if rule else None

    def record_propagation_delay_for(self, account: str, names: list[str]) -> float:
        """Extra seconds a change batch of ``names`` takes to propagate (consumes a hit)."""
        rule = self._dns_arc_take(
            "slow", account, lambda r: r["name"] is None or r["name"] in names
        )
        return float(rule["seconds"]) if rule else 0.0

    def arc_endpoint_unreachable(
        self, region: str | None = None, *, times: int | None = None, account: str | None = None
    ) -> dict:
        """A Route 53 ARC cluster endpoint (the one in ``region``; every one with None)
        does not answer: the connection fails, as when that Region is impaired."""
        return self._dns_arc_add("down", {"region": region, "times": times, "account": account})

    def arc_endpoint_down(self, account: str | None, region: str) -> bool:
        """Whether the cluster endpoint in ``region`` must not answer now (consumes a hit)."""
        rule = self._dns_arc_take(
            "down", account, lambda r: r["region"] is None or r["region"] == region
        )
        return rule is not None

    # --- eks-nodegroup, opensearch-domain ---
    @dataclass
    class CapacityFault(_Rule):
        """A capacity change that goes wrong (``kind``): ``eks-update`` (an EKS node group
        update ends ``Failed`` with ``error_code``/``reason``), ``opensearch-stuck`` (an
        OpenSearch configuration change stays ``Processing``), ``opensearch-fail`` (it ends
        with the domain back on its previous configuration)."""

        kind: str = ""
        resource: str | None = None  # node group or domain name (None: any)
        error_code: str = "NodeCreationFailure"
        reason: str = "simulated failure"

    def _capacity_faults(self) -> list[CapacityFault]:
        # created on first use: FaultPlan.clear() does not know these rules, a new sandbox does
        return self.__dict__.setdefault("capacity_faults", [])

    def fail_nodegroup_update(
        self,
        nodegroup: str | None = None,
        *,
        error_code: str = "NodeCreationFailure",
        reason: str = "Instances failed to join the kubernetes cluster",
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> CapacityFault:
        """Make the next ``times`` UpdateNodegroupConfig of ``nodegroup`` (or any) be accepted,
        then end ``Failed`` with ``error_code`` (an EKS ErrorCode) and ``reason``; the node
        group keeps its previous scaling configuration."""
        rule = self.CapacityFault(
            kind="eks-update", resource=nodegroup, error_code=error_code, reason=reason
        )
        rule.account, rule.region, rule.times = account, region, times
        return self._add(self._capacity_faults(), rule)

    def stick_opensearch_change(
        self,
        domain: str | None = None,
        *,
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> CapacityFault:
        """Make the next ``times`` UpdateDomainConfig of ``domain`` (or any) stay
        ``Processing`` (DomainProcessingStatus ``Modifying``) until the rule is cleared."""
        rule = self.CapacityFault(kind="opensearch-stuck", resource=domain)
        rule.account, rule.region, rule.times = account, region, times
        return self._add(self._capacity_faults(), rule)

    def fail_opensearch_change(
        self,
        domain: str | None = None,
        *,
        reason: str = "The blue/green deployment failed: simulated failure",
        times: int | None = 1,
        account: str | None = None,
        region: str | None = None,
    ) -> CapacityFault:
        """Make the next ``times`` UpdateDomainConfig of ``domain`` (or any) be accepted, then
        end with the domain back on its previous cluster configuration and the change's
        ``ChangeProgressDetails`` saying ``reason``."""
        rule = self.CapacityFault(kind="opensearch-fail", resource=domain, reason=reason)
        rule.account, rule.region, rule.times = account, region, times
        return self._add(self._capacity_faults(), rule)

    def capacity_fault_for(
        self, kind: str, account: str, region: str, resource: str, *, consume: bool = True
    ) -> CapacityFault | None:
        """The rule of ``kind`` for ``resource``, or None (consumes a hit by default)."""
        return self._take(
            self._capacity_faults(),
            account,
            region,
            lambda r: r.kind == kind and r.resource in (None, resource),
            consume,
        )


def _positive(value: float, what: str) -> None:
    if value <= 0:
        raise ValueError(f"{what}: the value must be > 0, got {value}")
