"""Wave dependencies: topological levels and cycles (hypothesis properties)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drorch.errors import InputError
from drorch.manifest import Manifest, ManifestError, load_manifest, problems_in, wave_levels
from drorch.manifest.build import build
from drorch.manifest.dag import find_cycles

MODULES: dict = {}


def document(deps: dict[int, list[int]], numbers: list[int]) -> dict:
    """A manifest whose wave i (number numbers[i], name w<i>) depends on the waves deps[i]."""
    return {
        "manifestVersion": "2.0",
        "customer": "acme",
        "environment": "production",
        "waves": [
            {
                "waveNumber": numbers[i],
                "waveName": f"w{i}",
                "dependsOn": [f"w{d}" for d in deps[i]],
                "technologies": [{"type": "drs", "selector": {"tags": {"dr:wave": str(i)}}}],
            }
            for i in range(len(numbers))
        ],
    }


@st.composite
def dags(draw, min_edges: int = 0):
    """(deps, numbers): wave i may only depend on waves j < i, so the graph is acyclic;
    wave numbers are shuffled so that they say nothing about the dependencies."""
    size = draw(st.integers(min_value=1 if not min_edges else 2, max_value=12))
    deps = {
        i: sorted(draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=3))) if i else []
        for i in range(size)
    }
    if min_edges and not any(deps.values()):
        deps[size - 1] = [draw(st.integers(min_value=0, max_value=size - 2))]
    numbers = draw(st.permutations(list(range(1, size + 1))))
    return deps, list(numbers)


@settings(max_examples=75, deadline=None)
@given(dags())
def test_levels_of_a_random_dag(dag):
    deps, numbers = dag
    manifest = load_manifest(document(deps, numbers), modules=MODULES)
    levels = wave_levels(manifest)
    placed = [wave.name for level in levels for wave in level]
    # every wave appears exactly once
    assert sorted(placed) == sorted(f"w{i}" for i in range(len(numbers)))
    level_of = {wave.name: index for index, level in enumerate(levels) for wave in level}
    for wave in manifest.waves:
        # every dependency is in an earlier level
        assert all(level_of[dep] < level_of[wave.name] for dep in wave.depends_on)
        # and each wave is as early as its dependencies allow (so independent waves share)
        expected = 1 + max((level_of[d] for d in wave.depends_on), default=-1)
        assert level_of[wave.name] == expected
    # no level is empty; waves in a level are ordered by waveNumber
    for level in levels:
        assert level
        assert [w.number for w in level] == sorted(w.number for w in level)
    # deterministic
    assert [[w.name for w in lv] for lv in wave_levels(manifest)] == [
        [w.name for w in lv] for lv in levels
    ]


@settings(max_examples=75, deadline=None)
@given(dags(min_edges=1), st.data())
def test_adding_a_back_edge_always_raises(dag, data):
    deps, numbers = dag
    # pick a dependency path a -> ... -> b (a depends on b, transitively) and add b -> a
    edges = [(i, d) for i, ds in deps.items() for d in ds]
    start, end = data.draw(st.sampled_from(edges))
    while deps[end] and data.draw(st.booleans()):
        end = data.draw(st.sampled_from(deps[end]))
    deps[end] = sorted({*deps[end], start})
    with pytest.raises(ManifestError) as caught:
        load_manifest(document(deps, numbers), modules=MODULES)
    cycles = [p for p in caught.value.problems if "dependency cycle" in p.message]
    assert cycles, caught.value.problems
    assert f"w{start}" in cycles[0].message or any(f"w{start}" in p.message for p in cycles)

    # a Manifest built by hand (not loaded) is refused by wave_levels too
    manifest = load_manifest(document({i: [] for i in deps}, numbers), modules=MODULES)
    waves = tuple(
        type(w)(**{**w.__dict__, "depends_on": tuple(f"w{d}" for d in deps[int(w.name[1:])])})
        for w in manifest.waves
    )
    looped = Manifest(**{**manifest.__dict__, "waves": waves})
    with pytest.raises(InputError, match="dependency cycle"):
        wave_levels(looped)


def test_independent_waves_share_a_level():
    deps = {0: [], 1: [0], 2: [0], 3: [1, 2], 4: []}
    manifest = load_manifest(document(deps, [1, 2, 3, 4, 5]), modules=MODULES)
    assert [[w.name for w in level] for level in wave_levels(manifest)] == [
        ["w0", "w4"],
        ["w1", "w2"],
        ["w3"],
    ]


def test_the_cycle_is_named_in_order():
    deps = {0: [2], 1: [0], 2: [1], 3: []}
    with pytest.raises(ManifestError) as caught:
        load_manifest(document(deps, [1, 2, 3, 4]), modules=MODULES)
    (problem,) = caught.value.problems
    assert problem.path == "$.waves[0].dependsOn"
    assert problem.message.startswith("dependency cycle w0 → w2 → w1 → w0")


def test_two_separate_cycles_are_both_reported():
    deps = {0: [1], 1: [0], 2: [3], 3: [2]}
    with pytest.raises(ManifestError) as caught:
        load_manifest(document(deps, [1, 2, 3, 4]), modules=MODULES)
    assert [p.message.split(";")[0] for p in caught.value.problems] == [
        "dependency cycle w0 → w1 → w0",
        "dependency cycle w2 → w3 → w2",
    ]


def test_find_cycles_self_loop_and_unknown_nodes():
    assert find_cycles({"a": ["a", "zz"]}) == [["a", "a"]]
    assert find_cycles({"a": ["b"], "b": []}) == []


def test_a_long_chain_does_not_recurse():
    size = 1100  # above Python's default recursion limit
    deps = {i: [i - 1] if i else [] for i in range(size)}
    # a chain this long is refused by load_manifest (its plan would not fit a Step
    # Functions payload): the model is built from the valid document directly
    raw = document(deps, list(range(1, size + 1)))
    assert problems_in(raw, MODULES) == []
    manifest = build(raw, MODULES)
    with pytest.raises(ManifestError, match="byte budget"):
        load_manifest(raw, modules=MODULES)
    levels = wave_levels(manifest)
    assert len(levels) == size
