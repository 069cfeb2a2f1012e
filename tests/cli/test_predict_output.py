"""`manifest plan --predict`: what the terminal shows of a prediction."""

from __future__ import annotations

from drorch.cli.manifest_cmd import render_prediction
from drorch.engine import predict
from tests.engine.test_predict import PLAN, samples


def test_the_prediction_table_marks_the_critical_path_and_gives_the_range(capsys):
    runs = samples(
        (300, {"data": 500, "app": 400, "web": 600}, 10),
        (320, {"data": 540, "app": 420, "web": 580}, 0),
    )
    render_prediction(predict.predict(PLAN, runs))
    out = capsys.readouterr().out
    assert "predicted durations (2 earlier runs)" in out
    assert "web *" in out and "app *" not in out  # the slower wave of level 1
    assert "predicted RTO " in out and "critical path data → web" in out
    assert "RTO target 30 min:" in out


def test_without_history_it_says_so(capsys):
    render_prediction(predict.predict(PLAN, []))
    out = capsys.readouterr().out
    assert "prediction: no earlier successful drill of claims in the history" in out
