"""What `COLUMNS=80 drorch demo | cat` shows: progress, one line per event, a summary."""

from __future__ import annotations

from drorch.cli.main import main
from tests.conftest import ACCOUNTS_DIR


def test_the_piped_demo_is_short_and_ends_with_the_summary_and_the_reports(capsys, tmp_path):
    code = main(["demo", "--accounts-dir", str(ACCOUNTS_DIR), "--report-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 0, err
    assert len(lines) < 60  # the whole Markdown report used to be dumped here (204 lines)
    assert not any(box in out for box in "│┃┏┡")  # events, never redrawn frames
    assert "# drorch drill" not in out  # the report is in the files, not on the terminal
    assert all(
        len(line) <= 80
        for line in lines
        # paths and commands stay whole, to be copied
        if not line.startswith(("drill report", "cleanup report")) and "drorch approve" not in line
    )
    assert "demo succeeded" in lines[-3]
    assert (
        lines[-2].startswith(f"drill report: {tmp_path}/drill-")
        and "(also .html, .json)" in lines[-2]
    )
    assert lines[-1].startswith(f"cleanup report: {tmp_path}/cleanup-")
    summary = out[out.index("summary") :]
    assert "recovered" in summary and "target" in summary and "met" in summary
    # set-up progress on stderr, so stdout stays the command's output
    assert "sandbox: deploying the hub" in err and "sandbox ready in" in err
