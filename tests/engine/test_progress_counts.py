"""The progress counters' arithmetic: the deltas of any sequence of resource changes add up
to the counts of the resources' final statuses (what ``History.record_changes`` ADDs)."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drorch.engine.history import count_deltas, progress_counts

STATUS = st.sampled_from(["RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 20), STATUS), max_size=80), st.integers(1, 7))
def test_the_deltas_of_every_step_add_up_to_the_final_counts(moves, step_size):
    current: dict[int, str] = {}
    total: Counter[str] = Counter()
    for start in range(0, len(moves), step_size):  # one executor step: a batch of changes
        changes = []
        for resource, status in moves[start : start + step_size]:
            changes.append(
                {"resourceId": resource, "status": status, "before": current.get(resource)}
            )
            current[resource] = status
        total.update(count_deltas(changes))
    expected = Counter(s.lower() for s in current.values())
    expected["total"] = len(current)
    assert +total == +expected


def test_a_change_of_detail_only_moves_no_count():
    assert count_deltas([{"resourceId": "a", "status": "RUNNING", "before": "RUNNING"}]) == {}
    assert count_deltas([{"resourceId": "a", "status": "FAILED", "before": None}]) == {
        "total": 1,
        "failed": 1,
    }


def test_a_progress_item_s_counts_leave_its_keys_out():
    item = {"pk": "EXEC#x", "sk": "PROG#ACTIVATE#web", "executionId": "x", "phase": "ACTIVATE",
            "wave": "web", "expiresAt": 1, "total": 3, "running": 1, "succeeded": 2}  # fmt: skip
    assert progress_counts(item) == {"total": 3, "running": 1, "succeeded": 2}
