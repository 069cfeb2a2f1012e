"""Strategy routing (TRS App. T.4): a resource's dr:recovery-strategy tag decides which
module acts on it; the TRS categories (database, application, infrastructure) hand each
resource to the module its strategy names.

The tag sets are TRS App. T.5's samples, quoted from seed 002 (L6756-L6898) as they are
written (``dr:wave: 1`` and ``dr:rto-target: 30`` are YAML numbers there; tags are
strings, so they are quoted here); ``rds`` and ``aurora`` are the issue's further
strategies, on a copy of the SQL Server sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drorch.accounts import load_accounts
from drorch.engine import aws, discovery, plan
from drorch.manifest import ManifestError, load_manifest
from drorch.modules import REGISTRY
from drorch.modules.routing import category_members, not_mine, owners
from drorch.sandbox import Sandbox
from drorch.sandbox.drs.models import drs_backends
from drorch.sandbox.seeders import SEEDERS, SeedContext
from drorch.tags import check_tags
from tests.modules.conftest import REPO

# --- TRS App. T.5, seed 002 -----------------------------------------------------------------
_SCOPE = {"Customer": "ABCD", "Environment": "Production"}
T5: dict[str, dict[str, str]] = {
    # T.5.1 Production Oracle Database Server (Critical - Wave 1)
    "prod-oracle-db-01": {
        **_SCOPE,
        "dr:enabled": "true",
        "dr:priority": "critical",
        "dr:wave": "1",
        "dr:recovery-strategy": "drs",
        "dr:rto-target": "30",
        "dr:rpo-target": "30",
        "Name": "prod-oracle-db-01",
        "Application": "CustomerPortal",
        "Tier": "Database",
    },
    # T.5.2 Production Application Server (High - Wave 2)
    "prod-app-server-01": {
        **_SCOPE,
        "dr:enabled": "true",
        "dr:priority": "high",
        "dr:wave": "2",
        "dr:recovery-strategy": "drs",
        "dr:rto-target": "60",
        "dr:rpo-target": "30",
        "Name": "prod-app-server-01",
        "Application": "CustomerPortal",
        "Tier": "Application",
    },
    # T.5.3 Production Web Server (Medium - Wave 3)
    "prod-web-server-01": {
        **_SCOPE,
        "dr:enabled": "true",
        "dr:priority": "medium",
        "dr:wave": "3",
        "dr:recovery-strategy": "drs",
        "dr:rto-target": "120",
        "dr:rpo-target": "30",
        "Name": "prod-web-server-01",
        "Application": "CustomerPortal",
        "Tier": "Web",
    },
    # T.5.4 Production EKS Cluster (Critical - Wave 1)
    "prod-eks-cluster-01": {
        **_SCOPE,
        "dr:enabled": "true",
        "dr:priority": "critical",
        "dr:wave": "1",
        "dr:recovery-strategy": "eks-dns",
        "dr:rto-target": "30",
        "Name": "prod-eks-cluster-01",
        "Application": "MicroservicesPlatform",
        "Tier": "Container",
    },
    # T.5.5 Active Directory Domain Controller (Multi-Region - No Orchestration)
    "prod-ad-dc-01": {
        **_SCOPE,
        "dr:enabled": "false",
        "Name": "prod-ad-dc-01",
        "Application": "ActiveDirectory",
        "Tier": "Infrastructure",
    },
    # T.5.6 Production SQL Server with Always On AG (Critical - Wave 1)
    "prod-sql-ag-01": {
        **_SCOPE,
        "dr:enabled": "true",
        "dr:priority": "critical",
        "dr:wave": "1",
        "dr:recovery-strategy": "sql-ag",
        "dr:rto-target": "15",
        "dr:rpo-target": "5",
        "Name": "prod-sql-ag-01",
        "Application": "FinancialSystem",
        "Tier": "Database",
    },
}
# the other strategies a DRS server may carry
FURTHER = {
    f"prod-{strategy}-db-01": {
        **T5["prod-sql-ag-01"],
        "dr:recovery-strategy": strategy,
        "Name": f"prod-{strategy}-db-01",
    }
    for strategy in ("rds", "aurora")
}
DRS = REGISTRY["drs"]
SQL = REGISTRY["sqlserver-ag"]


def test_every_module_that_routes_declares_its_strategies():
    assert DRS.strategies == ("drs",)
    assert SQL.strategies == ("sql-ag",)
    assert owners("sql-ag") == ["sqlserver-ag"] and owners("drs") == ["drs"]
    assert REGISTRY["sqlserver-ag"].describe()["strategies"] == ["sql-ag"]
    # a strategy a registered module declares passes the tag validator (TRS App. T.6
    # knows only drs, eks-dns, sql-ag and managed-service)
    for tags in T5.values():
        assert check_tags(tags).valid, tags
    for strategy, module in (("rds", "rds-instance"), ("aurora", "aurora-global")):
        if owners(strategy):
            assert check_tags(FURTHER[f"prod-{strategy}-db-01"]).valid
            assert owners(strategy) == [module]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("prod-oracle-db-01", None),
        ("prod-app-server-01", None),
        ("prod-web-server-01", None),
        ("prod-ad-dc-01", None),  # no strategy: skipped later, as dr:enabled=false
        (
            "prod-eks-cluster-01",
            "dr:recovery-strategy=eks-dns: no registered module recovers it (drs takes drs)",
        ),
        (
            "prod-sql-ag-01",
            "dr:recovery-strategy=sql-ag: recovered by the sqlserver-ag module, not by drs",
        ),
    ],
)
def test_drs_keeps_only_servers_tagged_drs(host, expected):
    assert not_mine(DRS, T5[host]) == expected


@pytest.mark.parametrize("host", sorted(FURTHER))
def test_a_server_tagged_rds_or_aurora_is_never_drs_s(host):
    strategy = FURTHER[host]["dr:recovery-strategy"]
    reason = not_mine(DRS, FURTHER[host])
    takers = owners(strategy)
    if takers:  # the database modules declare their strategies
        assert (
            reason
            == f"dr:recovery-strategy={strategy}: recovered by the {takers[0]} module, not by drs"
        )
    else:
        assert (
            reason
            == f"dr:recovery-strategy={strategy}: no registered module recovers it (drs takes drs)"
        )


# --- in the sandbox ----------------------------------------------------------------------------


@dataclass
class World:
    sandbox: Sandbox
    data: Any  # staging-data (StagingAccount)
    servers: dict[str, str]  # hostname -> source server id

    def ctx(self) -> Any:
        from drorch.modules import AccountContext

        return AccountContext(
            session=self.sandbox.execution_session(self.data.account_id, self.data.recovery_region),
            account_id=self.data.account_id,
            region=self.data.recovery_region,
            account_name=self.data.name,
        )

    def access(self) -> dict[str, aws.AccountAccess]:
        account = self.data
        return {
            account.account_id: aws.AccountAccess(
                account_id=account.account_id,
                name=account.name,
                recovery_region=account.recovery_region,
                source_region=account.source_region,
                execution_role_arn="",
                external_id=account.external_id,
            )
        }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """staging-data with the T.5 samples as DRS source servers, and the SQL Server sample's
    recovery replica: an AG whose secondary (tagged as T.5.6) is in the recovery region."""
    accounts = {a.name: a for a in load_accounts(REPO / "accounts")}
    data = accounts["staging-data"]
    with Sandbox(strict=True) as sandbox:
        sandbox.provision_account(data)
        backend = drs_backends[data.account_id][data.recovery_region]
        servers = {}
        for index, (host, tags) in enumerate(sorted({**T5, **FURTHER}.items())):
            server = backend.add_source_server(
                hostname=host, ip=f"10.202.3.{60 + index}", tags=dict(tags)
            )
            servers[host] = server.source_server_id
        session = sandbox.admin_session(data.account_id, data.recovery_region)
        SEEDERS["sqlserver-ag"].seed(
            SeedContext(session, data.account_id, data.recovery_region),
            {
                "type": "sqlserver-ag",
                "account": data.name,
                "name": "financial-ag",
                "databases": ["Ledger"],
                "replicas": [
                    {"host": "prod-sql-ag-01", "region": data.source_region, "role": "PRIMARY"},
                    {
                        "host": "prod-sql-ag-dr-01",
                        "role": "SECONDARY",
                        "tags": {**T5["prod-sql-ag-01"], "Name": "prod-sql-ag-dr-01"},
                    },
                ],
            },
        )
        yield World(sandbox, data, servers)
        assert sandbox.state.fidelity.violations == []


def test_drs_discovery_excludes_and_reports_what_another_strategy_recovers(world):
    found = DRS.discover(world.ctx(), {"tags": {"Customer": "ABCD"}})
    assert sorted(r.name for r in found) == [
        "prod-ad-dc-01",  # passed on: the tag validator skips it (dr:enabled=false)
        "prod-app-server-01",
        "prod-oracle-db-01",
        "prod-web-server-01",
    ]
    excluded = {e.name: e.reasons for e in found.excluded}
    assert set(excluded) == {
        "prod-eks-cluster-01",
        "prod-sql-ag-01",
        "prod-rds-db-01",
        "prod-aurora-db-01",
    }
    assert excluded["prod-sql-ag-01"] == (
        "dr:recovery-strategy=sql-ag: recovered by the sqlserver-ag module, not by drs",
    )
    # and the SQL Server sample's recovery replica is the sqlserver-ag module's
    [replica] = SQL.discover(world.ctx(), {"tags": {"Customer": "ABCD", "dr:wave": "1"}})
    assert replica.name == "prod-sql-ag-dr-01"


TRS_STYLE = {
    "manifestVersion": "2.0",
    "customer": "ABCD",
    "environment": "Production",
    "waves": [
        {
            "waveNumber": 1,
            "waveName": "Database Tier",
            "technologies": [{"type": "database", "priority": "critical"}],
        },
        {
            "waveNumber": 2,
            "waveName": "Application Tier",
            "technologies": [
                {"type": "drs", "priority": "high"},
                {"type": "application", "priority": "high"},
            ],
        },
    ],
}


def test_a_category_hands_each_resource_to_the_module_its_strategy_names(world):
    manifest = load_manifest(TRS_STYLE, "trs-style")
    database, application = manifest.waves
    routed = sorted(category_members(REGISTRY))
    assert sorted(g.type for g in database.groups) == routed  # every module that routes
    assert {g.routed_from for g in database.groups} == {"database"}
    assert "drs" in routed and "sqlserver-ag" in routed
    # wave 2 names drs itself: the category leaves the DRS servers to that group
    assert [(g.type, g.routed_from) for g in application.groups][0] == ("drs", "")
    assert "drs" not in [g.type for g in application.groups[1:]]
    # each group selects by the application's tags (TRS: dr:wave + Customer + Environment)
    by_type = {g.type: g for g in database.groups}
    assert by_type["sqlserver-ag"].selector.tags == {
        "dr:wave": "1",
        "Customer": "ABCD",
        "Environment": "Production",
    }

    found = {}
    for group in (by_type["drs"], by_type["sqlserver-ag"]):
        found[group.type] = discovery.discover_group(
            database,
            group,
            world.access(),
            REGISTRY[group.type],
            lambda access: world.sandbox.execution_session(access.account_id),
        )
    account = world.data.account_id
    assert [r["name"] for r in found["drs"].resources[account]] == ["prod-oracle-db-01"]
    assert [r["name"] for r in found["sqlserver-ag"].resources[account]] == ["prod-sql-ag-dr-01"]
    reasons = {e["name"]: e["reasons"] for e in found["drs"].excluded}
    assert reasons["prod-sql-ag-01"] == [
        "dr:recovery-strategy=sql-ag: recovered by the sqlserver-ag module, not by drs"
    ]
    assert "prod-eks-cluster-01" in reasons  # no module recovers eks-dns: said so

    # the plan shows the routing: the module of each group and the category it came from
    counts = {g: d.counts() for g, d in found.items()}
    counts = {by_type[t].id: c for t, c in counts.items()}
    full = plan.build_plan(manifest, "failover", counts, modules=REGISTRY)
    for module in ("drs", "sqlserver-ag"):
        entry = full["groups"][by_type[module].id]
        assert (entry["module"], entry["routedFrom"]) == (module, "database")
    [activate] = [p for p in full["phases"] if p["phase"] == "ACTIVATE"]
    planned = {g["groupId"] for g in activate["levels"][0]["groups"]}
    assert planned == {by_type["drs"].id, by_type["sqlserver-ag"].id}


def test_a_category_group_takes_no_parameters_and_needs_a_module_left():
    document = {
        **TRS_STYLE,
        "waves": [
            {
                "waveNumber": 1,
                "waveName": "db",
                "technologies": [{"type": "database", "parameters": {"allowDataLoss": True}}],
            }
        ],
    }
    with pytest.raises(ManifestError) as raised:
        load_manifest(document, "bad")
    assert "$.waves[0].technologies[0].parameters" in str(raised.value)
    assert "give parameters to a group of one module" in str(raised.value)
    # without a registry (e.g. the schema alone) a category is a plain group
    loose = load_manifest(TRS_STYLE, "loose", modules={})
    assert [g.type for g in loose.waves[0].groups] == ["database"]
