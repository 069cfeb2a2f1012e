"""Layered DRS launch settings: the deep merge (properties) and the files in accounts/drs/."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drorch.errors import InputError
from drorch.modules.drs.settings import (
    LaunchSettingsStore,
    deep_merge,
    file_part,
    launch_settings_schema,
    merge_layers,
    settings_changes,
)

REPO = Path(__file__).resolve().parents[2]
SCALARS = st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=3))
LEAVES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))


def layer(depth: int = 2) -> st.SearchStrategy[dict]:
    """A settings layer shaped like the schema: a key always holds the same kind of
    value ("licensing" is always a mapping, "copyTags" never is) in every layer."""
    leaves = {key: LEAVES for key in ("copyTags", "launchDisposition", "subnets")}
    if depth:
        nested = {key: layer(depth - 1) for key in ("licensing", "launchIntoInstanceProperties")}
        leaves.update(nested)
    return st.fixed_dictionaries({}, optional=leaves)


LAYERS = layer()


@settings(max_examples=60, deadline=None)
@given(LAYERS, LAYERS, LAYERS)
def test_layering_is_associative(a, b, c) -> None:
    # (layers of one schema; a layer replacing a mapping with a scalar would break it)
    assert deep_merge(deep_merge(a, b), c) == deep_merge(a, deep_merge(b, c))
    assert merge_layers([a, b, c]) == deep_merge(deep_merge(a, b), c)


def check_merge(base: dict, override: dict, merged: dict) -> None:
    """What deep merge promises, key by key."""
    assert set(merged) == set(base) | set(override)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            check_merge(base[key], value, merged[key])  # mappings merge
        else:
            assert merged[key] == value  # the later layer wins; lists replace
    for key, value in base.items():
        if key not in override:
            assert merged[key] == value  # untouched keys are kept


@settings(max_examples=60, deadline=None)
@given(LAYERS, LAYERS)
def test_the_later_layer_wins_and_untouched_keys_are_kept(base, override) -> None:
    check_merge(base, override, deep_merge(base, override))


@settings(max_examples=60, deadline=None)
@given(LAYERS, LAYERS)
def test_merging_changes_neither_input_and_empty_is_identity(base, override) -> None:
    import copy

    before = (copy.deepcopy(base), copy.deepcopy(override))
    merged = deep_merge(base, override)
    assert (base, override) == before
    assert deep_merge(base, {}) == base and deep_merge({}, base) == base
    if merged:  # the result does not share mutable parts with the inputs
        for key, value in merged.items():
            if isinstance(value, dict | list) and key in override:
                assert value is not override[key]


def test_lists_replace_and_mappings_merge() -> None:
    assert deep_merge({"a": [1, 2], "m": {"x": 1, "y": 2}}, {"a": [3], "m": {"y": 5}}) == {
        "a": [3],
        "m": {"x": 1, "y": 5},
    }


def test_the_shipped_files_are_valid() -> None:
    store = LaunchSettingsStore(REPO / "accounts" / "drs")
    assert store.check() == []
    resolved = store.resolve("333333333333", "staging-data", {"Environment": "production"})
    assert resolved.layers == (
        "defaults.yaml",
        "account-333333333333.yaml",
        "tag-Environment-production.yaml",
    )
    other = store.resolve("444444444444", "staging-nonprod", {"Environment": "non-production"})
    assert other.layers == ("defaults.yaml",)


def test_layers_by_account_name_and_tags_in_sorted_key_order(tmp_path: Path) -> None:
    (tmp_path / "defaults.yaml").write_text("launchDisposition: STARTED\ncopyTags: true\n")
    (tmp_path / "account-staging-app.yaml").write_text("launchDisposition: STOPPED\n")
    (tmp_path / "tag-Tier-app.yaml").write_text("licensing: {osByol: true}\ncopyTags: false\n")
    (tmp_path / "tag-dr_wave-2.yaml").write_text("copyTags: true\n")
    store = LaunchSettingsStore(tmp_path)
    resolved = store.resolve("222222222222", "staging-app", {"dr:wave": "2", "Tier": "app"})
    # "Tier" sorts before "dr:wave", so the dr:wave layer is applied last and wins
    assert resolved.layers == (
        "defaults.yaml",
        "account-staging-app.yaml",
        "tag-Tier-app.yaml",
        "tag-dr_wave-2.yaml",
    )
    assert resolved.settings == {
        "launchDisposition": "STOPPED",
        "copyTags": True,
        "licensing": {"osByol": True},
    }
    assert file_part("dr:wave") == "dr_wave"
    (tmp_path / "account-222222222222.yaml").write_text("copyTags: false\n")
    with pytest.raises(InputError, match="keep one"):
        LaunchSettingsStore(tmp_path).resolve("222222222222", "staging-app", {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "licensing: {osByol: 'yes'}\n",
            r"tag-Tier-web.yaml: \$.licensing.osByol: 'yes' is not of type 'boolean'",
        ),
        (
            "launchDisposition: PAUSED\n",
            r"tag-Tier-web.yaml: \$.launchDisposition: 'PAUSED' is not one of",
        ),
        (
            "instanceType: m5.large\n",
            r"tag-Tier-web.yaml: \$.instanceType: not a DRS launch configuration setting",
        ),
        ("licensing: {byol: true}\n", r"tag-Tier-web.yaml: \$.licensing.byol: not a DRS launch"),
        ("- copyTags\n", r"tag-Tier-web.yaml: \$: must be a mapping"),
        ("copyTags: [\n", r"tag-Tier-web.yaml: not valid YAML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "tag-Tier-web.yaml").write_text(text)
    with pytest.raises(InputError, match=message):
        LaunchSettingsStore(tmp_path).resolve("111111111111", "staging-web", {"Tier": "web"})
    assert LaunchSettingsStore(tmp_path).check()


def test_check_flags_misnamed_files(tmp_path: Path) -> None:
    (tmp_path / "defaults.yml").write_text("copyTags: true\n")
    [problem] = LaunchSettingsStore(tmp_path).check()
    assert "defaults.yml: not a settings layer name" in problem


def test_the_schema_comes_from_the_botocore_model() -> None:
    properties = launch_settings_schema()["properties"]
    assert "sourceServerID" not in properties and "name" not in properties
    assert {
        "copyPrivateIp",
        "copyTags",
        "launchDisposition",
        "licensing",
        "targetInstanceTypeRightSizingMethod",
        "postLaunchEnabled",
        "launchIntoInstanceProperties",
    } <= set(properties)
    assert properties["launchDisposition"]["enum"] == ["STOPPED", "STARTED"]


def written(current: dict, changes: dict) -> dict:
    """A launch configuration after UpdateLaunchConfiguration of ``changes`` (each field
    given replaces the field)."""
    return {**current, **changes}


@settings(max_examples=80, deadline=None)
@given(LAYERS, LAYERS)
def test_only_what_differs_is_written_and_writing_it_is_enough(current, wanted) -> None:
    changes = settings_changes(current, wanted)
    assert set(changes) <= set(wanted)
    for key in set(wanted) - set(changes):  # left out: the configuration has it already
        assert settings_changes({key: current.get(key)}, {key: wanted[key]}) == {}
    after = written(current, changes)
    assert settings_changes(after, wanted) == {}  # one write reaches what is wanted
    assert settings_changes(current, {}) == {} and settings_changes(after, after) == {}
    # what the write replaced, written back, is the configuration before it
    previous = {k: current[k] for k in changes if k in current}
    restored = written(after, settings_changes(after, previous, exact=True))
    assert {k: restored[k] for k in current} == current
