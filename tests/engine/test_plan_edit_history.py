"""The plan edit's transaction in the history: all or nothing, refused once a wave started."""

from __future__ import annotations

import pytest

from drorch.engine.history import EditRefused

REF = {"bucket": "b", "key": "k", "versionId": "v1"}
EDIT = {"editedBy": "alice", "waves": ["web"], "manifest": {"bucket": "b", "key": "m.r1"}}


def _planned(engine, execution_id):
    engine.history.create_execution(
        execution_id, application="app", operation="drill", requested_by="alice", manifest=REF
    )
    for phase in ("INSTANTIATE", "ACTIVATE"):
        for level, wave in enumerate(("data", "web")):
            engine.history.plan_wave(execution_id, phase, level, wave, 60)


def test_an_edit_commits_whole_and_a_started_wave_refuses_the_next(engine, execution_id):
    _planned(engine, execution_id)
    waves = [("INSTANTIATE", 1, "web", 45), ("ACTIVATE", 1, "web", 45)]
    engine.history.record_plan_edit(execution_id, 1, waves, EDIT)
    item = engine.history.require_execution(execution_id)
    assert item["planRevision"] == 1 and item["editedManifest"]["key"] == "m.r1"
    assert [e["revision"] for e in engine.history.plan_edits(execution_id)] == [1]
    targets = {
        (w["phase"], w["wave"]): w.get("rtoTargetMinutes")
        for w in engine.history.waves(execution_id)
    }
    assert targets[("ACTIVATE", "web")] == 45 and targets[("ACTIVATE", "data")] == 60

    # a second edit written against revision 1 again loses
    with pytest.raises(EditRefused, match="another plan edit"):
        engine.history.record_plan_edit(execution_id, 1, waves, EDIT)
    engine.history.wave_started(execution_id, "ACTIVATE", 1, "web")
    with pytest.raises(EditRefused, match=r"wave\(s\) web started meanwhile"):
        engine.history.record_plan_edit(execution_id, 2, waves, {**EDIT, "comment": "late"})
    # nothing of the refused edit was written
    assert engine.history.require_execution(execution_id)["planRevision"] == 1
    assert [e["revision"] for e in engine.history.plan_edits(execution_id)] == [1]
    assert {
        w.get("rtoTargetMinutes")
        for w in engine.history.waves(execution_id, "INSTANTIATE")
        if w["wave"] == "web"
    } == {45}
