"""The HTML report in a real headless browser (playwright), where one can be installed.

Skipped when playwright or its browser is missing: ``pip install playwright &&
playwright install chromium`` (the browser download needs the internet), or set
``DRORCH_TEST_CHROMIUM`` to a chromium binary (e.g. the one npm's
``@sparticuz/chromium`` unpacks: ``node -e 'require("@sparticuz/chromium").executablePath().then(console.log)'``).
"""

from __future__ import annotations

import os

import pytest

from drorch.engine import report as reporting


def history_items() -> list[dict]:
    """A finished drill: approval at the start, db in 11 min (target 15), web failed."""
    execution = "drill-20260101T120000-a1b2c3"

    def item(sk: str, **values):
        return {"pk": f"EXEC#{execution}", "sk": sk, "executionId": execution, **values}

    return [
        item(
            "EXEC",
            application="claims",
            operation="drill",
            status="FAILED",
            phases=["ACTIVATE"],
            startedAt="2026-01-01T12:00:00Z",
            finishedAt="2026-01-01T12:36:00Z",
            error="WaveFailed",
            cause="wave web (ACTIVATE) failed",
        ),
        item(
            "WAVE#ACTIVATE#0#db",
            phase="ACTIVATE",
            level=0,
            wave="db",
            status="SUCCEEDED",
            startedAt="2026-01-01T12:01:00Z",
            finishedAt="2026-01-01T12:11:00Z",
            rtoTargetMinutes=15,
        ),  # fmt: skip
        item(
            "WAVE#ACTIVATE#1#web",
            phase="ACTIVATE",
            level=1,
            wave="web",
            status="FAILED",
            startedAt="2026-01-01T12:11:00Z",
            finishedAt="2026-01-01T12:36:00Z",
            rtoTargetMinutes=20,
        ),  # fmt: skip
        item(
            "RES#ACTIVATE#db-servers#333333333333#s-db1",
            phase="ACTIVATE",
            groupId="db-servers",
            accountId="333333333333",
            resourceId="s-db1",
            name="acme-ora-01",
            status="SUCCEEDED",
            startedAt="2026-01-01T12:01:00Z",
            finishedAt="2026-01-01T12:10:30Z",
            detail={"recoveryInstanceId": "i-0db1"},
        ),  # fmt: skip
        item(
            "RES#ACTIVATE#web-servers#111111111111#s-web1",
            phase="ACTIVATE",
            groupId="web-servers",
            accountId="111111111111",
            resourceId="s-web1",
            name="acme-web-01",
            status="FAILED",
            startedAt="2026-01-01T12:11:00Z",
            finishedAt="2026-01-01T12:36:00Z",
            error="Failed to launch recovery instance",
        ),  # fmt: skip
        item(
            "GATE#1",
            gate=1,
            kind="approval",
            phase="ACTIVATE",
            requestedAt="2026-01-01T12:00:00Z",
            decision="approved",
            decidedBy="bob",
            decidedAt="2026-01-01T12:01:00Z",
        ),  # fmt: skip
    ]


def test_the_report_renders_in_a_headless_browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    groups = [{"groupId": "db-servers", "wave": "db"}, {"groupId": "web-servers", "wave": "web"}]
    page_file = tmp_path / "report.html"
    page_file.write_text(reporting.render_html(reporting.build_report(history_items(), groups)))
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = os.environ.get("DRORCH_TEST_CHROMIUM")
            browser = (
                playwright.chromium.launch(
                    executable_path=chromium,
                    args=["--no-sandbox", "--headless=new", "--single-process", "--no-zygote"],
                )
                if chromium
                else playwright.chromium.launch()
            )
        except Exception as error:  # noqa: BLE001 - no browser here: nothing to test with
            pytest.skip(f"no headless chromium: {str(error).splitlines()[0]}")
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_file.as_uri())
            bars = page.locator(".timeline .bar")
            assert bars.count() == 2
            first, second = bars.nth(0).bounding_box(), bars.nth(1).bounding_box()
            assert first and second and first["width"] > 0 and second["x"] > first["x"]
            ticks = page.locator(".timeline .tick").all_inner_texts()
            assert ticks[:3] == ["0m", "5m", "10m"]
            assert page.locator(".timeline .gate[data-gate='1']").count() == 2  # on each row
            headers = page.locator("h2").all_inner_texts()
            assert "Timeline" in headers and "Resources" in headers
            rows = page.locator("table").nth(0).locator("tbody tr").all_inner_texts()
            assert "not met" in rows[1] and "met" in rows[0]
            assert "i-0db1" in page.content()
            assert page.locator(".missed").first.is_visible()
        finally:
            browser.close()
