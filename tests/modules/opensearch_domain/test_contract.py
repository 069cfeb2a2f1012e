"""opensearch-domain against the sandbox's OpenSearch Service (simulated clock).

The world: domain ``claims-search`` in the recovery region (r6g.large.search x 2), the
follower of a leader domain of the same name in us-east-1 through an ACTIVE outbound
cross-cluster connection, seeded with the ``opensearch-domain`` scenario type.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from drorch.modules import REGISTRY
from drorch.modules.opensearch_domain.adapter import smaller
from drorch.modules.opensearch_domain.iam import BEFORE_TAG
from drorch.modules.opensearch_domain.sandbox import TIMINGS
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    discover,
    idempotency_key,
    staging,
)

SOURCE = "us-east-1"
NAME = "claims-search"
SELECTOR = {"ids": [NAME]}
TAGS = {"dr:enabled": "true", "dr:wave": "1", "Application": "claims"}
SCALE = {"instanceCount": 4, "instanceType": "r6g.xlarge.search"}
BEFORE = {"InstanceType": "r6g.large.search", "InstanceCount": 2}
STOP = {"mode": "stop-replication"}


def follower(world: Staging) -> None:
    seed_resource(
        SeedContext(
            world.sandbox.admin_session(world.account_id, world.region),
            world.account_id,
            world.region,
        ),
        {
            "account": world.account.name,
            "type": "opensearch-domain",
            "name": NAME,
            "instanceCount": 2,
            "tags": TAGS,
            "followerOf": {"region": SOURCE},
        },
    )


def domain(world: Staging) -> dict:
    return world.admin("opensearch").describe_domain(DomainName=NAME)["DomainStatus"]


def tags(world: Staging) -> dict:
    arn = domain(world)["ARN"]
    return {t["Key"]: t["Value"] for t in world.admin("opensearch").list_tags(ARN=arn)["TagList"]}


def connections(world: Staging) -> dict:
    found = world.admin("opensearch").describe_outbound_connections()["Connections"]
    return {c["ConnectionAlias"]: c["ConnectionStatus"]["StatusCode"] for c in found}


def scaled_and_restored(world: Staging, run: Run) -> None:
    [scaled] = run.phases[-2].final.resources
    assert scaled.detail["before"] == BEFORE
    assert scaled.detail["capacity"] == {"InstanceType": "r6g.xlarge.search", "InstanceCount": 4}
    [restored] = run.phases[-1].final.resources
    assert restored.detail["capacity"] == BEFORE
    cluster = domain(world)["ClusterConfig"]
    assert (cluster["InstanceType"], cluster["InstanceCount"]) == ("r6g.large.search", 2)
    assert BEFORE_TAG not in tags(world)
    assert connections(world) == {f"{NAME}-leader": "ACTIVE"}  # scaling leaves replication be


def stopped(world: Staging, run: Run) -> None:
    [result] = run.phases[0].final.resources
    assert "_plugins/_replication" in result.detail["note"]
    assert connections(world) == {f"{NAME}-leader": "DELETED"}


def checked_only(world: Staging, run: Run) -> None:
    [result] = run.phases[0].final.resources
    assert "nothing was deleted" in result.detail["note"]
    assert connections(world) == {f"{NAME}-leader": "ACTIVE"}
    assert [c.operation for c in run.calls if c.operation.startswith("Delete")] == []


def stuck(world: Staging) -> None:
    follower(world)
    world.sandbox.faults.stick_opensearch_change(NAME)


def rolled_back(world: Staging) -> None:
    follower(world)
    world.sandbox.faults.fail_opensearch_change(NAME)


class TestOpenSearchDomainContract(ModuleContract):
    module = "opensearch-domain"
    cases = (
        Case(
            "drill-scale-up-and-cleanup",
            (Phase("INSTANTIATE", SCALE), Phase("ACTIVATE", SCALE), Phase("CLEANUP", SCALE)),
            drill=True,
            seed=follower,
            selector=SELECTOR,
            writes=(("opensearch", "UpdateDomainConfig"), ("opensearch", "AddTags")),
            check=scaled_and_restored,
        ),
        Case(
            "failover-stop-replication",
            (Phase("ACTIVATE", STOP),),
            seed=follower,
            selector={"tags": {"Application": "claims"}},
            writes=(("opensearch", "DeleteOutboundConnection"),),
            check=stopped,
        ),
        Case(
            "drill-stop-replication-checks-only",
            (Phase("ACTIVATE", STOP),),
            drill=True,
            seed=follower,
            selector=SELECTOR,
            check=checked_only,
        ),
        Case(
            "change-stays-processing",
            (
                Phase(
                    "ACTIVATE",
                    {**SCALE, "timeoutSeconds": 1800},
                    expect="FAILED",
                    error="not done after",
                    poll_seconds=600,
                ),
            ),
            seed=stuck,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "change-rolled-back",
            (
                Phase(
                    "ACTIVATE",
                    SCALE,
                    expect="FAILED",
                    error="the change did not apply (The blue/green deployment failed",
                    poll_seconds=300,
                ),
            ),
            seed=rolled_back,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "drill-refuses-scale-down",
            (
                Phase(
                    "ACTIVATE",
                    {"instanceCount": 1},
                    expect="FAILED",
                    error="a drill scales up only: InstanceCount 1 is below the current 2",
                ),
            ),
            drill=True,
            seed=follower,
            selector=SELECTOR,
            extra=True,
        ),
    )


def test_a_change_takes_simulated_minutes_and_merges_the_cluster_config() -> None:
    case = Case("time", (Phase("ACTIVATE"),), seed=follower, selector=SELECTOR)
    with staging(case) as world:
        client = world.admin("opensearch")
        client.update_domain_config(DomainName=NAME, ClusterConfig={"InstanceCount": 3})
        busy = domain(world)
        assert busy["Processing"] and busy["DomainProcessingStatus"] == "Modifying"
        assert busy["ClusterConfig"]["InstanceType"] == "r6g.large.search"  # merged, kept
        assert busy["ClusterConfig"]["InstanceCount"] == 3
        with pytest.raises(ClientError) as refused:
            client.update_domain_config(DomainName=NAME, ClusterConfig={"InstanceCount": 4})
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        world.sandbox.advance(TIMINGS.change_seconds)
        done = domain(world)
        assert not done["Processing"] and done["DomainProcessingStatus"] == "Active"
        assert done["ChangeProgressDetails"]["ConfigChangeStatus"] == "Completed"


def test_connections_are_seen_from_both_sides_and_deleted_over_time() -> None:
    case = Case("cc", (Phase("ACTIVATE"),), seed=follower, selector=SELECTOR)
    with staging(case) as world:
        leader = world.sandbox.admin_session(world.account_id, SOURCE).client("opensearch")
        [inbound] = leader.describe_inbound_connections()["Connections"]
        assert inbound["ConnectionStatus"]["StatusCode"] == "ACTIVE"
        assert world.admin("opensearch").describe_inbound_connections()["Connections"] == []
        world.admin("opensearch").delete_outbound_connection(ConnectionId=inbound["ConnectionId"])
        assert connections(world) == {f"{NAME}-leader": "DELETING"}
        world.sandbox.advance(TIMINGS.delete_seconds)
        assert connections(world) == {f"{NAME}-leader": "DELETED"}


def test_a_throttled_change_is_raised_for_the_state_machine_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)  # botocore's backoff
    module = REGISTRY["opensearch-domain"]
    case = Case("throttled", (Phase("ACTIVATE"),), seed=follower, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("opensearch", "UpdateDomainConfig", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(world.ctx(), "ACTIVATE", resources, SCALE, False, idempotency_key("A"))
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"


def test_the_drill_guard_refuses_what_a_drill_must_not_do() -> None:
    module = REGISTRY["opensearch-domain"]
    capacity = {"DomainName": NAME, "ClusterConfig": {"InstanceCount": 4}}
    assert not module.is_disruptive("UpdateDomainConfig", capacity)
    assert module.is_disruptive("UpdateDomainConfig", {**capacity, "AccessPolicies": "{}"})
    assert module.is_disruptive(
        "UpdateDomainConfig", {"DomainName": NAME, "ClusterConfig": {"DedicatedMasterCount": 3}}
    )
    assert module.is_disruptive("DeleteOutboundConnection", {"ConnectionId": "cc-1"})
    assert module.is_disruptive("DeleteDomain", {"DomainName": NAME})


def test_a_drill_knows_which_instance_types_are_larger() -> None:
    assert not smaller("r6g.xlarge.search", "r6g.large.search")
    assert not smaller("r6g.4xlarge.search", "r6g.2xlarge.search")
    assert smaller("r6g.large.search", "r6g.xlarge.search")
    assert smaller("m6g.xlarge.search", "r6g.large.search")  # another family: not known


def test_stop_replication_takes_no_size() -> None:
    module = REGISTRY["opensearch-domain"]
    from drorch.errors import InputError

    assert module.validate_parameters({})["mode"] == "scale"  # no size: a check only
    with pytest.raises(InputError):
        module.validate_parameters({"mode": "stop-replication", "instanceCount": 2})
    assert module.validate_parameters(STOP)["mode"] == "stop-replication"


def test_readiness_reports_the_follower_and_its_connection() -> None:
    module = REGISTRY["opensearch-domain"]
    case = Case("ready", (Phase("ACTIVATE"),), seed=follower, selector=SELECTOR)
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        [finding] = module.readiness(session, world.account_id, world.region)
    assert (finding.check, finding.result) == (f"OpenSearch {NAME}", "OK")
    assert "ACTIVE" in finding.detail


def test_manifest_convert_takes_the_opensearch_alias(tmp_path) -> None:
    from drorch.cli.manifest_cmd import app
    from drorch.manifest import load_manifest_file

    layers = [
        {
            "layer": 1,
            "resources": [
                {
                    "action": "OpenSearchService",
                    "resourceName": "Claims search",
                    "AccountId": "333333333333",
                    "parameters": {"DomainName": NAME, "InstanceCount": 4},
                }
            ],
        }
    ]
    source = tmp_path / "layers.json"
    source.write_text(json.dumps(layers))
    out = tmp_path / "manifest.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    [group] = load_manifest_file(out).waves[0].groups
    assert group.type == "opensearch-domain"
    assert list(group.selector.ids) == [NAME]
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
