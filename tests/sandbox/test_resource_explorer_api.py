"""Resource Explorer indexes, views, tags, errors and the 1,000-result limit, through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from drorch.sandbox import Sandbox
from drorch.sandbox.resourceexplorer import models

ACCOUNT = "111111111111"
HOME, WEST, EAST = "us-east-2", "us-west-2", "us-east-1"


@pytest.fixture
def sandbox():
    with Sandbox(strict=True) as running:
        yield running
        assert running.state.fidelity.violations == []


def rex(sandbox, region: str = HOME, account: str = ACCOUNT):
    return sandbox.admin_session(account, region).client("resource-explorer-2")


def error_code(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["Error"]["Code"]


# --- indexes ------------------------------------------------------------------------


def test_index_lifecycle(sandbox):
    client = rex(sandbox)
    assert error_code(client.get_index) == "ResourceNotFoundException"
    created = client.create_index(Tags={"team": "dr"})
    assert created["Arn"].startswith(f"arn:aws:resource-explorer-2:{HOME}:{ACCOUNT}:index/")
    assert created["State"] == "CREATING"
    index = client.get_index()
    assert (index["Type"], index["State"], index["Tags"]) == ("LOCAL", "ACTIVE", {"team": "dr"})
    assert error_code(client.create_index) == "ConflictException"
    deleted = client.delete_index(Arn=created["Arn"])
    assert deleted["State"] == "DELETING"
    assert error_code(client.get_index) == "ResourceNotFoundException"
    assert error_code(client.delete_index, Arn=created["Arn"]) == "ResourceNotFoundException"


def test_create_index_is_idempotent_with_a_client_token(sandbox):
    client = rex(sandbox)
    first = client.create_index(ClientToken="token-1")["Arn"]
    assert client.create_index(ClientToken="token-1")["Arn"] == first
    assert error_code(client.create_index, ClientToken="token-2") == "ConflictException"


def test_list_indexes_is_account_wide_with_filters_and_pages(sandbox):
    arns = {region: rex(sandbox, region).create_index()["Arn"] for region in (HOME, WEST, EAST)}
    rex(sandbox).update_index_type(Arn=arns[HOME], Type="AGGREGATOR")
    client = rex(sandbox, WEST)
    listed = client.list_indexes()["Indexes"]
    assert {(i["Region"], i["Type"]) for i in listed} == {
        (HOME, "AGGREGATOR"),
        (WEST, "LOCAL"),
        (EAST, "LOCAL"),
    }
    assert [i["Region"] for i in client.list_indexes(Type="AGGREGATOR")["Indexes"]] == [HOME]
    assert [i["Arn"] for i in client.list_indexes(Regions=[EAST])["Indexes"]] == [arns[EAST]]
    pages = list(client.get_paginator("list_indexes").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) == 3
    assert rex(sandbox, "ap-southeast-2", "222222222222").list_indexes()["Indexes"] == []


def test_one_aggregator_per_account_and_the_24_hour_wait(sandbox):
    home, west = rex(sandbox, HOME), rex(sandbox, WEST)
    home_arn, west_arn = home.create_index()["Arn"], west.create_index()["Arn"]
    promoted = home.update_index_type(Arn=home_arn, Type="AGGREGATOR")
    assert (promoted["Type"], promoted["State"]) == ("AGGREGATOR", "UPDATING")
    assert home.get_index()["ReplicatingFrom"] == [WEST]
    assert west.get_index()["ReplicatingTo"] == [HOME]
    assert error_code(west.update_index_type, Arn=west_arn, Type="AGGREGATOR") == (
        "ConflictException"
    )
    home.update_index_type(Arn=home_arn, Type="LOCAL")
    with pytest.raises(ClientError) as caught:
        west.update_index_type(Arn=west_arn, Type="AGGREGATOR")
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    assert "24 hours" in caught.value.response["Error"]["Message"]
    sandbox.advance(24 * 3600)
    assert west.update_index_type(Arn=west_arn, Type="AGGREGATOR")["Type"] == "AGGREGATOR"


def test_deleting_the_aggregator_also_starts_the_wait(sandbox):
    home, west = rex(sandbox, HOME), rex(sandbox, WEST)
    home_arn, west_arn = home.create_index()["Arn"], west.create_index()["Arn"]
    home.update_index_type(Arn=home_arn, Type="AGGREGATOR")
    home.delete_index(Arn=home_arn)
    assert error_code(west.update_index_type, Arn=west_arn, Type="AGGREGATOR") == (
        "ConflictException"
    )
    sandbox.advance(24 * 3600 + 1)
    west.update_index_type(Arn=west_arn, Type="AGGREGATOR")


def test_index_transitions_follow_the_simulated_clock(sandbox, monkeypatch):
    monkeypatch.setattr(models.TIMINGS, "create_seconds", 60.0)
    monkeypatch.setattr(models.TIMINGS, "update_seconds", 300.0)
    client = rex(sandbox)
    arn = client.create_index()["Arn"]
    assert client.get_index()["State"] == "CREATING"
    assert error_code(client.update_index_type, Arn=arn, Type="AGGREGATOR") == "ConflictException"
    sandbox.advance(60)
    assert client.get_index()["State"] == "ACTIVE"
    client.update_index_type(Arn=arn, Type="AGGREGATOR")
    assert client.get_index()["State"] == "UPDATING"
    sandbox.advance(300)
    assert client.get_index()["State"] == "ACTIVE"


def test_update_index_type_needs_the_index_of_the_calling_region(sandbox):
    home, west = rex(sandbox, HOME), rex(sandbox, WEST)
    arn = home.create_index()["Arn"]
    west.create_index()
    assert error_code(west.update_index_type, Arn=arn, Type="AGGREGATOR") == (
        "ResourceNotFoundException"
    )
    assert error_code(home.update_index_type, Arn="not-an-arn", Type="LOCAL") == (
        "ValidationException"
    )


# --- views --------------------------------------------------------------------------


def test_views_need_an_index_in_the_region(sandbox):
    assert error_code(rex(sandbox).create_view, ViewName="all") == "ValidationException"


def test_view_lifecycle(sandbox):
    client = rex(sandbox)
    client.create_index()
    view = client.create_view(
        ViewName="prod",
        IncludedProperties=[{"Name": "tags"}],
        Filters={"FilterString": "tag:Environment=prod"},
        Tags={"owner": "dr"},
    )["View"]
    arn = view["ViewArn"]
    assert arn.startswith(f"arn:aws:resource-explorer-2:{HOME}:{ACCOUNT}:view/prod/")
    assert view["Owner"] == ACCOUNT and view["Scope"] == f"arn:aws:iam::{ACCOUNT}:root"
    got = client.get_view(ViewArn=arn)
    assert got["View"]["Filters"] == {"FilterString": "tag:Environment=prod"}
    assert got["Tags"] == {"owner": "dr"}
    updated = client.update_view(ViewArn=arn, Filters={"FilterString": "service:ec2"})["View"]
    assert updated["Filters"]["FilterString"] == "service:ec2"
    assert updated["IncludedProperties"] == [{"Name": "tags"}]
    assert client.list_views()["Views"] == [arn]
    assert client.delete_view(ViewArn=arn)["ViewArn"] == arn
    assert error_code(client.get_view, ViewArn=arn) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ViewName": "bad name!"}, "ViewName"),
        ({"ViewName": "v", "Filters": {"FilterString": "free text"}}, "Filters"),
        ({"ViewName": "v", "Filters": {"FilterString": "region:us*east"}}, "Filters"),
        ({"ViewName": "v", "IncludedProperties": [{"Name": "colour"}]}, "IncludedProperties"),
        (
            {"ViewName": "v", "Scope": "arn:aws:organizations::111111111111:organization/o-1"},
            "Scope",
        ),
    ],
)
def test_invalid_views_are_rejected_with_the_field(sandbox, kwargs, field):
    client = rex(sandbox)
    client.create_index()
    with pytest.raises(ClientError) as caught:
        client.create_view(**kwargs)
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["FieldList"][0]["Name"] == field
    assert client.list_views()["Views"] == []


def test_view_names_are_unique_per_region_and_client_tokens_idempotent(sandbox):
    client = rex(sandbox)
    client.create_index()
    first = client.create_view(ViewName="all", ClientToken="t-1")["View"]["ViewArn"]
    assert client.create_view(ViewName="all", ClientToken="t-1")["View"]["ViewArn"] == first
    assert error_code(client.create_view, ViewName="all") == "ConflictException"
    assert error_code(client.create_view, ViewName="other", ClientToken="t-1") == (
        "ConflictException"
    )
    west = rex(sandbox, WEST)
    west.create_index()
    assert west.create_view(ViewName="all")["View"]["ViewArn"] != first


def test_list_views_pages_and_batch_get_reports_errors(sandbox):
    client = rex(sandbox)
    client.create_index()
    arns = [client.create_view(ViewName=f"v{i}")["View"]["ViewArn"] for i in range(5)]
    pages = list(client.get_paginator("list_views").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["Views"]) for p in pages] == [2, 2, 1]
    assert sorted(v for p in pages for v in p["Views"]) == sorted(arns)
    missing = f"arn:aws:resource-explorer-2:{HOME}:{ACCOUNT}:view/gone/0000"
    result = client.batch_get_view(ViewArns=[arns[0], missing, "nonsense"])
    assert [v["ViewArn"] for v in result["Views"]] == [arns[0]]
    assert {e["ViewArn"] for e in result["Errors"]} == {missing, "nonsense"}


def test_default_view_association(sandbox):
    client = rex(sandbox)
    client.create_index()
    arn = client.create_view(ViewName="all")["View"]["ViewArn"]
    assert "ViewArn" not in client.get_default_view()
    assert error_code(client.search, QueryString="") == "UnauthorizedException"
    client.associate_default_view(ViewArn=arn)
    assert client.get_default_view()["ViewArn"] == arn
    assert client.search(QueryString="")["ViewArn"] == arn
    client.disassociate_default_view()
    assert "ViewArn" not in client.get_default_view()
    client.associate_default_view(ViewArn=arn)
    client.delete_view(ViewArn=arn)  # deleting the default view clears the association
    assert "ViewArn" not in client.get_default_view()


def test_default_view_must_be_in_the_calling_region(sandbox):
    home, west = rex(sandbox, HOME), rex(sandbox, WEST)
    home.create_index()
    west.create_index()
    arn = home.create_view(ViewName="all")["View"]["ViewArn"]
    assert error_code(west.associate_default_view, ViewArn=arn) == "ValidationException"


def test_deleting_an_index_deletes_the_regions_views(sandbox):
    client = rex(sandbox)
    index = client.create_index()["Arn"]
    view = client.create_view(ViewName="all")["View"]["ViewArn"]
    client.associate_default_view(ViewArn=view)
    client.delete_index(Arn=index)
    client.create_index()
    assert client.list_views()["Views"] == []
    assert error_code(client.get_view, ViewArn=view) == "ResourceNotFoundException"


def test_search_errors_for_bad_view_arns(sandbox):
    client = rex(sandbox)
    client.create_index()
    assert error_code(client.search, QueryString="", ViewArn="not-a-view") == "ValidationException"
    missing = f"arn:aws:resource-explorer-2:{HOME}:{ACCOUNT}:view/none/1234"
    assert error_code(client.search, QueryString="", ViewArn=missing) == (
        "ResourceNotFoundException"
    )
    foreign = f"arn:aws:resource-explorer-2:{HOME}:222222222222:view/all/1234"
    assert error_code(client.get_view, ViewArn=foreign) == "UnauthorizedException"


# --- tags, supported types, account configuration -----------------------------------------


def test_tags_on_indexes_and_views(sandbox):
    client = rex(sandbox)
    index = client.create_index(Tags={"a": "1"})["Arn"]
    view = client.create_view(ViewName="all")["View"]["ViewArn"]
    for arn in (index, view):
        client.tag_resource(resourceArn=arn, Tags={"b": "2", "c": "3"})
        client.untag_resource(resourceArn=arn, tagKeys=["c"])
    assert client.list_tags_for_resource(resourceArn=index)["Tags"] == {"a": "1", "b": "2"}
    assert client.list_tags_for_resource(resourceArn=view)["Tags"] == {"b": "2"}
    missing = f"arn:aws:resource-explorer-2:{HOME}:{ACCOUNT}:view/x/1"
    assert error_code(client.list_tags_for_resource, resourceArn=missing) == (
        "ResourceNotFoundException"
    )


def test_indexes_and_views_are_themselves_searchable(sandbox):
    client = rex(sandbox)
    index = client.create_index(Tags={"team": "dr"})["Arn"]
    view = client.create_view(ViewName="all")["View"]["ViewArn"]
    found = client.search(QueryString="service:resource-explorer-2", ViewArn=view)["Resources"]
    assert {(r["ResourceType"], r["Arn"]) for r in found} == {
        ("resource-explorer-2:index", index),
        ("resource-explorer-2:view", view),
    }


def test_supported_resource_types_and_account_configuration(sandbox):
    client = rex(sandbox)
    types = [
        t["ResourceType"]
        for page in client.get_paginator("list_supported_resource_types").paginate(
            PaginationConfig={"PageSize": 10}
        )
        for t in page["ResourceTypes"]
    ]
    for expected in (
        "ec2:instance",
        "rds:cluster",
        "rds:db",
        "drs:source-server",
        "lambda:function",
    ):
        assert expected in types
    config = client.get_account_level_service_configuration()["OrgConfiguration"]
    assert config["AWSServiceAccessStatus"] == "DISABLED"


# --- scale ----------------------------------------------------------------------------


def test_search_counts_at_most_1000_results(sandbox):
    session = sandbox.admin_session(ACCOUNT, HOME)
    client = session.client("resource-explorer-2")
    client.create_index()
    view = client.create_view(ViewName="all")["View"]["ViewArn"]
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    for i in range(1005):
        ec2.create_security_group(
            GroupName=f"bulk-{i}",
            Description="bulk",
            VpcId=vpc,
            TagSpecifications=[
                {"ResourceType": "security-group", "Tags": [{"Key": "bulk", "Value": "yes"}]}
            ],
        )
    first = client.search(QueryString="tag:bulk=yes", ViewArn=view, MaxResults=1000)
    assert first["Count"] == {"TotalResources": 1000, "Complete": False}
    assert len(first["Resources"]) == 1000 and "NextToken" not in first
    narrower = client.search(QueryString="tag:bulk=yes -bulk-1000", ViewArn=view)
    assert narrower["Count"]["Complete"] is False
    few = client.search(QueryString="bulk-100*", ViewArn=view)  # bulk-100, bulk-1000..1004
    assert few["Count"] == {"TotalResources": 6, "Complete": True}
    # ListResources is not capped: it pages through everything
    listed = [
        r
        for page in client.get_paginator("list_resources").paginate(
            Filters={"FilterString": "tag:bulk=yes"}, ViewArn=view
        )
        for r in page["Resources"]
    ]
    assert len(listed) == 1005


def test_a_broken_collector_drops_only_its_own_resources(sandbox, monkeypatch):
    from drorch.sandbox.resourceexplorer import inventory

    def broken(account_id, region):
        raise AttributeError("moto renamed something")

    monkeypatch.setattr(inventory, "REGIONAL_COLLECTORS", (broken, *inventory.REGIONAL_COLLECTORS))
    session = sandbox.admin_session(ACCOUNT, HOME)
    client = session.client("resource-explorer-2")
    client.create_index()
    view = client.create_view(ViewName="all")["View"]["ViewArn"]
    session.client("ec2").create_vpc(
        CidrBlock="10.1.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "k", "Value": "v"}]}],
    )
    found = client.search(QueryString="tag:k=v", ViewArn=view)["Resources"]
    assert [r["ResourceType"] for r in found] == ["ec2:vpc"]
