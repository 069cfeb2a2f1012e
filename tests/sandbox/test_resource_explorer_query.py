"""Resource Explorer's query language: the pure parser and matcher."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drorch.sandbox.resourceexplorer.inventory import IndexedResource
from drorch.sandbox.resourceexplorer.query import QuerySyntaxError, parse_query

ACCOUNT = "111111111111"


def res(rtype: str, arn_tail: str, region: str = "us-east-2", **tags: str) -> IndexedResource:
    service = rtype.split(":")[0]
    return IndexedResource(
        arn=f"arn:aws:{service}:{region}:{ACCOUNT}:{arn_tail}",
        account_id=ACCOUNT,
        region=region,
        resource_type=rtype,
        tags=dict(tags),
    )


WEB = res("ec2:instance", "instance/i-0web", Name="web-1", Environment="prod", **{"dr:wave": "1"})
APP = res("ec2:instance", "instance/i-0app", Name="app-1", Environment="staging")
BARE = res("ec2:instance", "instance/i-0bare")
DB = res("rds:cluster", "cluster:orders", "us-west-2", Environment="prod", Owner="data team")
SYS = res("ec2:volume", "volume/vol-0sys", **{"aws:cloudformation:stack-name": "s"})
ALL = [WEB, APP, BARE, DB, SYS]


def names(query: str) -> set[str]:
    parsed = parse_query(query)
    return {r.resource_id for r in ALL if parsed.matches(r)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"i-0web", "i-0app", "i-0bare", "orders", "vol-0sys"}),
        ("web", {"i-0web"}),  # keyword in the ARN and in a tag value
        ("web app", {"i-0web", "i-0app"}),  # keywords are ORed
        ("WEB", {"i-0web"}),  # case insensitive
        ('"data team"', {"orders"}),  # quoted keyword with a space
        ("tag:Environment=prod", {"i-0web", "orders"}),
        ("tag:environment=PROD", {"i-0web", "orders"}),
        ("tag:dr:wave=1", {"i-0web"}),  # keys with colons
        ("tag:Environment", {"i-0web", "i-0app", "orders"}),  # key with any value
        ("tag:Environment=pro*", {"i-0web", "orders"}),
        ("tag:Env*=staging", {"i-0app"}),
        ('tag:Owner="data team"', {"orders"}),
        ("tag:none", {"i-0bare", "vol-0sys"}),  # aws: tags are not user tags
        ("tag:all", {"i-0web", "i-0app", "orders"}),
        ("tag.key:Name", {"i-0web", "i-0app"}),
        ("tag.value:prod", {"i-0web", "orders"}),
        ("resourcetype:ec2:instance", {"i-0web", "i-0app", "i-0bare"}),
        ("resourcetype:ec2:*", {"i-0web", "i-0app", "i-0bare", "vol-0sys"}),
        ("service:rds", {"orders"}),
        ("region:us-west-2", {"orders"}),
        ("region:us-*", {"i-0web", "i-0app", "i-0bare", "orders", "vol-0sys"}),
        (f"accountid:{ACCOUNT}", {"i-0web", "i-0app", "i-0bare", "orders", "vol-0sys"}),
        ("accountid:222222222222", set()),
        ("id:i-0web", {"i-0web"}),
        (f"id:arn:aws:rds:us-west-2:{ACCOUNT}:cluster:*", {"orders"}),
        ("resourcetype.supports:tags", {"i-0web", "i-0app", "i-0bare", "orders", "vol-0sys"}),
        ("application:payments", set()),
        # same prefix: OR; different prefixes: AND
        (
            "region:us-east-2 region:us-west-2",
            {"i-0web", "i-0app", "i-0bare", "orders", "vol-0sys"},
        ),
        ("tag:Environment=prod service:ec2", {"i-0web"}),
        ("tag:Environment=prod tag:Environment=staging", {"i-0web", "i-0app", "orders"}),
        # keywords AND filters
        ("web orders service:ec2", {"i-0web"}),
        # negation
        ("-tag:Environment=prod", {"i-0app", "i-0bare", "vol-0sys"}),
        ("-tag:none", {"i-0web", "i-0app", "orders"}),
        ("service:ec2 -resourcetype:ec2:volume -web", {"i-0app", "i-0bare"}),
        ("-region:us-east-2 -region:us-west-2", set()),  # each negation excludes
        ('"tag:Environment=prod"', set()),  # quoted: a literal keyword, not a filter
    ],
)
def test_query_semantics(query, expected):
    assert names(query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('tag:Name="web', "unmatched double quote"),
        ("region:", "needs a value"),
        ("-", "must be followed"),
        ("we*b", "only at the end"),
        ("tag:=prod", "tag key is empty"),
        ("resourcetype.supports:colour", "accepts only tags"),
    ],
)
def test_invalid_queries_are_rejected_with_a_reason(query, message):
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(query)


def test_view_filters_reject_free_text_but_accept_filters():
    with pytest.raises(QuerySyntaxError, match="free-form keyword"):
        parse_query("service:ec2 web", allow_keywords=False)
    view = parse_query("region:us* service:ec2 -tag:stage=prod", allow_keywords=False)
    assert {r.resource_id for r in ALL if view.matches(r)} == {
        "i-0web",
        "i-0app",
        "i-0bare",
        "vol-0sys",
    }


def test_quoted_star_is_literal():
    star = res("sns:topic", "weird*name")
    assert parse_query('"weird*name"').matches(star)
    assert parse_query('id:"weird*"').matches(star) is False


# --- properties ------------------------------------------------------------------

words = st.sampled_from(["prod", "staging", "web", "db", "1", "2", "dr:wave", "Environment"])
regions = st.sampled_from(["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "global"])
types = st.sampled_from(["ec2:instance", "ec2:subnet", "rds:cluster", "rds:db", "lambda:function"])
tag_maps = st.dictionaries(words, words, max_size=3)


@st.composite
def resources(draw):
    rtype = draw(types)
    region = draw(regions)
    ident = draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True))
    return IndexedResource(
        arn=f"arn:aws:{rtype.split(':')[0]}:{region}:{ACCOUNT}:{rtype.split(':')[1]}/{ident}",
        account_id=ACCOUNT,
        region=region,
        resource_type=rtype,
        tags=draw(tag_maps),
    )


@st.composite
def terms(draw):
    """One unnegated query term of any kind."""
    kind = draw(
        st.sampled_from(["kw", "tag", "tagkey", "tagvalue", "tagkv", "type", "region", "none"])
    )
    word, other = draw(words), draw(words)
    wildcard = "*" if draw(st.booleans()) else ""
    return {
        "kw": word,
        "tag": f"tag:{word}",
        "tagkey": f"tag.key:{word}{wildcard}",
        "tagvalue": f"tag.value:{word}{wildcard}",
        "tagkv": f"tag:{word}={other}{wildcard}",
        "type": f"resourcetype:{draw(types)}",
        "region": f"region:{draw(regions)}",
        "none": "tag:none",
    }[kind]


@settings(suppress_health_check=[HealthCheck.too_slow])  # from_regex is slow on a busy box
@given(terms(), resources())
def test_negation_is_the_complement(term, resource):
    assert parse_query(term).matches(resource) != parse_query("-" + term).matches(resource)


@settings(suppress_health_check=[HealthCheck.too_slow])  # from_regex is slow on a busy box
@given(st.lists(terms(), min_size=1, max_size=4), st.randoms(), resources())
def test_term_order_does_not_matter(term_list, rnd, resource):
    shuffled = list(term_list)
    rnd.shuffle(shuffled)
    assert parse_query(" ".join(term_list)).matches(resource) == parse_query(
        " ".join(shuffled)
    ).matches(resource)


@settings(suppress_health_check=[HealthCheck.too_slow])  # from_regex is slow on a busy box
@given(terms(), terms(), resources())
def test_adding_a_term_of_another_kind_only_narrows(first, second, resource):
    both = parse_query(f"{first} {second}")
    one, two = parse_query(first).terms[0], parse_query(second).terms[0]
    if (one.group or one.kind) != (two.group or two.kind):  # tag: groups by tag key
        assert both.matches(resource) == (
            parse_query(first).matches(resource) and parse_query(second).matches(resource)
        )
    else:  # same prefix (or tag key, or both keywords): OR
        assert both.matches(resource) == (
            parse_query(first).matches(resource) or parse_query(second).matches(resource)
        )


@settings(suppress_health_check=[HealthCheck.too_slow])  # from_regex is slow on a busy box
@given(tag_maps, resources())
def test_a_resource_matches_each_of_its_own_tags(tags, resource):
    tagged = IndexedResource(
        resource.arn, resource.account_id, resource.region, resource.resource_type, tags
    )
    for key, value in tags.items():
        assert parse_query(f'tag:"{key}"="{value}"').matches(tagged)
        assert parse_query(f'tag.key:"{key}"').matches(tagged)
    assert parse_query("tag:none").matches(tagged) == (not tags)
