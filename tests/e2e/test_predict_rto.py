"""Predicted RTO and the RTO verdict, end to end in the sandbox: three drills make the
history, the fourth drill's measured RTO falls in the range predicted before it."""

from __future__ import annotations

import json

import yaml

from drorch.engine.clock import parse
from tests.e2e.conftest import EXAMPLE, REPO, drs_jobs, restore_hub

SERVERS = {"data": ("1", "staging-data"), "app": ("2", "staging-app"), "web": ("3", "staging-web")}


def servers_manifest(
    tmp_path, rto_target: int = 60, name: str = "fast.yaml", activate_only: bool = False
):
    """Three waves of DRS servers: data first, then app and web side by side (a drill
    of ACTIVATE only with ``activate_only``: half the engine's work)."""
    document = yaml.safe_load(EXAMPLE.read_text())
    document.pop("approvalWorkflow")
    document.pop("healthChecks")
    document["rtoTargetMinutes"] = rto_target
    if activate_only:
        document["phases"] = {"drill": ["ACTIVATE"]}
    document["waves"] = [
        {
            "waveNumber": number,
            "waveName": wave,
            **({"dependsOn": ["data"]} if wave != "data" else {}),
            "technologies": [
                {
                    "type": "drs",
                    "name": "servers",
                    "selector": {
                        "tags": {"dr:wave": tag, "Application": "claims"},
                        "accounts": [account],
                    },
                }
            ],
        }
        for number, (wave, (tag, account)) in enumerate(SERVERS.items(), start=1)
    ]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def drill(client) -> dict:
    execution_id = client.start_execution("claims", "drill", poll_seconds=60)
    final = client.wait(execution_id, interval=0.1, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    return json.loads(client.report(execution_id, "json"))


def test_three_drills_predict_the_fourth(tmp_path):
    hub = restore_hub()
    client = hub.client
    manifest = servers_manifest(tmp_path, activate_only=True)
    client.upload_manifest(manifest)
    earlier = [drill(client) for _ in range(3)]
    # the first had no history: honest, no numbers (its plan step said so)
    assert earlier[0]["prediction"]["available"] is False
    assert "no earlier successful drill" in earlier[0]["prediction"]["note"]
    assert earlier[1]["prediction"]["samples"] == 1
    measured = [r["rto"]["measuredSeconds"] for r in earlier]
    assert all(5 * 60 < m < 30 * 60 for m in measured), measured
    # simulated DRS launch jobs take minutes, and never the same time twice (the range is
    # no trick): the jobs' own start and end times, before the executor's polls round them
    jobs = [
        (parse(j["endDateTime"]) - parse(j["creationDateTime"])).total_seconds()
        for account in ("111111111111", "222222222222", "333333333333")
        for j in drs_jobs(hub, account)
        if j["type"] == "LAUNCH"
    ]
    assert len(jobs) == 9 and all(300 < s < 600 for s in jobs), jobs
    assert len(set(jobs)) == len(jobs), jobs

    prediction = client.plan(manifest, "drill", predict=True)["prediction"]
    assert prediction["available"] and prediction["complete"] and prediction["samples"] == 3
    rto = prediction["rto"]
    assert rto["lowSeconds"] < rto["p50Seconds"] < rto["highSeconds"]
    assert rto["lowSeconds"] <= min(measured) and max(measured) <= rto["highSeconds"]
    # app and web run side by side after data: the critical path takes the slower of them
    activate = {w["wave"]: w for w in prediction["waves"] if w["phase"] == "ACTIVATE"}
    assert prediction["criticalPath"][0] == "data" and len(prediction["criticalPath"]) == 2
    slower = max(("app", "web"), key=lambda w: activate[w]["p50Seconds"])
    assert prediction["criticalPath"][1] == slower
    assert activate["data"]["groups"][0]["resourceP50Seconds"] > 0  # per-server launch times

    fourth = drill(client)
    assert rto["lowSeconds"] <= fourth["rto"]["measuredSeconds"] <= rto["highSeconds"]
    # the report keeps what was predicted before the run, per wave, beside the measures
    assert [p["phase"] for p in fourth["phases"]] == ["ACTIVATE"]
    waves = {w["wave"]: w for w in fourth["phases"][-1]["waves"]}
    assert waves["data"]["predicted"]["samples"] == 3
    assert fourth["prediction"]["rto"] == rto
    markdown = client.report(fourth["executionId"], "md")
    assert "## Predicted vs measured vs target (ACTIVATE)" in markdown
    assert "RTO met: recovered in" in markdown
    assert "Predicted vs measured vs target" in client.report(fourth["executionId"], "html")


def test_the_verdict_says_by_how_much_a_target_was_missed(tmp_path):
    hub = restore_hub()
    client = hub.client
    client.upload_manifest(servers_manifest(tmp_path, rto_target=5, activate_only=True))
    report = drill(client)
    verdict = report["rto"]
    assert verdict["met"] is False and verdict["targetMinutes"] == 5
    assert verdict["marginSeconds"] == 5 * 60 - verdict["measuredSeconds"] < 0
    assert verdict["text"].startswith("RTO not met: application (manifest) (5 min): over by")
    # the run's status JSON carries it too
    assert client.describe(report["executionId"])["execution"]["rto"]["met"] is False


def test_example_manifests_validate_with_an_rto_target():
    from drorch.manifest import load_manifest

    text = (REPO / "manifests" / "examples" / "three-tier-claims.yaml").read_text()
    manifest = load_manifest(text + "\nrtoTargetMinutes: 45\n", "x.yaml")
    assert manifest.rto_target_minutes == 45
