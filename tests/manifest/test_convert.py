"""Importing DR Orchestration Artifacts "layers" manifests (seed 004 §3.1)."""

from __future__ import annotations

import pytest

from drorch.manifest import ManifestError, load_manifest, wave_levels
from drorch.manifest.convert import convert_layers
from tests.manifest.conftest import FAKE_MODULES

LAYERS = [
    {
        "layer": 2,
        "resources": [
            {
                "action": "DRS",
                "resourceName": "Claims app servers",
                "AccountId": "222222222222",
                "parameters": {"Tags": {"dr:wave": "2", "Application": "claims"}},
            },
            {
                "action": "DRS",
                "resourceName": "Claims app servers",  # same name: made unique
                "AccountId": "222222222222",
                "parameters": {"Tags": [{"Key": "Tier", "Value": "batch"}], "batchSize": 10},
            },
        ],
    },
    {
        "layer": 1,
        "resources": [
            {
                "action": "AuroraMySQL",
                "resourceName": "Switchover Aurora MySQL",
                "AccountId": "333333333333",
                "parameters": {
                    "GlobalClusterIdentifier": "!Import claims-global-cluster",
                    "DBClusterIdentifier": "claims-db-dr",
                    "Secret": "{{resolve:ssm:/claims/db-secret}}",
                    "Endpoint": {"Fn::ImportValue": "claims-db-endpoint"},
                },
            },
            {
                "action": "R53Record",
                "resourceName": "Shift claims traffic",
                "AccountId": "111111111111",
                "parameters": {"RecordName": "claims.acme.example", "Weight": 100},
            },
        ],
    },
]


def test_layers_become_sequential_waves():
    result = convert_layers(LAYERS, application="claims", customer="acme")
    manifest = result.manifest
    assert (manifest["manifestVersion"], manifest["application"], manifest["customer"]) == (
        "2.0",
        "claims",
        "acme",
    )
    assert [(w["waveNumber"], w["waveName"]) for w in manifest["waves"]] == [
        (1, "layer-1"),
        (2, "layer-2"),
    ]
    loaded = load_manifest(manifest, modules={})
    assert [[w.name for w in level] for level in wave_levels(loaded)] == [["layer-1"], ["layer-2"]]


def test_resources_become_module_groups_with_selectors_and_references():
    waves = convert_layers(LAYERS, application="claims", customer="acme").manifest["waves"]
    aurora, route53 = waves[0]["technologies"]
    assert aurora["type"] == "aurora-mysql"
    assert aurora["name"] == "switchover-aurora-mysql"
    assert aurora["selector"] == {"accounts": ["333333333333"], "ids": ["claims-db-dr"]}
    assert aurora["parameters"] == {
        "GlobalClusterIdentifier": "resolve:cfn-export:claims-global-cluster",
        "DBClusterIdentifier": "claims-db-dr",
        "Secret": "resolve:ssm:/claims/db-secret",
        "Endpoint": "resolve:cfn-export:claims-db-endpoint",
    }
    assert route53["type"] == "route53-record"
    first, second = waves[1]["technologies"]
    assert (first["name"], second["name"]) == ("claims-app-servers", "claims-app-servers-2")
    assert first["selector"] == {
        "accounts": ["222222222222"],
        "tags": {"dr:wave": "2", "Application": "claims"},
    }
    assert "parameters" not in first  # Tags became the selector
    assert second["selector"]["tags"] == {"Tier": "batch"}
    assert second["parameters"] == {"batchSize": 10}


def test_what_cannot_be_derived_is_noted_and_selected_conservatively():
    result = convert_layers(LAYERS, application="claims", customer="acme")
    route53 = result.manifest["waves"][0]["technologies"][1]
    assert route53["selector"] == {
        "accounts": ["111111111111"],
        "tags": {"dr:wave": "1", "Application": "claims"},
    }
    (note,) = result.notes
    assert note.startswith("$[1].resources[1] ('Shift claims traffic'): no Tags")


def test_the_result_is_checked_like_any_manifest():
    manifest = convert_layers(LAYERS, application="claims", customer="acme").manifest
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, modules=FAKE_MODULES)
    paths = [p.path for p in caught.value.problems]
    # route53-record is not registered; DRS's schema has no "Weight"... every gap has a path
    assert "$.waves[0].technologies[1].type" in paths


def test_framework_wrapped_layers_are_accepted():
    for wrapped, root in (
        ({"layers": LAYERS}, "$.layers"),
        ({"manifest": {"layers": LAYERS}}, "$.manifest.layers"),
    ):
        result = convert_layers(wrapped, application="claims", customer="acme")
        assert len(result.manifest["waves"]) == 2
        bad = (
            {"layers": [{"layer": 0, "resources": []}]}
            if root == "$.layers"
            else {"manifest": {"layers": [{"layer": 0, "resources": []}]}}
        )
        with pytest.raises(ManifestError) as caught:
            convert_layers(bad, application="claims", customer="acme")
        assert {p.path for p in caught.value.problems} == {
            f"{root}[0].layer",
            f"{root}[0].resources",
        }


def test_invalid_layers_report_every_problem_with_its_path():
    bad = [
        {
            "layer": 1,
            "resources": [
                {"action": "Drs", "resourceName": "x", "AccountId": "12", "parameters": []}
            ],
        },
        {
            "layer": 1,
            "resources": [
                {
                    "action": "DRS",
                    "resourceName": "y",
                    "AccountId": "111111111111",
                    "parameters": {},
                }
            ],
        },
        {"resources": []},
    ]
    with pytest.raises(ManifestError) as caught:
        convert_layers(bad, application="claims", customer="acme")
    found = {p.path: p.message for p in caught.value.problems}
    assert set(found) == {
        "$[0].resources[0].action",
        "$[0].resources[0].AccountId",
        "$[0].resources[0].parameters",
        "$[2].layer",
        "$[2].resources",
    }
    assert "did you mean 'DRS'" in found["$[0].resources[0].action"]
    assert "must be a mapping, not a list" in found["$[0].resources[0].parameters"]


def test_a_layer_number_given_twice():
    twice = [LAYERS[0], {**LAYERS[1], "layer": 2}]
    with pytest.raises(ManifestError) as caught:
        convert_layers(twice, application="claims", customer="acme")
    (problem,) = caught.value.problems
    assert (problem.path, problem.message) == (
        "$[1].layer",
        "layer 2 is also $[0]; merge them or renumber one",
    )
