"""The execution report from the history: JSON, Markdown, HTML."""

from __future__ import annotations

import re

import pytest

from drorch.engine import report as reporting
from drorch.engine.gates import Gates
from tests.engine.test_gates import RecordingStepFunctions

REF = {"bucket": "b", "key": "k", "versionId": "v1"}
GROUPS = [
    {
        "groupId": "db-servers",
        "wave": "db",
        "excluded": [
            {
                "id": "s-bad",
                "arn": "arn:aws:drs:us-east-2:333333333333:source-server/s-bad",
                "name": "acme-batch-01",
                "accountId": "333333333333",
                "groupId": "db-servers",
                "reasons": ["dr:wave='7' must be one of 1, 2, 3, 4, 5"],
            }
        ],
        "skipped": [{"id": "s-dc", "arn": "arn:dc", "accountId": "333333333333"}],
    },
    {"groupId": "web-servers", "wave": "web", "excluded": [], "skipped": []},
]


@pytest.fixture
def finished(engine, hub, execution_id):
    """A drill's history: approval, the db wave within its RTO, the web wave beyond it."""
    history = engine.history
    history.create_execution(
        execution_id,
        application="claims",
        operation="drill",
        requested_by="alice",
        manifest=REF,
        phases=["ACTIVATE"],
        discovered=3,
    )
    history.plan_wave(execution_id, "ACTIVATE", 0, "db", 15)
    history.plan_wave(execution_id, "ACTIVATE", 1, "web", 20)
    gates = Gates(history, RecordingStepFunctions())
    gates.open(execution_id, "approval", "tok", phase="ACTIVATE")
    hub.sandbox.advance(60)
    gates.approve(execution_id, 1, "bob@acme.example", "go <now>")

    history.wave_started(execution_id, "ACTIVATE", 0, "db")
    resources = [
        {
            "phase": "ACTIVATE",
            "groupId": "db-servers",
            "accountId": "333333333333",
            "resourceId": f"s-db{i}",
            "name": f"acme-ora-0{i}",
            "status": "SUCCEEDED",
            "detail": {"recoveryInstanceId": f"i-{i}"},
        }
        for i in (1, 2)
    ]
    hub.sandbox.advance(600)
    history.put_resources(execution_id, resources)
    history.wave_finished(execution_id, "ACTIVATE", 0, "db", "SUCCEEDED")

    history.wave_started(execution_id, "ACTIVATE", 1, "web")
    hub.sandbox.advance(1500)
    history.put_resources(
        execution_id,
        [
            {
                "phase": "ACTIVATE",
                "groupId": "web-servers",
                "accountId": "111111111111",
                "resourceId": "s-web1",
                "name": "<script>alert(1)</script>",
                "status": "FAILED",
                "error": "LAUNCH_FAILED",
            }
        ],
    )
    history.wave_finished(execution_id, "ACTIVATE", 1, "web", "SUCCEEDED")
    history.set_status(execution_id, "SUCCEEDED")
    return reporting.build_report(history.items(execution_id), GROUPS)


def test_the_report_measures_each_wave_against_its_rto_target(finished, execution_id):
    report = finished
    assert report["status"] == "SUCCEEDED"
    assert report["durationSeconds"] == 60 + 600 + 1500
    (phase,) = report["phases"]
    db, web = phase["waves"]
    assert (db["wave"], db["durationSeconds"], db["rtoTargetMinutes"]) == ("db", 600, 15)
    assert db["recoveredAfterSeconds"] == 660 and db["rtoMet"] is True
    assert web["recoveredAfterSeconds"] == 2160 and web["rtoMet"] is False  # 36 min > 20
    assert db["resources"] == {"total": 2, "succeeded": 2, "failed": 0, "running": 0, "skipped": 0}
    assert report["summary"]["resources"]["failed"] == 1
    assert report["excluded"][0]["name"] == "acme-batch-01"
    assert report["summary"]["skipped"] == 1
    (approval,) = report["approvals"]
    assert (approval["decision"], approval["decidedBy"], approval["waitedSeconds"]) == (
        "approved",
        "bob@acme.example",
        60,
    )


def test_markdown_has_timings_rto_outcomes_approvals_and_exclusions(finished, execution_id):
    text = reporting.render_markdown(finished)
    assert text.startswith(f"# drorch drill of claims: SUCCEEDED\n\n- Execution: `{execution_id}`")
    assert "| 0 | db | SUCCEEDED |" in text
    assert "| 10m 00s | 11m 00s / 15 min: met |" in text
    assert "36m 00s / 20 min: not met" in text
    assert "Recovery time counts from the start of the execution (" in text
    assert re.search(
        r"\| 1 \| approval \| ACTIVATE \| \S+ \| approved \| bob@acme.example \| \S+ \| go <now> \|",
        text,
    )
    assert "| ACTIVATE | db-servers | 333333333333 | acme-ora-01 (s-db1) | SUCCEEDED |" in text
    assert "LAUNCH_FAILED" in text
    assert (
        "| 333333333333 | acme-batch-01 | db-servers | dr:wave='7' must be one of 1, 2, 3, 4, 5 |"
        in text
    )


def test_html_is_self_contained_escaped_and_draws_a_timeline(finished):
    page = reporting.render_html(finished)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # no external assets
    assert "go &lt;now&gt;" in page
    bars = re.findall(r'class="bar (\w+)" style="left:([\d.]+)%;width:([\d.]+)%"', page)
    assert bars == [("SUCCEEDED", "2.78", "27.78"), ("SUCCEEDED", "30.56", "69.44")]
    assert '<span class="missed">' in page
    assert "acme-batch-01" in page


def test_the_timeline_has_time_ticks_and_gate_markers(finished):
    page = reporting.render_html(finished)
    ticks = re.findall(r'class="tick" style="left:([\d.]+)%">(\w+)<', page)
    assert ticks[0] == ("0.00", "0m") and len(ticks) >= 4  # a 36-minute run: every 5 minutes
    assert [label for _, label in ticks[:3]] == ["0m", "5m", "10m"]
    assert 'class="gate" data-gate="1" style="left:0.00%"' in page  # requested at the start
    assert "dashed lines: gates 1 (approval ACTIVATE)" in page
    assert "Recovery time counts from the start of the execution" in page


def test_a_failed_recovery_wave_did_not_meet_its_target():
    wave = {"status": "FAILED", "rtoTargetMinutes": 30, "recoveredAfterSeconds": None}
    assert reporting.rto_verdict(wave) == "not met"
    assert reporting._rto(wave) == "not recovered / 30 min: not met"
    assert reporting.rto_verdict({"status": "SUCCEEDED", "rtoTargetMinutes": None}) is None


def test_resources_show_their_recovery_instance(finished):
    resource = {"detail": {"recoveryInstanceId": "i-0abc", "ec2InstanceId": "i-0abc"}}
    assert reporting.recovery_instance(resource) == "i-0abc"
    assert "| Recovery instance |" in reporting.render_markdown(finished)
    assert "<th>Recovery instance</th>" in reporting.render_html(finished)


def test_reports_are_written_in_three_formats(finished, engine, hub, execution_id):
    keys = reporting.write_report(engine.s3, hub.artifacts_bucket, finished)
    assert keys == {e: f"executions/{execution_id}/report.{e}" for e in ("json", "md", "html")}
    head = engine.s3.head_object(Bucket=hub.artifacts_bucket, Key=keys["html"])
    assert head["ContentType"] == "text/html; charset=utf-8"


def test_a_large_estate_is_reported_from_the_module_counts_without_its_resource_items(
    engine, execution_id, finished
):
    """Past RESOURCES_LISTED resources the report is built without the per-resource items:
    the same counts, from the module items, and where each group's resources are."""
    history = engine.history
    for group, account, counts in (
        ("db-servers", "333333333333", {"total": 2, "succeeded": 2}),
        ("web-servers", "111111111111", {"total": 1, "failed": 1}),
    ):
        full = {"running": 0, "succeeded": 0, "failed": 0, "skipped": 0, **counts}
        history.put_module(
            execution_id, "ACTIVATE", group, account, status="SUCCEEDED", counts=full
        )
    items = history.report_items(execution_id)
    assert not [i for i in items if i["sk"].startswith("RES#")]
    large = reporting.build_report(items, GROUPS, listed=False)
    assert large["summary"]["resources"] == finished["summary"]["resources"]
    db, web = large["phases"][0]["waves"]
    assert db["resources"] == finished["phases"][0]["waves"][0]["resources"]
    assert web["resources"]["failed"] == 1
    assert large["resources"] == [] and large["resourcesListed"] is False
    assert large["resourceStates"] == [
        f"executions/{execution_id}/state/db-servers/333333333333/ACTIVATE.json",
        f"executions/{execution_id}/state/web-servers/111111111111/ACTIVATE.json",
    ]
    text = reporting.render_markdown(large)
    assert "3 resources, more than the 1000 a report lists" in text
    assert "| ACTIVATE | web-servers | 111111111111 | SUCCEEDED | 1 | 0 | 1 | 0 |" in text
    assert "acme-ora-01" not in text
    assert "<h2>Resources</h2>" in reporting.render_html(large)
