"""Engine scale benchmark: a full drill through the real state machines in the sandbox.

For each scenario it prints wall time, state transitions (history events across
every master/lifecycle/executor execution), Lambda invocations, DRS API calls,
the largest Step Functions payload and the polls (Wait states) of the INSTANTIATE
executors, all of which run before the first StartRecovery — to show that
transitions grow with waves x module groups x accounts, not with servers, and
payloads stay far under 256 KiB.

    python benchmarks/engine_scale.py                       # three-tier and large-estate
    python benchmarks/engine_scale.py --scenario large-estate
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from drorch.cli.sandbox_run import sandbox_hub

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = {
    "three-tier": REPO / "manifests/examples/three-tier-claims.yaml",
    "large-estate": REPO / "manifests/examples/large-estate.yaml",
}


def measure(scenario: str) -> dict:
    with sandbox_hub(scenario, REPO / "accounts") as hub:
        client = hub.client
        application = client.upload_manifest(MANIFESTS[scenario]).application
        hub.sandbox.faults.calls.clear()
        started = time.perf_counter()
        execution_id = client.start_execution(application, "drill", poll_seconds=30)
        final = client.wait(execution_id, on_gate=lambda gate: True, interval=1.0)
        wall = time.perf_counter() - started
        sfn = hub.sandbox.operator_session().client("stepfunctions")
        executions = Counter()
        waits = Counter()  # Wait states the executors entered, per phase
        transitions = 0
        largest = 0
        for key, arn in hub.deployment.state_machines.items():
            pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
            for page in pages:
                for execution in page["executions"]:
                    executions[key] += 1
                    events = sfn.get_paginator("get_execution_history").paginate(
                        executionArn=execution["executionArn"]
                    )
                    phase = ""
                    for history in events:
                        for event in history["events"]:
                            transitions += 1
                            started = event.get("executionStartedEventDetails")
                            if key == "executor" and started:
                                phase = json.loads(started["input"]).get("phase", "")
                            if key == "executor" and event["type"] == "WaitStateEntered":
                                waits[phase] += 1
                            for details in event.values():
                                if isinstance(details, dict):
                                    for field in ("input", "output"):
                                        largest = max(largest, len(details.get(field) or ""))
        drs_calls = Counter()
        for (service, operation, _a, _r), n in hub.sandbox.faults.calls.items():
            if service == "drs":
                drs_calls[operation] += n
        return {
            "scenario": scenario,
            "servers": hub.seeded.server_count,
            "status": final["execution"]["status"],
            "wall": wall,
            "executions": dict(executions),
            "transitions": transitions,
            "largest": largest,
            "lambda": sum(hub.sandbox.state.lambda_runtime.invocations.values()),
            "drs": drs_calls,
            "waits": waits,
            "resources": len(final["resources"]),
        }


def main() -> None:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", action="append", choices=sorted(MANIFESTS))
    args = parser.parse_args()
    results = [measure(s) for s in (args.scenario or ["three-tier", "large-estate"])]
    console = Console(width=200)
    table = Table(title="A drill through the engine in the sandbox")
    for column in (
        "scenario",
        "servers",
        "status",
        "wall s",
        "executions (master/lifecycle/executor)",
        "state transitions",
        "transitions / server",
        "largest payload (bytes)",
        "Lambda invocations",
        "INSTANTIATE polls (all executors)",
        "DRS Get/UpdateLaunchConfiguration",
        "DRS StartRecovery",
        "DRS DescribeJobs",
        "DRS calls",
    ):
        table.add_column(column, justify="right")
    for r in results:
        e = r["executions"]
        table.add_row(
            r["scenario"],
            str(r["servers"]),
            r["status"],
            f"{r['wall']:.0f}",
            f"{e.get('master', 0)}/{e.get('lifecycle', 0)}/{e.get('executor', 0)}",
            str(r["transitions"]),
            f"{r['transitions'] / r['servers']:.1f}",
            str(r["largest"]),
            str(r["lambda"]),
            str(r["waits"]["INSTANTIATE"]),
            f"{r['drs']['GetLaunchConfiguration']}/{r['drs']['UpdateLaunchConfiguration']}",
            str(r["drs"]["StartRecovery"]),
            str(r["drs"]["DescribeJobs"]),
            str(sum(r["drs"].values())),
        )
    console.print(table)


if __name__ == "__main__":
    main()
