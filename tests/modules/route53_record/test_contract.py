"""route53-record against the sandbox's Route 53 (changes PENDING until propagated).

The world: the public zone ``claims.acme.internal`` (tagged ``Application=claims``) with
failover records for ``www`` (the primary with a health check), weighted ``api`` records
and a ``db`` CNAME, as the full-stack scenario seeds them.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from drorch.errors import InputError
from drorch.manifest import load_manifest_file
from drorch.modules import REGISTRY
from drorch.modules.base import DrillSafetyError
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    staging,
)

ZONE = "claims.acme.internal"
SELECTOR = {"tags": {"Application": "claims"}}
PRIMARY_IP, SECONDARY_IP, RECOVERY_IP = "10.200.1.11", "10.200.1.12", "10.201.1.11"
RECOVERY_DB = "acme-claims-db.cluster.us-east-2.rds.amazonaws.com"
FAILOVER = {
    "records": [
        {
            "name": "www",
            "type": "A",
            "ttl": 60,
            "setIdentifier": "primary",
            "failover": "PRIMARY",
            "values": [RECOVERY_IP],
        },
        {
            "name": "api",
            "type": "A",
            "ttl": 60,
            "setIdentifier": "east-1",
            "weight": 0,
            "values": [PRIMARY_IP],
        },
        {
            "name": "api",
            "type": "A",
            "ttl": 60,
            "setIdentifier": "east-2",
            "weight": 100,
            "values": [RECOVERY_IP],
        },
        {"name": f"db.{ZONE}.", "type": "CNAME", "ttl": 30, "values": [RECOVERY_DB]},
        {"name": "new", "type": "TXT", "ttl": 60, "values": ['"failed over"']},
    ]
}
DRILL = {
    **FAILOVER,
    "drillRecords": [{"name": "drill.www", "type": "A", "ttl": 30, "values": [RECOVERY_IP]}],
}


def zone(world: Staging) -> None:
    session = world.sandbox.admin_session(world.account_id, world.region)
    seed_resource(
        SeedContext(session, world.account_id, world.region),
        {
            "account": world.account.name,
            "type": "route53-zone",
            "name": ZONE,
            "healthChecks": [
                {"name": "web-primary", "type": "HTTPS", "fqdn": "claims-primary.acme.example"}
            ],
            "records": [
                {
                    "name": "www",
                    "type": "A",
                    "ttl": 60,
                    "setIdentifier": "primary",
                    "failover": "PRIMARY",
                    "healthCheck": "web-primary",
                    "values": [PRIMARY_IP],
                },
                {
                    "name": "www",
                    "type": "A",
                    "ttl": 60,
                    "setIdentifier": "secondary",
                    "failover": "SECONDARY",
                    "values": [SECONDARY_IP],
                },
                {
                    "name": "api",
                    "type": "A",
                    "ttl": 60,
                    "setIdentifier": "east-1",
                    "weight": 100,
                    "values": [PRIMARY_IP],
                },
                {
                    "name": "api",
                    "type": "A",
                    "ttl": 60,
                    "setIdentifier": "east-2",
                    "weight": 0,
                    "values": [RECOVERY_IP],
                },
                {
                    "name": "db",
                    "type": "CNAME",
                    "ttl": 30,
                    "values": ["acme-claims-db.cluster.us-east-1.rds.amazonaws.com"],
                },
            ],
            "tags": {"Application": "claims", "dr:wave": "3"},
        },
    )


def records(world: Staging) -> dict[str, list[str] | int]:
    """name type [set] -> values (weighted: the weight too), of every non-SOA/NS record."""
    r53 = world.admin("route53")
    [hosted] = r53.list_hosted_zones()["HostedZones"]
    found = {}
    for rrset in r53.list_resource_record_sets(HostedZoneId=hosted["Id"])["ResourceRecordSets"]:
        if rrset["Type"] in ("SOA", "NS"):
            continue
        key = " ".join(
            p for p in (rrset["Name"].rstrip("."), rrset["Type"], rrset.get("SetIdentifier")) if p
        )
        values = sorted(r["Value"] for r in rrset.get("ResourceRecords", []))
        found[key] = [*values, *([f"weight={rrset['Weight']}"] if "Weight" in rrset else [])]
        if "HealthCheckId" in rrset:
            found[key].append("health-checked")
    return found


BEFORE = {
    f"www.{ZONE} A primary": [PRIMARY_IP, "health-checked"],
    f"www.{ZONE} A secondary": [SECONDARY_IP],
    f"api.{ZONE} A east-1": [PRIMARY_IP, "weight=100"],
    f"api.{ZONE} A east-2": [RECOVERY_IP, "weight=0"],
    f"db.{ZONE} CNAME": ["acme-claims-db.cluster.us-east-1.rds.amazonaws.com"],
}


def failed_over_and_back(world: Staging, run: Run) -> None:
    activate, replicate = run.phases
    [zone_result] = activate.final.resources
    assert zone_result.detail["changeStatus"] == "INSYNC"
    assert sorted(zone_result.detail["changed"]) == [
        f"UPSERT api.{ZONE}. A east-1",
        f"UPSERT api.{ZONE}. A east-2",
        f"UPSERT db.{ZONE}. CNAME",
        f"UPSERT new.{ZONE}. TXT",
        f"UPSERT www.{ZONE}. A primary",
    ]
    previous = {p["key"]: p["recordSet"] for p in zone_result.detail["previous"]}
    assert previous[f"new.{ZONE}. TXT"] is None
    assert previous[f"www.{ZONE}. A primary"]["ResourceRecords"] == [{"Value": PRIMARY_IP}]
    # ACTIVATE waited for the change to propagate: polled while it was PENDING
    assert any(r.status == "RUNNING" for r in activate.results)
    [restored] = replicate.final.resources
    assert restored.detail["recordedFrom"] == "contract-exec-1"
    assert f"DELETE new.{ZONE}. TXT" in restored.detail["changed"]
    assert records(world) == BEFORE


def failed_over(world: Staging, run: Run) -> None:
    assert records(world) == {
        f"www.{ZONE} A primary": [RECOVERY_IP, "health-checked"],  # the health check is kept
        f"www.{ZONE} A secondary": [SECONDARY_IP],
        f"api.{ZONE} A east-1": [PRIMARY_IP, "weight=0"],
        f"api.{ZONE} A east-2": [RECOVERY_IP, "weight=100"],
        f"db.{ZONE} CNAME": [RECOVERY_DB],
        f"new.{ZONE} TXT": ['"failed over"'],
    }


def drill_record_only(world: Staging, run: Run) -> None:
    activate, cleanup = run.phases
    [written] = activate.final.resources
    assert written.detail["changed"] == [f"UPSERT drill.www.{ZONE}. A"]
    [deleted] = cleanup.final.resources
    assert deleted.detail["changed"] == [f"DELETE drill.www.{ZONE}. A"]
    assert records(world) == BEFORE
    writes = [c.params for c in run.calls if c.operation == "ChangeResourceRecordSets"]
    names = {c["ResourceRecordSet"]["Name"] for w in writes for c in w["ChangeBatch"]["Changes"]}
    assert names == {f"drill.www.{ZONE}."}


def drill_writes_nothing(world: Staging, run: Run) -> None:
    [result] = run.phases[0].final.resources
    assert result.status == "SKIPPED"
    assert result.detail["note"] == "a drill without drillRecords changes no record"
    assert records(world) == BEFORE


def rejected(world: Staging) -> None:
    zone(world)
    world.sandbox.faults.reject_record_change(f"db.{ZONE}", account=world.account_id)


def unchanged(world: Staging) -> None:
    assert records(world) == BEFORE  # the batch is atomic: nothing of it was applied


def slow(world: Staging) -> None:
    zone(world)
    world.sandbox.faults.slow_record_propagation(600, account=world.account_id)


def waited_long(world: Staging, run: Run) -> None:
    [activate] = run.phases
    assert sum(r.status == "RUNNING" for r in activate.results) >= 600 // 30
    failed_over(world, run)


class TestRoute53RecordContract(ModuleContract):
    module = "route53-record"
    cases = (
        Case(
            "failover-and-failback",
            (Phase("ACTIVATE", FAILOVER), Phase("REPLICATE", FAILOVER)),
            seed=zone,
            selector=SELECTOR,
            effect=records,
            check=failed_over_and_back,
        ),
        Case(
            "drill-writes-only-its-drill-record",
            (Phase("ACTIVATE", DRILL), Phase("CLEANUP", DRILL)),
            drill=True,
            seed=zone,
            selector={"ids": [ZONE]},
            effect=records,
            check=drill_record_only,
        ),
        Case(
            "drill-without-drill-records",
            (Phase("ACTIVATE", FAILOVER),),
            drill=True,
            seed=zone,
            selector=SELECTOR,
            check=drill_writes_nothing,
        ),
        Case(
            "change-rejected",
            (
                Phase(
                    "ACTIVATE",
                    FAILOVER,
                    expect="FAILED",
                    error="ChangeResourceRecordSets refused: InvalidChangeBatch",
                ),
            ),
            seed=rejected,
            selector=SELECTOR,
            check=lambda world, run: unchanged(world),
            extra=True,
        ),
        Case(
            "slow-propagation",
            (Phase("ACTIVATE", FAILOVER, max_polls=40),),
            seed=slow,
            selector=SELECTOR,
            check=waited_long,
            extra=True,
        ),
    )


# --- the drill guard and the parameters ------------------------------------------------------

MODULE = REGISTRY["route53-record"]


def test_the_drill_guard_refuses_every_change_but_a_declared_drill_record() -> None:
    guard = MODULE.drill_guard(True, {f"drill.www.{ZONE}."})

    def batch(*names: str) -> dict:
        return {
            "HostedZoneId": "Z1",
            "ChangeBatch": {
                "Changes": [
                    {"Action": "UPSERT", "ResourceRecordSet": {"Name": n, "Type": "A"}}
                    for n in names
                ]
            },
        }

    guard("ChangeResourceRecordSets", batch(f"drill.www.{ZONE}"))
    for names in ((f"www.{ZONE}",), (f"drill.www.{ZONE}", f"www.{ZONE}"), (f"drill.db.{ZONE}",)):
        with pytest.raises(DrillSafetyError):
            guard("ChangeResourceRecordSets", batch(*names))
    assert MODULE.drill_guard(False) is None


@pytest.mark.parametrize(
    ("drill_records", "why"),
    [
        ([{"name": "www", "type": "A", "ttl": 30, "values": ["10.0.0.1"]}], "not a drill record"),
        ([{"name": "drill", "type": "A", "ttl": 30, "values": ["10.0.0.1"]}], "also in records"),
    ],
)
def test_drill_records_must_be_drill_names_apart_from_production(drill_records, why) -> None:
    params = {
        "records": [{"name": "drill", "type": "A", "ttl": 30, "values": ["10.0.0.2"]}],
        "drillRecords": drill_records,
    }
    with pytest.raises(InputError, match=why):
        MODULE.start(None, "ACTIVATE", [], params, True, "key")  # type: ignore[arg-type]


# --- the layers format (seed 004 R53Record) ----------------------------------------------------

LAYER = {
    "action": "R53Record",
    "resourceName": "Claims DNS",
    "AccountId": "111111111111",
    "parameters": [
        {
            "R53RecordName": f"www.{ZONE}",
            "RecordType": "A",
            "RecordValue": RECOVERY_IP,
            "HostedZoneId": "Z0123456789ABC",
        },
        {
            "R53RecordName": f"app.{ZONE}",
            "RecordType": "A",
            "Alias": "Yes",
            "RecordValue": "claims-alb.us-east-2.elb.amazonaws.com",
            "HostedZoneId": "Z0123456789ABC",
        },
    ],
}


def test_seed_004_r53record_parameters_become_records_of_the_zone() -> None:
    mapping = MODULE.from_layer(LAYER, "$[0].resources[0]")
    assert mapping.technology == {
        "type": "route53-record",
        "selector": {"ids": ["Z0123456789ABC"]},
        "parameters": {
            "records": [
                {"name": f"www.{ZONE}.", "type": "A", "ttl": 60, "values": [RECOVERY_IP]},
                {
                    "name": f"app.{ZONE}.",
                    "type": "A",
                    "alias": {"dnsName": "claims-alb.us-east-2.elb.amazonaws.com"},
                },
            ]
        },
    }
    MODULE.validate_parameters(mapping.technology["parameters"])
    assert any("alias.hostedZoneId" in note for note in mapping.notes)


def test_manifest_convert_takes_a_seed_004_r53record_layer(tmp_path) -> None:
    from drorch.cli.manifest_cmd import app

    source, out = tmp_path / "layers.json", tmp_path / "manifest.yaml"
    source.write_text(json.dumps([{"layer": 3, "resources": [LAYER]}]))
    result = CliRunner().invoke(app, ["convert", str(source), "-o", str(out)])
    assert result.exit_code in (0, 1), result.stderr
    [wave] = load_manifest_file(out).waves
    [group] = wave.groups
    assert group.type == "route53-record"
    assert len(group.parameters["records"]) == 2


def test_readiness_reports_each_zone_and_its_routed_records() -> None:
    with staging(Case("readiness", (), seed=zone)) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        [finding] = MODULE.readiness(session, world.account_id, world.region)
    assert finding.result == "OK"
    assert finding.check.startswith(f"Route 53 zone {ZONE} (")
    assert finding.detail == (
        "7 record sets, 4 with a failover, weighted or latency routing policy"
    )


def test_the_activate_of_a_failback_changes_no_record() -> None:
    with staging(Case("failback-activate", (), seed=zone)) as world:
        ctx = dataclasses.replace(world.ctx(), operation="failback")
        zones = MODULE.discover(ctx, SELECTOR)
        state = MODULE.start(ctx, "ACTIVATE", zones, FAILOVER, False, "failback-key")
        result = MODULE.status(ctx, "ACTIVATE", state)
        assert records(world) == BEFORE
    [skipped] = result.resources
    assert (result.status, skipped.status) == ("SUCCEEDED", "SKIPPED")
    assert "REPLICATE" in skipped.detail["note"]
    assert not [c for c in world.recorder.calls if c.operation == "ChangeResourceRecordSets"]
