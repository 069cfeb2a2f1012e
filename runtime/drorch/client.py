"""The operator's side of drorch: what the CLI (and scripts) call.

Works against whatever AWS the process talks to — the sandbox or a real hub
account (a boto3 session for the hub's account and region). Nothing here runs
in Lambda.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws, clock, reconcile
from drorch.engine.events import Publisher
from drorch.engine.gates import RETRIED, SKIPPED, Gates
from drorch.engine.history import STATUSES, TERMINAL, History, change_time
from drorch.engine.lock import ApplicationLock
from drorch.errors import DrorchError, InputError
from drorch.manifest import OPERATIONS, Manifest, load_manifest


@dataclass(frozen=True)
class UploadedManifest:
    application: str
    bucket: str
    key: str
    version_id: str
    manifest: Manifest


CHANGES_SHOWN = 100  # resource changes one describe returns at most
CHANGES_OVERLAP_US = 5_000_000  # how far back each read of the changes looks again


def new_execution_id(operation: str) -> str:
    """Short, sortable and unique: ``drill-20260101T120000-a1b2c3`` (fits child execution names)."""
    return f"{operation}-{clock.now().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def known_operation(operation: str) -> None:
    if operation not in OPERATIONS:
        raise InputError(
            f"unknown operation {operation!r}", hint=f"use one of: {', '.join(OPERATIONS)}"
        )


class Client:
    def __init__(self, session: boto3.Session | None = None, operator: str | None = None) -> None:
        self.session = session or aws.hub_session()
        self.config = aws.resolve_config(names.env_config(), self.session)
        self.history = History.from_config(self.config, self.session)
        # the CLI's decisions are events too ("Gate Decided"), published best effort
        self.publisher = Publisher.from_config(self.config, session=self.session)
        self.gates = Gates(self.history, self.session.client("stepfunctions"), self.publisher)
        self.lock = ApplicationLock.from_config(self.config, self.history, self.session)
        self._operator = operator
        self._wave_of_group: dict[tuple[str, int], dict[str, str]] = {}
        # execution id -> the change items read lately (sk), and from when to read again
        self._changes_seen: dict[str, tuple[set[str], int]] = {}

    # --- who and where ---------------------------------------------------------------
    @property
    def operator(self) -> str:
        if self._operator is None:
            self._operator = self.session.client("sts").get_caller_identity()["Arn"]
        return self._operator

    def state_machine_arn(self, key: str = "master") -> str:
        account = aws.hub_account_id(self.session)
        return names.state_machine_arn(account, self.session.region_name, key)

    # --- manifests ---------------------------------------------------------------------
    def upload_manifest(self, source: str | Path, text: str | None = None) -> UploadedManifest:
        """Validate, then store a new version in the manifest bucket. A bad manifest never reaches S3."""
        text = Path(source).read_text() if text is None else text
        manifest = load_manifest(text, str(source))
        key = names.manifest_key(manifest.application)
        body = json.dumps(_as_document(text, str(source)), indent=2, sort_keys=True)
        response = self.session.client("s3").put_object(
            Bucket=self.config.manifest_bucket,
            Key=key,
            Body=body.encode(),
            ContentType="application/json",
            Metadata={"uploaded-by": self.operator[:200], "source": Path(str(source)).name[:200]},
        )
        return UploadedManifest(
            manifest.application,
            self.config.manifest_bucket or "",
            key,
            response.get("VersionId", "null"),
            manifest,
        )

    def manifest_location(self, application: str) -> dict[str, str]:
        key = names.manifest_key(application)
        try:
            head = self.session.client("s3").head_object(
                Bucket=self.config.manifest_bucket, Key=key
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                raise InputError(
                    f"no manifest uploaded for application {application!r}",
                    hint="upload one with `drorch manifest upload FILE`",
                ) from error
            raise
        return {
            "bucket": self.config.manifest_bucket or "",
            "key": key,
            "versionId": head.get("VersionId", "null"),
        }

    # --- executions --------------------------------------------------------------------
    def start_execution(
        self, application: str, operation: str, *, poll_seconds: int = 30, force: bool = False
    ) -> str:
        """Start the master; ``force``: readiness BLOCKERs do not stop it (recorded with who)."""
        if operation not in OPERATIONS:
            raise InputError(
                f"unknown operation {operation!r}", hint=f"use one of: {', '.join(OPERATIONS)}"
            )
        if poll_seconds < 0 or poll_seconds > 3600:
            raise InputError(f"--poll-seconds {poll_seconds} must be between 0 and 3600")
        manifest = self.manifest_location(application)
        holder = self.lock.holder(application)
        if holder and self._is_running(holder.get("executionId", "")):
            raise DrorchError(
                f"application {application!r} already has a running execution: {holder['executionId']}",
                hint="wait for it, or cancel it with `drorch cancel " + holder["executionId"] + "`",
            )
        execution_id = new_execution_id(operation)
        self.session.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn(),
            name=execution_id,
            input=json.dumps(
                {
                    "executionId": execution_id,
                    "application": application,
                    "operation": operation,
                    "manifest": manifest,
                    "pollSeconds": poll_seconds,
                    "requestedBy": self.operator,
                    **({"force": True} if force else {}),
                }
            ),
        )
        return execution_id

    def _is_running(self, execution_id: str) -> bool:
        item = self.history.execution(execution_id)
        return bool(item) and item["status"] not in TERMINAL

    def machine_status(self, execution_id: str) -> dict[str, Any]:
        arn = self.state_machine_arn().replace(":stateMachine:", ":execution:") + f":{execution_id}"
        try:
            return self.session.client("stepfunctions").describe_execution(executionArn=arn)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
                raise InputError(
                    f"no execution {execution_id!r}", hint="`drorch list` shows the executions"
                ) from error
            raise

    def _waves_of_groups(self, execution_id: str, revision: int = 0) -> dict[str, str]:
        """Which wave each module group of the execution belongs to (from its plan, at the
        revision its plan edits made)."""
        if (execution_id, revision) not in self._wave_of_group:
            from drorch.engine import plan as planning

            try:
                full = planning.read_plan(
                    self.session.client("s3"),
                    self.config.artifacts_bucket,
                    execution_id,
                    revision or None,
                )
            except ClientError:
                return {}  # not planned yet
            self._wave_of_group[(execution_id, revision)] = {
                group: wave
                for wave, info in full.get("waves", {}).items()
                for group in info.get("groups", [])
            }
        return self._wave_of_group[(execution_id, revision)]

    def _with_waves(
        self, execution_id: str, resources: list[dict[str, Any]], revision: int = 0
    ) -> None:
        """Resource items get the wave of their group (items written before the executor
        recorded it: from the plan, at the revision its plan edits made)."""
        if all(r.get("wave") for r in resources):
            return
        wave_of = self._waves_of_groups(execution_id, revision)
        for resource in resources:
            if not resource.get("wave"):
                resource["wave"] = wave_of.get(resource.get("groupId", ""), "")

    def describe(self, execution_id: str, *, resources: bool = False) -> dict[str, Any]:
        """The execution as the history records it: its waves with their counts by status,
        its gates, and the resource changes since the previous ``describe`` of this client
        (the newest ones). That costs a few requests whatever the number of resources;
        ``resources=True`` adds every resource item (as the report reads them), and
        :meth:`resources_page` reads them a page at a time."""
        machine = self.machine_status(execution_id)
        item = self.history.execution(execution_id)
        if item is None:  # not initialised yet, or failed before it could be recorded
            status = {"RUNNING": "PENDING"}.get(machine["status"], machine["status"])
            if status == "TIMED_OUT" or status == "ABORTED":
                status = "FAILED"
            item = {"executionId": execution_id, "status": status}
            if machine.get("error"):
                item |= {"error": machine.get("error"), "cause": machine.get("cause")}
        progress = self.history.progress(execution_id)
        phases = list(item.get("phases") or [])
        waves = self.history.waves(execution_id)
        for wave in waves:
            if wave.get("phase") not in phases:
                phases.append(wave.get("phase"))
            counted = progress.get(wave.get("phase"), {}).get("waves", {})
            wave["resources"] = counted.get(wave["wave"], {})
        # phases in the order they run, then waves by level
        waves.sort(key=lambda w: (phases.index(w.get("phase")), w.get("level", 0), w["wave"]))
        description = {
            "execution": item,
            "machineStatus": machine["status"],
            "waves": waves,
            "gates": self.history.gates(execution_id),
            "progress": {phase: entry["counts"] for phase, entry in progress.items()},
            "changes": self._recent_changes(execution_id),
            "planEdits": self.history.plan_edits(execution_id),
        }
        if resources:
            found = self.history.resources(execution_id)
            self._with_waves(execution_id, found, int(item.get("planRevision") or 0))
            description["resources"] = found
        return description

    def _recent_changes(self, execution_id: str) -> list[dict[str, Any]]:
        """Resource changes recorded since this client last looked (one query; the newest
        :data:`CHANGES_SHOWN` when there are more)."""
        seen, since = self._changes_seen.get(execution_id, (set(), 0))
        items = [i for i in self.history.changes(execution_id, since) if i["sk"] not in seen]
        if items:
            # a writer whose clock is a little behind, or that wrote a little late, is still
            # read: the next read starts CHANGES_OVERLAP before the newest change read
            since = max(since, change_time(items[-1]["sk"]) - CHANGES_OVERLAP_US)
            seen = {sk for sk in seen | {i["sk"] for i in items} if change_time(sk) >= since}
            self._changes_seen[execution_id] = (seen, since)
        found = [
            {
                "at": change_item["at"],
                "phase": change_item["phase"],
                "wave": change_item.get("wave", ""),
                "groupId": change_item["groupId"],
                "accountId": change_item["accountId"],
                **change,
            }
            for change_item in items
            for change in change_item.get("changes", [])
        ]
        return found[-CHANGES_SHOWN:]

    def resources_page(
        self, execution_id: str, *, page_size: int = 100, next_token: str | None = None
    ) -> dict[str, Any]:
        """One page of an execution's resources: ``{"resources": [...], "nextToken": ...}``
        (``nextToken`` None on the last page)."""
        if not 1 <= page_size <= 1000:
            raise InputError(f"--page-size {page_size} must be between 1 and 1000")
        if next_token is not None and not next_token.startswith("RES#"):
            raise InputError(
                f"--next-token {next_token!r} is not a token this command printed",
                hint="pass the nextToken of the previous page as it was printed",
            )
        self.machine_status(execution_id)  # an unknown id: "no execution"
        found, token = self.history.resources_page(
            execution_id, page_size=page_size, next_token=next_token
        )
        if not all(r.get("wave") for r in found):
            item = self.history.execution(execution_id) or {}
            self._with_waves(execution_id, found, int(item.get("planRevision") or 0))
        return {"executionId": execution_id, "resources": found, "nextToken": token}

    def list_executions(
        self, status: str | None = None, application: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        if status is not None and status not in STATUSES:
            raise InputError(
                f"unknown status {status!r}", hint=f"use one of: {', '.join(sorted(STATUSES))}"
            )
        if limit < 1:
            raise InputError(f"--limit {limit} must be at least 1")
        return self.history.list_executions(status=status, application=application, limit=limit)

    def open_gates(self, execution_id: str) -> list[dict[str, Any]]:
        return self.gates.open_gates(execution_id)

    def _gate_number(self, execution_id: str, gate: int | None) -> int:
        item = self._require_running(execution_id)
        waiting = self.gates.open_gates(execution_id)
        if gate is not None:
            if gate not in {int(g["gate"]) for g in waiting}:
                raise InputError(
                    f"gate {gate} of execution {execution_id} is not open",
                    hint=f"`drorch status {execution_id}` shows its gates"
                    + (
                        f"; open now: {', '.join(str(g['gate']) for g in waiting)}"
                        if waiting
                        else ""
                    ),
                )
            return gate
        if not waiting:
            raise InputError(
                f"execution {execution_id} has no open gate (it is {item['status']})",
                hint=f"`drorch status {execution_id} --wait` follows it until a gate opens or it ends",
            )
        if len(waiting) > 1:
            raise InputError(
                f"execution {execution_id} waits on {len(waiting)} gates",
                hint="name one with --gate: " + ", ".join(str(g["gate"]) for g in waiting),
            )
        return int(waiting[0]["gate"])

    def approve(
        self, execution_id: str, gate: int | None = None, comment: str = ""
    ) -> dict[str, Any]:
        return self.gates.approve(
            execution_id, self._gate_number(execution_id, gate), self.operator, comment
        )

    def reject(
        self, execution_id: str, gate: int | None = None, comment: str = ""
    ) -> dict[str, Any]:
        return self.gates.reject(
            execution_id, self._gate_number(execution_id, gate), self.operator, comment
        )

    def retry(self, execution_id: str, step: str, reason: str) -> list[dict[str, Any]]:
        """Start a failed step (failurePolicy ask) again: its resources that did not succeed."""
        self._require_running(execution_id)
        return self.gates.decide_step(execution_id, step, RETRIED, self.operator, reason)

    def skip(self, execution_id: str, step: str, reason: str) -> list[dict[str, Any]]:
        """Record a failed step (failurePolicy ask) SKIPPED; its wave goes on."""
        self._require_running(execution_id)
        return self.gates.decide_step(execution_id, step, SKIPPED, self.operator, reason)

    def pause(self, execution_id: str) -> dict[str, Any]:
        item = self._require_running(execution_id)
        if item.get("starting"):
            raise InputError(
                f"execution {execution_id} is still starting",
                hint="run the same command again in a few seconds",
            )
        if item.get("paused"):
            raise InputError(
                f"execution {execution_id} is already paused",
                hint=f"`drorch resume {execution_id}` lets it continue",
            )
        return self.gates.pause(execution_id, self.operator)

    def resume(self, execution_id: str) -> dict[str, Any]:
        item = self._require_running(execution_id)
        if not item.get("paused") and item["status"] != "PAUSED":
            raise InputError(
                f"execution {execution_id} is not paused (it is {item['status']})",
                hint=f"`drorch pause {execution_id}` stops it at the next wave boundary",
            )
        return self.gates.resume(execution_id, self.operator)

    def cancel(self, execution_id: str, comment: str = "") -> dict[str, Any]:
        if self._require_running(execution_id).get("starting"):
            raise InputError(
                f"execution {execution_id} is still starting",
                hint="run the same command again in a few seconds",
            )
        return self.gates.cancel(execution_id, self.operator, comment)

    def reconcile(self) -> list[dict[str, Any]]:
        """Repair stale histories and locks against Step Functions; what was done."""
        repairs = reconcile.sweep(
            self.history,
            self.lock,
            self.session.client("stepfunctions"),
            self.state_machine_arn(),
            publisher=self.publisher,
        )
        return [r.to_dict() for r in repairs]

    def _require_running(self, execution_id: str) -> dict[str, Any]:
        item = self.history.execution(execution_id)
        if item is None:
            machine = self.machine_status(execution_id)  # unknown id: "no execution"
            if machine["status"] == "RUNNING":
                item = {"executionId": execution_id, "status": "PENDING", "starting": True}
            else:
                item = {"executionId": execution_id, "status": "FAILED"}
        if item["status"] in TERMINAL:
            raise InputError(
                f"execution {execution_id} already finished ({item['status']})",
                hint=f"`drorch report {execution_id}` shows what happened",
            )
        return item

    # --- plan edits during a run ----------------------------------------------------
    def _edit_context(self) -> Any:
        from drorch.engine import plan_edit
        from drorch.engine.runtime import registry

        return plan_edit.EditContext(
            history=self.history,
            s3=self.session.client("s3"),
            bucket=self.config.artifacts_bucket or "",
            accounts=self.staging_accounts(),
            modules=registry(),
            session_for=lambda access: aws.assume(access, source=self.session),
        )

    def running_manifest(self, execution_id: str) -> dict[str, Any]:
        """The manifest document a running execution runs (pinned version, or its last edit)."""
        from drorch.engine import plan_edit

        item = self._require_running(execution_id)
        if not item.get("manifest"):
            raise InputError(
                f"execution {execution_id} is still starting",
                hint="run the same command again in a few seconds",
            )
        return plan_edit.running_document(self.session.client("s3"), item)

    def edit_plan(
        self, execution_id: str, source: str | Path, text: str | None = None, comment: str = ""
    ) -> dict[str, Any]:
        """Edit the waves a running execution has not started (see drorch.engine.plan_edit)."""
        from drorch.engine import plan_edit

        item = self._require_running(execution_id)
        if item.get("starting"):
            raise InputError(
                f"execution {execution_id} is still starting",
                hint="run the same command again in a few seconds",
            )
        text = Path(source).read_text() if text is None else text
        return plan_edit.edit_plan(
            self._edit_context(), item, text, str(source), self.operator, comment
        )

    # --- dry run ---------------------------------------------------------------------
    def staging_accounts(self) -> dict[str, aws.AccountAccess]:
        """The staging accounts the deployed hub works with (from its discover function)."""
        configuration = self.session.client("lambda").get_function_configuration(
            FunctionName=names.FUNCTIONS["discover"]
        )
        variables = configuration.get("Environment", {}).get("Variables", {})
        return aws.accounts(names.env_config(variables))

    def plan(
        self,
        source: str | Path,
        operation: str,
        text: str | None = None,
        *,
        predict: bool = False,
    ) -> dict[str, Any]:
        """What an execution would touch — discovery and planning, nothing started; with
        ``predict``, each wave's duration and the RTO from the earlier runs in the history.

        Discovery runs from this session (it assumes each staging account's
        execution role with its ExternalId); results go under ``plans/`` in the
        artifacts bucket, not into any execution's history.
        """
        from drorch.engine.readiness import plan_now
        from drorch.engine.runtime import registry

        known_operation(operation)
        text = Path(source).read_text() if text is None else text
        manifest = load_manifest(text, str(source))
        full, groups = plan_now(
            manifest,
            operation,
            f"plan-{new_execution_id(operation)}",
            self.staging_accounts(),
            registry(),
            self.session.client("s3"),
            self.config.artifacts_bucket or "",
            session_for=lambda access: aws.assume(access, source=self.session),
        )
        result = {"plan": full, "groups": {k: g.to_dict() for k, g in groups.items()}}
        if predict:
            result["prediction"] = self.predict(full)
        return result

    def readiness(
        self, application: str, operation: str = "failover", source: str | Path | None = None
    ) -> dict[str, Any]:
        """Readiness of ``application`` for ``operation``: its plan (discovery and planning,
        nothing started) with every resource's findings (``drorch.engine.readiness``).
        The manifest is ``source`` when given, else the one uploaded for the application."""
        from drorch.engine import readiness
        from drorch.engine.runtime import registry
        from drorch.modules.base import AccountContext

        if source is not None:
            text = Path(source).read_text()
        else:
            where = self.manifest_location(application)
            body = self.session.client("s3").get_object(Bucket=where["bucket"], Key=where["key"])
            text = body["Body"].read().decode()
            source = f"s3://{where['bucket']}/{where['key']}"
        manifest = load_manifest(text, str(source))
        if manifest.application != application:
            raise InputError(
                f"{source} is the manifest of {manifest.application!r}, not {application!r}"
            )
        known_operation(operation)
        run_id = f"readiness-{new_execution_id(operation)}"
        accounts = self.staging_accounts()
        full, groups = readiness.plan_now(
            manifest,
            operation,
            run_id,
            accounts,
            registry(),
            self.session.client("s3"),
            self.config.artifacts_bucket or "",
            session_for=lambda access: aws.assume(access, source=self.session),
        )

        def context_for(account_id: str) -> AccountContext:
            access = accounts.get(account_id)
            session = aws.assume(access, source=self.session) if access else self.session
            return AccountContext(
                session=session,
                account_id=account_id,
                region=access.recovery_region if access else self.session.region_name or "",
                account_name=access.name if access else "hub",
                drill=operation == "drill",
                now=clock.epoch(),
                execution_id=run_id,
                operation=operation,
            )

        result = readiness.evaluate(
            {k: g.to_dict() for k, g in groups.items()},
            operation,
            accounts,
            registry(),
            self.session,
            context_for,
            problems=full.get("errors", []),
        )
        return {"application": application, **result}

    def predict(self, full_plan: dict[str, Any]) -> dict[str, Any]:
        """A plan's predicted wave durations, RTO range and critical path (engine/predict.py)."""
        from drorch.engine import predict as predicting

        samples = predicting.samples_from_history(
            self.history, full_plan["application"], full_plan["operation"]
        )
        return predicting.predict(full_plan, samples)

    def report(self, execution_id: str, fmt: str = "md") -> str:
        if fmt not in ("md", "html", "json"):
            raise InputError(f"report format {fmt!r}: use md, html or json")
        key = names.report_key(execution_id, fmt)
        try:
            body = self.session.client("s3").get_object(
                Bucket=self.config.artifacts_bucket, Key=key
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise InputError(
                    f"execution {execution_id} has no report yet",
                    hint="reports are written when an execution finishes",
                ) from error
            raise
        return body["Body"].read().decode()

    def wait(
        self,
        execution_id: str,
        *,
        on_update: Callable[[dict[str, Any]], None] = lambda d: None,
        on_gate: Callable[[dict[str, Any]], bool | None] | None = None,
        interval: float = 0.5,
        timeout: float | None = None,
        on_failed_step: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None,
    ) -> dict[str, Any]:
        """Follow an execution until it ends. ``on_gate`` may decide an open gate:
        True approves, False rejects, None leaves it waiting. ``on_failed_step`` may
        decide a failed step that waits (failurePolicy ask): ("retry" or "skip", reason),
        or None to leave it waiting."""
        started = time.monotonic()
        decided: set[int] = set()
        while True:
            description = self.describe(execution_id)
            if description["machineStatus"] != "RUNNING":
                # the end: every resource, read once
                final = self.describe(execution_id, resources=True)
                final["changes"] = (description["changes"] + final["changes"])[-CHANGES_SHOWN:]
                on_update(final)
                return final
            on_update(description)
            if on_gate is not None:
                for gate in [g for g in description["gates"] if "decision" not in g]:
                    number = int(gate["gate"])
                    if number in decided or gate.get("kind") == "failure":
                        continue
                    verdict = on_gate(gate)
                    try:
                        if verdict is True:
                            self.approve(execution_id, number)
                        elif verdict is False:
                            self.reject(execution_id, number)
                    except InputError:
                        pass  # closed meanwhile (timed out, cancelled): the next look shows it
                    if verdict is not None:
                        decided.add(number)
            if on_failed_step is not None:
                for gate in self.gates.waiting_steps(execution_id):
                    if int(gate["gate"]) in decided:
                        continue
                    answer = on_failed_step(gate)
                    if answer is None:
                        continue
                    decided.add(int(gate["gate"]))
                    how, reason = answer
                    try:
                        (self.retry if how == "retry" else self.skip)(
                            execution_id, str(gate["step"]), reason
                        )
                    except DrorchError:
                        pass  # decided or closed meanwhile: the next look shows it
            if timeout is not None and time.monotonic() - started > timeout:
                raise TimeoutError(f"execution {execution_id} still running after {timeout}s")
            time.sleep(interval)


def _as_document(text: str, source: str) -> Any:
    from drorch.manifest.validate import parse_text

    return parse_text(text, source)
