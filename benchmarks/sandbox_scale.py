"""Sandbox scale benchmark: deploy, seed the large estate, drill every server through the
engine, clean up.

Prints tables (no assertions): wall time per step, AWS API calls per service and step,
and the DRS jobs per staging account (servers per job). Run with
`python benchmarks/sandbox_scale.py [--scenario large-estate]`.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from drorch.accounts import load_accounts
from drorch.client import Client
from drorch.sandbox import Sandbox
from drorch.sandbox.pulumi_deploy import deploy_hub
from drorch.sandbox.scenario import load_scenario, seed

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = {
    "three-tier": REPO / "manifests/examples/three-tier-claims.yaml",
    "large-estate": REPO / "manifests/examples/large-estate.yaml",
}


def main() -> None:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="large-estate", choices=sorted(MANIFESTS))
    parser.add_argument("--poll-seconds", type=int, default=60)
    args = parser.parse_args()
    console = Console(width=160)
    scenario = load_scenario(args.scenario)
    accounts = load_accounts(REPO / "accounts")
    steps: list[tuple[str, float, Counter]] = []
    with Sandbox(hub=scenario.hub) as sandbox:

        def step(name: str, run):  # type: ignore[no-untyped-def]
            sandbox.faults.calls.clear()
            started = time.perf_counter()
            result = run()
            calls: Counter = Counter()
            for (service, _op, _a, _r), n in sandbox.faults.calls.items():
                calls[service] += n
            steps.append((name, time.perf_counter() - started, calls))
            return result

        step("deploy (Pulumi program: hub and staging accounts)",
             lambda: deploy_hub(sandbox, scenario.select_accounts(accounts)))  # fmt: skip
        report = step(
            "seed (source servers and resources)", lambda: seed(sandbox, scenario, accounts)
        )
        client = Client(sandbox.operator_session())
        application = client.upload_manifest(MANIFESTS[args.scenario]).application

        def execute(operation: str) -> str:
            execution_id = client.start_execution(
                application, operation, poll_seconds=args.poll_seconds
            )
            final = client.wait(execution_id, on_gate=lambda gate: True, interval=1.0)
            return final["execution"]["status"]

        drill = step("drill through the engine", lambda: execute("drill"))
        cleanup = step("cleanup through the engine", lambda: execute("cleanup"))
        jobs: dict[str, list[int]] = {}
        for account in report.accounts:
            drs = sandbox.execution_session(account.account_id).client("drs")
            jobs[account.name] = [
                len(j["participatingServers"])
                for page in drs.get_paginator("describe_jobs").paginate()
                for j in page["items"]
                if j["type"] == "LAUNCH"
            ]
        violations = len(sandbox.state.fidelity.violations)

    table = Table(
        title=f"{scenario.name}: {report.server_count} servers, {len(report.accounts)} accounts"
    )
    table.add_column("step")
    table.add_column("wall seconds", justify="right")
    for name, seconds, _ in steps:
        table.add_row(name, f"{seconds:.1f}")
    console.print(table)

    table = Table(title="AWS API calls per step")
    table.add_column("service")
    for name, _, _ in steps:
        table.add_column(name.split(" ")[0], justify="right")
    for service in sorted(set().union(*(calls for _, _, calls in steps))):
        table.add_row(service, *(str(calls[service]) for _, _, calls in steps))
    console.print(table)

    table = Table(title="DRS launch jobs per staging account")
    for column in ("account", "jobs", "servers", "largest job"):
        table.add_column(column, justify="right")
    for name, sizes in jobs.items():
        table.add_row(name, str(len(sizes)), str(sum(sizes)), str(max(sizes, default=0)))
    console.print(table)
    console.print(f"drill: {drill}; cleanup: {cleanup}; wire fidelity violations: {violations}")


if __name__ == "__main__":
    main()
