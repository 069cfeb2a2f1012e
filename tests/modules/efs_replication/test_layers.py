"""`drorch manifest convert` of a layers document naming the storage modules (TRS: Storage
EFS/FSx) by their aliases."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.manifest import load_manifest_file

LAYERS = [
    {
        "layer": 1,
        "resources": [
            {
                "action": "EFS",
                "resourceName": "Shared home replica",
                "AccountId": "222222222222",
                "parameters": {
                    "FileSystemId": "fs-0123456789abcdef0",
                    "SourceFileSystemId": "fs-0fedcba9876543210",
                    "rpoSeconds": 900,
                },
            },
            {
                "action": "EfsReplication",
                "resourceName": "Uploads replica",
                "AccountId": "222222222222",
                "parameters": {"Tags": [{"Key": "Application", "Value": "uploads"}]},
            },
            {
                "action": "FSx",
                "resourceName": "Windows shares",
                "AccountId": "222222222222",
                "parameters": {
                    "FileSystemId": "fs-0a1b2c3d4e5f60718",
                    "SubnetIds": ["subnet-0a1b2c3d4e5f60718"],
                    "SourceRegion": "us-east-1",
                    "maxBackupAgeSeconds": 86400,
                },
            },
            {
                "action": "FSxRestore",
                "resourceName": "Lustre scratch",
                "AccountId": "222222222222",
                "parameters": {
                    "Tags": {"Application": "hpc"},
                    "SubnetIds": ["subnet-0a1b2c3d4e5f60718"],
                },
            },
        ],
    }
]


def test_convert_maps_the_storage_aliases_to_efs_replication_and_fsx(tmp_path: Path) -> None:
    source, out = tmp_path / "layers.json", tmp_path / "storage.yaml"
    source.write_text(json.dumps(LAYERS))
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(source), "--application", "files", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    [wave] = yaml.safe_load(out.read_text())["waves"]
    efs, uploads, windows, lustre = wave["technologies"]
    assert (efs["type"], efs["selector"]["ids"], efs["parameters"]) == (
        "efs-replication",
        ["fs-0123456789abcdef0"],
        {"rpoSeconds": 900},
    )
    assert uploads["selector"]["tags"] == {"Application": "uploads"}
    assert windows["type"] == "fsx"
    assert windows["parameters"] == {
        "subnetIds": ["subnet-0a1b2c3d4e5f60718"],
        "copyFromRegion": "us-east-1",
        "maxBackupAgeSeconds": 86400,
    }
    assert lustre["selector"]["tags"] == {"Application": "hpc"}
    assert [t.type for w in load_manifest_file(out).waves for t in w.groups] == [
        "efs-replication",
        "efs-replication",
        "fsx",
        "fsx",
    ]
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_an_fsx_layer_without_subnets_is_refused_naming_the_field(tmp_path: Path) -> None:
    layers = [{"layer": 1, "resources": [{**LAYERS[0]["resources"][3], "parameters": {}}]}]
    source = tmp_path / "layers.json"
    source.write_text(json.dumps(layers))
    result = CliRunner().invoke(app, ["convert", str(source), "--application", "files"])
    assert result.exit_code == 2
    assert "subnetIds" in result.stderr
