"""Importing "layers" documents: seed 004 §3.1, seed 000 (Enhanced DRS), the DR
Orchestrator Framework's StatePayload. The seeds' documents are in seed_layers/."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.manifest import ManifestError, load_manifest, load_manifest_file, wave_levels
from drorch.manifest.convert import convert_layers
from drorch.modules import REGISTRY, LayerMapping, Module, by_alias, register

SEEDS = Path(__file__).with_name("seed_layers")
SEED_DOCUMENTS = sorted(SEEDS.glob("000_*.json"))

# seed 004 §3.1 shape: layers, each resource with action, resourceName, AccountId, parameters
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
                "parameters": {
                    "Tags": [{"Key": "Tier", "Value": "batch"}],
                    "maxServersPerJob": 10,
                },
            },
        ],
    },
    {
        "layer": 1,
        "resources": [
            {
                "action": "DRS",
                "resourceName": "Claims database servers",
                "AccountId": "333333333333",
                "parameters": {"HostNames": ["claims-db-01", "claims-db-02"]},
            },
            {
                "action": "DRS",
                "resourceName": "Shift claims traffic",
                "AccountId": "111111111111",
                "parameters": {"Weight": 100},
            },
        ],
    },
]


def convert(data: Any, **options: Any):
    return convert_layers(data, application="erp", customer="acme", **options)


def seed(name: str) -> Any:
    return json.loads((SEEDS / name).read_text())


def problems(data: Any, **options: Any) -> dict[str, str]:
    with pytest.raises(ManifestError) as caught:
        convert(data, **options)
    return {p.path: p.message for p in caught.value.problems}


# --- the seeds, as they are written --------------------------------------------------------


@pytest.mark.parametrize("path", SEED_DOCUMENTS, ids=lambda p: p.stem)
def test_every_seed_document_converts_to_a_manifest_that_validates(path):
    result = convert(json.loads(path.read_text()), action="enhanced_drs")
    manifest = load_manifest(result.manifest)  # the real registry: drs and its schema
    assert {g.type for w in manifest.waves for g in w.groups} == {"drs"}


def test_the_enhanced_drs_statepayload():
    result = convert(seed("000_enhanced_manifest_statepayload.json"), action="enhanced_drs")
    waves = result.manifest["waves"]
    assert [(w["waveNumber"], w["waveName"], w["pauseBeforeWave"]) for w in waves] == [
        (1, "Database Tier", False),
        (2, "Application Tier", True),
        (3, "Web Tier", False),
    ]
    assert all("dependsOn" not in w for w in waves)  # dependsOn [1], [2]: the previous wave
    (app_tier,) = waves[1]["technologies"]
    assert app_tier["selector"] == {
        "tags": {
            "Environment": "production",
            "Application": "ecommerce",
            "Tier": "web",
            "dr:wave": "2",
        },
        "ids": ["web-server-01", "app-server-01", "db-server-01"],
        "accounts": ["123456789012"],
    }
    assert app_tier["parameters"] == {
        "launchSettings": {
            "copyPrivateIp": True,
            "copyTags": True,
            "launchDisposition": "STARTED",
            "licensing": {"osByol": False},
            "targetInstanceTypeRightSizingMethod": "BASIC",
        }
    }
    settings_ = "$.StatePayload.parameters.LaunchSettings"
    waves_ = "$.StatePayload.parameters.WaveConfiguration.waves"
    assert [u.split(": not mapped")[0] for u in result.unmapped] == [
        f"{settings_}.Region",
        f"{settings_}.InstanceType",
        f"{settings_}.SubnetId",
        f"{settings_}.SecurityGroupIds",
        f"{settings_}.IamInstanceProfile",
        f"{waves_}[0].delayBetweenServers",
        f"{waves_}[1].delayBetweenServers",
        f"{waves_}[2].delayBetweenServers",
    ]
    assert "EC2 launch-template settings" in result.unmapped[1]
    assert any("tagged dr:wave=1" in note for note in result.notes)


def test_zero_based_dependsonwaves_of_the_multi_wave_example():
    document = seed("000_multi_wave_drs_recovery_layer.json")
    assert convert(document).unmapped == []
    waves_ = document["resources"][0]["parameters"]["WaveConfiguration"]["waves"]
    waves_[2]["dependsOnWaves"] = [0]  # web waits for the database only, beside the app
    waves = convert(document).manifest["waves"]
    assert [w["waveName"] for w in waves] == [
        "Primary Database",
        "Application Servers",
        "Web Servers",
    ]
    assert waves[2]["dependsOn"] == ["Primary Database"]
    assert [w["technologies"][0]["selector"]["tags"]["dr:wave"] for w in waves] == ["1", "2", "3"]
    levels = wave_levels(load_manifest(convert(document).manifest))
    assert [[w.name for w in level] for level in levels] == [
        ["Primary Database"],
        ["Application Servers", "Web Servers"],
    ]


def test_pause_before_activation_pauses_only_that_resource():
    layer = seed("000_basic_drs_recovery_layer.json")
    other = {"action": "DRS", "resourceName": "batch", "parameters": {"Tags": {"Tier": "batch"}}}
    layer["resources"].append(other)
    waves = convert(layer).manifest["waves"]
    assert [(w["waveName"], w.get("pauseBeforeWave", False)) for w in waves] == [
        ("layer-1", False),
        ("layer-1-application_servers", True),
    ]
    assert waves[1]["dependsOn"] == []  # beside layer-1, not after it
    assert waves[1]["technologies"][0]["selector"] == {
        "tags": {"DR-Application": "ERP", "DR-Tier": "Application"},
        "ids": ["app-server-01", "app-server-02", "app-server-03"],
    }


def test_parameters_drorch_has_no_place_for_are_named_with_the_reason():
    result = convert(seed("000_account_configuration_statepayload.json"), action="enhanced_drs")
    assert result.unmapped == [
        "$.StatePayload.parameters.AccountConfiguration: not mapped (staging accounts are "
        "described in accounts/ (drorch accounts onboard))",
        "$.StatePayload.parameters.ExecutionControl: not mapped (cancelling is `drorch "
        "cancel`, not a resource setting)",
    ]
    (technology,) = result.manifest["waves"][0]["technologies"]
    assert technology["selector"]["tags"] == {"dr:wave": "1", "Application": "erp"}
    assert any("nothing to select by" in note for note in result.notes)


def test_a_launch_setting_drs_refuses_is_named():
    payload = seed("000_tag_sync_statepayload.json")
    payload["StatePayload"]["parameters"]["LaunchSettings"] = {
        "LaunchDisposition": "RUNNING",
        "CopyTags": False,
    }
    result = convert(payload, action="DRS")
    (technology,) = result.manifest["waves"][0]["technologies"]
    assert technology["parameters"] == {"launchSettings": {"copyTags": False}}
    assert result.unmapped[0].startswith(
        "$.StatePayload.parameters.LaunchSettings.LaunchDisposition: not mapped "
        "(not a valid DRS launchDisposition: 'RUNNING' is not one of"
    )


def test_every_seed_004_action_converts_to_a_module():
    schema = seed("004_layers_schema.json")
    actions = schema["items"]["properties"]["resources"]["items"]["properties"]["action"]["enum"]
    assert len(actions) == 13
    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": action,
                    "resourceName": f"{action} resource",
                    "AccountId": "111111111111",
                    "parameters": {"Tags": {"Application": "erp"}},
                }
                for action in actions
            ],
        }
    ]
    jsonschema.Draft7Validator(schema).validate(layers)  # written as seed 004 §3.1 says
    result = convert(layers)
    types = [t["type"] for w in result.manifest["waves"] for t in w["technologies"]]
    assert types == [by_alias(action).type for action in actions]
    assert types == [
        "drs", "aurora-global", "ecs-service", "route53-record", "eventbridge-rule",
        "lambda-function", "auto-scaling", "elasticache-global", "memorydb",
        "opensearch-domain", "sqlserver-ag", "ec2-instance", "eventbridge-archive",
    ]  # fmt: skip
    load_manifest(result.manifest)  # and the manifest written validates


# TRS Appendix A's adapter list (and seed 000's module factory), each as the module it names;
# Database, Application and Infrastructure are TRS technology categories (strategy routing)
TRS_ADAPTERS = {
    "DRS": "drs",
    "EnhancedDRS": "drs",
    "Cache": "elasticache-global",
    "Search": "opensearch-domain",
    "AutoScaling": "auto-scaling",
    "MemoryDB": "memorydb",
    "Events": "eventbridge-rule",
    "EFS": "efs-replication",
    "FSx": "fsx",
    "EKS": "eks-nodegroup",
}


@pytest.mark.parametrize("name", sorted(TRS_ADAPTERS))
def test_the_trs_adapter_names_are_aliases(name):
    assert by_alias(name).type == TRS_ADAPTERS[name]


def test_the_dr_orchestrator_framework_statepayload():
    # the framework's input: {"StatePayload": [layers]}, resources name resourceType
    document = {
        "StatePayload": [
            {
                "layer": 1,
                "resources": [
                    {
                        "resourceType": "PlannedFailoverAurora",
                        "resourceName": "Switch over the orders database",
                        "parameters": {"GlobalClusterIdentifier": "!Import orders-global"},
                    }
                ],
            },
            {
                "layer": 2,
                "resources": [
                    {
                        "resourceType": "DRS",
                        "resourceName": "Order servers",
                        "parameters": {"ProtectionGroupTags": {"Application": "orders"}},
                    }
                ],
            },
        ]
    }
    found = problems(document)
    assert list(found) == ["$.StatePayload[0].resources[0].resourceType"]
    assert (
        "no drorch module for PlannedFailoverAurora yet"
        in found["$.StatePayload[0].resources[0].resourceType"]
    )
    document["StatePayload"].pop(0)
    waves = convert(document).manifest["waves"]
    assert [w["waveName"] for w in waves] == ["layer-2"]


# --- shapes, errors -------------------------------------------------------------------------


def test_layers_become_sequential_waves():
    result = convert(LAYERS)
    manifest = result.manifest
    assert (manifest["manifestVersion"], manifest["application"], manifest["customer"]) == (
        "2.0",
        "erp",
        "acme",
    )
    assert [(w["waveNumber"], w["waveName"]) for w in manifest["waves"]] == [
        (1, "layer-1"),
        (2, "layer-2"),
    ]
    loaded = load_manifest(manifest)
    assert [[w.name for w in level] for level in wave_levels(loaded)] == [["layer-1"], ["layer-2"]]


def test_resources_become_module_groups_with_selectors():
    result = convert(LAYERS)
    (db, traffic), (first, second) = (w["technologies"] for w in result.manifest["waves"])
    assert db == {
        "type": "drs",
        "name": "claims-database-servers",
        "selector": {"ids": ["claims-db-01", "claims-db-02"], "accounts": ["333333333333"]},
    }
    assert traffic["selector"] == {
        "accounts": ["111111111111"],
        "tags": {"dr:wave": "1", "Application": "erp"},
    }
    assert (first["name"], second["name"]) == ("claims-app-servers", "claims-app-servers-2")
    assert first["selector"]["tags"] == {"dr:wave": "2", "Application": "claims"}
    assert "parameters" not in first
    assert second["selector"]["tags"] == {"Tier": "batch"}
    assert second["parameters"] == {"maxServersPerJob": 10}
    assert result.unmapped == [
        "$[1].resources[1].parameters.Weight: not mapped (module drs declares no such parameter)"
    ]
    assert result.notes == [
        "$[1].resources[1] ('Shift claims traffic'): nothing to select by; the group selects "
        "dr:wave=1, Application=erp - check the selector"
    ]


@pytest.mark.parametrize(
    ("wrap", "root"),
    [
        (lambda layers: {"layers": layers}, "$.layers"),
        (lambda layers: {"manifest": {"layers": layers}}, "$.manifest.layers"),
        (lambda layers: {"StatePayload": layers}, "$.StatePayload"),
        (lambda layers: layers, "$"),
    ],
)
def test_every_wrapping_of_a_list_of_layers(wrap, root):
    assert len(convert(wrap(LAYERS)).manifest["waves"]) == 2
    assert set(problems(wrap([{"layer": 0, "resources": []}]))) == {
        f"{root}[0].layer",
        f"{root}[0].resources",
    }


def test_one_layer_or_one_resource():
    layer = convert(LAYERS[1]).manifest
    assert [w["waveName"] for w in layer["waves"]] == ["layer-1"]
    resource = {"StatePayload": LAYERS[1]["resources"][0]}
    waves = convert(resource).manifest["waves"]
    assert waves[0]["technologies"][0]["name"] == "claims-database-servers"


def test_a_resource_that_names_no_module():
    payload = seed("000_tag_sync_statepayload.json")
    found = problems(payload)
    message = found["$.StatePayload.action"]
    assert message.startswith("layer 1: the resource names no module; add action")
    assert "enhanced_drs" in message and "--action" in message


def test_an_unknown_action_names_the_layer_and_the_known_aliases():
    layers = copy.deepcopy(LAYERS)
    layers[0]["resources"][1]["action"] = "DSR"
    message = problems(layers)["$[0].resources[1].action"]
    assert message.startswith("layer 2: 'DSR' is not the name or alias of a drorch module; ")
    assert "did you mean 'drs'?" in message.lower()
    assert "known: " in message and "drs_recovery" in message


def test_invalid_layers_report_every_problem_with_its_path():
    bad = [
        {
            "layer": 1,
            "resources": [
                {"action": "DRS", "resourceName": "x", "AccountId": "12", "parameters": []}
            ],
        },
        {"resources": []},
    ]
    found = problems(bad)
    assert set(found) == {
        "$[0].resources[0].AccountId",
        "$[0].resources[0].parameters",
        "$[1].layer",
        "$[1].resources",
    }
    assert "must be a mapping, not a list" in found["$[0].resources[0].parameters"]
    assert "not a layers document" in problems({"waves": []})["$"]


def test_a_layer_number_given_twice():
    twice = [LAYERS[0], {**LAYERS[1], "layer": 2}]
    found = problems(twice)
    assert found == {"$[1].layer": "layer 2 is also $[0]; merge them or renumber one"}


def test_own_waves_run_after_the_previous_layer_and_before_the_next():
    parallel = {"waves": [{"name": "east", "dependsOn": []}, {"name": "west", "dependsOn": []}]}
    layers = [
        {"layer": 1, "resources": [LAYERS[1]["resources"][0]]},
        {
            "layer": 2,
            "resources": [
                {"action": "DRS", "parameters": {"Tags": {"A": "1"}}},
                {
                    "action": "DRS",
                    "parameters": {"Tags": {"B": "1"}, "WaveConfiguration": parallel},
                },
            ],
        },
        {"layer": 3, "resources": [LAYERS[0]["resources"][0]]},
    ]
    waves = convert(layers).manifest["waves"]
    assert [(w["waveName"], w.get("dependsOn")) for w in waves] == [
        ("layer-1", None),
        ("layer-2", None),
        ("east", ["layer-1"]),
        ("west", ["layer-1"]),
        ("layer-3", ["layer-2", "east", "west"]),
    ]


# --- a module's own declaration is all convert needs ---------------------------------------


class ToyQueue(Module):
    type = "toy-queue"
    aliases = ("ToyQueue",)
    parameters_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"QueueUrl": {"type": "string"}, "Depth": {"type": "integer"}},
    }
    drill_safe_phases = frozenset()

    def discover(self, ctx, selector):
        return []

    def start(self, ctx, phase, resources, params, drill, idempotency_key):
        return {}

    def status(self, ctx, phase, state):
        raise NotImplementedError


@pytest.fixture
def toy_queue():
    assert "toy-queue" not in REGISTRY
    module = register(ToyQueue())
    yield module
    del REGISTRY["toy-queue"]


def test_a_module_registered_only_in_the_test_is_picked_up_by_its_alias(toy_queue):
    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": "ToyQueue",
                    "resourceName": "orders queue",
                    "AccountId": "111111111111",
                    "parameters": {"QueueUrl": "!Import orders-queue-url", "Depth": "x", "Foo": 1},
                }
            ],
        }
    ]
    result = convert(layers)
    (technology,) = result.manifest["waves"][0]["technologies"]
    assert technology["type"] == "toy-queue"
    assert technology["parameters"] == {"QueueUrl": "resolve:cfn-export:orders-queue-url"}
    assert result.unmapped == [
        "$[0].resources[0].parameters.Foo: not mapped (module toy-queue declares no such "
        "parameter)",
        "$[0].resources[0].parameters.Depth: not mapped (toy-queue parameter 'Depth': 'x' is "
        "not of type 'integer')",
    ]
    load_manifest(result.manifest)


def test_a_module_contributing_waves_of_its_own(toy_queue, monkeypatch):
    def from_layer(resource, where):
        tech = {"type": "toy-queue", "selector": {"ids": ["q-1"]}}
        return LayerMapping(
            waves=[
                {"waveName": "drain", "technologies": [tech], "pauseAfterWave": True},
                {"waveName": "refill", "technologies": [tech], "dependsOn": [0]},
            ]
        )

    monkeypatch.setattr(toy_queue, "from_layer", from_layer)
    waves = convert([{"layer": 1, "resources": [{"action": "toyqueue", "parameters": {}}]}])
    assert [(w["waveName"], w.get("pauseAfterWave")) for w in waves.manifest["waves"]] == [
        ("drain", True),
        ("refill", None),
    ]


# --- properties -------------------------------------------------------------------------------

_wave = st.fixed_dictionaries(
    {"name": st.sampled_from(["db", "app", "web", "App", "x y"])},
    optional={
        "pauseBeforeWave": st.booleans(),
        "dependsOn": st.lists(st.integers(0, 4), max_size=3),
        "dependsOnWaves": st.lists(st.integers(-1, 3), max_size=3),
    },
)
_resource = st.fixed_dictionaries(
    {"action": st.sampled_from(["DRS", "enhanced_drs", "drs"]), "parameters": st.just({})},
    optional={"resourceName": st.sampled_from(["web", "Web", "a b", "x" * 40])},
).flatmap(
    lambda r: st.fixed_dictionaries(
        {
            "HostNames": st.lists(st.sampled_from(["h1", "h2"]), max_size=2),
            "PauseBeforeActivation": st.booleans(),
        },
        optional={
            "WaveConfiguration": st.fixed_dictionaries({"waves": st.lists(_wave, max_size=4)})
        },
    ).map(lambda p: {**r, "parameters": p})
)
_layers = st.lists(
    st.tuples(st.integers(1, 6), st.lists(_resource, min_size=1, max_size=3)),
    min_size=1,
    max_size=4,
    unique_by=lambda layer: layer[0],
).map(lambda layers: [{"layer": n, "resources": r} for n, r in layers])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_layers)
def test_any_drs_layers_convert_to_a_valid_manifest_that_keeps_the_layer_order(layers):
    result = convert(layers)
    manifest = load_manifest(result.manifest)
    level_of = {w.name: i for i, level in enumerate(wave_levels(manifest)) for w in level}
    layer_of = {}
    for number, wave_names in _waves_by_layer(layers, result.manifest).items():
        layer_of.update(dict.fromkeys(wave_names, number))
    for a in level_of:
        for b in level_of:
            if layer_of[a] < layer_of[b]:
                assert level_of[a] < level_of[b], (a, b)


def _waves_by_layer(layers: list[dict], manifest: dict) -> dict[int, list[str]]:
    """Wave names per layer number, from the order convert writes them in (layer by layer)."""
    counts = []
    for layer in sorted(layers, key=lambda item: item["layer"]):
        shared = own = 0
        for resource in layer["resources"]:
            params = resource["parameters"]
            configured = (params.get("WaveConfiguration") or {}).get("waves", [])
            if configured:
                own += len(configured)
            elif params["PauseBeforeActivation"]:
                own += 1
            else:
                shared = 1
        counts.append((layer["layer"], shared + own))
    names = [w["waveName"] for w in manifest["waves"]]
    assert len(names) == sum(count for _, count in counts)
    result, start = {}, 0
    for number, count in counts:
        result[number] = names[start : start + count]
        start += count
    return result


# --- the command ---------------------------------------------------------------------------


def test_the_command_writes_a_manifest_that_validates(tmp_path):
    out = tmp_path / "erp.yaml"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "convert",
            str(SEEDS / "000_enhanced_manifest_statepayload.json"),
            "--action",
            "enhanced_drs",
            "--application",
            "erp",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 1  # written; some settings were not carried over
    assert "not carried over: $.StatePayload.parameters.LaunchSettings.Region" in result.stderr
    assert "review: " in result.stderr
    assert [w.name for w in load_manifest_file(out).waves] == [
        "Database Tier",
        "Application Tier",
        "Web Tier",
    ]
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_the_command_exit_codes(tmp_path):
    runner = CliRunner()
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps([LAYERS[0]]))
    assert runner.invoke(app, ["convert", str(clean)]).exit_code == 0
    source = tmp_path / "payload.json"
    source.write_text((SEEDS / "000_tag_sync_statepayload.json").read_text())
    refused = runner.invoke(app, ["convert", str(source), "-o", str(tmp_path / "out.yaml")])
    assert refused.exit_code == 2
    assert "$.StatePayload.action: layer 1: the resource names no module" in refused.stderr
    assert not (tmp_path / "out.yaml").exists()


_keys = st.sampled_from(
    [
        *("HostNames", "ProtectionGroupTags", "Tags", "LaunchSettings", "WaveConfiguration"),
        *("PauseBeforeActivation", "waves", "name", "dependsOn", "dependsOnWaves"),
        *("pauseBeforeWave", "CopyTags", "BYOL", "RightSizing", "Key", "Value"),
        *("maxServersPerJob", "launchSettings", "Other"),
    ]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 5),
    st.sampled_from(["", "h1", "STARTED", "!Import x", "{{resolve:ssm:/p}}"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=15,
)
_any_resource = st.fixed_dictionaries(
    {"action": st.just("DRS"), "parameters": st.dictionaries(_keys, _json, max_size=5)},
    optional={"AccountId": st.sampled_from(["111111111111", "12"])},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "layer": st.integers(1, 3),
                "resources": st.lists(_any_resource, min_size=1, max_size=2),
            }
        ),
        min_size=1,
        max_size=3,
    )
)
def test_convert_refuses_or_writes_a_manifest_that_validates(layers):
    try:
        result = convert(layers)
    except ManifestError:
        return
    load_manifest(result.manifest)
