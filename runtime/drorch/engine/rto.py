"""The run's RTO verdict, and predicted against measured against target per wave.

The verdict is what a DR report must say first: was the application recovered within its
target, and by how much. The targets are the manifest's ``rtoTargetMinutes`` (the whole
application: the end of the last wave of the recovery phase) and each wave's target (the
smallest ``dr:rto-target`` of its resources, or the wave's own ``rtoTargetMinutes``).
The run meets its RTO when every one of them is met; the margin is the tightest one's
(positive: time to spare; negative: over by that much). A wave that failed, or never ran,
misses its target. The predicted column is the prediction the plan step made before the
run (:mod:`drorch.engine.predict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.engine import predict as predicting

RECOVERING = ("drill", "failover", "failback")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    minutes, secs = divmod(abs(int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{sign}{hours}h{minutes:02d}m{secs:02d}s"
    return f"{sign}{minutes}m{secs:02d}s" if minutes else f"{sign}{secs}s"


def _recovery_waves(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    phase = report.get("recoveryPhase")
    return next((p["waves"] for p in report.get("phases", []) if p["phase"] == phase), [])


def _check(what: str, target_minutes: int, measured: int | None) -> dict[str, Any]:
    margin = None if measured is None else target_minutes * 60 - measured
    return {
        "what": what,
        "targetMinutes": target_minutes,
        "measuredSeconds": measured,
        "marginSeconds": margin,
        "met": margin is not None and margin >= 0,
    }


def verdict(report: Mapping[str, Any], plan: Mapping[str, Any] | None) -> dict[str, Any]:
    """Whether the run met its RTO target(s), and by how much (JSON-ready)."""
    operation = report.get("operation")
    if operation not in RECOVERING:
        return {"met": None, "text": f"no RTO for a {operation} (it recovers nothing)"}
    waves = _recovery_waves(report)
    recovered = bool(waves) and all(w.get("status") == "SUCCEEDED" for w in waves)
    measured = (
        max((w["recoveredAfterSeconds"] or 0) for w in waves) if recovered and waves else None
    )
    checks = []
    application_target = (plan or {}).get("rtoTargetMinutes")
    if application_target:
        checks.append(_check("application (manifest)", int(application_target), measured))
    for wave in waves:
        if wave.get("rtoTargetMinutes") is not None:
            checks.append(
                _check(
                    f"wave {wave['wave']}",
                    int(wave["rtoTargetMinutes"]),
                    wave.get("recoveredAfterSeconds")
                    if wave.get("status") == "SUCCEEDED"
                    else None,
                )
            )
    result: dict[str, Any] = {"measuredSeconds": measured, "recovered": recovered}
    if not checks:
        result.update(
            met=None,
            text="no RTO target: set rtoTargetMinutes in the manifest or dr:rto-target on "
            "the resources"
            + (f"; recovered in {_clock(measured)}" if measured is not None else ""),
        )
        return result
    met = all(c["met"] for c in checks)
    margins = [c for c in checks if c["marginSeconds"] is not None]
    tightest = min(margins, key=lambda c: c["marginSeconds"]) if margins else None
    missed = [c for c in checks if not c["met"]]
    if met and tightest is not None:
        text = (
            f"RTO met: recovered in {_clock(measured)}; tightest target "
            f"{tightest['what']} ({tightest['targetMinutes']} min) with "
            f"{_clock(tightest['marginSeconds'])} to spare"
        )
    else:
        parts = []
        for check in missed:
            if check["marginSeconds"] is None:
                parts.append(f"{check['what']} ({check['targetMinutes']} min): not recovered")
            else:
                parts.append(
                    f"{check['what']} ({check['targetMinutes']} min): over by "
                    f"{_clock(-check['marginSeconds'])}"
                )
        text = "RTO not met: " + "; ".join(parts)
    result.update(
        met=met,
        targetMinutes=int(application_target) if application_target else None,
        marginSeconds=tightest["marginSeconds"] if tightest else None,
        tightest=tightest["what"] if tightest else None,
        checks=checks,
        text=text,
    )
    return result


def predicted_fields(
    prediction: Mapping[str, Any] | None, phase: str, wave: str
) -> dict[str, Any] | None:
    """A wave's predicted duration for the report (None: no prediction for it)."""
    found = predicting.wave_prediction(prediction, phase, wave)
    if found is None:
        return None
    return {
        k: found[k] for k in ("samples", "lowSeconds", "p50Seconds", "highSeconds") if k in found
    }


def range_text(entry: Mapping[str, Any] | None) -> str:
    """``7m30s..9m10s (median 8m05s, 3 runs)``; ``-`` without one."""
    if not entry or not entry.get("samples"):
        return "-"
    return (
        f"{_clock(entry['lowSeconds'])}..{_clock(entry['highSeconds'])} "
        f"(median {_clock(entry['p50Seconds'])}, {entry['samples']} run"
        f"{'s' if entry['samples'] != 1 else ''})"
    )


def prediction_text(prediction: Mapping[str, Any] | None) -> str:
    """One line: the predicted RTO range and the critical path, or why there is none."""
    if not prediction:
        return "no prediction"
    if not prediction.get("available"):
        return str(prediction.get("note") or "no prediction")
    text = f"predicted RTO {range_text(prediction['rto'])}"
    if prediction.get("criticalPath"):
        text += "; critical path " + " → ".join(prediction["criticalPath"])
    if not prediction.get("complete", True):
        text += f"; no history for {', '.join(prediction.get('wavesWithoutHistory', []))}"
    return text


def comparison_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """Predicted, measured and target per wave of the recovery phase (text cells)."""
    rows = []
    for wave in _recovery_waves(report):
        target = wave.get("rtoTargetMinutes")
        rows.append(
            [
                str(wave["wave"]),
                range_text(wave.get("predicted")),
                _clock(wave.get("durationSeconds")),
                _clock(wave.get("recoveredAfterSeconds")),
                f"{target} min" if target is not None else "-",
            ]
        )
    return rows


COMPARISON_HEADERS = [
    "Wave",
    "Predicted duration",
    "Measured duration",
    "Recovered after",
    "Target",
]
