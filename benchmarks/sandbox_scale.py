"""Sandbox scale benchmark: seed the large estate and rehearse a drill of every server.

Prints tables (no assertions): wall time per step, simulated time per wave, DRS
jobs and servers per job, and AWS API calls per service. Run with
`python benchmarks/sandbox_scale.py [--scenario large-estate]`.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from drorch.accounts import load_accounts
from drorch.sandbox import Sandbox
from drorch.sandbox.rehearsal import rehearse_drill
from drorch.sandbox.scenario import load_scenario, seed

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="large-estate")
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    args = parser.parse_args()
    console = Console(width=160)
    scenario = load_scenario(args.scenario)
    accounts = load_accounts(REPO / "accounts")
    steps: list[tuple[str, float]] = []
    with Sandbox(hub=scenario.hub) as sandbox:
        started = time.perf_counter()
        report = seed(sandbox, scenario, accounts)
        steps.append(("seed (provision accounts, load servers)", time.perf_counter() - started))
        seed_calls = Counter()
        for (service, _op, _a, _r), n in sandbox.faults.calls.items():
            seed_calls[service] += n
        sandbox.faults.calls.clear()
        started = time.perf_counter()
        result = rehearse_drill(
            sandbox, [a.account_id for a in report.accounts], poll_seconds=args.poll_seconds
        )
        steps.append(("drill: discover, launch, wait, clean up", time.perf_counter() - started))
        drill_calls = Counter()
        per_operation = Counter()
        for (service, operation, _a, _r), n in sandbox.faults.calls.items():
            drill_calls[service] += n
            per_operation[f"{service}:{operation}"] += n
        violations = len(sandbox.state.fidelity.violations)

    table = Table(
        title=f"{scenario.name}: {report.server_count} servers, {len(report.accounts)} accounts"
    )
    table.add_column("step")
    table.add_column("wall seconds", justify="right")
    for name, seconds in steps:
        table.add_row(name, f"{seconds:.1f}")
    console.print(table)

    table = Table(title="Drill per wave (simulated time)")
    for column in ("wave", "servers", "launched", "DRS jobs", "servers/job", "simulated"):
        table.add_column(column, justify="right")
    for wave in result.waves:
        table.add_row(
            wave.wave,
            str(len(wave.servers)),
            str(len(wave.servers) - len(wave.failed)),
            str(len(wave.jobs)),
            f"{len(wave.servers) / max(1, len(wave.jobs)):.0f}",
            f"{wave.duration:.0f}s",
        )
    console.print(table)

    table = Table(title="AWS API calls")
    for column in ("service", "seeding", "drill"):
        table.add_column(column, justify="right")
    for service in sorted(set(seed_calls) | set(drill_calls)):
        table.add_row(service, str(seed_calls[service]), str(drill_calls[service]))
    console.print(table)

    table = Table(title="Drill calls by operation (top 10)")
    table.add_column("operation")
    table.add_column("calls", justify="right")
    for operation, count in per_operation.most_common(10):
        table.add_row(operation, str(count))
    console.print(table)
    console.print(
        f"excluded: {len(result.excluded)}; terminated drill instances: {result.terminated_instances}; "
        f"wire fidelity violations: {violations}"
    )


if __name__ == "__main__":
    main()
