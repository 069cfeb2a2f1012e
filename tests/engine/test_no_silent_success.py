"""No silent success (issue 11, item 5): a technology whose selector matches nothing is a
plan error naming the wave, the group and the selector, unless the manifest allows it
(``allowEmpty: true``: a warning in the plan and the report); ``selector.ids`` names a
DRS source server by id, hostname, FQDN, source instance id or ARN."""

from __future__ import annotations

import pytest
import yaml

from drorch.engine import discovery
from drorch.engine import report as reporting
from drorch.engine.errors import EmptySelection
from drorch.engine.plan import build_plan, check_plan, empty_selections
from drorch.manifest import load_manifest
from drorch.modules import REGISTRY
from tests.engine.test_handlers import invoke, jobs_with_key, servers_only, start_input


def _document(technologies: list[dict]) -> dict:
    return {
        "manifestVersion": "2.0",
        "application": "claims",
        "customer": "acme",
        "environment": "production",
        "waves": [{"waveNumber": 1, "waveName": "data", "technologies": technologies}],
    }


def test_a_technology_that_selects_nothing_is_a_plan_error_naming_wave_group_and_selector():
    manifest = load_manifest(
        _document(
            [
                {"type": "drs", "name": "servers", "selector": {"tags": {"dr:wave": "1"}}},
                {"type": "drs", "name": "ghosts", "selector": {"ids": ["acme-nope-01"]}},
            ]
        ),
        "test",
    )
    counts = {"data-servers": {"111111111111": 2}, "data-ghosts": {}}
    plan = build_plan(manifest, "failover", counts, modules=REGISTRY)
    (error,) = plan["errors"]
    assert "wave 'data'" in error and "group 'ghosts'" in error
    assert "ids: acme-nope-01" in error and "matched no resource" in error
    with pytest.raises(EmptySelection, match="acme-nope-01") as raised:
        check_plan(plan)
    assert "allowEmpty" in raised.value.hint


def test_allow_empty_makes_it_a_warning_and_excluded_everything_is_still_an_error():
    manifest = load_manifest(
        _document(
            [
                {
                    "type": "drs",
                    "name": "optional",
                    "allowEmpty": True,
                    "selector": {"tags": {"dr:wave": "9"}},
                },
                {"type": "drs", "name": "broken", "selector": {"tags": {"dr:wave": "1"}}},
                {"type": "drs", "name": "disabled", "selector": {"tags": {"dr:wave": "2"}}},
            ]
        ),
        "test",
    )
    counts = {"data-optional": {}, "data-broken": {}, "data-disabled": {}}
    errors, warnings = empty_selections(
        manifest, counts, excluded={"data-broken": 2}, skipped={"data-disabled": 1}
    )
    assert errors == [
        "wave 'data', group 'broken' (drs): the selector [dr:wave=1] matched 2 resource(s), "
        "all excluded (see the plan's excluded)"
    ]
    assert len(warnings) == 2
    assert "group 'optional'" in warnings[0] and warnings[0].endswith("(allowEmpty)")
    assert "dr:enabled=false" in warnings[1]


def test_the_groups_routed_from_one_category_count_together():
    manifest = load_manifest(
        _document([{"type": "database", "name": "db", "selector": {"tags": {"Tier": "db"}}}]),
        "test",
        REGISTRY,
    )
    routed = [g for g in manifest.groups if g.routed_from == "database"]
    assert len(routed) > 1  # one group per module of the category
    one_found = {g.id: {} for g in routed} | {routed[0].id: {"111111111111": 1}}
    assert empty_selections(manifest, one_found) == ([], [])
    errors, _ = empty_selections(manifest, {g.id: {} for g in routed})
    assert len(errors) == 1 and "group 'db' (database)" in errors[0]


def test_the_schema_takes_allow_empty_as_a_boolean_only():
    document = _document([{"type": "drs", "allowEmpty": "yes", "selector": {"ids": ["s-1"]}}])
    with pytest.raises(Exception, match="allowEmpty"):
        load_manifest(document, "test")


def _one_wave(manifest_text: str, selector: dict, **technology) -> str:
    document = yaml.safe_load(servers_only(manifest_text))
    document["approvalWorkflow"] = {"required": False}
    document["waves"] = [
        {
            "waveNumber": 1,
            "waveName": "data",
            "technologies": [
                {"type": "drs", "name": "servers", "selector": selector, **technology}
            ],
        }
    ]
    return yaml.safe_dump(document, sort_keys=False)


def test_an_execution_whose_selector_matches_nothing_fails_at_the_plan_and_starts_nothing(
    engine, hub, manifest_text, execution_id
):
    text = _one_wave(manifest_text, {"ids": ["acme-gone-01"], "accounts": ["staging-data"]})
    context = invoke("initialise", start_input(hub, text, execution_id, operation="failover"))
    invoke("discover", context)
    with pytest.raises(EmptySelection, match=r"wave 'data', group 'servers'.*acme-gone-01"):
        invoke("plan", context)
    data = hub.accounts["staging-data"].account_id
    assert jobs_with_key(hub, data, execution_id) == []


def test_allow_empty_runs_and_the_report_carries_the_warning(
    engine, hub, manifest_text, execution_id
):
    text = _one_wave(
        manifest_text, {"ids": ["acme-gone-01"], "accounts": ["staging-data"]}, allowEmpty=True
    )
    context = invoke("initialise", start_input(hub, text, execution_id))
    invoke("discover", context)
    plan = invoke("plan", context)
    assert all(not level["groups"] for p in plan["phases"] for level in p["levels"])
    full = reporting.build_report(engine.history.items(execution_id), [], _plan(engine, context))
    assert any("acme-gone-01" in w for w in full["planWarnings"])
    assert "Warning (plan)" in reporting.render_markdown(full)
    assert "Warning (plan)" in reporting.render_html(full)


def _plan(engine, context):
    from drorch.engine.plan import read_plan

    return read_plan(engine.s3, engine.bucket, context["executionId"])


@pytest.fixture
def ec2_sourced(hub):
    """A source server replicating an EC2 instance (its source instance id known)."""
    from drorch.sandbox.drs.models import drs_backends

    data = hub.accounts["staging-data"]
    backend = drs_backends[data.account_id][data.recovery_region]
    server = backend.add_source_server(
        hostname="acme-ec2-01",
        fqdn="acme-ec2-01.claims.acme.internal",
        ip="10.202.3.99",
        source_instance_id="i-0abc1234def567890",
        tags={
            "dr:enabled": "true",
            "dr:wave": "5",
            "dr:priority": "low",
            "dr:recovery-strategy": "drs",
        },
    )
    yield server
    backend.source_servers.pop(server.source_server_id, None)


def test_selector_ids_name_a_server_by_id_hostname_fqdn_instance_id_or_arn(
    engine, hub, execution_id, ec2_sourced
):
    data = hub.accounts["staging-data"]
    server_id, arn = ec2_sourced.source_server_id, ec2_sourced.arn
    identifiers = (
        server_id,
        arn,
        "acme-ec2-01",
        "acme-ec2-01.claims.acme.internal",
        "i-0abc1234def567890",
    )
    for identifier in identifiers:
        manifest = load_manifest(
            _document([{"type": "drs", "name": "servers", "selector": {"ids": [identifier]}}]),
            "test",
        )
        summary = discovery.discover(
            execution_id, manifest, engine.accounts, engine.modules, engine.s3, engine.bucket
        )
        group = summary.groups["data-servers"]
        assert len(group.resources[data.account_id]) == 1, identifier
        (found,) = group.resources[data.account_id]
        assert (found["id"], found["matchedBy"]) == (server_id, identifier)
    manifest = load_manifest(
        _document(
            [
                {
                    "type": "drs",
                    "name": "servers",
                    "selector": {"ids": ["acme-ora-01", "i-0abc1234def567890"]},
                }
            ]
        ),
        "test",
    )
    summary = discovery.discover(
        execution_id, manifest, engine.accounts, engine.modules, engine.s3, engine.bucket
    )
    found = summary.groups["data-servers"].resources[data.account_id]
    assert sorted(r["matchedBy"] for r in found) == ["acme-ora-01", "i-0abc1234def567890"]
