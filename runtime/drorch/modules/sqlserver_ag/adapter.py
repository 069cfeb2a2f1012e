"""The sqlserver-ag module: SQL Server Always On availability groups on EC2, failed over
to the recovery region's replica through SSM Run Command.

Resources: the EC2 instances in the recovery region that host a *secondary* replica
(tagged ``dr:recovery-strategy=sql-ag``, or named by id or Name tag), found with
``ec2:DescribeInstances`` (tag filters; Resource Explorer is not needed for one
resource type in one region). A stopped instance, or one whose strategy names another
module, is excluded and reported. The availability groups (AGs) are
``parameters.availabilityGroup``, else the instance's ``dr:sql-availability-group``
tag, else every AG the instance hosts a replica of.

Each phase sends one PowerShell script per instance with ``AWS-RunPowerShellScript``
(:mod:`.scripts`); ``status`` reads the invocation with ``GetCommandInvocation`` and
parses what SQL Server answered (role, availability mode, synchronisation state, lag).
A retried start finds the command it already sent by its ``Comment`` (a tag made from
the idempotency key; SendCommand has no client token), and the failover script leaves
a replica that is already PRIMARY alone.

* INSTANTIATE — reads the AG state (read-only) and fails when a failover would be
  refused: the replica is not SYNCHRONOUS_COMMIT and SYNCHRONIZED and
  ``allowDataLoss`` is false, or a lag is above ``maxLagSeconds``.
* ACTIVATE — the failover, on the recovery replica: a planned
  ``ALTER AVAILABILITY GROUP [ag] FAILOVER`` when it is SYNCHRONOUS_COMMIT and every
  database SYNCHRONIZED (no data loss); otherwise only with ``allowDataLoss: true``
  ``FORCE_FAILOVER_ALLOW_DATA_LOSS`` (the lag seen just before is recorded); without
  it the script refuses and the resource fails. Done when SQL Server reports the
  replica PRIMARY.
* CLEANUP — nothing: a drill creates nothing (the resources are SKIPPED, saying so).
* REPLICATE (failback, never in a drill) — ``ALTER DATABASE [db] SET HADR RESUME`` on
  the original region's replica (``parameters.partner``), whose databases a forced
  failover suspended, so that it is a synchronising secondary again; without a
  partner it is SKIPPED, saying why.

Drill: ACTIVATE reads the AG state only — no failover — and reports whether a
failover would succeed (as INSTANTIATE does). It cannot harm production: the read
script holds no ALTER statement, and the drill guard refuses, before it is sent, any
SendCommand whose script holds ``ALTER AVAILABILITY GROUP`` or ``ALTER DATABASE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    LayerMapping,
    Module,
    ModuleError,
    ModuleIam,
    Resource,
    ResourceResult,
    StatusResult,
    aggregate_status,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.routing import not_mine
from drorch.modules.sqlserver_ag import iam
from drorch.modules.sqlserver_ag.probes import AG_TAG, PROBES, STRATEGY, readiness
from drorch.modules.sqlserver_ag.scripts import (
    Reading,
    Script,
    databases_behind,
    is_disruptive,
    max_lag,
    parse_output,
    planned_ready,
    summary,
)
from drorch.modules.steps import short_key
from drorch.names import TAG_STRATEGY

RESOURCE_TYPE = "ec2:instance"
DOCUMENT = iam.DOCUMENT
STATE_VERSION = 1
RUNNING_STATUSES = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})
LOOKBACK_PAGES = 3
ERROR_CHARS = 600

# A SendCommand is disruptive when its script changes an AG or a database (the drill
# guard refuses it before it is sent); reading the DMVs is not.
DISRUPTIVE_CALLS = {"SendCommand": is_disruptive}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def _elapsed_seconds(text: str) -> float | None:
    """``PT45.000S`` (GetCommandInvocation's ExecutionElapsedTime) in seconds."""
    if text.startswith("PT") and text.endswith("S"):
        try:
            return float(text[2:-1])
        except ValueError:
            return None
    return None


class SqlServerAgModule(Module):
    type = "sqlserver-ag"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "SQL Server Always On availability groups on EC2: failover to the recovery "
        "region's replica through SSM Run Command (planned, or forced with allowDataLoss)"
    )
    drill = (
        "Reads the availability group state on the recovery replica (a read-only DMV query "
        "through Run Command) and reports whether a failover would succeed; no failover. "
        "The drill guard refuses any script with an ALTER statement before it is sent."
    )
    aliases = ("SQLServer", "sql_always_on", "sql-ag", "SQLServerAG", "SqlAlwaysOn")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "the replica's EC2 instance id (i-...), ARN or Name tag"
    strategies = (STRATEGY,)
    phases = ("INSTANTIATE", "ACTIVATE", "REPLICATE")
    probes = PROBES
    sandbox_extension = "drorch.modules.sqlserver_ag.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """Seed 004's ``SQLServer`` action and the TRS ``SQLServer-AG-Failover`` names:
        ``AGName``/``AvailabilityGroup`` and ``ForceFailover`` map, ``SecondaryReplica`` /
        ``InstanceIds`` (the replica the failover runs on) and ``Tags`` select; the rest
        is named."""
        params = dict(resource.get("parameters") or {})
        mapped: dict[str, Any] = {}
        selector: dict[str, Any] = {}
        unmapped: list[str] = []
        for key, value in params.items():
            if key in ("SecondaryReplica", "secondaryReplica", "InstanceId", "InstanceIds"):
                selector["ids"] = [str(v) for v in (value if isinstance(value, list) else [value])]
            elif key == "Tags" and isinstance(value, (dict, list)):
                pairs = (
                    value.items()
                    if isinstance(value, dict)
                    else ((t.get("Key"), t.get("Value")) for t in value if isinstance(t, dict))
                )
                selector["tags"] = {str(k): str(v) for k, v in pairs if k}
            elif key in ("AGName", "AvailabilityGroup", "availabilityGroup"):
                mapped["availabilityGroup"] = value[0] if isinstance(value, list) else value
            elif key in ("ForceFailover", "AllowDataLoss", "allowDataLoss"):
                value = value[0] if isinstance(value, list) else value
                mapped["allowDataLoss"] = str(value).lower() == "true"
            elif key in PARAMETERS_SCHEMA["properties"]:
                mapped[key] = value
            else:
                unmapped.append(f"{where}.parameters.{key}")
        technology: dict[str, Any] = {"type": self.type, "parameters": mapped}
        if selector:
            technology["selector"] = selector
        return LayerMapping(technology=technology, unmapped=unmapped)

    # --- discovery --------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted = selector_field(selector, "tags")
        ids = [str(i) for i in selector_field(selector, "ids")]
        filters = [{"Name": f"tag:{k}", "Values": [str(v)]} for k, v in sorted(wanted.items())]
        filters.append(
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}
        )
        if not ids:  # by tags: only the replicas tagged for this strategy
            filters.append({"Name": f"tag:{TAG_STRATEGY}", "Values": list(self.strategies)})
        elif all(i.startswith("i-") for i in ids):
            filters.append({"Name": "instance-id", "Values": sorted(ids)})
        elif not any(i.startswith(("i-", "arn:")) for i in ids):
            filters.append({"Name": "tag:Name", "Values": sorted(ids)})
        ec2 = ctx.client("ec2")
        try:
            instances = [
                instance
                for page in ec2.get_paginator("describe_instances").paginate(Filters=filters)
                for reservation in page.get("Reservations", [])
                for instance in reservation.get("Instances", [])
            ]
        except ClientError as error:
            self._raise(error, ctx, "listing instances (ec2:DescribeInstances)")
        for instance in instances:
            instance_id = instance["InstanceId"]
            arn = f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:instance/{instance_id}"
            tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
            name = tags.get("Name", instance_id)
            if ids and not {instance_id, arn, name} & set(ids):
                continue
            if not tags_match(tags, wanted):
                continue
            reasons = []
            elsewhere = not_mine(self, tags)
            if elsewhere:
                reasons.append(elsewhere)
            state = instance.get("State", {}).get("Name")
            if state != "running":
                reasons.append(f"the instance is {state}: Run Command cannot reach SQL Server")
            if reasons:
                found.excluded.append(
                    Exclusion(instance_id, arn, ctx.account_id, ctx.region, name, tuple(reasons))
                )
                continue
            found.append(
                Resource(instance_id, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
            )
        found.sort(key=lambda r: (r.name, r.id))
        return found

    # --- start / status ---------------------------------------------------------------
    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        drill = bool(drill or ctx.drill)
        self.check_phase(phase, drill)
        params = self.validate_parameters(params, "$.parameters")
        if not idempotency_key:
            raise ModuleError("sqlserver-ag: an idempotency key is required to start a phase")
        items = sorted(
            (
                r if isinstance(r, Resource) else Resource.from_dict(r, ctx.account_id)
                for r in resources
            ),
            key=lambda r: r.id,
        )
        state: dict[str, Any] = {
            "v": STATE_VERSION,
            "phase": phase,
            "drill": drill,
            "allowDataLoss": params["allowDataLoss"],
            "maxLagSeconds": params.get("maxLagSeconds"),
            "targets": {},
            "results": {},
        }
        if phase == "CLEANUP":
            for r in items:
                state["results"][r.id] = self._skip(
                    r.name, "nothing to clean up: sqlserver-ag creates nothing, in a drill or not"
                )
            return state
        if phase == "REPLICATE":
            partner = params.get("partner")
            if not partner:
                for r in items:
                    state["results"][r.id] = self._skip(
                        r.name,
                        "no partner replica named (parameters.partner): nothing to resume",
                    )
                return state
            group = params.get("availabilityGroup")
            targets = [(partner["instanceId"], partner["instanceId"], partner["region"], group)]
            action = "resume"
        else:
            action = "read" if phase == "INSTANTIATE" or drill else "failover"
            targets = [
                (r.id, r.name, ctx.region, params.get("availabilityGroup") or r.tags.get(AG_TAG))
                for r in items
            ]
        state["action"] = action
        for instance_id, name, region, group in targets:
            script = Script(
                action=action,
                groups=(group,) if group else (),
                allow_data_loss=params["allowDataLoss"],
                max_lag_seconds=params.get("maxLagSeconds"),
            )
            target = {"name": name, "region": region, "groups": list(script.groups)}
            state["targets"][instance_id] = target
            ssm = ctx.client("ssm", region=region, guard=self.drill_guard(drill))
            comment = short_key(f"{idempotency_key}:{instance_id}")
            request = {
                "DocumentName": DOCUMENT,
                "InstanceIds": [instance_id],
                "Parameters": {
                    "commands": script.commands(),
                    "executionTimeout": [str(params["executionTimeoutSeconds"])],
                },
                "TimeoutSeconds": 600,
                "Comment": comment,
            }
            doing = f"ssm:SendCommand ({DOCUMENT}, {action}) to {instance_id} in {region}"
            try:
                target["commandId"] = (
                    self._find(ssm, instance_id, comment)
                    or ssm.send_command(**request)["Command"]["CommandId"]
                )
            except ClientError as error:
                raise_if_fatal(error, ctx, doing)
                state["results"][instance_id] = {
                    "name": name,
                    "status": FAILED,
                    "detail": {"instanceId": instance_id, "action": action},
                    "error": f"{doing}: {error_code(error)}: {error_message(error)}",
                }
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        if state.get("phase") != phase:
            raise ModuleError(f"sqlserver-ag: state is for phase {state.get('phase')}, not {phase}")
        results = dict(state.get("results") or {})
        for instance_id, target in sorted((state.get("targets") or {}).items()):
            if instance_id in results:
                continue
            final = self._read(ctx, state, instance_id, target)
            if final is not None:
                results[instance_id] = final
        new_state = {**state, "results": results}
        resources = []
        for instance_id in sorted(set(results) | set(state.get("targets") or {})):
            final = results.get(instance_id)
            if final is None:
                target = state["targets"][instance_id]
                detail = {"instanceId": instance_id, "action": state.get("action")}
                resources.append(ResourceResult(instance_id, target["name"], RUNNING, detail))
                continue
            resources.append(
                ResourceResult(
                    instance_id,
                    final["name"],
                    final["status"],
                    final.get("detail", {}),
                    final.get("error"),
                )
            )
        return StatusResult(
            status=aggregate_status(r.status for r in resources),
            resources=resources,
            state=new_state,
        )

    # --- reading a command --------------------------------------------------------------
    def _find(self, ssm: Any, instance_id: str, comment: str) -> str | None:
        pages = ssm.get_paginator("list_commands").paginate(
            InstanceId=instance_id, PaginationConfig={"PageSize": 50}
        )
        for number, page in enumerate(pages):
            for command in page.get("Commands", []):
                if command.get("Comment") == comment:
                    return str(command["CommandId"])
            if number + 1 >= LOOKBACK_PAGES:
                break
        return None

    def _read(
        self, ctx: AccountContext, state: Mapping[str, Any], instance_id: str, target: Mapping
    ) -> dict[str, Any] | None:
        """The resource's final result, or None while the script still runs."""
        ssm = ctx.client("ssm", region=target["region"])
        try:
            answer = ssm.get_command_invocation(
                CommandId=target["commandId"], InstanceId=instance_id
            )
        except ClientError as error:
            if error_code(error) == "InvocationDoesNotExist":
                return None  # SSM has not registered the invocation yet
            raise_if_fatal(error, ctx, f"ssm:GetCommandInvocation of {target['commandId']}")
            return self._final(
                target,
                instance_id,
                FAILED,
                {},
                f"cannot read the command: {error_code(error)}: {error_message(error)}",
            )
        status = answer.get("Status", "")
        if status in RUNNING_STATUSES:
            return None
        reading = parse_output(
            answer.get("StandardOutputContent", ""), answer.get("StandardErrorContent", "")
        )
        detail: dict[str, Any] = {
            "action": state.get("action"),
            "commandId": target["commandId"],
            "commandStatus": status,
        }
        elapsed = _elapsed_seconds(str(answer.get("ExecutionElapsedTime") or ""))
        if elapsed is not None:
            detail["elapsedSeconds"] = elapsed
        if status != "Success":
            return self._final(target, instance_id, FAILED, detail, _why(answer, reading))
        if state.get("action") == "failover":
            return self._failed_over(target, instance_id, detail, reading)
        if state.get("action") == "resume":
            return self._resumed(target, instance_id, detail, reading)
        return self._ready(state, target, instance_id, detail, reading)

    def _ready(
        self,
        state: Mapping[str, Any],
        target: Mapping[str, Any],
        instance_id: str,
        detail: dict[str, Any],
        reading: Reading,
    ) -> dict[str, Any]:
        """A read (INSTANTIATE, a drill's ACTIVATE): would a failover succeed now?"""
        if state.get("drill") and state.get("phase") == "ACTIVATE":
            detail["drill"] = "read the availability group state only: no failover was made"
        problems = []
        groups = {}
        for ag, ag_state in sorted(reading.before.items()):
            groups[ag] = summary(ag_state)
            if ag_state.get("role") == "PRIMARY":
                groups[ag]["failover"] = "none needed: already PRIMARY"
                continue
            if planned_ready(ag_state):
                groups[ag]["failover"] = "planned (no data loss)"
                continue
            lag = max_lag(ag_state)
            limit = state.get("maxLagSeconds")
            if not state.get("allowDataLoss"):
                problems.append(
                    f"{ag}: a planned failover would be refused ({ag_state.get('availabilityMode')}"
                    f"; {', '.join(databases_behind(ag_state))}); set allowDataLoss: true to "
                    "force it"
                )
            elif limit is not None and lag is not None and lag > limit:
                problems.append(f"{ag}: lag {lag} s is above maxLagSeconds {limit}")
            else:
                groups[ag]["failover"] = "forced (data loss possible)"
        detail["availabilityGroups"] = groups
        return self._final(
            target, instance_id, FAILED if problems else SUCCEEDED, detail, "; ".join(problems)
        )

    def _failed_over(
        self, target: Mapping[str, Any], instance_id: str, detail: dict[str, Any], reading: Reading
    ) -> dict[str, Any]:
        groups = {}
        problems = []
        for ag, before in sorted(reading.before.items()):
            after = reading.after.get(ag, {})
            if before.get("role") == "PRIMARY":
                mode = "none (already PRIMARY)"
            elif planned_ready(before):
                mode = "planned"
            else:
                mode = "forced"
            groups[ag] = {
                "failover": mode,
                "roleBefore": before.get("role"),
                "roleAfter": after.get("role"),
                "lagSecondsBefore": max_lag(before),
                "logSendQueueKbBefore": summary(before)["logSendQueueKb"],
                "synchronizationBefore": summary(before)["synchronization"],
            }
            if after.get("role") != "PRIMARY":
                problems.append(f"{ag}: the replica is {after.get('role')} after the failover")
        detail["availabilityGroups"] = groups
        if not groups:
            problems.append("SQL Server reported no availability group")
        return self._final(
            target, instance_id, FAILED if problems else SUCCEEDED, detail, "; ".join(problems)
        )

    def _resumed(
        self, target: Mapping[str, Any], instance_id: str, detail: dict[str, Any], reading: Reading
    ) -> dict[str, Any]:
        groups = {ag: summary(s) for ag, s in sorted(reading.after.items())}
        detail["availabilityGroups"] = groups
        still = [f"{ag}: {', '.join(g['suspended'])}" for ag, g in groups.items() if g["suspended"]]
        error = ("still suspended: " + "; ".join(still)) if still else None
        if not groups:
            error = "SQL Server reported no availability group"
        return self._final(target, instance_id, FAILED if error else SUCCEEDED, detail, error)

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def _final(
        target: Mapping[str, Any],
        instance_id: str,
        status: str,
        detail: dict[str, Any],
        error: str | None,
    ) -> dict[str, Any]:
        return {
            "name": target["name"],
            "status": status,
            "detail": {"instanceId": instance_id, **detail},
            "error": error or None,
        }

    @staticmethod
    def _skip(name: str, why: str) -> dict[str, Any]:
        return {"name": name, "status": SKIPPED, "detail": {"skipped": why}, "error": None}

    def _raise(self, error: ClientError, ctx: AccountContext, doing: str) -> NoReturn:
        raise_if_fatal(error, ctx, doing)
        raise ModuleError(
            f"sqlserver-ag: {doing} failed in account {ctx.account_id}: "
            f"{error_code(error)}: {error_message(error)}"
        ) from error


def _why(answer: Mapping[str, Any], reading: Reading) -> str:
    """The failure of an invocation in one line: the script's refusals and SQL Server's
    errors first, else its standard error or SSM's status."""
    parts = [f"{ag}: refused: {why}" for ag, why in sorted(reading.refused.items())]
    parts += [f"{ag}: {why}" for ag, why in sorted(reading.errors.items())]
    if not parts:
        text = (answer.get("StandardErrorContent") or "").strip()
        parts = [text] if text else []
    status = f"{answer.get('Status')} ({answer.get('StatusDetails')})"
    return (f"{status}: " + "; ".join(parts))[:ERROR_CHARS] if parts else status


__all__ = ["DISRUPTIVE_CALLS", "RESOURCE_TYPE", "SqlServerAgModule"]
