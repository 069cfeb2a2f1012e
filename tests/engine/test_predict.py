"""Predicted RTO from earlier runs and the RTO verdict: the pure logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drorch.engine import predict, rto

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def history_items(execution_id: str, lead: int, durations: dict[str, int], gap: int = 0):
    """An earlier drill: INSTANTIATE before, then data; app and web side by side."""
    items = [
        {
            "sk": "EXEC",
            "executionId": execution_id,
            "startedAt": at(0),
            "phases": ["INSTANTIATE", "ACTIVATE"],
        },
        {"sk": "WAVE#INSTANTIATE#0#data", "phase": "INSTANTIATE", "level": 0, "wave": "data",
         "status": "SUCCEEDED", "startedAt": at(5), "finishedAt": at(lead - 5)},
    ]  # fmt: skip
    data_end = lead + durations["data"]
    items.append(
        {"sk": "WAVE#ACTIVATE#0#data", "phase": "ACTIVATE", "level": 0, "wave": "data",
         "status": "SUCCEEDED", "startedAt": at(lead), "finishedAt": at(data_end)}
    )  # fmt: skip
    for wave in ("app", "web"):
        items.append(
            {"sk": f"WAVE#ACTIVATE#1#{wave}", "phase": "ACTIVATE", "level": 1, "wave": wave,
             "status": "SUCCEEDED", "startedAt": at(data_end + gap),
             "finishedAt": at(data_end + gap + durations[wave])}
        )  # fmt: skip
    items.append(
        {"sk": "MOD#ACTIVATE#data-servers#1", "phase": "ACTIVATE", "groupId": "data-servers",
         "accountId": "1", "status": "SUCCEEDED", "startedAt": at(lead),
         "finishedAt": at(data_end)}
    )  # fmt: skip
    items.append(
        {"sk": "RES#ACTIVATE#data-servers#1#s-1", "phase": "ACTIVATE", "groupId": "data-servers",
         "status": "SUCCEEDED", "startedAt": at(lead), "finishedAt": at(lead + 400)}
    )  # fmt: skip
    return items


PLAN = {
    "application": "claims",
    "operation": "drill",
    "rtoTargetMinutes": 30,
    "phases": [
        {
            "phase": phase,
            "levels": [
                {
                    "level": 0,
                    "waves": ["data"],
                    "groups": [{"groupId": "data-servers", "accounts": ["1"]}],
                },
                {"level": 1, "waves": ["app", "web"], "groups": []},
            ],
        }
        for phase in ("INSTANTIATE", "ACTIVATE")
    ],  # fmt: skip
    "waves": {"data": {"groups": ["data-servers"]}, "app": {"groups": []}, "web": {"groups": []}},
    "groups": {"data-servers": {"role": "module", "module": "drs"}},
}


def samples(*runs):
    return [predict.run_sample(history_items(f"drill-{i}", *run)) for i, run in enumerate(runs)]


def test_no_history_predicts_nothing_and_says_so():
    result = predict.predict(PLAN, [])
    assert result["available"] is False
    assert "no earlier successful drill of claims" in result["note"]
    assert rto.prediction_text(result) == result["note"]


def test_the_range_adds_up_the_parts_and_names_the_critical_path():
    runs = samples(
        (300, {"data": 500, "app": 400, "web": 600}, 10),
        (320, {"data": 540, "app": 420, "web": 580}, 0),
        (310, {"data": 520, "app": 380, "web": 640}, 20),
    )
    assert [s.rto_seconds for s in runs] == [1410, 1440, 1490]
    result = predict.predict(PLAN, runs)
    assert result["available"] and result["complete"] and result["samples"] == 3
    assert result["criticalPath"] == ["data", "web"]  # web is the slower of level 1
    low, high = result["rto"]["lowSeconds"], result["rto"]["highSeconds"]
    assert low < 1410 and high > 1490
    # each part: [min - m, max + m], m = max(spread / (n - 1), 5 % of the median)
    data = next(w for w in result["waves"] if w["phase"] == "ACTIVATE" and w["wave"] == "data")
    assert (data["lowSeconds"], data["p50Seconds"], data["highSeconds"]) == (
        474,
        520,
        566,
    )  # m = 26 (5 % of 520 > 40 / 2)
    assert data["slowestGroup"] == "data-servers" and data["groups"][0]["resourceP50Seconds"] == 400
    assert result["rto"]["targetSeconds"] == 1800
    assert result["rto"]["risk"] == ("within target" if high <= 1800 else "may miss the target")
    assert "critical path data → web" in rto.prediction_text(result)


def test_a_wave_without_history_is_named_and_left_out():
    plan = {**PLAN, "waves": {**PLAN["waves"], "api": {"groups": []}}}
    plan["phases"] = [
        {**p, "levels": [*p["levels"], {"level": 2, "waves": ["api"], "groups": []}]}
        for p in PLAN["phases"]
    ]
    result = predict.predict(plan, samples((300, {"data": 500, "app": 400, "web": 600})))
    assert result["complete"] is False and result["wavesWithoutHistory"] == ["api"]
    assert "no history for api" in rto.prediction_text(result)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded machine
@given(st.lists(st.integers(min_value=0, max_value=100_000), min_size=1, max_size=12))
def test_an_interval_holds_every_sample_and_is_never_a_point(values):
    found = predict.interval(values)
    assert found["samples"] == len(values)
    assert found["lowSeconds"] <= min(values) and max(values) <= found["highSeconds"]
    if max(values) > 0:
        assert found["lowSeconds"] < found["highSeconds"]


def _report(operation="drill", target_tag=20, recovered=(600, 1100), status="SUCCEEDED"):
    waves = [
        {"wave": "data", "status": "SUCCEEDED", "rtoTargetMinutes": None,
         "recoveredAfterSeconds": recovered[0], "durationSeconds": 300, "predicted": None},
        {"wave": "web", "status": status, "rtoTargetMinutes": target_tag,
         "recoveredAfterSeconds": recovered[1] if status == "SUCCEEDED" else None,
         "durationSeconds": 500, "predicted": {"samples": 2, "lowSeconds": 400,
                                               "p50Seconds": 480, "highSeconds": 560}},
    ]  # fmt: skip
    return {"operation": operation, "recoveryPhase": "ACTIVATE",
            "phases": [{"phase": "ACTIVATE", "waves": waves}]}  # fmt: skip


def test_the_verdict_says_met_and_by_how_much():
    verdict = rto.verdict(_report(), {"rtoTargetMinutes": 60})
    assert verdict["met"] is True and verdict["measuredSeconds"] == 1100
    assert verdict["tightest"] == "wave web" and verdict["marginSeconds"] == 20 * 60 - 1100
    assert verdict["text"] == (
        "RTO met: recovered in 18m20s; tightest target wave web (20 min) with 1m40s to spare"
    )
    rows = rto.comparison_rows(_report())
    assert rows[1] == ["web", "6m40s..9m20s (median 8m00s, 2 runs)", "8m20s", "18m20s", "20 min"]


def test_the_verdict_says_missed_and_not_recovered():
    over = rto.verdict(_report(target_tag=None), {"rtoTargetMinutes": 15})
    assert over["met"] is False and over["marginSeconds"] == 900 - 1100
    assert over["text"] == "RTO not met: application (manifest) (15 min): over by 3m20s"
    failed = rto.verdict(_report(status="FAILED"), {"rtoTargetMinutes": 60})
    assert failed["met"] is False and failed["measuredSeconds"] is None
    assert "application (manifest) (60 min): not recovered" in failed["text"]
    assert "wave web (20 min): not recovered" in failed["text"]


def test_no_target_and_no_recovery_say_so():
    none = rto.verdict(_report(target_tag=None), {})
    assert none["met"] is None and none["text"].startswith("no RTO target")
    assert rto.verdict(_report(operation="cleanup"), {})["text"].startswith("no RTO for a cleanup")


def test_a_polled_duration_is_known_to_a_poll_interval():
    items = history_items("drill-polled", 300, {"data": 480, "app": 420, "web": 480})
    items[0]["pollSeconds"] = 60
    runs = [predict.run_sample(items), predict.run_sample(items)]  # the same twice
    data = next(
        w
        for w in predict.predict(PLAN, runs)["waves"]
        if w["phase"] == "ACTIVATE" and w["wave"] == "data"
    )
    assert (data["lowSeconds"], data["highSeconds"]) == (420, 540)  # +-60, not +-24


class _History:
    """The history's reads, counted: a large sample is read by kind of item, not whole."""

    def __init__(self, runs):
        self.runs = runs  # execution id -> (its EXEC item as listed, its items)
        self.whole, self.by_kind = [], []

    def list_executions(self, application, limit):
        return [listed for listed, _items in self.runs.values()]

    def items(self, execution_id):
        self.whole.append(execution_id)
        return self.runs[execution_id][1]

    def report_items(self, execution_id):
        self.by_kind.append(execution_id)
        return [i for i in self.runs[execution_id][1] if not i["sk"].startswith("RES#")]


def test_a_large_sample_is_read_without_its_resource_items():
    runs = {}
    for n, discovered in enumerate((40, predict.RESOURCES_READ + 1)):
        execution_id = f"drill-{n}"
        items = history_items(execution_id, 300, {"data": 600, "app": 200, "web": 300})
        listed = {**items[0], "operation": "drill", "status": "SUCCEEDED"}
        listed["startedAt"] = at(n)  # the large one is the newer
        listed["discovered"] = discovered
        runs[execution_id] = (listed, items)
    history = _History(runs)
    found = predict.samples_from_history(history, "claims", "drill")
    assert [s.execution_id for s in found] == ["drill-1", "drill-0"]
    assert history.whole == ["drill-0"] and history.by_kind == ["drill-1"]
    large, small = found
    assert large.waves == small.waves and large.groups == small.groups
    assert large.resources == {} and small.resources  # the large one's are left out
    prediction = predict.predict(PLAN, found)
    data = next(w for w in prediction["waves"] if w["wave"] == "data" and w["phase"] == "ACTIVATE")
    (group,) = data["groups"]
    assert group["samples"] == 2 and group["resourceP50Seconds"] == 400
