"""The rule for resources tagged ``dr:impact=optional`` (the engine's, for every module):
a group whose only failures are optional resources succeeds; any critical failure, or a
resource unfinished, leaves it failed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drorch.engine.discovery import sort_resources
from drorch.engine.executor import OPTIONAL_LISTED, optional_failures
from drorch.modules.base import Resource

TAGS = {
    "dr:enabled": "true",
    "dr:wave": "2",
    "dr:priority": "high",
    "dr:recovery-strategy": "drs",
    "Customer": "acme",
    "Environment": "production",
}


def tracked(**statuses: tuple[str, str]) -> dict[str, dict[str, str]]:
    """name -> (status, impact) as the executor tracks them."""
    return {
        f"s-{name}": {
            "name": name,
            "status": status,
            **({"impact": "optional"} if impact == "optional" else {}),
            **({"error": f"{name} broke"} if status == "FAILED" else {}),
        }
        for name, (status, impact) in statuses.items()
    }


def test_only_optional_failures_are_listed_with_their_errors():
    resources = tracked(
        app=("SUCCEEDED", "critical"), sftp=("FAILED", "optional"), old=("SKIPPED", "critical")
    )
    assert optional_failures(resources) == ["sftp: sftp broke"]


def test_a_critical_failure_or_an_unfinished_resource_keeps_the_group_failed():
    assert optional_failures(tracked(a=("FAILED", "critical"), b=("FAILED", "optional"))) == []
    assert optional_failures(tracked(a=("RUNNING", "critical"), b=("FAILED", "optional"))) == []
    assert optional_failures(tracked(a=("RUNNING", "optional"), b=("FAILED", "optional"))) == []
    # no resource failed: the module's own failure (a job refused as a whole) stays a failure
    assert optional_failures(tracked(a=("SUCCEEDED", "critical"))) == []


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded machine
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["SUCCEEDED", "FAILED", "SKIPPED", "RUNNING"]),
            st.sampled_from(["critical", "optional"]),
        ),
        max_size=40,
    )
)
def test_the_group_succeeds_exactly_when_every_failure_is_optional(entries):
    resources = tracked(**{f"r{i}": entry for i, entry in enumerate(entries)})
    failed = [e for e in entries if e[0] != "SUCCEEDED" and e[0] != "SKIPPED"]
    found = optional_failures(resources)
    expected = bool(failed) and all(e == ("FAILED", "optional") for e in failed)
    assert bool(found) == expected
    if expected:
        assert len(found) == min(len(failed), OPTIONAL_LISTED + 1)


def test_discovery_carries_the_tag_into_the_resource_record():
    def server(name: str, **extra: str) -> Resource:
        return Resource(f"s-{name}", "", "222222222222", "us-east-2", name, TAGS | extra)

    kept, excluded, _ = sort_resources(
        [
            server("app"),
            server("sftp", **{"dr:impact": "optional"}),
            server("x", **{"dr:impact": "no"}),
        ],
        "222222222222",
    )
    assert [(k["name"], k.get("impact")) for k in kept] == [("app", None), ("sftp", "optional")]
    assert excluded[0]["reasons"] == ["dr:impact='no' must be one of critical, optional"]
