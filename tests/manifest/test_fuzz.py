"""Validation never fails with anything but a clear ManifestError (hypothesis)."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from drorch.manifest import Manifest, ManifestError, load_manifest, wave_levels
from tests.manifest.conftest import FAKE_MODULES, MINIMAL, TRS_EXAMPLE

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "",
            "drs",
            "data",
            "app",
            "web",
            "ACTIVATE",
            "drill",
            "resolve:ssm:",
            "resolve:ssm:/x",
            "2.0",
        ]
    ),
    st.text(max_size=8),
)
keys = st.one_of(
    st.sampled_from(
        [
            "waves",
            "waveName",
            "waveNumber",
            "dependsOn",
            "technologies",
            "type",
            "selector",
            "tags",
            "ids",
            "parameters",
            "phases",
            "drill",
            "approvalWorkflow",
            "preWaveActions",
            "name",
        ]
    ),
    st.text(max_size=6),
    st.integers(min_value=0, max_value=3),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=12,
)


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def check(document) -> None:
    try:
        manifest = load_manifest(document, "fuzz", FAKE_MODULES)
    except ManifestError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.path.startswith("$") and problem.message
        return
    assert isinstance(manifest, Manifest)
    assert sum(len(level) for level in wave_levels(manifest)) == len(manifest.waves)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_any_document(document):
    check(document)


@settings(max_examples=120, deadline=None)
@given(st.sampled_from([MINIMAL, TRS_EXAMPLE]), st.data())
def test_any_change_to_a_valid_manifest(base, data):
    document = copy.deepcopy(base)
    where = data.draw(st.sampled_from(list(paths(document))[1:]))
    *parents, last = where
    holder = document
    for part in parents:
        holder = holder[part]
    if data.draw(st.booleans()):
        holder[last] = data.draw(json_values)
    elif isinstance(holder, dict):
        del holder[last]
    else:
        holder.pop(last)
    check(document)
