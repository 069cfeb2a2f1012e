"""Chaos: bad manifests through the CLI. Each is one clear input error (exit 2) naming the
path, never an internal error (exit 3), and nothing is written or started."""

from __future__ import annotations

import json

import pytest
import yaml

from drorch.cli.main import main
from drorch.engine.plan import PLAN_PAYLOAD_BUDGET
from tests.chaos.conftest import EXAMPLE
from tests.manifest.test_fuzz_robust_input import ALIAS_BOMB

pytestmark = pytest.mark.chaos


def example(**changes) -> dict:
    document = yaml.safe_load(EXAMPLE.read_text())
    document.update(changes)
    return document


def drs_wave(number: int, **extra) -> dict:
    return {
        "waveNumber": number,
        "waveName": f"w{number}",
        "technologies": [{"type": "drs", "selector": {"tags": {"dr:wave": "1"}}}],
        **extra,
    }


BAD = {
    "invalid-utf-8": (b"application: \xff\xfe claims\n", "$"),
    "alias-bomb": (ALIAS_BOMB, "$"),
    "deep-nesting": (b"[" * 5000 + b"]" * 5000, "$"),
    "unhashable-key": (b"? [a, b]\n: 1\n", "$"),
    "dependency-cycle": (
        example(
            waves=[
                drs_wave(1, dependsOn=["w2"]),
                drs_wave(2, dependsOn=["w1"]),
            ]
        ),
        "$.waves",
    ),
    "unknown-module": (
        example(waves=[{**drs_wave(1), "technologies": [{"type": "teleporter"}]}]),
        "$.waves[0].technologies[0].type",
    ),
    "bad-reference": (
        example(
            waves=[
                {
                    **drs_wave(1),
                    "technologies": [
                        {
                            "type": "drs",
                            "selector": {"ids": ["s-1"]},
                            "parameters": {"maxServersPerJob": "resolve:ssm:"},
                        }
                    ],
                }
            ]
        ),
        "$.waves[0].technologies[0].parameters",
    ),
    "allow-empty-not-boolean": (
        example(
            waves=[
                {
                    **drs_wave(1),
                    "technologies": [
                        {"type": "drs", "allowEmpty": "yes", "selector": {"ids": ["s-1"]}}
                    ],
                }
            ]
        ),
        "$.waves[0].technologies[0].allowEmpty",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_manifest_is_one_clear_input_error(tmp_path, capsys, name):
    content, path = BAD[name]
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    target = tmp_path / "bad.yaml"
    target.write_bytes(data)
    assert main(["manifest", "validate", str(target), "--json"]) == 2
    out, err = capsys.readouterr()
    assert "internal error" not in err
    found = json.loads(out)
    assert found["valid"] is False
    assert any(e["path"].startswith(path) for e in found["errors"]), found["errors"]


def test_ten_thousand_waves_are_refused_with_the_payload_budget(tmp_path, capsys):
    document = example(waves=[drs_wave(n) for n in range(1, 10_001)])
    document.pop("healthChecks", None)
    target = tmp_path / "estate.json"
    target.write_text(json.dumps(document))
    assert main(["manifest", "validate", str(target), "--json"]) == 2
    (error,) = json.loads(capsys.readouterr().out)["errors"]
    assert error["path"] == "$.waves"
    assert f"{PLAN_PAYLOAD_BUDGET} byte budget" in error["message"]
    assert "10000 waves" in error["message"]


def test_convert_of_garbage_is_an_input_error(tmp_path, capsys):
    target = tmp_path / "layers.json"
    target.write_bytes(b'{"layers": [{"resources": 7}]}')
    assert main(["manifest", "convert", str(target)]) == 2
    assert "internal error" not in capsys.readouterr().err
