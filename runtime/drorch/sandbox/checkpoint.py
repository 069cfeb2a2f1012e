"""A deployed sandbox, put back the way it was: one deployment shared by many runs.

Deploying the hub costs seconds; tests and benchmarks that each need a fresh hub
take a :class:`Checkpoint` once, after the deployment and the scenario, and
:meth:`Checkpoint.restore` before each run. Restoring

* stops the executions still running;
* empties the engine's tables (history, lock, idempotency) and buckets
  (manifests, artifacts);
* puts every DRS fake back as it was (source servers, jobs, recovery
  instances, templates) and terminates the EC2 instances launched since;
* clears the injected faults, the API call counts, the fidelity violations and
  the Lambda invocation counts, and restores the DRS quotas and timings.

Simulated time only moves forward: it is not rewound.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from drorch import names
from drorch.sandbox.core import Sandbox
from drorch.sandbox.drs.models import LOCK as DRS_LOCK
from drorch.sandbox.drs.models import drs_backends
from drorch.sandbox.pulumi_deploy import HubDeployment
from drorch.sandbox.state import DrsQuotas, DrsTimings
from drorch.sandbox.stepfunctions import stop_executions

_DRS_STATE = (
    "initialized",
    "source_servers",
    "jobs",
    "recovery_instances",
    "replication_templates",
    "launch_templates",
)
_LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]


@dataclass
class Checkpoint:
    sandbox: Sandbox
    deployment: HubDeployment
    drs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    instances: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    quotas: DrsQuotas = field(default_factory=DrsQuotas)
    timings: DrsTimings = field(default_factory=DrsTimings)

    @classmethod
    def take(cls, sandbox: Sandbox, deployment: HubDeployment) -> Checkpoint:
        saved = cls(
            sandbox,
            deployment,
            quotas=copy.deepcopy(sandbox.state.drs_quotas),
            timings=copy.deepcopy(sandbox.state.drs_timings),
        )
        with DRS_LOCK:
            for account_id, region, backend in _drs_backends():
                saved.drs[(account_id, region)] = {
                    name: copy.deepcopy(getattr(backend, name)) for name in _DRS_STATE
                }
        for account_id, region in saved._staging_regions():
            saved.instances[(account_id, region)] = set(_instances(sandbox, account_id, region))
        return saved

    def restore(self) -> None:
        stop_executions(self._hub(), self.deployment.state_machines.values())
        self._empty_stores()
        with DRS_LOCK:
            for account_id, region, backend in _drs_backends():
                state = self.drs.get((account_id, region))
                if state is None:
                    backend.reset()
                    continue
                for name, value in state.items():
                    setattr(backend, name, copy.deepcopy(value))
        for (account_id, region), before in self.instances.items():
            launched = sorted(set(_instances(self.sandbox, account_id, region)) - before)
            if launched:
                ec2 = self.sandbox.admin_session(account_id, region).client("ec2")
                ec2.terminate_instances(InstanceIds=launched)
        state = self.sandbox.state
        state.faults.clear()
        state.faults.calls.clear()
        state.fidelity.violations.clear()
        state.lambda_runtime.invocations.clear()
        state.drs_quotas = copy.deepcopy(self.quotas)
        state.drs_timings = copy.deepcopy(self.timings)

    # --- the parts ------------------------------------------------------------------------
    def _staging_regions(self) -> list[tuple[str, str]]:
        return sorted(
            {
                (p.account.account_id, p.account.recovery_region)
                for p in self.sandbox.accounts.values()
            }
        )

    def _hub(self) -> Any:
        return self.sandbox.admin_session(self.deployment.account_id, self.deployment.region)

    def _empty_stores(self) -> None:
        hub = self._hub()
        dynamodb = hub.client("dynamodb")
        for table in (names.HISTORY_TABLE, names.LOCK_TABLE, names.IDEMPOTENCY_TABLE):
            keys = [
                k["AttributeName"]
                for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
            ]
            pages = dynamodb.get_paginator("scan").paginate(
                TableName=table,
                ProjectionExpression=", ".join(f"#k{n}" for n in range(len(keys))),
                ExpressionAttributeNames={f"#k{n}": key for n, key in enumerate(keys)},
            )
            items = [item for page in pages for item in page["Items"]]
            for start in range(0, len(items), 25):  # BatchWriteItem takes 25 at a time
                requests = [{"DeleteRequest": {"Key": i}} for i in items[start : start + 25]]
                while requests:
                    answer = dynamodb.batch_write_item(RequestItems={table: requests})
                    requests = answer.get("UnprocessedItems", {}).get(table, [])
        s3 = hub.client("s3")
        for bucket in (self.deployment.manifest_bucket, self.deployment.artifacts_bucket):
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                doomed = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if doomed:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def _drs_backends() -> list[tuple[str, str, Any]]:
    return [
        (account_id, region, backend)
        for account_id, regions in list(drs_backends.items())
        for region, backend in list(regions.items())
    ]


def _instances(sandbox: Sandbox, account_id: str, region: str) -> list[str]:
    ec2 = sandbox.admin_session(account_id, region).client("ec2")
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": _LIVE_INSTANCE_STATES}]
    )
    return [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]]
