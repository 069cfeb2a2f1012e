"""The DR tag taxonomy validator."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drorch.tags import PRIORITIES, STRATEGIES, WAVES, check_tags, impact_of

VALID = {
    "dr:enabled": "true",
    "dr:wave": "1",
    "dr:priority": "critical",
    "dr:recovery-strategy": "drs",
    "dr:rto-target": "30",
    "Customer": "acme",
    "Environment": "production",
}


def test_valid_tags():
    check = check_tags(VALID)
    assert check.valid and check.dr_enabled and not check.warnings


def test_missing_enabled_is_an_error():
    check = check_tags({"dr:wave": "1"})
    assert check.errors == ("dr:enabled is missing",) and not check.dr_enabled


def test_opted_out_is_valid_and_not_enabled():
    check = check_tags({"dr:enabled": "false"})
    assert check.valid and not check.dr_enabled


def test_each_bad_value_is_named():
    check = check_tags(VALID | {"dr:wave": "7", "dr:priority": "urgent", "dr:rpo-target": "-5"})
    assert len(check.errors) == 3
    assert any("dr:wave='7'" in e for e in check.errors)
    assert any("dr:priority='urgent'" in e for e in check.errors)
    assert any("dr:rpo-target='-5'" in e for e in check.errors)


def test_scoping_tags_only_warn():
    check = check_tags({k: v for k, v in VALID.items() if k != "Customer"})
    assert check.valid and check.warnings == ("Customer is missing",)


@given(
    wave=st.sampled_from(WAVES),
    priority=st.sampled_from(PRIORITIES),
    strategy=st.sampled_from(STRATEGIES),
    rto=st.integers(min_value=1, max_value=10_000),
)
def test_every_allowed_combination_is_valid(wave, priority, strategy, rto):
    tags = VALID | {
        "dr:wave": wave,
        "dr:priority": priority,
        "dr:recovery-strategy": strategy,
        "dr:rto-target": str(rto),
    }
    assert check_tags(tags).valid


@given(value=st.text(min_size=0, max_size=8).filter(lambda v: v not in WAVES))
def test_any_other_wave_is_rejected(value):
    assert not check_tags(VALID | {"dr:wave": value}).valid


def test_impact_is_optional_and_checked():
    assert check_tags(VALID).valid and impact_of(VALID) == "critical"
    optional = VALID | {"dr:impact": "optional"}
    assert check_tags(optional).valid and impact_of(optional) == "optional"
    check = check_tags(VALID | {"dr:impact": "nice-to-have"})
    assert check.errors == ("dr:impact='nice-to-have' must be one of critical, optional",)
