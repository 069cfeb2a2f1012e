"""The seeds' example manifests that name the data-tier technologies validate (layers
documents after `drorch manifest convert`) and plan, with the real module registry.

The documents are in seed_manifests/ (README.md says where each comes from and what its
minimal fix is). No technology name the seeds use for these technologies is refused as an
unknown module: a TRS category routes by dr:recovery-strategy, every other name is a
module or one of its aliases. Modules other engineers are still writing are skipped,
naming them, until they are registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from drorch.cli.manifest_cmd import app
from drorch.engine.plan import build_plan
from drorch.manifest import Manifest, load_manifest_file
from drorch.modules import REGISTRY, by_alias
from drorch.modules.routing import CATEGORIES, category_members

SEEDS = Path(__file__).with_name("seed_manifests")
MANIFESTS = sorted(SEEDS.glob("*.yaml"))
LAYERS = SEEDS / "004_data_tier_layers.json"
ACCOUNT = "333333333333"

# every technology name the seeds give these technologies, where, and the module it is
SEED_NAMES: dict[str, tuple[str, str | None]] = {
    "database": ("seed 002 §5.2 L2473; seed 001 L748, L2860", None),
    "application": ("seed 002 §5.2 L2482; seed 001 L782", None),
    "infrastructure": ("seed 002 §5.2 L2491; seed 001 L2886", None),
    "drs": ("seed 002 §5.2 L2481; seed 001 L769, L2871", "drs"),
    "sql_always_on": ("seed 001 L3482 (SQL Server Always On adapter)", "sqlserver-ag"),
    "DRS": ("seed 004 §3.1 L543", "drs"),
    "AuroraMySQL": ("seed 004 §3.1 L543", "aurora-global"),
    "ElastiCache": ("seed 004 §3.1 L543", "elasticache-global"),
    "MemoryDB": ("seed 004 §3.1 L543", "memorydb"),
    "SQLServer": ("seed 004 §3.1 L543", "sqlserver-ag"),
}


def needs(*modules: str) -> None:
    missing = [m for m in modules if m not in REGISTRY]
    if missing:
        pytest.skip(f"not registered yet: {', '.join(missing)}")


def plan_of(manifest: Manifest, operation: str) -> dict[str, Any]:
    """The plan when every group found one resource in one account."""
    counts = {g.id: {ACCOUNT: 1} for g in manifest.groups}
    return build_plan(manifest, operation, counts, modules=REGISTRY)


def planned_groups(plan: dict[str, Any]) -> set[str]:
    return {
        item["groupId"]
        for phase in plan["phases"]
        for level in phase["levels"]
        for part in ("pre", "groups", "post", "checks")
        for item in level[part]
    }


def check_plans(manifest: Manifest) -> None:
    """Drill and failover plans: every module group runs, or the plan says why not."""
    groups = {g.id for w in manifest.waves for g in w.groups}
    for operation in ("drill", "failover"):
        plan = plan_of(manifest, operation)
        assert plan["phases"], operation
        skipped = {s["groupId"] for s in plan["skipped"]}
        assert groups <= planned_groups(plan) | skipped, operation
        if operation == "failover":
            assert groups <= planned_groups(plan)
        for group_id, entry in plan["groups"].items():
            if entry["role"] == "module":
                assert entry["module"] in REGISTRY, group_id


@pytest.mark.parametrize("name", sorted(SEED_NAMES))
def test_no_technology_name_in_the_seeds_is_refused_as_an_unknown_module(name):
    where, module = SEED_NAMES[name]
    if module is None:
        assert name in CATEGORIES, where
        assert category_members(REGISTRY), f"{name}: no module to route to ({where})"
        return
    needs(module)
    found = by_alias(name)
    assert found is not None and found.type == module, where


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_every_seed_manifest_validates_and_plans(path):
    manifest = load_manifest_file(path)
    check_plans(manifest)


def test_the_trs_manifest_routes_each_category_by_strategy():
    manifest = load_manifest_file(SEEDS / "002_trs_5_2_manifest.yaml")
    database, application, web = manifest.waves
    routed = category_members(REGISTRY)
    assert {"drs", "sqlserver-ag"} <= set(routed)
    # wave 1: every resource its tags select goes to the module its strategy names
    assert [(g.type, g.routed_from) for g in database.groups] == [(m, "database") for m in routed]
    assert database.groups[0].selector.tags == {
        "dr:wave": "1",
        "Customer": "CustomerX",
        "Environment": "production",
    }
    # waves 2 and 3 name drs themselves: the category leaves the DRS servers to that group
    for wave, category in ((application, "application"), (web, "infrastructure")):
        explicit, *routed_groups = wave.groups
        assert (explicit.type, explicit.routed_from) == ("drs", "")
        assert [g.type for g in routed_groups] == [m for m in routed if m != "drs"]
        assert {g.routed_from for g in routed_groups} == {category}
    failover = plan_of(manifest, "failover")
    assert [p["phase"] for p in failover["phases"]] == ["INSTANTIATE", "ACTIVATE"]
    entry = failover["groups"]["database-tier-database-0-sqlserver-ag"]
    assert (entry["module"], entry["routedFrom"]) == ("sqlserver-ag", "database")


def test_the_prd_enterprise_plan_keeps_its_resources_as_selectors():
    manifest = load_manifest_file(SEEDS / "001_prd_enterprise_plan.yaml")
    database, servers, infrastructure = manifest.waves
    assert {g.routed_from for g in database.groups} == {"database"}
    assert {g.selector.ids for g in database.groups} == {
        ("aurora-prod-cluster", "rds-prod-primary")
    }
    [drs] = servers.groups
    assert (drs.type, drs.selector.ids, servers.pause_after) == (
        "drs",
        ("i-app01", "i-app02"),
        True,
    )
    assert infrastructure.depends_on == ("Application Tier - DRS Core",)
    assert {g.routed_from for g in infrastructure.groups} == {"infrastructure"}
    # the database category hands Aurora and RDS resources to their modules once those
    # declare their strategies (aurora, rds)
    needs("aurora-global", "rds-instance")
    undeclared = [m for m in ("aurora-global", "rds-instance") if not REGISTRY[m].strategies]
    if undeclared:
        pytest.skip(f"{', '.join(undeclared)} declare no dr:recovery-strategy values yet")
    assert {"aurora-global", "rds-instance"} <= {g.type for g in database.groups}


def test_the_prd_parameter_store_waves_do_not_recover_a_server_twice():
    manifest = load_manifest_file(SEEDS / "001_prd_parameter_store_waves.yaml")
    _, application = manifest.waves
    types = [g.type for g in application.groups]
    assert types.count("drs") == 1  # drs and application share their tagFilters
    assert {g.selector.tags["DR-Tier"] for g in application.groups} == {"application"}


def test_the_prd_sql_always_on_wave_is_a_sqlserver_ag_failover():
    manifest = load_manifest_file(SEEDS / "001_prd_sql_always_on.yaml")
    [wave] = manifest.waves
    [group] = wave.groups
    assert (group.type, group.selector.ids) == ("sqlserver-ag", ("SQL-DR-01",))
    assert group.parameters == {"availabilityGroup": "ProductionAG", "maxLagSeconds": 5}
    assert manifest.approval.required and wave.pause_after
    drill = plan_of(manifest, "drill")  # a drill reads the AG state only: it runs
    assert group.id in planned_groups(drill) and not drill["skipped"]


def test_seed_004_layers_convert_with_the_cli_then_validate_and_plan(tmp_path):
    document = json.loads(LAYERS.read_text())
    actions = sorted({r["action"] for layer in document for r in layer["resources"]})
    needs(*sorted({SEED_NAMES[a][1] for a in actions}))  # type: ignore[arg-type]
    out = tmp_path / "orders.yaml"
    result = CliRunner().invoke(
        app,
        ["convert", str(LAYERS), "--application", "orders", "--customer", "acme", "-o", str(out)],
    )
    # 1: written, with what was not carried over named (e.g. the readers' names)
    assert result.exit_code in (0, 1), result.output
    assert "no drorch module" not in result.output
    manifest = load_manifest_file(out)
    assert [[g.type for g in w.groups] for w in manifest.waves] == [
        ["aurora-global", "sqlserver-ag", "elasticache-global", "memorydb"],
        ["drs"],
    ]
    sql = manifest.waves[0].groups[1]
    assert sql.parameters == {"availabilityGroup": "claims-ag", "allowDataLoss": False}
    assert sql.selector.ids == ("claims-sql-dr-01",)
    assert yaml.safe_load(out.read_text())["manifestVersion"] == "2.0"
    check_plans(manifest)
