"""Discovery through each staging account's execution role (with its ExternalId)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drorch.engine import aws, discovery
from drorch.manifest import load_manifest
from drorch.sandbox.drs.models import drs_backends


def _manifest(waves):
    return load_manifest(
        {
            "manifestVersion": "2.0",
            "application": "claims",
            "customer": "acme",
            "environment": "production",
            "waves": waves,
        },
        "test",
    )


def _wave(number, name, selector):
    return {
        "waveNumber": number,
        "waveName": name,
        "technologies": [{"type": "drs", "name": "servers", "selector": selector}],
    }


def test_the_example_manifest_finds_each_tier_in_its_account(
    engine, hub, manifest_text, execution_id
):
    manifest = load_manifest(manifest_text, "three-tier-claims.yaml")
    summary = discovery.discover(
        execution_id, manifest, engine.accounts, engine.modules, engine.s3, engine.bucket
    )
    data, app, web = (
        hub.accounts[n].account_id for n in ("staging-data", "staging-app", "staging-web")
    )
    assert summary.counts() == {
        "data-servers": {data: 2},  # acme-sqldw-01 is sqlserver-ag's (dr:recovery-strategy)
        "app-servers": {app: 5},
        "web-servers": {web: 3},
        # wave actions and checks: one resource (the step) where each runs
        "app-pre-warm-caches": {app: 1},
        "app-post-smoke-test": {app: 1},
        "web-check-web-5xx": {web: 1},
        "end-of-run-check-claims-health": {"hub": 1},
    }
    assert summary.discovered == 14
    targets = summary.rto_targets()
    assert {g: targets[g] for g in ("data-servers", "app-servers", "web-servers")} == {
        "data-servers": 30,
        "app-servers": 60,
        "web-servers": 120,
    }

    written = discovery.load_group(engine.s3, engine.bucket, execution_id, "app-servers")
    assert written["groupId"] == "app-servers"
    assert written["wave"] == "app"
    assert written["module"] == "drs"
    assert written["timeoutMinutes"] == 90
    names = sorted(r["name"] for r in written["resources"][app])
    assert names == ["acme-app-01", "acme-app-02", "acme-app-03", "acme-app-04", "acme-sftp-01"]
    first = written["resources"][app][0]
    assert set(first) >= {"id", "arn", "region", "name", "tags"}
    assert first["region"] == "us-east-2"


def test_invalid_tags_are_excluded_and_reported_and_disabled_resources_skipped(
    engine, hub, execution_id
):
    app = hub.accounts["staging-app"].account_id
    data = hub.accounts["staging-data"].account_id
    # replicating healthily, but its tags break the taxonomy
    drs_backends[app]["us-east-2"].add_source_server(
        hostname="acme-report-01",
        ip="10.201.2.60",
        tags={
            "dr:enabled": "true",
            "dr:wave": "9",
            "dr:priority": "urgent",
            "Customer": "acme",
            "Owner": "reports",
        },
    )
    manifest = _manifest(
        [
            _wave(1, "data", {"tags": {"Customer": "acme"}, "accounts": ["staging-data"]}),
            _wave(2, "app", {"tags": {"Customer": "acme"}, "accounts": [app]}),
        ]
    )
    summary = discovery.discover(
        execution_id, manifest, engine.accounts, engine.modules, engine.s3, engine.bucket
    )
    app_group = discovery.load_group(engine.s3, engine.bucket, execution_id, "app-servers")
    excluded = {e["name"]: e for e in app_group["excluded"]}
    # the stalled batch server is excluded by the DRS module, the report server by its tags
    assert set(excluded) == {"acme-batch-01", "acme-report-01"}
    reasons = excluded["acme-report-01"]["reasons"]
    assert "dr:wave='9' must be one of 1, 2, 3, 4, 5" in reasons
    assert any("dr:priority='urgent'" in r for r in reasons)
    assert "dr:recovery-strategy is missing" in reasons
    assert excluded["acme-report-01"]["accountId"] == app
    assert excluded["acme-report-01"]["groupId"] == "app-servers"
    assert "acme-report-01" not in {r["name"] for r in app_group["resources"][app]}

    data_group = discovery.load_group(engine.s3, engine.bucket, execution_id, "data-servers")
    assert [s["accountId"] for s in data_group["skipped"]] == [data]  # acme-dc-01, dr:enabled=false
    # the SQL Server host is tagged sql-ag: the DRS module leaves it to sqlserver-ag
    [sql] = data_group["excluded"]
    assert (sql["name"], sql["reasons"]) == (
        "acme-sqldw-01",
        ["dr:recovery-strategy=sql-ag: recovered by the sqlserver-ag module, not by drs"],
    )
    assert summary.excluded == 3
    assert summary.skipped == 1
    assert summary.counts()["data-servers"] == {data: 2}


def test_discovery_runs_as_the_execution_role_with_its_external_id(engine, hub, execution_id):
    web = hub.accounts["staging-web"]
    access = engine.accounts[web.account_id]
    session = aws.assume(access)
    identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == web.account_id
    assert ":assumed-role/drorch-execution/" in identity["Arn"]

    wrong = replace(access, external_id="not-the-external-id")
    manifest = _manifest([_wave(1, "web", {"tags": {"dr:wave": "3"}, "accounts": ["staging-web"]})])
    with pytest.raises(discovery.DiscoveryFailed, match="with its ExternalId"):
        discovery.discover(
            execution_id,
            manifest,
            {web.account_id: wrong},
            engine.modules,
            engine.s3,
            engine.bucket,
        )


def test_a_selector_outside_every_account_finds_nothing(engine, execution_id):
    manifest = _manifest(
        [_wave(1, "none", {"tags": {"dr:wave": "1"}, "accounts": ["staging-nonprod"]})]
    )
    summary = discovery.discover(
        execution_id, manifest, engine.accounts, engine.modules, engine.s3, engine.bucket
    )
    assert summary.counts() == {"none-servers": {}}
    assert summary.discovered == 0


def test_accounts_discovered_one_by_one_merge_to_the_same_groups_and_read_back_per_account(
    engine, hub, manifest_text, execution_id
):
    """The master's Discover Map: each account's parts, merged by the plan step, give the
    group files one discovery of every account gives; one account's work (an executor, a
    readiness shard) reads the group's head and its own part only."""
    manifest = load_manifest(manifest_text, "three-tier-claims.yaml")
    args = (engine.accounts, engine.modules, engine.s3, engine.bucket)
    whole = discovery.discover(execution_id, manifest, *args)
    expected = {g: found.to_dict() for g, found in whole.groups.items()}
    sharded = f"{execution_id}-map"
    in_scope = discovery.accounts_in_scope(manifest, engine.accounts)
    assert in_scope == sorted(a.account_id for a in hub.accounts.values())
    counts = [
        discovery.discover_account(sharded, manifest, engine.accounts[a], *args[1:])
        for a in in_scope
    ]
    assert sum(c["discovered"] for c in counts) == 10  # the DRS servers (no steps)
    merged = discovery.discover(sharded, manifest, *args, from_parts=True)
    assert {g: found.to_dict() for g, found in merged.groups.items()} == expected
    app = hub.accounts["staging-app"].account_id
    for group_id, full in expected.items():
        mine = discovery.load_group_in(engine.s3, engine.bucket, sharded, group_id, app)
        assert mine["resources"] == (
            {app: full["resources"][app]} if app in full["resources"] else {}
        )
        assert mine["excluded"] == [e for e in full["excluded"] if e["accountId"] == app]
        assert {k: v for k, v in mine.items() if k not in ("resources", "excluded")} == {
            k: v for k, v in full.items() if k not in ("resources", "excluded")
        }
