"""Handler cold-start imports: each Lambda handler's import time against ``import boto3``.

Each figure is the median of ``--runs`` imports, each in a fresh interpreter (what a
Lambda cold start pays before the first invocation), with the number of modules the
import loads. Every import reads compiled bytecode (a private cache, filled by one
import of each first), as boto3's installed package does. ``import boto3`` is measured in the same run, interleaved with the
handlers, so the ratio holds on a loaded machine too. Goal: every handler ≤ 1.5× boto3.

    python benchmarks/handler_imports.py
    python benchmarks/handler_imports.py --runs 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from drorch import names

REPO = Path(__file__).resolve().parents[1]
GOAL = 1.5
# what the Lambda asset leaves out, and what a handler should not load at import
HEAVY = ("jsonschema", "yaml", "moto", "aws_xray_sdk")

PROBE = """
import json, sys, time
before = set(sys.modules)
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
loaded = set(sys.modules) - before
heavy = sorted(h for h in {heavy!r} if h in sys.modules)
print(json.dumps({{"ms": elapsed * 1000, "modules": len(loaded), "heavy": heavy}}))
"""


def probe(module: str, cache: str) -> dict:
    """One import of ``module`` in a fresh interpreter (bytecode cached in ``cache``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "runtime"), *filter(None, [env.get("PYTHONPATH")])]
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout)


def measure(runs: int) -> tuple[dict, dict[str, dict]]:
    targets = ["boto3", *(f"drorch.handlers.{key}" for key in sorted(names.FUNCTIONS))]
    samples: dict[str, list[dict]] = {t: [] for t in targets}
    with tempfile.TemporaryDirectory(prefix="drorch-pycache-") as cache:
        for target in targets:  # compiles everything once: every run imports bytecode
            probe(target, cache)
        for _ in range(runs):
            for target in targets:  # interleaved: the machine's load hits every target alike
                samples[target].append(probe(target, cache))
    summary = {
        t: {
            "ms": statistics.median(s["ms"] for s in found),
            "modules": statistics.median(s["modules"] for s in found),
            "heavy": found[-1]["heavy"],
        }
        for t, found in samples.items()
    }
    baseline = summary.pop("boto3")
    return baseline, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="imports per handler (median)")
    args = parser.parse_args()
    baseline, handlers = measure(args.runs)
    table = Table(title=f"Handler imports, median of {args.runs} fresh interpreters")
    for column in ("import", "ms", "modules", "× boto3", "heavy modules loaded"):
        table.add_column(column, justify="left" if column in ("import",) else "right")
    table.add_row("boto3", f"{baseline['ms']:.0f}", f"{baseline['modules']:.0f}", "1.00", "")
    worst = 0.0
    for module, found in handlers.items():
        ratio = found["ms"] / baseline["ms"]
        worst = max(worst, ratio)
        table.add_row(
            module.removeprefix("drorch.handlers."),
            f"{found['ms']:.0f}",
            f"{found['modules']:.0f}",
            f"{ratio:.2f}",
            ", ".join(found["heavy"]) or "none",
        )
    console = Console()
    console.print(table)
    verdict = "meets" if worst <= GOAL else "misses"
    console.print(f"worst handler: {worst:.2f}× boto3 ({verdict} the goal of ≤ {GOAL}×)")


if __name__ == "__main__":
    main()
