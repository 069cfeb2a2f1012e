"""Plan pinning and edits during a run, end to end in the sandbox: the execution runs the
manifest version it pinned; an edit of a wave not yet started takes effect and is in the
history and the report; an edit of a started wave, or of anything but waves, is refused."""

from __future__ import annotations

import json

import pytest
import yaml

from drorch.cli import engine_cmd
from drorch.cli.main import main
from drorch.errors import InputError
from drorch.manifest import ManifestError
from tests.e2e.conftest import restore_hub, wait_until
from tests.e2e.test_predict_rto import servers_manifest


def _gate_open(client, execution_id):
    gates = client.open_gates(execution_id)
    return gates[0] if gates else None


def test_an_edit_of_a_wave_not_started_takes_effect_and_is_recorded(tmp_path, capsys, monkeypatch):
    hub = restore_hub()
    client = hub.client
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: client)
    path = servers_manifest(tmp_path)
    document = yaml.safe_load(path.read_text())
    document["waves"][1]["pauseBeforeWave"] = True  # app: an operator looks first
    for wave in document["waves"][1:]:
        wave.pop("dependsOn")  # data -> app -> web, one after the other
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    pinned = client.upload_manifest(path)
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    gate = wait_until(lambda: _gate_open(client, execution_id), timeout=120)
    assert gate["kind"] == "wave"  # before app, in ACTIVATE: data done, web not started

    # pinning: a new version uploaded meanwhile changes nothing for the running execution
    newer = client.upload_manifest(path)
    assert newer.version_id != pinned.version_id
    item = client.describe(execution_id)["execution"]
    assert item["manifest"]["versionId"] == pinned.version_id
    assert main(["plan", "show", execution_id, "--profile", "hub"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == yaml.safe_load(path.read_text())

    def edited(change) -> str:
        changed = json.loads(json.dumps(document))
        change(changed)
        target = tmp_path / "edited.yaml"
        target.write_text(yaml.safe_dump(changed, sort_keys=False))
        return str(target)

    # refused, nothing changed: a started wave, a change outside the waves, a removed wave,
    # an invalid manifest (path named)
    app_servers = edited(lambda d: d["waves"][1]["technologies"][0]["selector"].update(
        ids=["acme-app-01"]))  # fmt: skip
    assert main(["plan", "edit", execution_id, app_servers, "--profile", "hub"]) == 2
    err = capsys.readouterr().err
    assert "only waves not yet started can be edited; started: app (in ACTIVATE" in err
    with pytest.raises(InputError, match=r"only waves can change during a run.*\$\.pollSeconds"):
        client.edit_plan(execution_id, edited(lambda d: d.update(pollSeconds=5)))
    with pytest.raises(InputError, match="waves cannot be added or removed.*removed: web"):
        client.edit_plan(execution_id, edited(lambda d: d["waves"].pop()))
    with pytest.raises(ManifestError) as invalid:
        client.edit_plan(execution_id, edited(lambda d: d["waves"][2].update(timeoutMinutes=0)))
    assert invalid.value.problems[0].path == "$.waves[2].timeoutMinutes"
    assert client.describe(execution_id)["planEdits"] == []

    # web: only acme-web-02, with its own RTO target
    def narrow(d):
        d["waves"][2]["technologies"][0]["selector"]["ids"] = ["acme-web-02"]
        d["waves"][2]["rtoTargetMinutes"] = 45

    command = ["plan", "edit", execution_id, edited(narrow), "--comment", "web-02 only tonight"]
    assert main([*command, "--profile", "hub", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["revision"] == 1 and result["waves"] == ["web"]
    assert result["changes"]["web"] == [
        "$.waves[2].rtoTargetMinutes",
        "$.waves[2].technologies[0].selector.ids",
    ]
    assert result["alreadyRan"] == ["web ran INSTANTIATE as planned before"]
    assert "+    - acme-web-02" in result["diff"]

    client.approve(execution_id)
    final = client.wait(execution_id, interval=0.1, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    assert final["execution"]["planRevision"] == 1
    assert final["execution"]["manifest"]["versionId"] == pinned.version_id  # still pinned
    web = [r for r in final["resources"] if r["wave"] == "web"]
    assert sorted(r["name"] for r in web if r["phase"] == "ACTIVATE") == ["acme-web-02"]
    assert len([r for r in web if r["phase"] == "INSTANTIATE"]) == 3  # ran before the edit
    [edit] = final["planEdits"]
    assert edit["editedBy"].endswith("user/drorch-operator") and edit["waves"] == ["web"]
    assert edit["comment"] == "web-02 only tonight"
    activate = {w["wave"]: w for w in final["waves"] if w["phase"] == "ACTIVATE"}
    assert activate["web"]["rtoTargetMinutes"] == 45

    report = json.loads(client.report(execution_id, "json"))
    assert report["manifest"]["versionId"] == pinned.version_id
    assert [e["revision"] for e in report["planEdits"]] == [1]
    markdown = client.report(execution_id, "md")
    assert "## Plan edits" in markdown and "+    - acme-web-02" in markdown
    assert f"version {pinned.version_id}; 1 plan edit(s)" in markdown

    # a finished execution takes no edit
    with pytest.raises(InputError, match="already finished"):
        client.edit_plan(execution_id, edited(narrow))
