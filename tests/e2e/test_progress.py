"""Progress reads cost a few requests whatever the number of resources (issue 15):
counters per phase and wave, the recent changes, and the resources a page at a time."""

from __future__ import annotations

import json
from collections import Counter

import jsonschema

from drorch.cli import engine_cmd
from drorch.cli.main import main
from drorch.cli.output import clean
from tests.conftest import REPO

SCHEMA = json.loads(
    (REPO / "runtime" / "drorch" / "schemas" / "cli-output.schema.json").read_text()
)
GROUP = "bulk-servers"  # the synthetic group these tests add to a finished drill


def schema_for(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]}


def approve_all(gate):
    return True


def drill(hub, *, fail: str | None = None, on_update=lambda d: None) -> dict:
    if fail:
        hub.sandbox.faults.fail_launch(fail, reason="Insufficient capacity (simulated)")
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    return hub.client.wait(execution_id, on_gate=approve_all, on_update=on_update, timeout=120)


def counted_from_records(resources: list[dict]) -> dict[tuple[str, str], Counter]:
    counts: dict[tuple[str, str], Counter] = {}
    for resource in resources:
        key = (resource["phase"], resource["wave"])
        counts.setdefault(key, Counter())[resource["status"].lower()] += 1
        counts[key]["total"] += 1
    return counts


def dynamodb_calls(hub, call) -> tuple[int, object]:
    faults = hub.sandbox.faults
    before = faults.call_count("dynamodb")
    result = call()
    return faults.call_count("dynamodb") - before, result


def add_resources(hub, execution_id: str, count: int) -> None:
    """``count`` more RUNNING resources in the drill's ACTIVATE phase, half of them then
    SUCCEEDED, recorded as the executor records them (items, counters and changes)."""
    history = hub.client.history
    ids = [f"s-bulk{n:05d}" for n in range(count)]
    items = [
        {
            "phase": "ACTIVATE",
            "groupId": GROUP,
            "accountId": "111111111111",
            "wave": "web",
            "resourceId": resource_id,
            "name": resource_id,
            "status": "RUNNING",
        }
        for resource_id in ids
    ]
    history.put_resources(execution_id, items)
    changes = [{"resourceId": i, "status": "RUNNING", "before": None} for i in ids]
    assert history.record_changes(
        execution_id, "ACTIVATE", "web", GROUP, "111111111111", changes, step=1
    )
    done = ids[: count // 2]
    history.put_resources(
        execution_id, [item | {"status": "SUCCEEDED"} for item in items[: count // 2]]
    )
    changes = [{"resourceId": i, "status": "SUCCEEDED", "before": "RUNNING"} for i in done]
    assert history.record_changes(
        execution_id, "ACTIVATE", "web", GROUP, "111111111111", changes, step=2
    )


def test_the_counters_agree_with_the_records_after_a_drill_with_a_failure(hub):
    changes: list[dict] = []
    final = drill(hub, fail="acme-web-01", on_update=lambda d: changes.extend(d["changes"]))
    assert final["execution"]["status"] == "FAILED"
    from_records = counted_from_records(final["resources"])
    from_counters = {
        (w["phase"], w["wave"]): Counter(w["resources"]) for w in final["waves"] if w["resources"]
    }
    assert from_counters == from_records
    assert from_records[("ACTIVATE", "web")]["failed"] >= 1
    # per phase: the sum of its waves
    for phase, counts in final["progress"].items():
        waves = [c for (p, _), c in from_counters.items() if p == phase]
        assert Counter(counts) == sum(waves, Counter())
    # the failure was among the changes wait passed on, with its cause, once
    failed = [c for c in changes if c["status"] == "FAILED"]
    assert len(failed) == len({(c["phase"], c["resourceId"]) for c in failed})
    assert any("Insufficient capacity" in (c.get("error") or "") for c in failed)
    document = json.loads(json.dumps(clean(final), default=str))  # as --json prints it
    jsonschema.validate(document, schema_for("description"))


def test_describe_reads_the_same_few_records_whatever_the_number_of_resources(hub):
    final = drill(hub)
    execution_id = final["execution"]["executionId"]
    client = hub.client
    client.describe(execution_id)  # its changes read: the next describe reads no old ones
    small, described = dynamodb_calls(hub, lambda: client.describe(execution_id))
    assert described["changes"] == []
    resources_before = len(final["resources"])

    add_resources(hub, execution_id, 2500)  # more than one 1 MB page of resource items
    large, described = dynamodb_calls(hub, lambda: client.describe(execution_id))
    assert large == small <= 6  # execution, progress, waves, gates, changes
    web = next(w for w in described["waves"] if (w["phase"], w["wave"]) == ("ACTIVATE", "web"))
    assert web["resources"]["total"] >= 2500 and web["resources"]["running"] == 1250
    assert described["progress"]["ACTIVATE"]["succeeded"] >= 1250
    # the newest changes only, and bounded
    assert 0 < len(described["changes"]) <= 100
    assert {c["status"] for c in described["changes"]} == {"SUCCEEDED"}
    assert "resources" not in described

    # wait on an ended execution: one progress read, then every resource, once
    calls, waited = dynamodb_calls(hub, lambda: client.wait(execution_id))
    assert len(waited["resources"]) == resources_before + 2500
    assert calls < small + 20  # the resource pages (a handful), not a read per resource


def test_a_step_recorded_twice_is_counted_once(hub):
    final = drill(hub)
    execution_id = final["execution"]["executionId"]
    history = hub.client.history
    before = history.progress(execution_id)["ACTIVATE"]["counts"]
    change = [{"resourceId": "s-extra", "status": "RUNNING", "before": None}]
    where = (execution_id, "ACTIVATE", "web", GROUP, "111111111111", change)
    assert history.record_changes(*where, step=1) is True
    assert history.record_changes(*where, step=1) is False  # a retried call: not again
    after = history.progress(execution_id)["ACTIVATE"]["counts"]
    assert after["total"] == before["total"] + 1
    assert after["running"] == before.get("running", 0) + 1


def test_status_resources_pages_through_every_resource(hub, monkeypatch, capsys):
    final = drill(hub)
    execution_id = final["execution"]["executionId"]
    add_resources(hub, execution_id, 30)
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: hub.client)
    seen, token, pages = [], None, 0
    while True:
        args = ["status", execution_id, "--resources", "--page-size", "7", "--json"]
        code = main([*args, "--profile", "hub"] + (["--next-token", token] if token else []))
        out, err = capsys.readouterr()
        assert code == 0, err
        page = json.loads(out)
        jsonschema.validate(page, schema_for("resourcePage"))
        assert len(page["resources"]) <= 7
        seen += [(r["phase"], r["groupId"], r["resourceId"]) for r in page["resources"]]
        pages += 1
        token = page["nextToken"]
        if token is None:
            break
    everything = hub.client.describe(execution_id, resources=True)["resources"]
    assert sorted(seen) == sorted((r["phase"], r["groupId"], r["resourceId"]) for r in everything)
    assert len(seen) == len(set(seen)) and pages >= len(seen) // 7
    assert all(r["wave"] for r in everything)

    # the text view names the command for the next page
    code = main(["status", execution_id, "--resources", "--page-size", "5", "--profile", "hub"])
    out, _ = capsys.readouterr()
    assert code == 0 and f"drorch status {execution_id} --resources --next-token" in out

    # wrong input: one clear line each
    code = main(["status", execution_id, "--next-token", "x", "--profile", "hub"])
    assert code == 2 and "--next-token go with --resources" in capsys.readouterr().err
    code = main(["status", execution_id, "--resources", "--next-token", "x", "--profile", "hub"])
    assert code == 2 and "is not a token this command printed" in capsys.readouterr().err
    code = main(["status", execution_id, "--resources", "--page-size", "0", "--profile", "hub"])
    assert code == 2 and "--page-size 0 must be between 1 and 1000" in capsys.readouterr().err
