"""Engine scale benchmark: a drill of a generated DRS estate through the real state machines.

For each estate size (1,000, 3,000 and ``--servers`` by default) it generates
``--accounts`` staging accounts and a scenario of that many DRS source servers in
five waves (the ``large-estate`` manifest: an approval before ACTIVATE, a pause
before the last wave, both approved as they open), runs the drill in the sandbox,
and prints one table: wall time, simulated time, state transitions, Lambda
invocations, the largest Step Functions payload, peak memory, the API calls of the
engine and of the operator's client (``Client.wait``) by service, the client's CPU
time, and the growth exponent of each figure (the slope of log(figure) against
log(servers): 1 grows with the servers, 0 stays flat).

Each size runs in a process of its own (so peak memory is that run's) and writes
its figures to ``--out`` (one JSON file per size), so a long run keeps what it has
measured.

    python benchmarks/engine_scale.py                                # 1k and 3k, 4 accounts
    python benchmarks/engine_scale.py --servers 10000 --accounts 8   # 1k, 3k and 10k
    python benchmarks/engine_scale.py --table --accounts 8           # the table of what --out holds
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "manifests/examples/large-estate.yaml"
WAVES = ("1", "2", "3", "4", "5")  # the large-estate manifest's dr:wave values
LADDER = (1000, 3000)
AWS_REPLICATING_QUOTA = 300  # replicating source servers per account and Region


def generated_estate(folder: Path, servers: int, accounts: int) -> tuple[Path, Path]:
    """``accounts/`` with ``accounts`` staging accounts, and a scenario of ``servers``
    DRS source servers spread evenly over them and the five waves."""
    template = yaml.safe_load((REPO / "accounts/staging-app.yaml").read_text())
    account_dir = folder / "accounts"
    (account_dir / "drs").mkdir(parents=True)
    shutil.copy(REPO / "accounts/drs/defaults.yaml", account_dir / "drs/defaults.yaml")
    names = []
    for index in range(accounts):
        name = f"staging-{index + 1:02d}"
        names.append(name)
        account = dict(template)
        account |= {
            "name": name,
            "accountId": f"{710000000000 + index + 1}",
            "description": f"Generated staging account {index + 1} of {accounts}",
            "externalId": f"drorch-bench-{index + 1:02d}",
            "modules": ["drs"],
            "capacity": max(1, -(-servers // accounts)),
            "network": {
                "vpcCidr": f"10.{200 + index}.0.0/16",
                "subnets": [
                    {"cidr": f"10.{200 + index}.1.0/24", "availabilityZone": "us-east-2a"},
                    {"cidr": f"10.{200 + index}.2.0/24", "availabilityZone": "us-east-2b"},
                    {
                        "cidr": f"10.{200 + index}.100.0/24",
                        "availabilityZone": "us-east-2a",
                        "purpose": "staging",
                    },
                ],
            },
        }
        (account_dir / f"{name}.yaml").write_text(yaml.safe_dump(account, sort_keys=False))
    groups = []
    for index, name in enumerate(names):
        share = servers // accounts + (1 if index < servers % accounts else 0)
        for number, wave in enumerate(WAVES):
            count = share // len(WAVES) + (1 if number < share % len(WAVES) else 0)
            if not count:
                continue
            production = wave != WAVES[-1]
            groups.append(
                {
                    "account": name,
                    "count": count,
                    "hostname": f"a{index + 1:02d}-w{wave}-{{n:05d}}",
                    "ipRange": f"10.{20 + index}.{number * 16}.0/20",
                    "tags": {
                        "dr:enabled": "true",
                        "dr:recovery-strategy": "drs",
                        "dr:wave": wave,
                        "dr:priority": "high" if production else "low",
                        "Customer": "globex",
                        "Environment": "production" if production else "non-production",
                    },
                }
            )
    scenario = {
        "name": f"bench-{servers}-{accounts}",
        "description": f"{servers} DRS source servers in {accounts} staging accounts, 5 waves",
        "hub": {"accountId": "999999999999", "region": "us-east-2"},
        "accounts": names,
        "serverGroups": groups,
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path, account_dir


class ClientCalls:
    """Counts, by service, the calls the sandbox answers on this thread: the operator's
    client runs here, the state machines and their Lambda functions on threads of their own."""

    def __init__(self, faults: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.polls = 0
        self.thread = threading.get_ident()
        self.faults = faults
        self.record = faults.record_call

    def __enter__(self) -> ClientCalls:
        def record(service: str, operation: str, account: str, region: str) -> None:
            if threading.get_ident() == self.thread:
                self.calls[service] += 1
                self.polls += operation == "DescribeExecution"  # one per describe
            self.record(service, operation, account, region)

        self.faults.record_call = record
        return self

    def __exit__(self, *_: Any) -> None:
        self.faults.record_call = self.record


def estate_quotas(servers: int, accounts: int) -> Any:
    """The sandbox's DRS quotas for an even share of ``servers`` per account."""
    from drorch.sandbox import DrsQuotas

    per_account = -(-servers // accounts)
    quotas = DrsQuotas()
    # AWS replicates at most 300 source servers per staging account: a larger share per
    # account is a sandbox-only allowance (in AWS, spread the estate over more accounts)
    quotas.max_replicating_source_servers = max(quotas.max_replicating_source_servers, per_account)
    quotas.max_source_servers = max(quotas.max_source_servers, per_account)
    return quotas


def measure(servers: int, accounts: int, poll_seconds: int) -> dict[str, Any]:
    """One drill of a generated estate; its figures."""
    from drorch.cli.sandbox_run import sandbox_hub
    from drorch.engine import clock

    quotas = estate_quotas(servers, accounts)
    with tempfile.TemporaryDirectory(prefix="drorch-bench-") as folder:
        scenario, account_dir = generated_estate(Path(folder), servers, accounts)
        set_up = time.perf_counter()
        with sandbox_hub(str(scenario), account_dir, drs_quotas=quotas) as hub:
            set_up = time.perf_counter() - set_up
            client = hub.client
            application = client.upload_manifest(MANIFEST).application
            hub.sandbox.faults.calls.clear()
            hub.sandbox.state.lambda_runtime.invocations.clear()
            hub.sandbox.state.lambda_runtime.longest_cpu.clear()
            started = time.perf_counter()
            cpu = time.thread_time()  # the engine runs on other threads
            with ClientCalls(hub.sandbox.faults) as counter:
                execution_id = client.start_execution(
                    application, "drill", poll_seconds=poll_seconds
                )
                final = client.wait(execution_id, on_gate=lambda gate: True, interval=1.0)
            client_cpu = time.thread_time() - cpu
            wall = time.perf_counter() - started
            # the drill's peak (paging every execution history below takes more)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            client_calls = Counter(counter.calls)
            every_call: Counter[str] = Counter()
            for (service, _operation, _a, _r), n in hub.sandbox.faults.calls.items():
                every_call[service] += n
            drs: Counter[str] = Counter()  # every account's
            for (service, operation, _a, _r), n in hub.sandbox.faults.calls.items():
                if service == "drs":
                    drs[operation] += n
            executions, transitions, largest = _machine_figures(hub)
            instantiate_polls = _instantiate_polls(hub)
            invocations = dict(hub.sandbox.state.lambda_runtime.invocations)
            execution = final["execution"]
            simulated = (
                clock.parse(execution["finishedAt"]) - clock.parse(execution["startedAt"])
            ).total_seconds()
            activated = [r for r in final["resources"] if r["phase"] == "ACTIVATE"]
            return {
                "servers": hub.seeded.server_count,
                "accounts": len(hub.seeded.accounts),
                "status": execution["status"],
                "recovered": sum(1 for r in activated if r["status"] == "SUCCEEDED"),
                "setUpSeconds": set_up,
                "wallSeconds": wall,
                "simulatedSeconds": simulated,
                "clientCpuSeconds": client_cpu,
                "executions": executions,
                "transitions": transitions,
                "instantiatePolls": instantiate_polls,
                "largestPayload": largest,
                "lambdaInvocations": sum(invocations.values()),
                "lambdaByFunction": invocations,
                "longestCpuByFunction": dict(hub.sandbox.state.lambda_runtime.longest_cpu),
                # the engine's calls: every call the sandbox answered but the client's
                "engineCalls": dict(every_call - client_calls),
                "clientCalls": dict(client_calls),
                "clientPolls": counter.polls,
                "drsCalls": dict(drs),
                "peakMemoryMiB": peak,
            }


def _machine_figures(hub: Any) -> tuple[dict[str, int], int, int]:
    """Executions per state machine, state transitions (history events) and the largest
    input or output any state carried."""
    sfn = hub.sandbox.operator_session().client("stepfunctions")
    executions: Counter[str] = Counter()
    transitions = largest = 0
    for key, arn in hub.deployment.state_machines.items():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for execution in page["executions"]:
                executions[key] += 1
                history = sfn.get_paginator("get_execution_history").paginate(
                    executionArn=execution["executionArn"]
                )
                for events in history:
                    for event in events["events"]:
                        transitions += 1
                        for details in event.values():
                            if isinstance(details, dict):
                                for field in ("input", "output"):
                                    largest = max(largest, len(details.get(field) or ""))
    return dict(executions), transitions, largest


def _instantiate_polls(hub: Any) -> int:
    """Wait states the INSTANTIATE executors entered: phases run in order, so these polls
    all come before the first StartRecovery."""
    sfn = hub.sandbox.operator_session().client("stepfunctions")
    polls = 0
    arn = hub.deployment.state_machines["executor"]
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for execution in page["executions"]:
            events = [
                event
                for history in sfn.get_paginator("get_execution_history").paginate(
                    executionArn=execution["executionArn"]
                )
                for event in history["events"]
            ]
            started = events[0].get("executionStartedEventDetails") or {}
            if json.loads(started.get("input") or "{}").get("phase") == "INSTANTIATE":
                polls += sum(event["type"] == "WaitStateEntered" for event in events)
    return polls


def exponent(sizes: list[float], values: list[float]) -> str:
    """The least-squares slope of log(value) on log(size)."""
    points = [(math.log(s), math.log(v)) for s, v in zip(sizes, values, strict=True) if v > 0]
    if len(points) < 2:
        return "-"
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if not spread:
        return "-"
    return f"{sum((x - mean_x) * (y - mean_y) for x, y in points) / spread:.2f}"


def rows(results: list[dict[str, Any]]) -> list[tuple[str, list[str], list[float]]]:
    """(figure, its text per size, its value per size) for the table."""

    def row(name: str, values: list[float], fmt: str = "{:.0f}") -> tuple:
        return name, [fmt.format(v) for v in values], values

    def per(key: str) -> list[float]:
        return [float(r[key]) for r in results]

    table = [
        ("drill status", [r["status"] for r in results], []),
        row("servers recovered (ACTIVATE)", per("recovered")),
        row("wall time (s)", per("wallSeconds")),
        row("simulated time (s)", per("simulatedSeconds")),
        row("state transitions", per("transitions")),
        row(
            "INSTANTIATE polls (before the first StartRecovery)",
            [float(r.get("instantiatePolls", 0)) for r in results],
        ),
        row("Lambda invocations", per("lambdaInvocations")),
        row("largest payload (bytes)", per("largestPayload")),
        row("peak memory (MiB)", per("peakMemoryMiB")),
        row("client CPU in wait (s)", per("clientCpuSeconds"), "{:.1f}"),
        row("client polls (describe)", per("clientPolls")),
        row(
            "client DynamoDB calls per poll",
            [r["clientCalls"].get("dynamodb", 0) / max(1, r["clientPolls"]) for r in results],
            "{:.1f}",
        ),
        row(
            "client CPU per poll (ms)",
            [1000 * r["clientCpuSeconds"] / max(1, r["clientPolls"]) for r in results],
            "{:.1f}",
        ),
    ]
    invoked = sorted({f for r in results for f in r.get("lambdaByFunction", {})})
    position = next(i for i, entry in enumerate(table) if entry[0] == "Lambda invocations") + 1
    table[position:position] = [
        row(
            f"  {function.removeprefix('drorch-')}",
            [float(r.get("lambdaByFunction", {}).get(function, 0)) for r in results],
        )
        for function in invoked
    ]
    functions = sorted({f for r in results for f in r.get("longestCpuByFunction", {})})
    for function in functions:
        table.append(
            row(
                f"longest {function.removeprefix('drorch-')} invocation, CPU s",
                [r.get("longestCpuByFunction", {}).get(function, 0.0) for r in results],
                "{:.2f}",
            )
        )
    for side, key in (("engine", "engineCalls"), ("client", "clientCalls")):
        services = sorted({s for r in results for s in r[key]})
        table.append(row(f"{side} API calls", [float(sum(r[key].values())) for r in results]))
        for service in services:
            table.append(row(f"  {service}", [float(r[key].get(service, 0)) for r in results]))
    for operation in (
        "GetLaunchConfiguration",
        "UpdateLaunchConfiguration",
        "StartRecovery",
        "DescribeJobs",
        "DescribeSourceServers",
    ):
        table.append(
            row(f"DRS {operation}", [float(r["drsCalls"].get(operation, 0)) for r in results])
        )
    return table


def print_table(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    results = sorted(results, key=lambda r: r["servers"])
    over = [r for r in results if -(-r["servers"] // r["accounts"]) > AWS_REPLICATING_QUOTA]
    accounts = sorted({r["accounts"] for r in results})
    table = Table(
        title=f"A drill through the engine in the sandbox ({'/'.join(map(str, accounts))} "
        "staging accounts, 5 waves)"
    )
    table.add_column("figure")
    for result in results:
        table.add_column(f"{result['servers']:,} servers", justify="right")
    table.add_column("growth exponent", justify="right")
    sizes = [float(r["servers"]) for r in results]
    for name, texts, values in rows(results):
        table.add_row(name, *texts, exponent(sizes, values) if values else "")
    console = Console(width=160)
    console.print(table)
    if over:
        console.print(
            f"note: AWS DRS replicates at most {AWS_REPLICATING_QUOTA} source servers per "
            f"staging account; the sandbox allowed more per account for "
            f"{', '.join(format(r['servers'], ',') for r in over)} servers (in AWS: at least "
            f"{-(-max(r['servers'] for r in over) // AWS_REPLICATING_QUOTA)} staging accounts)"
        )


def main() -> None:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=3000, help="the largest estate")
    parser.add_argument("--accounts", type=int, default=4, help="staging accounts (1-50)")
    parser.add_argument(
        "--sizes", type=int, nargs="*", help="estate sizes (default: 1000, 3000, --servers)"
    )
    parser.add_argument("--poll-seconds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmark-results"))
    parser.add_argument(
        "--table",
        action="store_true",
        help="print the table of the sizes already measured in --out (runs nothing)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    args = parser.parse_args()
    if not 1 <= args.accounts <= 50:
        parser.error(f"--accounts {args.accounts} must be between 1 and 50")
    if args.one:
        result = measure(args.one, args.accounts, args.poll_seconds)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"engine-scale-{args.one}-{args.accounts}.json"
        path.write_text(json.dumps(result, indent=2))
        return
    if args.table:
        found = sorted(args.out.glob(f"engine-scale-*-{args.accounts}.json"))
        if not found:
            parser.error(f"no results for {args.accounts} accounts in {args.out}")
        print_table([json.loads(path.read_text()) for path in found])
        return
    sizes = args.sizes or sorted({s for s in LADDER if s < args.servers} | {args.servers})
    if any(s < 5 * args.accounts for s in sizes):
        parser.error("every size needs at least 5 servers per account (one per wave)")
    results = []
    for size in sizes:
        print(f"drill of {size:,} servers in {args.accounts} accounts ...", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--accounts", str(args.accounts),
             "--poll-seconds", str(args.poll_seconds), "--out", str(args.out)],
            check=True,
        )  # fmt: skip
        path = args.out / f"engine-scale-{size}-{args.accounts}.json"
        results.append(json.loads(path.read_text()))
        print(f"  done in {time.perf_counter() - started:.0f} s ({path})", flush=True)
    print_table(results)


if __name__ == "__main__":
    main()
