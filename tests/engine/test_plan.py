"""The plan: keys only, phase-major, levels in dependency order."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drorch.engine.plan import build_plan, payload
from drorch.manifest import load_manifest
from drorch.modules import REGISTRY

ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444"]


def _document(waves, approval_phases=(), pauses=()):
    document = {
        "manifestVersion": "2.0",
        "application": "estate",
        "customer": "acme",
        "environment": "production",
        "waves": [],
    }
    if approval_phases:
        document["approvalWorkflow"] = {"required": True, "phases": list(approval_phases)}
    for index, (deps, groups) in enumerate(waves):
        document["waves"].append(
            {
                "waveNumber": index + 1,
                "waveName": f"w{index + 1}",
                "dependsOn": [f"w{d + 1}" for d in deps],
                "pauseBeforeWave": index in pauses,
                "technologies": [
                    {
                        "type": "drs",
                        "name": f"g{g}",
                        "selector": {"tags": {"dr:wave": str(index + 1)}},
                    }
                    for g in range(groups)
                ],
            }
        )
    return document


@st.composite
def estates(draw):
    """A random wave DAG, groups per wave, and resources per group and account."""
    count = draw(st.integers(1, 6))
    waves = []
    for index in range(count):
        deps = (
            draw(st.lists(st.integers(0, index - 1), unique=True, max_size=index)) if index else []
        )
        waves.append((sorted(deps), draw(st.integers(1, 3))))
    manifest = load_manifest(_document(waves), "generated", modules={})
    counts = {}
    for group in manifest.groups:
        accounts = draw(st.lists(st.sampled_from(ACCOUNTS), unique=True, max_size=4))
        counts[group.id] = {a: draw(st.integers(1, 5)) for a in accounts}
    return manifest, counts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates(), st.integers(2, 1000))
def test_plan_size_does_not_grow_with_servers(estate, scale):
    manifest, counts = estate
    small = payload(build_plan(manifest, "failover", counts))
    scaled = {g: {a: n * scale for a, n in per.items()} for g, per in counts.items()}
    large = payload(build_plan(manifest, "failover", scaled))
    assert json.dumps(large) == json.dumps(small)
    assert len(json.dumps(small)) < 64 * 1024


@settings(max_examples=60, deadline=None)
@given(estates(), st.sampled_from(["drill", "failover", "failback", "cleanup"]))
def test_every_group_with_resources_runs_once_per_phase_in_its_accounts(estate, operation):
    manifest, counts = estate
    plan = build_plan(manifest, operation, counts)
    assert [p["phase"] for p in plan["phases"]] == list(manifest.phases_for(operation))
    expected = {g: sorted(per) for g, per in counts.items() if per}
    for phase in plan["phases"]:
        runs = [g for level in phase["levels"] for g in level["groups"]]
        assert sorted(g["groupId"] for g in runs) == sorted(expected)
        assert {g["groupId"]: g["accounts"] for g in runs} == expected


@settings(max_examples=60, deadline=None)
@given(estates())
def test_levels_respect_dependencies(estate):
    manifest, counts = estate
    plan = build_plan(manifest, "drill", counts)
    for phase in plan["phases"]:
        level_of = {w: level["level"] for level in phase["levels"] for w in level["waves"]}
        assert sorted(level_of) == sorted(w.name for w in manifest.waves)  # each wave once
        for wave in manifest.waves:
            for dependency in wave.depends_on:
                assert level_of[dependency] < level_of[wave.name]
        group_wave = {g.id: w.name for w in manifest.waves for g in w.groups}
        for level in phase["levels"]:
            for group in level["groups"]:
                assert group_wave[group["groupId"]] in level["waves"]


def test_the_example_plan_has_gates_where_the_manifest_asks(manifest_text):
    manifest = load_manifest(manifest_text, "three-tier-claims.yaml")
    counts = {
        "data-servers": {"333333333333": 3},
        "app-servers": {"222222222222": 5},
        "web-servers": {"111111111111": 3},
    }
    plan = build_plan(
        manifest,
        "drill",
        counts,
        modules=REGISTRY,
        rto_targets={"data-servers": 15},
        execution_id="x",
    )
    assert payload(plan) == {
        "phases": [
            {
                "phase": phase,
                "approval": phase == "ACTIVATE",
                "approvalTimeoutSeconds": 3600,
                "levels": [
                    {
                        "level": 0,
                        "waves": ["data"],
                        "pauseBefore": False,
                        "pauseAfter": False,
                        "pre": [],
                        "groups": [{"groupId": "data-servers", "accounts": ["333333333333"]}],
                        "post": [],
                        "checks": [],
                        "after": False,
                    },
                    {
                        "level": 1,
                        "waves": ["app"],
                        "pauseBefore": phase == "ACTIVATE",  # wave pauses stop ACTIVATE only
                        "pauseAfter": False,
                        "pre": [],
                        "groups": [{"groupId": "app-servers", "accounts": ["222222222222"]}],
                        "post": [],
                        "checks": [],
                        "after": False,
                    },
                    {
                        "level": 2,
                        "waves": ["web"],
                        "pauseBefore": False,
                        "pauseAfter": False,
                        "pre": [],
                        "groups": [{"groupId": "web-servers", "accounts": ["111111111111"]}],
                        "post": [],
                        "checks": [],
                        "after": False,
                    },
                ],
            }
            for phase in ("INSTANTIATE", "ACTIVATE")
        ],
    }
    assert plan["waves"]["data"] == {
        "level": 0,
        "number": 1,
        "dependsOn": [],
        "failurePolicy": "stop",
        "timeoutMinutes": 120,
        "rtoTargetMinutes": 15,
        "groups": ["data-servers"],
    }
    assert plan["approval"] == {"timeoutMinutes": 60, "approvers": ["dr-lead@acme.example"]}


def test_a_drill_leaves_out_phases_a_module_does_not_call_drill_safe():
    document = _document([([], 1)])
    document["phases"] = {"drill": ["REPLICATE", "ACTIVATE"]}
    manifest = load_manifest(document, "drill-phases", modules={})
    plan = build_plan(manifest, "drill", {"w1-g0": {"111111111111": 2}}, modules=REGISTRY)
    replicate, activate = plan["phases"]
    assert replicate["levels"][0]["groups"] == []
    assert activate["levels"][0]["groups"] == [{"groupId": "w1-g0", "accounts": ["111111111111"]}]
    assert plan["skipped"] == [
        {
            "phase": "REPLICATE",
            "groupId": "w1-g0",
            "reason": "module drs is not drill-safe in REPLICATE",
        }
    ]
