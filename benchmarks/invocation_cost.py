"""Where one Lambda invocation's CPU goes, per function, on a generated DRS estate.

It drills the estate of :mod:`benchmarks.engine_scale` (``--servers`` DRS source servers
over ``--accounts`` staging accounts, the five waves of ``large-estate``) through the
real state machines in the sandbox, with every in-process Lambda handler wrapped in
``cProfile``. For each function it prints the invocations, the longest and the total CPU
(the invocation's thread, which includes the sandbox's answers to its AWS calls), the
AWS calls of its longest invocation by operation, and, for the functions asked for with
``--profile``, the ``--top`` entries of the merged profile by cumulative time.

    python benchmarks/invocation_cost.py --servers 400 --accounts 8
    python benchmarks/invocation_cost.py --servers 1000 --accounts 8 --profile readiness finalise
    python benchmarks/invocation_cost.py --servers 1000 --accounts 8 --front   # no drill

``--front`` runs only the master's first steps, through the sandbox's Lambda API, twice:
each in one invocation (discover every account, readiness of the whole plan), then
sharded as the master runs them (a discover per account, a readiness shard per page of
an account's resources, the verdict), and prints both.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import json
import os
import pstats
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_scale import MANIFEST, estate_quotas, generated_estate  # noqa: E402

FUNCTIONS = (
    "initialise",
    "discover",
    "plan",
    "readiness",
    "checkpoint",
    "gate",
    "module_start",
    "module_status",
    "waiter",
    "finalise",
    "fail",
)


class Probe:
    """Wraps each handler: per-invocation thread CPU and AWS calls, and a merged profile."""

    def __init__(self, faults: Any, profiled: set[str]) -> None:
        self.faults = faults
        self.profiled = profiled
        self.lock = threading.Lock()
        self.invocations: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.longest: dict[str, float] = {}
        self.longest_calls: dict[str, Counter[str]] = {}
        self.stats: dict[str, pstats.Stats] = {}
        self.calls = threading.local()
        self.record = faults.record_call
        self.originals: dict[str, Any] = {}

    def __enter__(self) -> Probe:
        def record(service: str, operation: str, account: str, region: str) -> None:
            counter = getattr(self.calls, "counter", None)
            if counter is not None:
                counter[f"{service}:{operation}"] += 1
            self.record(service, operation, account, region)

        self.faults.record_call = record
        for name in FUNCTIONS:
            module = importlib.import_module(f"drorch.handlers.{name}")
            self.originals[name] = module.handler
            module.handler = self.wrap(name, module.handler)
        return self

    def __exit__(self, *_: Any) -> None:
        self.faults.record_call = self.record
        for name, original in self.originals.items():
            importlib.import_module(f"drorch.handlers.{name}").handler = original

    def wrap(self, name: str, handler: Any) -> Any:
        @functools.wraps(handler)
        def probed(event: Any, context: Any) -> Any:
            self.calls.counter = Counter()
            profile = cProfile.Profile() if name in self.profiled else None
            cpu = time.thread_time()
            try:
                if profile is None:
                    return handler(event, context)
                return profile.runcall(handler, event, context)
            finally:
                used = time.thread_time() - cpu
                calls, self.calls.counter = self.calls.counter, None
                with self.lock:
                    self.invocations[name] += 1
                    self.total[name] += used
                    if used >= self.longest.get(name, -1.0):
                        self.longest[name] = used
                        self.longest_calls[name] = calls
                    if profile is not None:
                        if name in self.stats:
                            self.stats[name].add(profile)
                        else:
                            self.stats[name] = pstats.Stats(profile)

        return probed

    def figures(self) -> dict[str, Any]:
        return {
            name: {
                "invocations": self.invocations[name],
                "longestCpuSeconds": round(self.longest[name], 3),
                "totalCpuSeconds": round(self.total[name], 3),
                "longestCalls": dict(self.longest_calls[name].most_common()),
            }
            for name in FUNCTIONS
            if self.invocations[name]
        }


def run(servers: int, accounts: int, poll_seconds: int, probe_of: Any) -> dict[str, Any]:
    from drorch.cli.sandbox_run import sandbox_hub

    quotas = estate_quotas(servers, accounts)
    with tempfile.TemporaryDirectory(prefix="drorch-probe-") as folder:
        scenario, account_dir = generated_estate(Path(folder), servers, accounts)
        with sandbox_hub(str(scenario), account_dir, drs_quotas=quotas) as hub:
            client = hub.client
            application = client.upload_manifest(MANIFEST).application
            with probe_of(hub.sandbox.faults) as probe:
                started = time.perf_counter()
                execution_id = client.start_execution(
                    application, "drill", poll_seconds=poll_seconds
                )
                final = client.wait(execution_id, on_gate=lambda gate: True, interval=2.0)
                wall = time.perf_counter() - started
            return {
                "servers": hub.seeded.server_count,
                "accounts": len(hub.seeded.accounts),
                "status": final["execution"]["status"],
                "wallSeconds": round(wall, 1),
                "functions": probe.figures(),
                "profiles": probe.stats,
            }


def front(servers: int, accounts: int, probe_of: Any) -> dict[str, Any]:
    """The master's first steps invoked through the sandbox's Lambda API, both ways: each
    in one invocation (discover every account, readiness of the whole plan) and sharded as
    the master runs them (a discover per account, a readiness shard per page of an
    account, then the verdict). No drill: a minute, not an hour."""
    from drorch import names
    from drorch.cli.sandbox_run import sandbox_hub
    from drorch.client import new_execution_id

    with tempfile.TemporaryDirectory(prefix="drorch-probe-") as folder:
        scenario, account_dir = generated_estate(Path(folder), servers, accounts)
        quotas = estate_quotas(servers, accounts)
        with sandbox_hub(str(scenario), account_dir, drs_quotas=quotas) as hub:
            client = hub.client
            application = client.upload_manifest(MANIFEST).application
            lam = hub.sandbox.operator_session().client("lambda")

            def invoke(key: str, event: dict[str, Any]) -> Any:
                answer = lam.invoke(FunctionName=names.FUNCTIONS[key], Payload=json.dumps(event))
                body = json.loads(answer["Payload"].read())
                if answer.get("FunctionError"):
                    raise RuntimeError(f"{key}: {body}")
                return body

            found = {}
            for way in ("one invocation", "sharded"):
                master = {
                    "executionId": new_execution_id("drill"),
                    "application": application,
                    "operation": "drill",
                    "manifest": client.manifest_location(application),
                    "pollSeconds": 30,
                    "requestedBy": "invocation-cost",
                }
                with probe_of(hub.sandbox.faults) as probe:
                    context = invoke("initialise", master)
                    run = {"executionId": context["executionId"]}
                    if way == "sharded":
                        context["discovery"] = [
                            invoke("discover", {**run, "accountId": a}) for a in context["accounts"]
                        ]
                        plan = invoke("plan", context)
                        for shard in plan["readiness"]:
                            invoke("readiness", {**run, **shard})
                        invoke("readiness", {**run, "action": "verdict"})
                    else:
                        invoke("discover", context)
                        invoke("plan", context)
                        invoke("readiness", run)
                    invoke("fail", {**run, "error": {"Error": "Cancelled", "Cause": "probe"}})
                found[way] = probe.figures()
            return {
                "servers": hub.seeded.server_count,
                "accounts": len(hub.seeded.accounts),
                "status": "front steps only",
                "wallSeconds": 0,
                "ways": found,
            }


def main() -> None:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=400)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--poll-seconds", type=int, default=30)
    parser.add_argument(
        "--profile", nargs="*", default=[], choices=FUNCTIONS, help="functions to profile"
    )
    parser.add_argument("--top", type=int, default=25, help="profile entries shown")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    parser.add_argument(
        "--front",
        action="store_true",
        help="no drill: initialise, discover, plan and readiness in one invocation each, "
        "then sharded as the master runs them, side by side",
    )
    args = parser.parse_args()
    if args.servers < 5 * args.accounts:
        parser.error("--servers needs at least 5 servers per account (one per wave)")
    profiled = set(args.profile)
    if args.front:
        result = front(args.servers, args.accounts, lambda f: Probe(f, profiled))
        print(f"{result['servers']} servers in {result['accounts']} accounts, the first steps")
        print(f"{'function':<12}{'way':<16}{'calls':>6}{'longest CPU s':>15}{'total CPU s':>13}")
        for way, figures in result["ways"].items():
            for name, fig in figures.items():
                print(
                    f"{name:<12}{way:<16}{fig['invocations']:>6}"
                    f"{fig['longestCpuSeconds']:>15.2f}{fig['totalCpuSeconds']:>13.2f}"
                )
        if args.out:
            args.out.write_text(json.dumps(result, indent=2))
        return
    result = run(args.servers, args.accounts, args.poll_seconds, lambda f: Probe(f, profiled))
    profiles = result.pop("profiles")
    print(
        f"{result['servers']} servers in {result['accounts']} accounts: drill {result['status']} "
        f"in {result['wallSeconds']} s"
    )
    print(
        f"{'function':<15}{'calls':>7}{'longest CPU s':>15}{'total CPU s':>13}  longest's AWS calls"
    )
    for name, fig in result["functions"].items():
        calls = ", ".join(f"{k} {v}" for k, v in list(fig["longestCalls"].items())[:6])
        print(
            f"{name:<15}{fig['invocations']:>7}{fig['longestCpuSeconds']:>15.2f}"
            f"{fig['totalCpuSeconds']:>13.2f}  {calls}"
        )
    for name, stats in profiles.items():
        text = io.StringIO()
        stats.stream = text
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"\n--- {name}: merged profile, by cumulative time ---")
        print(text.getvalue())
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
