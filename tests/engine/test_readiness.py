"""Readiness logic without AWS: findings as rows, their order and verdict, the BLOCKER text
that ends a run, and how status, the summary and the report show them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drorch.cli.live import readiness_lines
from drorch.engine import readiness
from drorch.engine.report import _readiness_html, _readiness_markdown
from drorch.modules.base import Finding, Resource, resource_finding

SERVER = Resource(
    "s-1",
    "arn:aws:drs:us-east-2:222222222222:source-server/s-1",
    "222222222222",
    "us-east-2",
    "app-01",
)


def finding(result: str, name: str = "app-01", check: str = "replication") -> dict[str, str]:
    made = Finding(check, result, f"{check} is {result}", "do this", name, name, "drs:Describe")
    return readiness.row(made, "app-servers", "drs", "222222222222")


def test_a_resource_finding_names_the_resource_the_call_and_the_fix():
    made = resource_finding(
        SERVER, "replication", "BLOCKER", "STALLED", "drs:DescribeSourceServers", "retry"
    )
    assert (made.resource, made.name, made.call, made.fix) == (
        "s-1",
        "app-01",
        "drs:DescribeSourceServers",
        "retry",
    )
    with pytest.raises(ValueError, match="FAIL"):
        resource_finding(SERVER, "replication", "FAIL", "", "")  # the account-level word


def test_rows_refuse_a_result_outside_the_vocabulary():
    with pytest.raises(ValueError, match="SKIP"):
        readiness.row(Finding("x", "SKIP"), "g", "drs", "1")


@given(st.lists(st.sampled_from(["OK", "WARNING", "BLOCKER"]), max_size=30))
def test_the_verdict_and_counts_follow_the_worst_finding(results):
    rows = readiness.ordered(finding(r, name=f"s{i}") for i, r in enumerate(results))
    done = readiness.summary(rows, "failover", "2026-01-01T00:00:00+00:00")
    assert done["counts"] == {r: results.count(r) for r in ("OK", "WARNING", "BLOCKER")}
    expected = (
        "BLOCKED" if "BLOCKER" in results else "WARNINGS" if "WARNING" in results else "READY"
    )
    assert done["verdict"] == expected
    order = {"BLOCKER": 0, "WARNING": 1, "OK": 2}
    assert [order[r["result"]] for r in rows] == sorted(order[r] for r in results)  # worst first


def test_the_cause_names_each_blocker_with_its_call_up_to_a_limit():
    rows = readiness.ordered([finding("BLOCKER", f"s{i}") for i in range(12)] + [finding("OK")])
    text = readiness.blockers_text(readiness.summary(rows, "failover", "now"), limit=3)
    assert text.count("[drs:Describe]") == 3 and text.endswith("and 9 more")
    assert text.startswith("s0 (app-servers in 222222222222): replication is BLOCKER")


def test_status_summary_and_report_show_the_verdict_blockers_and_who_forced_it():
    record = readiness.summary(
        readiness.ordered(
            [finding("BLOCKER"), finding("WARNING", "app-02"), finding("OK", "app-03")]
        ),
        "failover",
        "now",
    )
    record["forcedBy"] = "arn:aws:iam::999999999999:user/ops"
    lines = [line.plain for line in readiness_lines(record)]
    assert lines[0].startswith("readiness for failover: BLOCKED (1 blocker(s), 1 warning(s), 1 ok")
    assert lines[0].endswith("overridden with --force by arn:aws:iam::999999999999:user/ops")
    assert lines[1].strip().startswith("BLOCKER app-01") and lines[2].strip().startswith(
        "WARNING app-02"
    )
    assert len(lines) == 3  # OK findings are not repeated in status
    markdown = "\n".join(_readiness_markdown(record))
    assert "## Readiness" in markdown and markdown.count("| BLOCKER |") == 1
    html = "".join(_readiness_html(record))
    assert html.count("<tr>") == 4  # the header and one row per finding
    assert '<span class="BLOCKER">BLOCKER</span>' in html
    assert readiness_lines(None) == [] and _readiness_html(None) == []


def test_shards_page_each_account_and_merge_to_the_same_verdict():
    """The master's Readiness Map: a shard per page of an account's resources (page 0 also
    for an account with exclusions only); the heads merged give the counts and the worst."""
    page = readiness.SHARD_RESOURCES
    groups = {
        "a": {"resources": {"1": [{}] * (page + 1), "2": [{}] * 3}, "excluded": []},
        "b": {"resources": {"1": [{}] * (page - 1)}, "excluded": [{"accountId": "3"}]},
    }
    assert readiness.shards(groups) == [
        {"accountId": "1", "page": 0},
        {"accountId": "1", "page": 1},
        {"accountId": "2", "page": 0},
        {"accountId": "3", "page": 0},
    ]
    heads = [
        readiness.summary(
            readiness.ordered([finding("BLOCKER", f"s{i}"), finding("OK", f"t{i}")]),
            "failover",
            "now",
        )
        for i in range(2)
    ]
    heads.append(readiness.summary([], "failover", "now"))
    merged = readiness.merge(heads, "failover")
    assert merged["verdict"] == "BLOCKED"
    assert merged["counts"] == {"OK": 2, "WARNING": 0, "BLOCKER": 2}
    assert [f["result"] for f in merged["findings"]] == ["BLOCKER", "BLOCKER", "OK", "OK"]
    assert merged["resources"] == 4


class StalledModule:
    """A module whose probe finds every resource's replication stalled (a BLOCKER)."""

    type = "drs"

    def resource_readiness(self, ctx, resources, params):
        return [
            resource_finding(r, "replication", "BLOCKER", "STALLED", "drs:DescribeSourceServers")
            for r in resources
        ]

    def exclusion_readiness(self, ctx, excluded):
        return []


def test_a_blocker_on_a_resource_tagged_optional_is_a_warning():
    found = {
        "resources": {
            "222222222222": [
                {"id": "s-1", "name": "app-01", "tags": {}},
                {"id": "s-2", "name": "sftp-01", "tags": {}, "impact": "optional"},
            ]
        }
    }
    rows = readiness.group_findings("app-servers", found, StalledModule(), lambda account: None)
    by_name = {r["name"]: r for r in rows}
    assert by_name["app-01"]["result"] == "BLOCKER" and "impact" not in by_name["app-01"]
    sftp = by_name["sftp-01"]
    assert (sftp["result"], sftp["impact"]) == ("WARNING", "optional")
    assert sftp["detail"] == "STALLED (a BLOCKER, but the resource is dr:impact=optional)"
    done = readiness.summary(readiness.ordered(rows), "failover", "2026-01-01T00:00:00+00:00")
    assert done["counts"] == {"OK": 0, "WARNING": 1, "BLOCKER": 1}
    # the CLI's lines, the status and the report name it optional
    assert readiness.finding_line(sftp).startswith("WARNING sftp-01 (optional) [app-servers")
    assert "| WARNING | sftp-01 (optional) |" in _readiness_markdown(done)[-1]
