"""Resource Explorer ``Search`` follows the documented query syntax.

Source: *Search query syntax reference for Resource Explorer*
(https://docs.aws.amazon.com/resource-explorer/latest/userguide/using-search-query-syntax.html)
and the SearchFilter API reference
(https://docs.aws.amazon.com/resource-explorer/latest/apireference/API_SearchFilter.html):
keywords are joined with OR; filters with the same prefix are joined with OR and
different filters with AND (for ``tag:``, the same filter is the same tag key); a filter
value may list alternatives separated by commas; double quotes make one literal value
(spaces and commas included); ``-`` negates a keyword or a filter, quoted values too.
"""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import REGION

AMI = "ami-12c6146b"


@pytest.fixture
def search(env):
    session = env.sandbox.admin_session(env.account, REGION)
    ec2 = session.client("ec2")
    names = {}
    for name, tags in {
        "web-1": {"Environment": "prod", "Team": "web"},
        "app-1": {"Environment": "staging", "Team": "app"},
        "db-1": {"Environment": "prod", "Team": "data team"},
        "tool-1": {"Environment": "dev,test", "Team": "web"},
    }.items():
        instance = ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "Name", "Value": name}]
                    + [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        )["Instances"][0]["InstanceId"]
        names[instance] = name
    rex = session.client("resource-explorer-2")
    rex.create_index()
    view = rex.create_view(ViewName="all", IncludedProperties=[{"Name": "tags"}])["View"]
    rex.associate_default_view(ViewArn=view["ViewArn"])

    def run(query: str) -> set[str]:
        found = set()
        for page in rex.get_paginator("search").paginate(QueryString=query):
            for resource in page["Resources"]:
                if resource["ResourceType"] == "ec2:instance":
                    found.add(names[resource["Arn"].rsplit("/", 1)[-1]])
        return found

    return run


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # repeated filters of one prefix: OR; with another prefix: AND
        ("tag:Environment=prod tag:Environment=staging", {"web-1", "app-1", "db-1"}),
        ("region:us-east-2 region:eu-west-1 tag:Team=web", {"web-1", "tool-1"}),
        # two tag: filters on different keys: the resource needs both
        ("tag:Environment=prod tag:Team=web", {"web-1"}),
        # comma-separated alternatives
        ("tag:Environment=prod,staging", {"web-1", "app-1", "db-1"}),
        ("tag:Team=web,app tag:Environment=prod", {"web-1"}),
        # a quoted comma is part of the value
        ('tag:Environment="dev,test"', {"tool-1"}),
        # quoted values, negated
        ('-tag:Team="data team" tag:Environment=prod', {"web-1"}),
        ('tag:Environment=prod -"data team"', {"web-1"}),
        ("-tag:Environment=prod,staging tag:all", {"tool-1"}),
    ],
)
def test_search_follows_the_documented_query_syntax(search, query, expected):
    assert search(query) == expected


def test_service_views_and_member_indexes(env):
    """API_GetServiceIndex ("the index of this account in this Region"), API_ListServiceViews,
    API_ListManagedViews, API_ListStreamingAccessForServices (empty: no AWS service made
    any in the sandbox), API_GetManagedView (ResourceNotFoundException for an unknown ARN)
    and API_ListIndexesForMembers (the member accounts' indexes, with their account)."""
    rex = env.sandbox.admin_session(env.account, REGION).client("resource-explorer-2")
    arn = rex.create_index()["Arn"]
    assert rex.get_service_index()["Arn"] == arn
    assert rex.list_service_indexes()["Indexes"][0]["Arn"] == arn
    assert rex.list_service_views()["ServiceViews"] == []
    assert rex.list_managed_views()["ManagedViews"] == []
    assert rex.list_streaming_access_for_services()["StreamingAccessForServices"] == []
    with pytest.raises(rex.exceptions.ResourceNotFoundException):
        rex.get_managed_view(
            ManagedViewArn=f"arn:aws:resource-explorer-2:{REGION}:{env.account}:managed-view/x/1"
        )
    members = rex.list_indexes_for_members(AccountIdList=[env.account])["Indexes"]
    assert members == [{"AccountId": env.account, "Region": REGION, "Arn": arn, "Type": "LOCAL"}]


def test_multi_region_setup_task(env):
    """API_CreateResourceExplorerSetup / API_GetResourceExplorerSetup /
    API_DeleteResourceExplorerSetup: the task creates an index in each Region listed,
    promotes the aggregator Region's, creates the view there (made default), and reports
    each Region's index and view status; the delete task removes the indexes."""
    rex = env.sandbox.admin_session(env.account, REGION).client("resource-explorer-2")
    task = rex.create_resource_explorer_setup(
        RegionList=[REGION, "us-west-2"], AggregatorRegions=[REGION], ViewName="all-resources"
    )["TaskId"]
    regions = {r["Region"]: r for r in rex.get_resource_explorer_setup(TaskId=task)["Regions"]}
    assert regions[REGION]["Index"]["Index"]["Type"] == "AGGREGATOR"
    assert regions[REGION]["View"]["View"]["ViewName"] == "all-resources"
    assert regions["us-west-2"]["Index"]["Status"] == "SUCCEEDED"
    assert regions["us-west-2"]["View"]["Status"] == "SKIPPED"
    assert rex.get_default_view()["ViewArn"] == regions[REGION]["View"]["View"]["ViewArn"]
    deleted = rex.delete_resource_explorer_setup(DeleteInAllRegions=True)["TaskId"]
    statuses = rex.get_resource_explorer_setup(TaskId=deleted)["Regions"]
    assert {r["Region"]: r["Index"]["Status"] for r in statuses} == {
        REGION: "SUCCEEDED",
        "us-west-2": "SUCCEEDED",
    }
    assert rex.list_indexes()["Indexes"] == []
