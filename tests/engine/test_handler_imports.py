"""Lean handlers: what importing a Lambda handler loads (each case in a fresh interpreter).

A handler loads neither the validator (jsonschema, PyYAML), nor the sandbox (moto), nor
the X-Ray SDK unless tracing is on, nor any technology module before a group asks for it.
Timings are in ``benchmarks/handler_imports.py``; these checks are not timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from drorch import names

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
HEAVY = ("jsonschema", "yaml", "moto", "aws_xray_sdk")


def _run(code: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    clean["PYTHONPATH"] = str(RUNTIME)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


REPORT = f"""
import json, sys
print(json.dumps({{
    "heavy": sorted(h for h in {HEAVY!r} if h in sys.modules),
    "modules": sorted(m for m in sys.modules if m.count(".") == 2
                      and m.startswith("drorch.modules.") and m.split(".")[2] not in
                      ("base", "registry", "routing", "steps", "resource", "capacity")),
}}))
"""


def test_importing_every_handler_loads_no_validator_sandbox_tracer_or_module():
    imports = "".join(f"import drorch.handlers.{key}\n" for key in sorted(names.FUNCTIONS))
    found = _run(imports + REPORT, AWS_LAMBDA_FUNCTION_NAME="drorch-test")
    assert found == {"heavy": [], "modules": []}


def test_a_module_is_imported_when_it_is_asked_for_by_name():
    found = _run(
        "from drorch.modules import REGISTRY\n"
        "assert 'drs' in REGISTRY and 'wait' in REGISTRY\n"
        "assert REGISTRY['drs'].type == 'drs'\n" + REPORT
    )
    assert found == {"heavy": [], "modules": ["drorch.modules.drs"]}


def test_iterating_the_registry_imports_every_module():
    found = _run("from drorch.modules import REGISTRY, registry\nlist(REGISTRY)\n" + REPORT)
    from drorch.modules import registry

    assert found["modules"] == sorted(registry.PACKAGES)


TRACED = (
    """
from drorch.handlers.common import tracer

@tracer.capture_method
def work(x):
    return x + 1

assert work(1) == 2
"""
    + REPORT
)


def test_the_x_ray_sdk_is_loaded_only_when_tracing_is_on():
    on = _run(
        TRACED, AWS_LAMBDA_FUNCTION_NAME="drorch-test", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR"
    )
    assert "aws_xray_sdk" in on["heavy"]
    disabled = _run(
        TRACED, AWS_LAMBDA_FUNCTION_NAME="drorch-test", POWERTOOLS_TRACE_DISABLED="true"
    )
    assert "aws_xray_sdk" not in disabled["heavy"]
    outside_lambda = _run(TRACED)
    assert "aws_xray_sdk" not in outside_lambda["heavy"]
