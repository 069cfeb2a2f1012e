"""A bounded plan (issue 11, item 2): whatever the manifest, the payload the master carries
stays under 64 KiB. A manifest whose plan cannot fit is refused at validation with a
clear error; a plan that grows past the budget with its accounts is refused by the
plan step before anything runs; resources never enter the payload."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drorch.engine.errors import PlanTooLarge
from drorch.engine.plan import (
    PAYLOAD_LIMIT,
    PLAN_PAYLOAD_BUDGET,
    build_plan,
    check_payload,
    payload_size,
)
from drorch.manifest import ManifestError, load_manifest


def document(waves: int, groups: int = 1, chained: bool = True) -> dict:
    return {
        "manifestVersion": "2.0",
        "application": "estate",
        "customer": "acme",
        "environment": "production",
        "waves": [
            {
                "waveNumber": i + 1,
                "waveName": f"wave-{i + 1}",
                **({} if chained else {"dependsOn": []}),
                "technologies": [
                    {"type": "drs", "name": f"g{g}", "selector": {"tags": {"dr:wave": "1"}}}
                    for g in range(groups)
                ],
            }
            for i in range(waves)
        ],
    }


def test_a_thousand_waves_are_refused_at_validation_with_the_budget_named():
    with pytest.raises(ManifestError) as refused:
        load_manifest(document(1000), "estate.yaml", modules={})
    (problem,) = refused.value.problems
    assert problem.path == "$.waves"
    assert f"{PLAN_PAYLOAD_BUDGET} byte budget" in problem.message
    assert "1000 waves" in problem.message and "split the application" in problem.message


def test_parallel_waves_are_bounded_as_well():
    with pytest.raises(ManifestError, match="byte budget"):
        load_manifest(document(600, chained=False), "estate.yaml", modules={})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    waves=st.integers(1, 120),
    groups=st.integers(1, 4),
    chained=st.booleans(),
    accounts=st.integers(1, 3),
    resources=st.integers(1, 100_000),
)
def test_every_accepted_plan_fits_or_is_refused_before_it_runs(
    waves, groups, chained, accounts, resources
):
    try:
        manifest = load_manifest(document(waves, groups, chained), "estate.yaml", modules={})
    except ManifestError as refused:
        assert "byte budget" in refused.problems[0].message
        return
    counts = {
        g.id: {f"{100000000000 + a}": resources for a in range(accounts)} for g in manifest.groups
    }
    for operation in ("drill", "failover", "failback", "cleanup"):
        plan = build_plan(manifest, operation, counts)
        size = payload_size(plan)
        if size > PLAN_PAYLOAD_BUDGET:
            with pytest.raises(PlanTooLarge, match="over drorch's"):
                check_payload(plan)
        else:
            check_payload(plan)
            assert size < PAYLOAD_LIMIT


def test_resources_never_enter_the_payload():
    manifest = load_manifest(document(5, 3), "estate.yaml", modules={})
    one = {g.id: {"111111111111": 1} for g in manifest.groups}
    many = {g.id: {"111111111111": 100_000} for g in manifest.groups}
    assert payload_size(build_plan(manifest, "failover", one)) == payload_size(
        build_plan(manifest, "failover", many)
    )


def test_many_accounts_make_the_plan_step_refuse_with_a_clear_error():
    manifest = load_manifest(document(40, 3), "estate.yaml", modules={})
    counts = {g.id: {f"{100000000000 + a}": 10 for a in range(60)} for g in manifest.groups}
    plan = build_plan(manifest, "failback", counts)
    with pytest.raises(PlanTooLarge) as refused:
        check_payload(plan)
    assert "40 waves" in str(refused.value) and "accounts" in refused.value.hint
