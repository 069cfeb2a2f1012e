"""`drorch manifest validate|convert` through the command's typer app."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.manifest import load_manifest_file
from tests.manifest.conftest import EXAMPLES
from tests.manifest.test_convert import LAYERS


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_validate_prints_a_summary(run):
    result = run("validate", EXAMPLES / "three-tier-claims.yaml")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "valid" in out and "application claims" in out
    assert "level 0: data (wave 1)" in out
    assert "level 1: app (wave 2; pause before)" in out
    assert "approval before ACTIVATE" in out
    assert "data-servers" in out


def test_validate_json_summary(run):
    result = run("validate", EXAMPLES / "large-estate.yaml", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["valid"] is True
    assert summary["application"] == "globex"
    assert [[w["wave"] for w in level] for level in summary["levels"]] == [
        ["databases"],
        ["applications"],
        ["app-and-web"],
        ["web"],
        ["non-production"],
    ]
    assert summary["groups"][0] == {
        "id": "databases-servers",
        "wave": "databases",
        "type": "drs",
        "name": "servers",
        "selector": {
            "tags": {"dr:wave": "1", "Customer": "globex"},
            "resourceTypes": ["drs:source-server"],
            "accounts": [],
            "regions": [],
            "ids": [],
        },
        "parameters": {},
    }


BAD = """\
manifestVersion: "2.0"
customer: acme
environment: production
pollSeconds: fast
waves:
  - waveNumber: 1
    waveName: data
    dependsOn: [web]
    technologies: [{type: drs, selector: {tags: {dr:wave: 1}}}]
  - waveNumber: 2
    waveName: web
    technologies: [{type: drs, selector: {tags: {dr:wave: "2"}}}]
"""


def test_validate_reports_every_problem_with_its_path_and_exits_2(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = run("validate", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr
    assert f"{path}: invalid manifest (3 problems)" in err
    assert "$.pollSeconds: must be an integer, not a string" in err
    assert "$.waves[0].dependsOn: dependency cycle data → web → data" in err
    assert "$.waves[0].technologies[0].selector.tags['dr:wave']: must be a string" in err


def test_validate_json_errors(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = run("validate", path, "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert [e["path"] for e in report["errors"]] == [
        "$.pollSeconds",
        "$.waves[0].dependsOn",
        "$.waves[0].technologies[0].selector.tags['dr:wave']",
    ]


def test_validate_a_missing_file(run, tmp_path):
    result = run("validate", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "cannot read the file" in result.stderr


def test_convert_writes_yaml_that_loads(run, tmp_path):
    source = tmp_path / "claims-activate.json"
    source.write_text(json.dumps(LAYERS))
    out = tmp_path / "claims.yaml"
    result = run("convert", source, "-o", out, "--customer", "acme")
    # aurora-mysql and route53-record are not drorch modules (yet): written, but exit 1
    assert result.exit_code in (0, 1)
    assert f"wrote {out}" in result.stderr
    assert "review: $[1].resources[1] ('Shift claims traffic')" in result.stderr
    document = yaml.safe_load(out.read_text())
    assert document["application"] == "claims-activate"
    assert document["customer"] == "acme"
    assert out.read_text().startswith("# Converted by `drorch manifest convert`")
    manifest = load_manifest_file(out, modules={})
    assert [w.name for w in manifest.waves] == ["layer-1", "layer-2"]


def test_convert_to_stdout_and_json(run, tmp_path):
    source = tmp_path / "layers.yaml"
    source.write_text(yaml.safe_dump([LAYERS[0]]))
    result = run("convert", source, "--application", "claims")
    assert yaml.safe_load(result.stdout)["waves"][0]["waveName"] == "layer-2"
    out = tmp_path / "claims.json"
    run("convert", source, "--application", "claims", "-o", out)
    assert json.loads(out.read_text())["application"] == "claims"


def test_convert_invalid_layers_exit_2(run, tmp_path):
    source = tmp_path / "layers.json"
    source.write_text(json.dumps([{"layer": "one", "resources": []}]))
    result = run("convert", source)
    assert result.exit_code == 2
    assert "$[0].layer: must be an integer, not a string" in result.stderr


def test_through_the_drorch_entry_point(tmp_path, capsys):
    from drorch.cli.main import main

    assert main(["manifest", "validate", str(EXAMPLES / "three-tier-claims.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["application"] == "claims"
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    assert main(["manifest", "validate", str(path)]) == 2
    assert "$.pollSeconds: must be an integer" in capsys.readouterr().err


def test_user_text_is_printed_verbatim_not_as_markup(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD.replace("waveName: data", "waveName: '[bold]data '"))
    result = run("validate", path)
    assert result.exit_code == 2
    assert "$.waves[0].waveName: '[bold]data ' is not valid" in result.stderr
