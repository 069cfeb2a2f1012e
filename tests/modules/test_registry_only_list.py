"""The registry is the only list of modules.

A toy module that lives only in the test tree (``toy_module.py``), registered by a
fixture and removed after, appears in the staging account's IAM, in ``accounts
verify`` (its probe is called and reported), in ``manifest convert`` (through its
alias) and in the plan, with no other file changing. And every registered module
runs the contract kit.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from dataclasses import replace

import pytest

from drorch.engine.plan import build_plan
from drorch.manifest import ManifestError, load_manifest
from drorch.manifest.convert import convert_layers
from drorch.modules import REGISTRY, register
from drorch.onboarding import FAIL, OK, verify_account
from drorch.sandbox import Sandbox
from stacks.permissions import execution_statements
from tests.modules.contract import ModuleContract, staging_account
from tests.modules.toy_module import ToyModule

ACCOUNT_ID, REGION = "111111111111", "us-east-2"
MANIFEST = {
    "manifestVersion": "2.0",
    "customer": "acme",
    "environment": "production",
    "waves": [
        {
            "waveNumber": 1,
            "waveName": "queues",
            "technologies": [
                {
                    "type": "toy",
                    "name": "orders",
                    "selector": {"tags": {"app": "claims"}},
                    "parameters": {"visibilityTimeout": 60},
                }
            ],
        }
    ],
}


@pytest.fixture
def toy() -> Iterator[ToyModule]:
    assert "toy" not in REGISTRY
    module = register(ToyModule())
    try:
        yield module
    finally:
        REGISTRY.pop("toy", None)


def test_unregistered_the_toy_is_unknown_everywhere() -> None:
    with pytest.raises(ValueError, match="unknown module"):
        execution_statements(ACCOUNT_ID, [REGION], ["toy"])
    with pytest.raises(ManifestError, match="toy"):
        load_manifest(MANIFEST, "toy.yaml")


def test_the_staging_iam_has_the_toys_statements(toy: ToyModule) -> None:
    statements = {s["Sid"]: s for s in execution_statements(ACCOUNT_ID, [REGION], ["toy"])}
    for own in toy.iam(ACCOUNT_ID, [REGION]).statements:
        assert statements[own["Sid"]] == own
    assert statements["ToyConfigure"]["Action"] == ["sqs:SetQueueAttributes"]
    assert statements["ToyConfigure"]["Resource"] == [f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:*"]


def test_accounts_verify_calls_and_reports_the_toys_probe(toy: ToyModule) -> None:
    account = replace(staging_account(), modules=("toy",))
    with Sandbox(strict=True) as sandbox:
        sandbox.provision_account(account)
        hub = sandbox.orchestrator_session()
        checks = {c.check: c for c in verify_account(hub, account).checks}
        assert (checks["permissions: toy"].result, checks["permissions: toy"].detail) == (
            OK,
            "1 read actions allowed",
        )
        assert sandbox.faults.call_count("sqs", "ListQueues", account=ACCOUNT_ID) == 1

        sandbox.faults.deny("sqs", "ListQueues", account=ACCOUNT_ID)
        denied = {c.check: c for c in verify_account(hub, account).checks}["permissions: toy"]
        assert denied.result == FAIL
        assert denied.detail.startswith("denied: sqs:ListQueues (")


def test_manifest_convert_maps_the_toy_through_its_alias(toy: ToyModule) -> None:
    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": "ToyQueue",
                    "resourceName": "orders",
                    "AccountId": ACCOUNT_ID,
                    "parameters": {"visibilityTimeout": 60, "colour": "blue"},
                }
            ],
        }
    ]
    converted = convert_layers(layers, application="claims", customer="acme")
    [wave] = converted.manifest["waves"]
    [group] = wave["technologies"]
    assert (group["type"], group["name"], group["parameters"]) == (
        "toy",
        "orders",
        {"visibilityTimeout": 60},
    )
    assert converted.unmapped == [
        "$[0].resources[0].parameters.colour: not mapped (module toy declares no such parameter)"
    ]


def test_the_plan_runs_the_toy_as_it_declares(toy: ToyModule) -> None:
    manifest = load_manifest(MANIFEST, "toy.yaml")
    [group] = manifest.groups
    counts = {group.id: {ACCOUNT_ID: 2}}
    failover = build_plan(manifest, "failover", counts, modules=REGISTRY)
    assert [
        [g["groupId"] for level in phase["levels"] for g in level["groups"]]
        for phase in failover["phases"]
    ] == [[group.id], [group.id]]
    drill = build_plan(manifest, "drill", counts, modules=REGISTRY)
    assert [p["phase"] for p in drill["phases"]] == ["INSTANTIATE", "ACTIVATE"]
    assert drill["skipped"] == [
        {
            "phase": "INSTANTIATE",
            "groupId": group.id,
            "reason": "module toy is not drill-safe in INSTANTIATE",
        }
    ]


def _contract_classes(module_type: str) -> list[type[ModuleContract]]:
    folder = module_type.replace("-", "_")
    tests = importlib.import_module(f"tests.modules.{folder}.test_contract")
    return [
        cls
        for _, cls in inspect.getmembers(tests, inspect.isclass)
        if issubclass(cls, ModuleContract) and cls.module == module_type and cls.cases
    ]


@pytest.mark.parametrize("module_type", sorted(REGISTRY))
def test_every_registered_module_runs_the_contract_kit(module_type: str) -> None:
    classes = _contract_classes(module_type)
    assert classes, f"tests/modules/{module_type.replace('-', '_')}/test_contract.py: no contract"
    assert any(not c.extra for cls in classes for c in cls.cases)
