"""Resource Explorer's search query language: parse a query string, match resources.

Pure functions, no moto: :func:`parse_query` turns a ``QueryString`` (or a view's
``FilterString``) into a :class:`Query`, and :meth:`Query.matches` decides whether
one :class:`~drorch.sandbox.resourceexplorer.inventory.IndexedResource` is in
the result set.

The syntax follows the "Search query syntax reference for Resource Explorer":

* terms are separated by spaces; double quotes group characters (spaces
  included) into one literal term (``"my server"``, ``tag:Name="web 1"``);
* free-form **keywords** are joined with OR: ``ec2 billing`` matches resources
  whose ARN, resource id, name, tag keys or tag values contain ``ec2`` or
  ``billing`` (a substring match; a trailing ``*`` changes nothing);
* **filters** have the form ``prefix:value``: ``accountid:``, ``application:``,
  ``id:``, ``region:``, ``resourcetype:``, ``resourcetype.supports:``,
  ``service:``, ``tag:``, ``tag.key:`` and ``tag.value:``;
* filters that share a prefix are joined with OR, filters with different
  prefixes and the keyword group are joined with AND
  (``region:us-east-1 region:us-west-2 service:ec2`` is "EC2 in either Region");
  for ``tag:`` the "same filter" is the same tag key: ``tag:env=prod tag:env=dev``
  is either value, ``tag:env=prod tag:team=data`` needs both tags;
* a filter value may be a comma-separated list, any of which matches
  (``region:us-east-1,us-west-2``, ``tag:env=prod,dev``); a comma inside double
  quotes is literal; a negated list excludes every value in it;
* ``-`` in front of any term negates it (``-tag:stage=prod``, ``-service:iam``);
  negated terms are each ANDed as exclusions;
* ``*`` at the end of a value matches any suffix (``region:us-*``); a ``*``
  anywhere else in an unquoted value is rejected; inside quotes it is literal;
* ``tag:key=value``, ``tag:key`` (the key with any value), ``tag:none`` (no
  user-created tag, that is none outside the ``aws:`` namespace) and
  ``tag:all`` (at least one user-created tag);
* matching is completely case insensitive.

A view's ``FilterString`` accepts filters only (``allow_keywords=False``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

# prefix -> what the value is matched against; longest first so that
# "tag.key:" wins over "tag:" and "resourcetype.supports:" over "resourcetype:".
FILTER_PREFIXES: tuple[str, ...] = (
    "resourcetype.supports",
    "resourcetype",
    "application",
    "tag.value",
    "accountid",
    "tag.key",
    "service",
    "region",
    "tag",
    "id",
)
SUPPORTS_VALUES = ("tags",)
SYSTEM_TAG_PREFIX = "aws:"


class QuerySyntaxError(ValueError):
    """The query string does not follow the Resource Explorer syntax."""


class Searchable(Protocol):
    """What the matcher reads from a resource (see ``inventory.IndexedResource``)."""

    arn: str
    account_id: str
    region: str
    service: str
    resource_type: str
    tags: dict[str, str]
    supports_tags: bool
    name: str

    @property
    def resource_id(self) -> str: ...


@dataclass(frozen=True)
class Pattern:
    """A lower-cased literal, optionally ending in a ``*`` wildcard."""

    text: str
    wildcard: bool = False

    def matches(self, value: str) -> bool:
        value = value.lower()
        return value.startswith(self.text) if self.wildcard else value == self.text

    def occurs_in(self, value: str) -> bool:
        return self.text in value.lower()


@dataclass(frozen=True)
class Term:
    """One term of a query: a keyword or a ``prefix:value`` filter, maybe negated."""

    kind: str  # "keyword" or one of FILTER_PREFIXES
    negated: bool
    pattern: Pattern
    tag_value: Pattern | None = None  # tag:key=value -> the value part
    special: str = ""  # tag:none / tag:all
    group: str = ""  # terms of one group are ORed, groups are ANDed (default: kind)

    def test(self, resource: Searchable) -> bool:
        """Whether the resource satisfies the term, ignoring ``negated``."""
        return _TESTS[self.kind](self, resource)


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return not self.terms

    def matches(self, resource: Searchable) -> bool:
        groups: dict[str, list[Term]] = {}
        for term in self.terms:
            if term.negated:
                if term.test(resource):
                    return False
            else:
                groups.setdefault(term.group or term.kind, []).append(term)
        return all(any(term.test(resource) for term in group) for group in groups.values())

    def filter(self, resources: Iterable[Searchable]) -> list[Searchable]:
        return [resource for resource in resources if self.matches(resource)]


# --- matching -----------------------------------------------------------------


def _user_tags(resource: Searchable) -> dict[str, str]:
    return {
        key: value
        for key, value in resource.tags.items()
        if not key.lower().startswith(SYSTEM_TAG_PREFIX)
    }


def _test_keyword(term: Term, resource: Searchable) -> bool:
    haystack = [resource.arn, resource.resource_id, resource.name]
    for key, value in resource.tags.items():
        haystack.append(key)
        haystack.append(value)
    return any(term.pattern.occurs_in(text) for text in haystack)


def _test_tag(term: Term, resource: Searchable) -> bool:
    if term.special == "none":
        return not _user_tags(resource)
    if term.special == "all":
        return bool(_user_tags(resource))
    for key, value in resource.tags.items():
        if term.pattern.matches(key) and (term.tag_value is None or term.tag_value.matches(value)):
            return True
    return False


def _test_id(term: Term, resource: Searchable) -> bool:
    return term.pattern.matches(resource.arn) or term.pattern.matches(resource.resource_id)


_TESTS = {
    "keyword": _test_keyword,
    "accountid": lambda term, r: term.pattern.matches(r.account_id),
    # The sandbox has no myApplications/AppRegistry: no resource belongs to one.
    "application": lambda term, r: False,
    "id": _test_id,
    "region": lambda term, r: term.pattern.matches(r.region),
    "resourcetype": lambda term, r: term.pattern.matches(r.resource_type),
    "resourcetype.supports": lambda term, r: r.supports_tags,
    "service": lambda term, r: term.pattern.matches(r.service),
    "tag": _test_tag,
    "tag.key": lambda term, r: any(term.pattern.matches(key) for key in r.tags),
    "tag.value": lambda term, r: any(term.pattern.matches(value) for value in r.tags.values()),
}


# --- parsing ------------------------------------------------------------------

# A token is a list of (character, quoted) pairs: quoting only protects characters.
_Token = list[tuple[str, bool]]


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    current: _Token = []
    quoted = False
    started = False  # a pair of quotes alone ("") still makes a token
    for char in text:
        if char == '"':
            quoted = not quoted
            started = True
        elif char.isspace() and not quoted:
            if current or started:
                tokens.append(current)
            current, started = [], False
        else:
            current.append((char, quoted))
    if quoted:
        raise QuerySyntaxError('the query has an unmatched double quote (")')
    if current or started:
        tokens.append(current)
    return tokens


def _plain(token: _Token) -> str:
    return "".join(char for char, _ in token)


def _pattern(token: _Token, what: str) -> Pattern:
    wildcard = bool(token) and token[-1] == ("*", False)
    body = token[:-1] if wildcard else token
    if any(pair == ("*", False) for pair in body):
        raise QuerySyntaxError(
            f"{what}: the wildcard (*) is allowed only at the end of a value; "
            "put the value in double quotes to search for a literal *"
        )
    return Pattern(_plain(body).lower(), wildcard)


def _split_prefix(token: _Token) -> tuple[str, _Token] | None:
    for prefix in FILTER_PREFIXES:
        head = token[: len(prefix) + 1]
        if not any(quoted for _, quoted in head) and _plain(head).lower() == prefix + ":":
            return prefix, token[len(prefix) + 1 :]
    return None


def _split_values(token: _Token) -> list[_Token]:
    """A filter value's comma-separated alternatives (a quoted comma is literal)."""
    values: list[_Token] = [[]]
    for pair in token:
        if pair == (",", False):
            values.append([])
        else:
            values[-1].append(pair)
    return values


def _parse_tag(rest: _Token, negated: bool, source: str) -> list[Term]:
    split = next((i for i, pair in enumerate(rest) if pair == ("=", False)), None)
    if split is None:
        bare = _plain(rest)
        if not any(quoted for _, quoted in rest) and bare.lower() in ("none", "all"):
            special = bare.lower()
            return [Term("tag", negated, Pattern(special), special=special, group=f"tag {special}")]
        keys = [_pattern(key, source) for key in _split_values(rest)]
        return [Term("tag", negated, key, group=f"tag {key}") for key in keys]
    key_token, value = rest[:split], rest[split + 1 :]
    if not key_token:
        raise QuerySyntaxError(f"{source}: the tag key is empty; use tag:<key>=<value>")
    key = _pattern(key_token, source)
    return [
        Term("tag", negated, key, tag_value=_pattern(alternative, source), group=f"tag {key}")
        for alternative in _split_values(value)
    ]


def _parse_term(token: _Token, allow_keywords: bool) -> list[Term]:
    source = _plain(token)
    negated = bool(token) and token[0] == ("-", False)
    body = token[1:] if negated else token
    if negated and not body:
        raise QuerySyntaxError("the NOT operator (-) must be followed by a keyword or filter")
    split = _split_prefix(body)
    if split is None:
        if not allow_keywords:
            raise QuerySyntaxError(
                f"{source!r} is a free-form keyword; a view's filter string accepts only "
                "filters (prefix:value, for example region:us-east-1 or tag:stage=prod)"
            )
        if not body:
            raise QuerySyntaxError('an empty quoted keyword ("") matches nothing; remove it')
        return [Term("keyword", negated, _pattern(body, source))]
    prefix, rest = split
    if not rest:
        raise QuerySyntaxError(f"{source}: the filter {prefix}: needs a value")
    if prefix == "tag":
        return _parse_tag(rest, negated, source)
    terms = []
    for alternative in _split_values(rest):
        if not alternative:
            raise QuerySyntaxError(f"{source}: an empty value in the list; remove the comma")
        pattern = _pattern(alternative, source)
        if prefix == "resourcetype.supports" and pattern.text not in SUPPORTS_VALUES:
            raise QuerySyntaxError(
                f"{source}: resourcetype.supports: accepts only {', '.join(SUPPORTS_VALUES)}"
            )
        terms.append(Term(prefix, negated, pattern))
    return terms


def parse_query(text: str, *, allow_keywords: bool = True) -> Query:
    """Parse a Search ``QueryString`` (or, with ``allow_keywords=False``, a view filter)."""
    return Query(
        tuple(
            term for token in _tokenize(text or "") for term in _parse_term(token, allow_keywords)
        )
    )
