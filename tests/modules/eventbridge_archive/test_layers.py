"""`drorch manifest convert` of a seed 004 layers document using the serverless aliases
(``LambdaFunction``, ``EventBridge``, ``EventArchive``): each maps to its module, and the
written manifest validates."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.manifest import load_manifest_file

ACCOUNT = "222222222222"
BUS = "arn:aws:events:us-east-2:222222222222:event-bus/claims"
LAYERS = [
    {
        "layer": 1,
        "resources": [
            {
                "action": "LambdaFunction",
                "resourceName": "Claims intake",
                "AccountId": ACCOUNT,
                "parameters": {
                    "FunctionName": "acme-claims-intake",
                    "ReservedConcurrentExecutions": 50,
                    "ProvisionedConcurrentExecutions": 10,
                    "Qualifier": "live",
                    "Enabled": True,
                },
            },
            {
                "action": "EventBridge",
                "resourceName": "Claims nightly batch",
                "AccountId": ACCOUNT,
                "parameters": {
                    "RuleName": "acme-claims-nightly-batch",
                    "SourceRegion": "us-east-1",
                },
            },
        ],
    },
    {
        "layer": 2,
        "resources": [
            {
                "action": "EventArchive",
                "resourceName": "Claims events replay",
                "AccountId": ACCOUNT,
                "parameters": {
                    "ArchiveName": "acme-claims-events",
                    "ReplayWindowMinutes": 30,
                    "Destination": {"Arn": BUS},
                },
            }
        ],
    },
]


def test_convert_maps_the_serverless_aliases(tmp_path) -> None:
    source, out = tmp_path / "layers.json", tmp_path / "claims.yaml"
    source.write_text(json.dumps(LAYERS))
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(source), "--application", "claims", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    technologies = {t.type: t for wave in load_manifest_file(out).waves for t in wave.groups}
    assert set(technologies) == {"lambda-function", "eventbridge-rule", "eventbridge-archive"}
    assert technologies["lambda-function"].parameters == {
        "reservedConcurrency": 50,
        "provisionedConcurrency": {"qualifier": "live", "executions": 10},
        "eventSourceMappings": "enable",
    }
    assert list(technologies["eventbridge-rule"].selector.ids) == ["acme-claims-nightly-batch"]
    assert technologies["eventbridge-rule"].parameters["sourceRegion"] == "us-east-1"
    assert technologies["eventbridge-archive"].parameters["minutesBeforeNow"] == 30
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
