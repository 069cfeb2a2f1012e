"""Every example manifest loads, and matches the sandbox scenario it is written for."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drorch.manifest import load_manifest_file, wave_levels
from drorch.manifest.validate import default_modules
from tests.manifest.conftest import EXAMPLES, FAKE_MODULES

SCENARIOS = Path(__file__).resolve().parents[2] / "runtime" / "drorch" / "sandbox" / "scenarios"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.y*ml")) + sorted(EXAMPLES.glob("*.json"))


def test_there_are_examples():
    names = {p.name for p in EXAMPLE_FILES}
    assert {"three-tier-claims.yaml", "large-estate.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("registry", ["installed", "fake"])
def test_example_loads(path, registry):
    modules = default_modules() if registry == "installed" else FAKE_MODULES
    if registry == "fake" and path.name == "full-stack.yaml":
        pytest.skip("the full-stack example uses the data-tier modules: the installed registry")
    manifest = load_manifest_file(path, modules)
    levels = wave_levels(manifest)
    assert sum(len(level) for level in levels) == len(manifest.waves)
    resource_modules = {name for name, m in default_modules().items() if m.kind == "resource"}
    assert all(g.type in resource_modules for wave in manifest.waves for g in wave.groups)
    # wave actions and health checks are step and check modules
    steps = [g for g in manifest.groups if g.is_step]
    if registry == "installed":
        assert all(default_modules()[g.type].kind in ("step", "check") for g in steps)


def test_three_tier_example_selects_the_scenario_servers_by_tag():
    manifest = load_manifest_file(EXAMPLES / "three-tier-claims.yaml", FAKE_MODULES)
    scenario = yaml.safe_load((SCENARIOS / "three-tier.yaml").read_text())
    assert (manifest.application, manifest.customer) == ("claims", "acme")
    assert [[w.name for w in level] for level in wave_levels(manifest)] == [
        ["data"],
        ["app"],
        ["web"],
    ]
    assert manifest.approval.gates("ACTIVATE") and not manifest.approval.gates("INSTANTIATE")
    for wave in manifest.waves:
        (group,) = wave.groups
        assert group.type == "drs"
        assert group.selector.tags == {"dr:wave": str(wave.number), "Application": "claims"}
        selected = [
            s
            for s in scenario["sourceServers"]
            if all(s["tags"].get(k) == v for k, v in group.selector.tags.items())
            and s["account"] in group.selector.accounts
        ]
        assert selected, f"wave {wave.name} selects no server of the scenario"
        assert set(group.selector.accounts) <= set(scenario["accounts"])


def test_large_estate_example_covers_the_five_dr_waves():
    manifest = load_manifest_file(EXAMPLES / "large-estate.yaml", FAKE_MODULES)
    scenario = yaml.safe_load((SCENARIOS / "large-estate.yaml").read_text())
    assert manifest.customer == "globex"
    assert [w.number for w in manifest.waves] == [1, 2, 3, 4, 5]
    assert len(wave_levels(manifest)) == 5
    tag_waves = set()
    for group in scenario["serverGroups"]:
        tag_waves |= (
            set(group["rotate"]["dr:wave"])
            if "rotate" in group and "dr:wave" in group["rotate"]
            else {group["tags"]["dr:wave"]}
        )
    assert {g.selector.tags["dr:wave"] for g in manifest.groups} == tag_waves
    assert manifest.wave("non-production").failure_policy == "continue"
    assert manifest.wave("databases").failure_policy == "stop"
