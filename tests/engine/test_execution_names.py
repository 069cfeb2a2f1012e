"""Execution and child execution names fit Step Functions' rules (80 characters of
[A-Za-z0-9_-]) whatever the manifest's group ids (issue 11, item 3)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from drorch import names
from drorch.client import new_execution_id
from drorch.engine import asl
from drorch.vocabulary import OPERATIONS, PHASES

NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
TARGETS = asl.Targets("999999999999", "us-east-2")


@given(
    operation=st.sampled_from(OPERATIONS),
    phase=st.sampled_from(PHASES),
    group=st.text(min_size=1, max_size=300),
    account=st.from_regex(r"\A[0-9]{12}\Z"),
)
def test_child_names_fit_whatever_the_group_id(operation, phase, group, account):
    execution_id = new_execution_id(operation)
    assert NAME.match(execution_id) and names.execution_id_problem(execution_id) is None
    for parts in ((phase, group), (phase, group, account)):
        assert NAME.match(names.child_execution_name(execution_id, *parts))


def test_the_longest_ids_the_hub_generates_still_fit():
    scheduled = "scheduled-" + "0" * 8 + "-0000-0000-0000-" + "0" * 12  # EventBridge event id
    automation = "ssm-" + "0" * 36  # SSM Automation execution id
    for execution_id in (scheduled, automation):
        assert names.execution_id_problem(execution_id) is None
    assert "characters" in names.execution_id_problem("x" * 48)
    assert "allow" in names.execution_id_problem("drill 1")


def _names_in(definition):
    if isinstance(definition, dict):
        for key, value in definition.items():
            if key == "Name.$":
                yield value
            else:
                yield from _names_in(value)
    elif isinstance(definition, list):
        for value in definition:
            yield from _names_in(value)


def test_every_child_start_hashes_its_name():
    found = [n for build in asl.DEFINITIONS.values() for n in _names_in(build(TARGETS))]
    assert len(found) >= 3
    for name in found:
        assert name.startswith("States.Format('{}-{}', $.executionId, States.Hash(")
        assert name.endswith("'MD5'))")
