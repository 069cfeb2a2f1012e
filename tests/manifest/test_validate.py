"""Loading and validating manifests: every kind of problem, with its JSON path, all at once."""

from __future__ import annotations

import json

import pytest

from drorch.errors import InputError
from drorch.manifest import ManifestError, Problem, load_manifest
from drorch.manifest.validate import default_modules
from tests.manifest.conftest import FAKE_MODULES


def problems(document, modules=FAKE_MODULES) -> list[Problem]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(document, "m.yaml", modules)
    assert isinstance(caught.value, InputError)
    return caught.value.problems


def set_path(document, path, value):
    *parents, last = path
    for part in parents:
        document = document[part]
    if value is DELETE:
        del document[last]
    else:
        document[last] = value


DELETE = object()

# (what is changed, value) -> the JSON path reported and words of the message
CASES = [
    (("manifestVersion",), "1.0", "$.manifestVersion", "use 2.0"),
    (("customer",), DELETE, "$.customer", "is required"),
    (("enviroment",), "x", "$.enviroment", "did you mean 'environment'"),
    (("application",), "claims app", "$.application", "is not valid"),
    (("pollSeconds",), 0, "$.pollSeconds", "minimum is 1"),
    (("failurePolicy",), "abort", "$.failurePolicy", "use stop, fail, continue, ask or isolate"),
    (
        ("phases",),
        {"drll": ["ACTIVATE"]},
        "$.phases.drll",
        "not an operation; did you mean 'drill'",
    ),
    (
        ("phases",),
        {"drill": ["LAUNCH"]},
        "$.phases.drill[0]",
        "INSTANTIATE, ACTIVATE, CLEANUP or REPLICATE",
    ),
    (("phases",), ["ACTIVATE", "ACTIVATE"], "$.phases", "more than once"),
    (("phases",), {"drill": []}, "$.phases.drill", "must not be empty"),
    (
        ("approvalWorkflow",),
        {"required": True, "phases": ["BOOT"]},
        "$.approvalWorkflow.phases[0]",
        "is not allowed",
    ),
    (
        ("approvalWorkflow",),
        {"required": True, "enabled": False},
        "$.approvalWorkflow.enabled",
        "contradicts",
    ),
    (
        ("approvalWorkflow",),
        {"timeout": 600, "timeoutMinutes": 5},
        "$.approvalWorkflow.timeout",
        "keep only timeoutMinutes",
    ),
    (("notifications",), {"snsTopicArn": "topic"}, "$.notifications.snsTopicArn", "SNS topic ARN"),
    (("notifications",), {"emails": ["ops"]}, "$.notifications.emails[0]", "e-mail address"),
    (("waves",), [], "$.waves", "must not be empty"),
    (("waves", 1, "waveNumber"), 1, "$.waves[1].waveNumber", "already the number of $.waves[0]"),
    (("waves", 1, "waveNumber"), "2", "$.waves[1].waveNumber", "must be an integer, not a string"),
    (("waves", 2, "waveName"), "data", "$.waves[2].waveName", "already the name of $.waves[0]"),
    (("waves", 0, "waveName"), " data", "$.waves[0].waveName", "is not valid"),
    (
        ("waves", 1, "dependsOn"),
        ["dta"],
        "$.waves[1].dependsOn[0]",
        "no wave is named 'dta'; did you mean 'data'",
    ),
    (("waves", 1, "dependsOn"), ["app"], "$.waves[1].dependsOn[0]", "cannot depend on itself"),
    (
        ("waves", 0, "dependsOn"),
        ["web"],
        "$.waves[0].dependsOn",
        "dependency cycle data → web → app → data",
    ),
    (("waves", 1, "pauseBeforeWave"), "yes", "$.waves[1].pauseBeforeWave", "must be a boolean"),
    (("waves", 1, "timeoutMinutes"), 0, "$.waves[1].timeoutMinutes", "minimum is 1"),
    (
        ("waves", 1, "failurePolicy"),
        "retry",
        "$.waves[1].failurePolicy",
        "use stop, fail, continue, ask or isolate",
    ),
    (("waves", 1, "wave"), 2, "$.waves[1].wave", "unknown property"),
    (("waves", 1, "technologies"), [], "$.waves[1].technologies", "must not be empty"),
    (
        ("waves", 0, "technologies", 0, "type"),
        DELETE,
        "$.waves[0].technologies[0].type",
        "is required",
    ),
    (
        ("waves", 0, "technologies", 0, "type"),
        "dsr",
        "$.waves[0].technologies[0].type",
        "not a registered module; did you mean 'drs'",
    ),
    (
        ("waves", 0, "technologies", 0, "type"),
        "DRS",
        "$.waves[0].technologies[0].type",
        "lower-case",
    ),
    (
        ("waves", 0, "technologies", 0, "name"),
        "a\tb",
        "$.waves[0].technologies[0].name",
        "is not valid",
    ),
    (
        ("waves", 0, "technologies", 0, "selector"),
        {},
        "$.waves[0].technologies[0].selector",
        "neither tags nor ids",
    ),
    (
        ("waves", 0, "technologies", 0, "selector"),
        {"tags": {"dr:wave": 1}},
        "$.waves[0].technologies[0].selector.tags['dr:wave']",
        'quote it: "1"',
    ),
    (
        ("waves", 0, "technologies", 0, "selector"),
        {"ids": ["i-1"], "regions": ["Ohio"]},
        "$.waves[0].technologies[0].selector.regions[0]",
        "us-east-2",
    ),
    (
        ("waves", 0, "technologies", 0, "selector"),
        {"ids": ["i-1"], "resourceTypes": ["server"]},
        "$.waves[0].technologies[0].selector.resourceTypes[0]",
        "drs:source-server",
    ),
    (
        ("waves", 0, "technologies", 0, "selector"),
        {"ids": ["i-1"], "tag": {}},
        "$.waves[0].technologies[0].selector.tag",
        "did you mean 'tags'",
    ),
    (
        ("waves", 0, "technologies", 0, "parameters"),
        {"batchSize": 0},
        "$.waves[0].technologies[0].parameters.batchSize",
        "minimum is 1",
    ),
    (
        ("waves", 0, "technologies", 0, "parameters"),
        {"launchDisposition": "RUNNING"},
        "$.waves[0].technologies[0].parameters.launchDisposition",
        "use STARTED or STOPPED",
    ),
    (
        ("waves", 0, "technologies", 0, "parameters"),
        {"bogus": 1},
        "$.waves[0].technologies[0].parameters.bogus",
        "unknown property",
    ),
    (
        ("waves", 0, "technologies", 0, "parameters"),
        {"batchSize": "resolve:vault:x"},
        "$.waves[0].technologies[0].parameters.batchSize",
        "resolve:ssm:<parameter name>",
    ),
    (
        ("waves", 0, "technologies", 0, "parameters"),
        {"subnetIds": ["resolve:ssm:"]},
        "$.waves[0].technologies[0].parameters.subnetIds[0]",
        "names nothing",
    ),
    (
        ("waves", 0, "preWaveActions"),
        [{"type": "ssm"}],
        "$.waves[0].preWaveActions[0].type",
        "not a registered step or check module",
    ),
    (
        ("waves", 0, "preWaveActions"),
        [{"type": "lambda"}],
        "$.waves[0].preWaveActions[0]",
        "needs one of functionName or functionArn",
    ),
    (
        ("waves", 0, "postWaveActions"),
        [{"type": "ssm-automation"}],
        "$.waves[0].postWaveActions[0].documentName",
        "is required",
    ),
    (
        ("waves", 0, "postWaveActions"),
        [{"type": "lambda", "functionArn": "f", "documentName": "D"}],
        "$.waves[0].postWaveActions[0].documentName",
        "unknown property",
    ),
    (
        ("waves", 0, "postWaveActions"),
        [{"type": "ssm-automation", "documentName": "D", "parameters": {"A": {"x": 1}}}],
        "$.waves[0].postWaveActions[0].parameters.A",
        "list of them",
    ),
    (
        ("waves", 0, "postWaveActions"),
        [{"type": "lambda", "functionArn": "arn:aws:s3:::bucket"}],
        "$.waves[0].postWaveActions[0].functionArn",
        "write a Lambda function ARN or name",
    ),
]


@pytest.mark.parametrize(
    ("where", "value", "path", "words"), CASES, ids=[c[2] + " " + c[3] for c in CASES]
)
def test_each_problem_is_reported_at_its_json_path(minimal, where, value, path, words):
    set_path(minimal, where, value)
    found = problems(minimal)
    matching = [p for p in found if p.path == path]
    assert matching, f"no problem at {path}: {found}"
    assert any(words in p.message for p in matching), matching


def test_every_problem_is_reported_at_once(minimal):
    minimal["manifestVersion"] = "1.0"
    minimal["waves"][1]["waveNumber"] = 1
    minimal["waves"][1]["dependsOn"] = ["nope"]
    minimal["waves"][2]["technologies"][0]["type"] = "nope"
    minimal["waves"][2]["technologies"][0]["selector"]["tags"]["dr:wave"] = 3
    found = problems(minimal)
    assert [p.path for p in found] == [
        "$.manifestVersion",
        "$.waves[1].dependsOn[0]",
        "$.waves[1].waveNumber",
        "$.waves[2].technologies[0].selector.tags['dr:wave']",
        "$.waves[2].technologies[0].type",
    ]


def test_the_message_lists_every_problem_with_its_path(minimal):
    minimal["pollSeconds"] = 0
    del minimal["customer"]
    with pytest.raises(InputError) as caught:
        load_manifest(minimal, "claims.yaml", FAKE_MODULES)
    message = str(caught.value)
    assert message.splitlines() == [
        "claims.yaml: invalid manifest (2 problems):",
        "  $.customer: is required but missing; add it (Customer (or business unit) owning "
        "the application; matches the Customer tag.)",
        "  $.pollSeconds: 0 is too small; the minimum is 1",
    ]
    assert caught.value.hint


def test_a_manifest_that_is_not_a_mapping():
    assert [str(p) for p in problems("- a\n- b\n")] == ["$: must be a mapping, not a list"]
    assert [str(p) for p in problems("")] == ["$: must be a mapping, not null"]


def test_yaml_syntax_error_names_the_line():
    (problem,) = problems("manifestVersion: '2.0'\nwaves: [\n  {a: 1}\n customer: x\n")
    assert problem.path == "$"
    assert "not valid YAML/JSON at line" in problem.message


def test_a_key_given_twice_is_refused():
    text = "manifestVersion: '2.0'\ncustomer: a\ncustomer: b\n"
    (problem,) = problems(text)
    assert "'customer' appears twice" in problem.message
    assert "line 3" in problem.message


def test_application_defaults_to_customer_and_environment(minimal):
    del minimal["application"]
    minimal["customer"], minimal["environment"] = "Acme Corp", "Prod/EU"
    assert load_manifest(minimal, modules=FAKE_MODULES).application == "acme-corp-prod-eu"
    minimal["customer"], minimal["environment"] = "日本", "本番"
    (problem,) = problems(minimal)
    assert problem == Problem(
        "$.application", "cannot be derived from customer and environment; set application"
    )


def test_json_text_loads(minimal):
    assert load_manifest(json.dumps(minimal), modules=FAKE_MODULES).application == "claims"


def test_yaml_text_loads():
    text = """
manifestVersion: "2.0"
customer: acme
environment: staging
waves:
  - waveNumber: 1
    waveName: only
    technologies: [{type: drs, selector: {ids: [s-1234567890abcdef0]}}]
"""
    manifest = load_manifest(text, modules=FAKE_MODULES)
    assert manifest.application == "acme-staging"
    assert manifest.waves[0].groups[0].selector.ids == ("s-1234567890abcdef0",)


def test_references_pass_any_parameter_type_and_are_kept(minimal):
    minimal["waves"][0]["technologies"][0]["parameters"] = {
        "batchSize": "resolve:ssm:/claims/batch-size",
        "subnetIds": "resolve:cfn-export:claims-recovery-subnets",
    }
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert manifest.waves[0].groups[0].parameters == {
        "batchSize": "resolve:ssm:/claims/batch-size",
        "subnetIds": "resolve:cfn-export:claims-recovery-subnets",
    }


def test_missing_required_module_parameter(minimal):
    minimal["waves"][0]["technologies"].append(
        {"type": "aurora-mysql", "selector": {"ids": ["claims-db"]}}
    )
    (problem,) = problems(minimal)
    assert problem.path == "$.waves[0].technologies[1].parameters.GlobalClusterIdentifier"
    assert "is required" in problem.message


def test_without_a_registry_module_types_are_not_checked(minimal):
    minimal["waves"][0]["technologies"][0]["type"] = "aurora-global"
    minimal["waves"][0]["technologies"][0]["parameters"] = {"anything": 1}
    assert load_manifest(minimal, modules={}).waves[0].groups[0].type == "aurora-global"


def test_default_registry_is_the_modules_package_when_it_imports():
    registry = default_modules()
    try:
        from drorch.modules import REGISTRY
    except ImportError:
        assert registry == {}
    else:
        assert registry is REGISTRY


def test_group_names_and_ids(minimal):
    minimal["waves"][0]["waveName"] = "Data Tier"
    minimal["waves"][1]["dependsOn"] = ["Data Tier"]
    minimal["waves"][0]["technologies"] = [
        {"type": "drs", "selector": {"tags": {"a": "1"}}},
        {"type": "drs", "name": "oracle", "selector": {"tags": {"a": "2"}}},
    ]
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert [(g.name, g.id) for g in manifest.waves[0].groups] == [
        ("drs-0", "data-tier-drs-0"),
        ("oracle", "data-tier-oracle"),
    ]


def test_group_names_must_be_unique_in_a_wave_and_ids_in_the_manifest(minimal):
    minimal["waves"][0]["technologies"] = [
        {"type": "drs", "name": "x", "selector": {"ids": ["a"]}},
        {"type": "drs", "name": "x", "selector": {"ids": ["b"]}},
    ]
    minimal["waves"][1]["waveName"] = "data-x"  # "data-x" + "drs-0" ...
    minimal["waves"][1]["dependsOn"] = ["data"]
    minimal["waves"][1]["technologies"][0]["name"] = "y"
    minimal["waves"][0]["technologies"].append(
        {"type": "drs", "name": "x-y", "selector": {"ids": ["c"]}}
    )
    minimal["waves"][2]["dependsOn"] = ["data-x"]
    found = problems(minimal)
    assert [p.path for p in found] == [
        "$.waves[0].technologies[1].name",
        "$.waves[1].technologies[0].name",
    ]
    assert "already the name of technologies[0]" in found[0].message
    assert "'data-x-y' is also the id of $.waves[0].technologies[2]" in found[1].message


def test_defaults(minimal):
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert manifest.manifest_version == "2.0"
    assert manifest.poll_seconds == 30
    assert manifest.failure_policy == "stop"
    assert manifest.approval.required is False
    assert not manifest.approval.gates("ACTIVATE")
    assert [w.depends_on for w in manifest.waves] == [(), ("data",), ("app",)]
    wave = manifest.waves[0]
    assert (wave.pause_before, wave.pause_after, wave.timeout_minutes) == (False, False, 120)
    assert manifest.phases_for("drill") == ("INSTANTIATE", "ACTIVATE")
    assert manifest.phases_for("failback") == ("REPLICATE", "INSTANTIATE", "ACTIVATE")


def test_waves_are_ordered_by_number_and_default_dependencies_follow_numbers(minimal):
    minimal["waves"].reverse()
    minimal["waves"][0]["waveNumber"] = 30
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert [(w.number, w.name, w.depends_on) for w in manifest.waves] == [
        (1, "data", ()),
        (2, "app", ("data",)),
        (30, "web", ("app",)),
    ]


def test_explicit_empty_depends_on_makes_a_root(minimal):
    minimal["waves"][2]["dependsOn"] = []
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert manifest.wave("web").depends_on == ()


def test_everything_the_extensions_carry(minimal):
    minimal.update(
        {
            "phases": {"drill": ["INSTANTIATE", "ACTIVATE", "CLEANUP"]},
            "approvalWorkflow": {"required": True, "phases": ["INSTANTIATE", "ACTIVATE"]},
            "notifications": {
                "snsTopicArn": "arn:aws:sns:us-east-2:123456789012:claims",
                "emails": ["a@x.example"],
                "emailRecipients": ["a@x.example", "b@x.example"],
            },
            "failurePolicy": "continue",
            "pollSeconds": 5,
            "healthChecks": [{"url": "https://claims.example/health"}],
        }
    )
    wave = minimal["waves"][1]
    wave.update(
        {
            "pauseBeforeWave": True,
            "pauseAfterWave": True,
            "timeoutMinutes": 45,
            "failurePolicy": "stop",
            "preWaveActions": [
                {
                    "type": "ssm-automation",
                    "documentName": "Claims-Quiesce",
                    "parameters": {"Force": True, "Hosts": ["a", 2], "Mode": "resolve:ssm:/m"},
                    "accounts": ["staging-app"],
                }
            ],
            "postWaveActions": [
                {
                    "type": "lambda",
                    "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:claims-smoke",
                    "parameters": {"deep": {"x": [1]}},
                    "timeoutMinutes": 5,
                }
            ],
        }
    )
    wave["technologies"][0]["parameters"] = {"launchDisposition": "STOPPED", "batchSize": 20}
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert manifest.phases_for("drill") == ("INSTANTIATE", "ACTIVATE", "CLEANUP")
    assert manifest.phases_for("failover") == ("INSTANTIATE", "ACTIVATE")
    assert manifest.approval.gates("INSTANTIATE") and manifest.approval.timeout_minutes == 60
    assert manifest.notifications.emails == ("a@x.example", "b@x.example")
    (check,) = manifest.health_checks
    assert (check.type, check.role, check.parameters) == (
        "http-check",
        "check",
        {"url": "https://claims.example/health"},
    )
    assert (manifest.failure_policy, manifest.poll_seconds) == ("continue", 5)
    app = manifest.wave("app")
    assert (app.pause_before, app.pause_after, app.timeout_minutes) == (True, True, 45)
    assert app.failure_policy == "stop"
    assert manifest.wave("web").failure_policy == "continue"  # inherited
    (pre,) = app.pre_actions
    assert (pre.type, pre.name, pre.role, pre.selector.accounts) == (
        "ssm-automation",
        "Claims-Quiesce",
        "pre",
        ("staging-app",),
    )
    assert pre.parameters == {
        "documentName": "Claims-Quiesce",
        "parameters": {"Force": True, "Hosts": ["a", 2], "Mode": "resolve:ssm:/m"},
    }
    assert (pre.timeout_minutes, pre.failure_policy, pre.run_in_drill) == (30, "fail", None)
    (post,) = app.post_actions
    assert (post.type, post.name, post.timeout_minutes, post.parameters["parameters"]) == (
        "lambda-invoke",
        "claims-smoke",
        5,
        {"deep": {"x": [1]}},
    )
    assert app.groups[0].parameters == {"launchDisposition": "STOPPED", "batchSize": 20}


def test_phases_for_refuses_unknown_and_empty_operations(minimal):
    minimal["phases"] = ["ACTIVATE"]
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert manifest.phases_for("failover") == ("ACTIVATE",)
    with pytest.raises(InputError, match="no phase for operation 'cleanup'"):
        manifest.phases_for("cleanup")
    with pytest.raises(InputError, match="unknown operation 'restore'"):
        manifest.phases_for("restore")


def test_the_caller_document_is_not_changed_or_shared(minimal):
    before = json.dumps(minimal, sort_keys=True)
    manifest = load_manifest(minimal, modules=FAKE_MODULES)
    assert json.dumps(minimal, sort_keys=True) == before
    minimal["waves"][0]["technologies"][0]["selector"]["tags"]["dr:wave"] = "9"
    assert manifest.waves[0].groups[0].selector.tags == {"dr:wave": "1"}
