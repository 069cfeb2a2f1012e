"""Resource Explorer Search/ListResources over real sandbox resources, through boto3.

One sandbox for the module (the tests only read): account 111111111111 has an
AGGREGATOR index in us-east-2 (default view with tags), a LOCAL index in
us-west-2, and no index in eu-west-1; account 222222222222 has its own index.
"""

from __future__ import annotations

import io
import json
import zipfile
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from drorch.sandbox import Sandbox

ACCOUNT = "111111111111"
OTHER = "222222222222"
HOME, WEST, UNINDEXED = "us-east-2", "us-west-2", "eu-west-1"
AMI = "ami-12c6146b"


def tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": k.replace("__", ":"), "Value": v} for k, v in pairs.items()]


def instance(session, name: str, **extra: str) -> str:
    return session.client("ec2").run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags(Name=name, **extra)}],
    )["Instances"][0]["InstanceId"]


def turn_on(session, aggregator: bool = False, view_name: str = "everything", **view) -> str:
    rex = session.client("resource-explorer-2")
    arn = rex.create_index()["Arn"]
    if aggregator:
        rex.update_index_type(Arn=arn, Type="AGGREGATOR")
    view_arn = rex.create_view(ViewName=view_name, **view)["View"]["ViewArn"]
    rex.associate_default_view(ViewArn=view_arn)
    return view_arn


@pytest.fixture(scope="module")
def estate():
    with Sandbox(strict=True) as sandbox:
        home = sandbox.admin_session(ACCOUNT, HOME)
        west = sandbox.admin_session(ACCOUNT, WEST)
        away = sandbox.admin_session(ACCOUNT, UNINDEXED)
        ids = SimpleNamespace()
        ids.web = instance(home, "web-1", Environment="prod", dr__wave="1", dr__enabled="true")
        ids.app = instance(home, "app-1", Environment="staging", dr__wave="2")
        ids.bare = home.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1)[
            "Instances"
        ][0]["InstanceId"]
        ids.west = instance(west, "west-1", Environment="prod", dr__wave="1")
        ids.away = instance(away, "away-1", Environment="prod")
        home.client("rds").create_db_cluster(
            DBClusterIdentifier="orders-db",
            Engine="aurora-postgresql",
            MasterUsername="admin",
            MasterUserPassword="password-123",
            Tags=tags(Environment="prod", dr__wave="3"),
        )
        west.client("rds").create_db_instance(
            DBInstanceIdentifier="reports",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="admin",
            MasterUserPassword="password-123",
            AllocatedStorage=20,
            Tags=tags(Environment="dev team"),
        )
        role = home.client("iam").create_role(
            RoleName="fn-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
        home.client("lambda").create_function(
            FunctionName="billing-fn",
            Runtime="python3.11",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code.getvalue()},
            Tags={"Customer": "acme"},
        )
        ecs = home.client("ecs")
        ecs.create_cluster(clusterName="shop", tags=[{"key": "Environment", "value": "prod"}])
        ecs.register_task_definition(
            family="cart", containerDefinitions=[{"name": "c", "image": "cart", "memory": 128}]
        )
        ecs.create_service(
            cluster="shop",
            serviceName="cart",
            taskDefinition="cart",
            desiredCount=0,
            tags=[{"key": "dr:wave", "value": "2"}],
        )
        zone = home.client("route53").create_hosted_zone(Name="shop.example.", CallerReference="z")
        zone_id = zone["HostedZone"]["Id"].split("/")[-1]
        home.client("route53").change_tags_for_resource(
            ResourceType="hostedzone", ResourceId=zone_id, AddTags=tags(Environment="prod")
        )
        ids.zone = zone_id
        from drorch.sandbox.drs.models import drs_backends

        # The DRS fake keeps SourceServer records; seed one the way it stores them.
        drs_backends[ACCOUNT][HOME].source_servers["s-1234567890abcdef0"] = SimpleNamespace(
            source_server_id="s-1234567890abcdef0",
            arn=f"arn:aws:drs:{HOME}:{ACCOUNT}:source-server/s-1234567890abcdef0",
            tags={"dr:wave": "1", "Name": "legacy-app"},
        )
        ids.default_view = turn_on(home, aggregator=True, IncludedProperties=[{"Name": "tags"}])
        ids.west_view = turn_on(west, view_name="west-only")
        other = sandbox.admin_session(OTHER, HOME)
        instance(other, "other-web", Environment="prod", dr__wave="1")
        ids.other_view = turn_on(other, aggregator=True)
        ids.sandbox = sandbox
        ids.rex = home.client("resource-explorer-2")
        ids.west_rex = west.client("resource-explorer-2")
        ids.other_rex = other.client("resource-explorer-2")
        yield ids
        assert sandbox.state.fidelity.violations == []


def search(rex, query: str = "", **kwargs) -> list[dict]:
    found: list[dict] = []
    for page in rex.get_paginator("search").paginate(QueryString=query, **kwargs):
        found += page["Resources"]
    return found


def ids_of(resources: list[dict]) -> set[str]:
    return {r["Arn"].rsplit("/", 1)[-1].rsplit(":", 1)[-1] for r in resources}


def test_tag_filter_finds_tagged_resources_of_every_indexed_region(estate):
    found = ids_of(search(estate.rex, "tag:dr:wave=1"))
    assert found == {estate.web, estate.west, "s-1234567890abcdef0"}


def test_resource_shape_and_tags_property(estate):
    (web,) = search(estate.rex, f"id:{estate.web}")
    assert web["Arn"] == f"arn:aws:ec2:{HOME}:{ACCOUNT}:instance/{estate.web}"
    assert (web["OwningAccountId"], web["Region"]) == (ACCOUNT, HOME)
    assert (web["ResourceType"], web["Service"]) == ("ec2:instance", "ec2")
    assert web["LastReportedAt"] == estate.sandbox.now()
    (prop,) = web["Properties"]
    assert prop["Name"] == "tags"
    assert {t["Key"]: t["Value"] for t in prop["Data"]} == {
        "Name": "web-1",
        "Environment": "prod",
        "dr:wave": "1",
        "dr:enabled": "true",
    }


def test_real_arns_and_types_per_service(estate):
    by_type = {r["ResourceType"]: r for r in search(estate.rex, "-service:ec2 -service:iam")}
    assert by_type["rds:cluster"]["Arn"] == f"arn:aws:rds:{HOME}:{ACCOUNT}:cluster:orders-db"
    assert by_type["rds:db"]["Arn"] == f"arn:aws:rds:{WEST}:{ACCOUNT}:db:reports"
    assert by_type["lambda:function"]["Arn"] == (
        f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:billing-fn"
    )
    assert by_type["ecs:cluster"]["Arn"] == f"arn:aws:ecs:{HOME}:{ACCOUNT}:cluster/shop"
    assert by_type["ecs:service"]["Arn"].endswith(":service/shop/cart")
    assert by_type["ecs:task-definition"]["Arn"].endswith(":task-definition/cart:1")
    assert by_type["route53:hostedzone"]["Arn"] == f"arn:aws:route53:::hostedzone/{estate.zone}"
    assert by_type["route53:hostedzone"]["Region"] == "global"
    assert by_type["drs:source-server"]["Service"] == "drs"
    assert by_type["resource-explorer-2:view"]["Arn"] in (estate.default_view, estate.west_view)


def test_keywords_match_names_ids_and_tag_values(estate):
    assert ids_of(search(estate.rex, "web-1")) == {estate.web}
    assert ids_of(search(estate.rex, "orders-db billing")) == {"orders-db", "billing-fn"}
    assert ids_of(search(estate.rex, estate.app.upper())) == {estate.app}  # case insensitive


def test_quoted_values_with_spaces(estate):
    assert ids_of(search(estate.rex, 'tag:Environment="dev team"')) == {"reports"}
    assert ids_of(search(estate.rex, '"dev team"')) == {"reports"}


def test_key_only_value_only_and_wildcards(estate):
    assert ids_of(search(estate.rex, "tag:dr:enabled")) == {estate.web}
    assert ids_of(search(estate.rex, "tag.key:dr:enabled")) == {estate.web}
    assert ids_of(search(estate.rex, "tag.value:acme")) == {"billing-fn"}
    assert ids_of(search(estate.rex, "tag:Environment=dev*")) == {"reports"}
    assert ids_of(search(estate.rex, "resourcetype:rds:* tag:Environment")) == {
        "orders-db",
        "reports",
    }


def test_tag_none_and_supports_tags(estate):
    untagged = search(estate.rex, "tag:none resourcetype:ec2:instance")
    assert ids_of(untagged) == {estate.bare}
    # IAM tags are not indexed by Resource Explorer: the role is untagged and not taggable
    assert "fn-role" in ids_of(search(estate.rex, "tag:none service:iam"))
    assert "fn-role" not in ids_of(search(estate.rex, "tag:none resourcetype.supports:tags"))


def test_same_prefix_ors_and_different_prefixes_and(estate):
    both_regions = search(estate.rex, f"region:{HOME} region:{WEST} resourcetype:ec2:instance")
    assert ids_of(both_regions) == {estate.web, estate.app, estate.bare, estate.west}
    assert ids_of(search(estate.rex, f"tag:Environment=prod region:{WEST}")) == {estate.west}
    assert ids_of(search(estate.rex, "service:ecs service:lambda tag:dr:wave")) == {"cart"}


def test_negation_excludes(estate):
    prod = ids_of(search(estate.rex, "tag:Environment=prod"))
    not_ec2 = ids_of(search(estate.rex, "tag:Environment=prod -service:ec2"))
    assert not_ec2 == prod - {estate.web, estate.west}
    assert not_ec2 == {"orders-db", "shop", estate.zone}
    everything = ids_of(search(estate.rex))
    assert ids_of(search(estate.rex, "-tag:Environment=prod")) == everything - prod


def test_keywords_and_filters_combine_with_and(estate):
    assert ids_of(search(estate.rex, "web-1 west-1 tag:Environment=prod")) == {
        estate.web,
        estate.west,
    }
    assert ids_of(search(estate.rex, f"web-1 west-1 region:{WEST}")) == {estate.west}


def test_unindexed_region_is_not_searchable(estate):
    assert search(estate.rex, f"region:{UNINDEXED}") == []
    assert estate.away not in ids_of(search(estate.rex, "tag:Environment=prod"))


def test_local_index_view_sees_only_its_region_and_global(estate):
    found = search(estate.west_rex, "tag:Environment")
    assert {r["Region"] for r in found} == {WEST, "global"}
    assert ids_of(found) == {estate.west, "reports", estate.zone}
    # the west view does not include the tags property
    assert all(r["Properties"] == [] for r in found)


def test_view_filter_is_anded_with_the_query(estate):
    rex = estate.rex
    view = rex.create_view(
        ViewName="prod-ec2",
        Filters={"FilterString": "tag:Environment=prod service:ec2"},
    )["View"]["ViewArn"]
    try:
        assert ids_of(search(rex, "", ViewArn=view)) == {estate.web, estate.west}
        assert ids_of(search(rex, f"region:{HOME}", ViewArn=view)) == {estate.web}
        # a same-prefix term in the query does not widen the view's filter
        assert ids_of(search(rex, "service:rds", ViewArn=view)) == set()
    finally:
        rex.delete_view(ViewArn=view)


def test_accounts_are_isolated(estate):
    other = search(estate.other_rex, "tag:dr:wave=1")
    assert len(other) == 1 and other[0]["OwningAccountId"] == OTHER
    assert all(r["OwningAccountId"] == ACCOUNT for r in search(estate.rex))
    assert search(estate.rex, f"accountid:{OTHER}") == []
    with pytest.raises(ClientError) as caught:
        estate.rex.search(QueryString="", ViewArn=estate.other_view)
    assert caught.value.response["Error"]["Code"] == "UnauthorizedException"


def test_search_pages_with_next_token(estate):
    everything = search(estate.rex)
    first = estate.rex.search(QueryString="", MaxResults=5)
    assert len(first["Resources"]) == 5 and first["NextToken"]
    assert first["Count"] == {"TotalResources": len(everything), "Complete": True}
    assert first["ViewArn"] == estate.default_view
    paged = search(estate.rex, "", PaginationConfig={"PageSize": 5})
    assert [r["Arn"] for r in paged] == [r["Arn"] for r in everything]
    with pytest.raises(ClientError) as caught:  # a token is bound to its query
        estate.rex.search(QueryString="service:ec2", NextToken=first["NextToken"])
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_list_resources_filters_and_pages(estate):
    rex = estate.rex
    pages = list(
        rex.get_paginator("list_resources").paginate(
            Filters={"FilterString": "resourcetype:ec2:instance"},
            PaginationConfig={"PageSize": 2},
        )
    )
    assert len(pages) == 2 and all(p["ViewArn"] == estate.default_view for p in pages)
    found = [r for p in pages for r in p["Resources"]]
    assert ids_of(found) == {estate.web, estate.app, estate.bare, estate.west}
    assert ids_of(rex.list_resources()["Resources"]) == ids_of(search(rex))
    with pytest.raises(ClientError) as caught:  # filters only: no free text
        rex.list_resources(Filters={"FilterString": "web-1"})
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_invalid_query_is_a_validation_error(estate):
    with pytest.raises(ClientError) as caught:
        estate.rex.search(QueryString='tag:Name="web')
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert "double quote" in error["Error"]["Message"]
    assert error["FieldList"][0]["Name"] == "QueryString"


def test_new_resources_are_searchable_at_once_and_deleted_ones_disappear(estate):
    rex = estate.rex
    ec2 = estate.sandbox.admin_session(ACCOUNT, HOME).client("ec2")
    new = instance(estate.sandbox.admin_session(ACCOUNT, HOME), "late-1", Temp="yes")
    assert ids_of(search(rex, "tag:Temp=yes")) == {new}
    ec2.terminate_instances(InstanceIds=[new])
    assert search(rex, "tag:Temp=yes") == []
