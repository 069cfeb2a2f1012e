"""The DRS module's per-server readiness against the sandbox (strict wire fidelity)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drorch.modules.drs.readiness import duration_seconds
from drorch.sandbox.drs.models import drs_backends
from tests.modules.conftest import APP, REGION, Estate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0S", 0),
        ("PT1H2M3S", 3723),
        ("P1DT30M", 88200),
        ("PT1.5S", 1.5),
        ("", None),
        ("PT", None),
    ],
)
def test_lag_durations_are_read_as_iso_8601(text, seconds):
    assert duration_seconds(text) == seconds


def findings(estate: Estate, operation: str = "failover", servers=None, **params):
    ctx = replace(estate.ctx(APP), operation=operation)
    if servers is None:
        servers = estate.discover(APP, tags={"Application": "claims", "Tier": "app"})
    return servers, estate.module.resource_readiness(ctx, servers, params)


def by(found, name, check):
    (finding,) = [f for f in found if f.name == name and f.check == check]
    return finding


@pytest.mark.accounts("staging-app")
def test_healthy_servers_are_ready_with_their_launch_templates(estate: Estate) -> None:
    servers, found = findings(estate)
    assert {f.result for f in found} == {"OK"}
    assert len(found) == 2 * len(servers)  # replication and launch template, per server
    template = by(found, "acme-app-01", "launch template")
    assert template.detail.startswith("lt-") and "subnet-" in template.detail
    assert template.call.startswith("ec2:DescribeLaunchTemplateVersions lt-")


@pytest.mark.accounts("staging-app")
def test_lag_over_the_rpo_target_and_a_missing_template_are_blockers(estate: Estate) -> None:
    servers = estate.discover(APP, tags={"Application": "claims", "Tier": "app"})
    drs_backends[APP][REGION].stall_replication("acme-app-01")  # after discovery
    estate.sandbox.advance(20 * 60)
    _, found = findings(estate, servers=servers, rpoTargetMinutes=10)
    stalled = by(found, "acme-app-01", "replication")
    assert stalled.result == "BLOCKER" and "STALLED" in stalled.detail
    assert "lag PT20M" in stalled.detail and "retry-data-replication" in stalled.fix
    # the others replicate: within the RPO
    assert by(found, "acme-app-02", "replication").result == "OK"
    # a launch template deleted behind DRS's back
    server = next(s for s in servers if s.name == "acme-app-02")
    template = estate.drs(APP).get_launch_configuration(sourceServerID=server.id)
    ec2 = estate.sandbox.admin_session(APP, REGION).client("ec2")
    ec2.delete_launch_template(LaunchTemplateId=template["ec2LaunchTemplateID"])
    _, found = findings(estate)
    missing = by(found, "acme-app-02", "launch template")
    assert missing.result == "BLOCKER" and template["ec2LaunchTemplateID"] in missing.detail
    # a failback does not judge forward replication (its precondition checks the reverse)
    _, found = findings(estate, operation="failback", servers=servers)
    assert by(found, "acme-app-01", "replication").result == "OK"


@pytest.mark.accounts("staging-app")
def test_a_server_excluded_for_its_replication_blocks_a_failover(estate: Estate) -> None:
    drs_backends[APP][REGION].stall_replication("acme-app-03")
    found = estate.discover(APP, tags={"Application": "claims", "Tier": "app"})
    assert "acme-app-03" not in {r.name for r in found}
    excluded = [x.to_dict() for x in found.excluded]
    ctx = replace(estate.ctx(APP), operation="failover")
    (blocker,) = estate.module.exclusion_readiness(ctx, excluded)
    assert blocker.result == "BLOCKER" and blocker.name == "acme-app-03"
    cleanup = replace(ctx, operation="cleanup")
    (warning,) = estate.module.exclusion_readiness(cleanup, excluded)
    assert warning.result == "WARNING" and "STALLED" in warning.detail
