"""Fake AWS Resource Explorer (resource-explorer-2): indexes, views and search.

One :class:`ResourceExplorerBackend` per account and Region (moto's
``BackendDict``) holds that Region's index and views. Account-wide rules (one
aggregator index per account, the 24-hour wait after an aggregator is demoted
or deleted, ``ListIndexes``) look across the account's Region backends.

What is searchable comes from :mod:`.inventory` (the resources that exist in the
sandbox right now) and is filtered with :mod:`.query`.

Simplifications, on purpose:

* indexing is immediate: a resource is searchable as soon as it exists, and a
  promotion to AGGREGATOR replicates at once unless :data:`TIMINGS` says
  otherwise (``CREATING``/``UPDATING`` last ``TIMINGS.*_seconds`` of simulated
  time, 0 by default, so an index reads ``ACTIVE`` right after the call);
* ``DeleteIndex`` removes the index and the Region's views at once;
* global resources (Route 53, IAM) are in every Region's index;
* views are account-scoped only (no organization-wide views).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from drorch.sandbox.resourceexplorer import inventory
from drorch.sandbox.resourceexplorer.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    UnauthorizedException,
    ValidationException,
)
from drorch.sandbox.resourceexplorer.query import Query, QuerySyntaxError, parse_query
from drorch.sandbox.state import STATE

SEARCH_RESULT_LIMIT = 1000  # Search counts and returns at most 1,000 resources
AGGREGATOR_COOLDOWN = timedelta(hours=24)
TOKEN_LIFETIME = timedelta(hours=24)
VIEW_NAME = re.compile(r"^[a-zA-Z0-9\-]{1,64}$")
INCLUDABLE_PROPERTIES = ("tags",)
_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):resource-explorer-2:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<kind>index|view)/(?P<rest>.+)$"
)


@dataclass
class IndexTimings:
    """How long index state transitions take, in simulated seconds."""

    create_seconds: float = 0.0  # CREATING -> ACTIVE
    update_seconds: float = 0.0  # UPDATING -> ACTIVE after UpdateIndexType


TIMINGS = IndexTimings()


def _now() -> datetime:
    return STATE.clock.now()


@dataclass
class Index:
    arn: str
    region: str
    type: str = "LOCAL"
    created_at: datetime = field(default_factory=_now)
    last_updated_at: datetime = field(default_factory=_now)
    tags: dict[str, str] = field(default_factory=dict)
    client_token: str | None = None
    transition: str = "CREATING"  # state until ready_at
    ready_at: datetime = field(default_factory=_now)

    def state(self, now: datetime) -> str:
        return self.transition if now < self.ready_at else "ACTIVE"

    def change(self, transition: str, seconds: float, now: datetime) -> None:
        self.transition = transition
        self.ready_at = now + timedelta(seconds=seconds)
        self.last_updated_at = now


@dataclass
class View:
    arn: str
    name: str
    region: str
    owner: str
    scope: str
    filter_string: str = ""
    included_properties: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    client_token: str | None = None
    last_updated_at: datetime = field(default_factory=_now)

    @property
    def filter(self) -> Query:
        return parse_query(self.filter_string, allow_keywords=False)

    def describe(self) -> dict[str, Any]:
        return {
            "ViewArn": self.arn,
            "ViewName": self.name,
            "Owner": self.owner,
            "LastUpdatedAt": self.last_updated_at,
            "Scope": self.scope,
            "IncludedProperties": [{"Name": name} for name in self.included_properties],
            "Filters": {"FilterString": self.filter_string},
        }


def parse_arn(arn: str, kind: str | None = None) -> re.Match[str] | None:
    match = _ARN.match(arn or "")
    if match is None or (kind is not None and match.group("kind") != kind):
        return None
    return match


def _filter_string(filters: dict[str, Any] | None) -> str:
    return (filters or {}).get("FilterString") or ""


def _validated_filter(filter_string: str, field_name: str) -> str:
    try:
        parse_query(filter_string, allow_keywords=False)
    except QuerySyntaxError as error:
        raise ValidationException(f"{field_name} is not valid: {error}", field_name) from None
    return filter_string


def _validated_properties(properties: list[dict[str, str]] | None) -> list[str]:
    names = [item["Name"] for item in properties or []]
    for name in names:
        if name not in INCLUDABLE_PROPERTIES:
            raise ValidationException(
                f"IncludedProperties: {name!r} is not a property a view can include; "
                f"supported: {', '.join(INCLUDABLE_PROPERTIES)}",
                "IncludedProperties",
            )
    return list(dict.fromkeys(names))


class ResourceExplorerBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.index: Index | None = None
        self.views: dict[str, View] = {}  # by ARN
        self.default_view_arn: str | None = None
        self.aggregator_cleared_at: datetime | None = None  # demoted or deleted here

    # --- account-wide helpers ---------------------------------------------------
    def _region_backends(self) -> list[ResourceExplorerBackend]:
        account = resourceexplorer_backends[self.account_id]
        return [dict.__getitem__(account, region) for region in list(dict.keys(account))]

    def _backend_for(self, region: str) -> ResourceExplorerBackend | None:
        account = resourceexplorer_backends[self.account_id]
        return dict.get(account, region)

    def _indexes(self) -> list[Index]:
        return [b.index for b in self._region_backends() if b.index is not None]

    def _aggregator(self) -> Index | None:
        return next((index for index in self._indexes() if index.type == "AGGREGATOR"), None)

    def _arn(self, kind: str, suffix: str) -> str:
        return f"arn:{self.partition}:resource-explorer-2:{self.region_name}:{self.account_id}:{kind}/{suffix}"

    # --- indexes ----------------------------------------------------------------
    def create_index(self, client_token: str | None, tags: dict[str, str] | None) -> Index:
        tags = dict(tags or {})
        if self.index is not None:
            if client_token and client_token == self.index.client_token and tags == self.index.tags:
                return self.index
            raise ConflictException(
                f"Resource Explorer already has an index in {self.region_name}: {self.index.arn}"
            )
        now = _now()
        index = Index(
            arn=self._arn("index", str(uuid.uuid4())),
            region=self.region_name,
            created_at=now,
            tags=tags,
            client_token=client_token,
        )
        index.change("CREATING", TIMINGS.create_seconds, now)
        self.index = index
        return index

    def get_index(self) -> Index:
        if self.index is None:
            raise ResourceNotFoundException(
                f"Resource Explorer is not turned on in {self.region_name}: there is no index "
                "in this Region (CreateIndex turns it on)"
            )
        return self.index

    def _own_index(self, arn: str) -> Index:
        if parse_arn(arn, "index") is None:
            raise ValidationException(f"{arn!r} is not a Resource Explorer index ARN", "Arn")
        if self.index is None or self.index.arn != arn:
            raise ResourceNotFoundException(
                f"There is no index {arn} in {self.region_name}; call this operation in the "
                "index's own Region"
            )
        return self.index

    def index_details(self, index: Index) -> dict[str, Any]:
        now = _now()
        details: dict[str, Any] = {
            "Arn": index.arn,
            "Type": index.type,
            "State": index.state(now),
            "CreatedAt": index.created_at,
            "LastUpdatedAt": index.last_updated_at,
            "Tags": dict(index.tags),
        }
        others = [other for other in self._indexes() if other.arn != index.arn]
        if index.type == "AGGREGATOR":
            details["ReplicatingFrom"] = sorted(other.region for other in others)
        else:
            aggregator = self._aggregator()
            details["ReplicatingTo"] = [aggregator.region] if aggregator else []
        return details

    def delete_index(self, arn: str) -> Index:
        index = self._own_index(arn)
        now = _now()
        if index.type == "AGGREGATOR":
            self.aggregator_cleared_at = now
        self.index = None
        self.views.clear()
        self.default_view_arn = None
        index.last_updated_at = now
        return index

    def list_indexes(
        self, index_type: str | None, regions: list[str] | None
    ) -> list[dict[str, str]]:
        wanted = set(regions or [])
        return [
            {"Region": index.region, "Arn": index.arn, "Type": index.type}
            for index in sorted(self._indexes(), key=lambda i: i.region)
            if (index_type is None or index.type == index_type)
            and (not wanted or index.region in wanted)
        ]

    def update_index_type(self, arn: str, new_type: str) -> Index:
        index = self._own_index(arn)
        now = _now()
        state = index.state(now)
        if state != "ACTIVE":
            raise ConflictException(
                f"The index {arn} is {state}; wait until it is ACTIVE before changing its type"
            )
        if new_type == index.type:
            return index
        if new_type == "AGGREGATOR":
            aggregator = self._aggregator()
            if aggregator is not None:
                raise ConflictException(
                    f"The account already has an AGGREGATOR index in {aggregator.region} "
                    f"({aggregator.arn}); demote it to LOCAL first"
                )
            cleared = [
                b.aggregator_cleared_at for b in self._region_backends() if b.aggregator_cleared_at
            ]
            if cleared and now - max(cleared) < AGGREGATOR_COOLDOWN:
                wait_until = max(cleared) + AGGREGATOR_COOLDOWN
                raise ConflictException(
                    "An aggregator index was demoted or deleted less than 24 hours ago; you can "
                    f"promote an index to AGGREGATOR again after {wait_until.isoformat()}"
                )
        else:
            self.aggregator_cleared_at = now
        index.type = new_type
        index.change("UPDATING", TIMINGS.update_seconds, now)
        return index

    # --- views ------------------------------------------------------------------
    def _require_index(self) -> Index:
        if self.index is None:
            raise ValidationException(
                f"Resource Explorer is not turned on in {self.region_name}: create an index "
                "in this Region before creating views"
            )
        return self.index

    def create_view(
        self,
        name: str,
        filters: dict[str, Any] | None,
        included_properties: list[dict[str, str]] | None,
        scope: str | None,
        tags: dict[str, str] | None,
        client_token: str | None,
    ) -> View:
        if not VIEW_NAME.match(name or ""):
            raise ValidationException(
                f"ViewName {name!r} is not valid: use 1-64 letters, digits and dashes", "ViewName"
            )
        account_scope = f"arn:{self.partition}:iam::{self.account_id}:root"
        if scope and scope != account_scope:
            raise ValidationException(
                f"Scope {scope!r} is not supported: the sandbox has account-scoped views only "
                f"({account_scope})",
                "Scope",
            )
        filter_string = _validated_filter(_filter_string(filters), "Filters")
        properties = _validated_properties(included_properties)
        self._require_index()
        for view in self.views.values():
            if client_token and view.client_token == client_token:
                if (view.name, view.filter_string, view.included_properties) == (
                    name,
                    filter_string,
                    properties,
                ):
                    return view
                raise ConflictException(
                    "ClientToken was already used for a different CreateView request"
                )
            if view.name == name:
                raise ConflictException(
                    f"A view named {name!r} already exists in {self.region_name}: {view.arn}"
                )
        view = View(
            arn=self._arn("view", f"{name}/{uuid.uuid4()}"),
            name=name,
            region=self.region_name,
            owner=self.account_id,
            scope=account_scope,
            filter_string=filter_string,
            included_properties=properties,
            tags=dict(tags or {}),
            client_token=client_token,
        )
        self.views[view.arn] = view
        return view

    def find_view(self, arn: str, field_name: str = "ViewArn") -> View:
        match = parse_arn(arn, "view")
        if match is None:
            raise ValidationException(
                f"{field_name} {arn!r} is not a Resource Explorer view ARN", field_name
            )
        if match.group("account") != self.account_id:
            raise UnauthorizedException(
                f"The view {arn} belongs to another account; this principal cannot use it"
            )
        backend = self._backend_for(match.group("region"))
        view = backend.views.get(arn) if backend else None
        if view is None:
            raise ResourceNotFoundException(f"The view {arn} does not exist")
        return view

    def update_view(
        self,
        arn: str,
        filters: dict[str, Any] | None,
        included_properties: list[dict[str, str]] | None,
    ) -> View:
        view = self.find_view(arn)
        if filters is not None:
            view.filter_string = _validated_filter(_filter_string(filters), "Filters")
        if included_properties is not None:
            view.included_properties = _validated_properties(included_properties)
        view.last_updated_at = _now()
        return view

    def delete_view(self, arn: str) -> View:
        view = self.find_view(arn)
        backend = self._backend_for(view.region)
        assert backend is not None
        del backend.views[arn]
        if backend.default_view_arn == arn:
            backend.default_view_arn = None
        return view

    def list_views(self) -> list[str]:
        return list(self.views)

    def batch_get_view(self, arns: list[str]) -> tuple[list[View], list[dict[str, str]]]:
        views, errors = [], []
        for arn in arns:
            try:
                views.append(self.find_view(arn))
            except (ValidationException, ResourceNotFoundException, UnauthorizedException) as error:
                errors.append({"ViewArn": arn, "ErrorMessage": error.message})
        return views, errors

    def associate_default_view(self, arn: str) -> View:
        view = self.find_view(arn)
        if view.region != self.region_name:
            raise ValidationException(
                f"The view {arn} is in {view.region}; a Region's default view must be in that Region",
                "ViewArn",
            )
        self.default_view_arn = arn
        return view

    def disassociate_default_view(self) -> None:
        self.default_view_arn = None

    # --- tags -------------------------------------------------------------------
    def _taggable(self, arn: str) -> Index | View:
        match = parse_arn(arn)
        if match is None:
            raise ValidationException(
                f"{arn!r} is not a Resource Explorer index or view ARN", "resourceArn"
            )
        if match.group("account") != self.account_id:
            raise UnauthorizedException(f"{arn} belongs to another account")
        if match.group("kind") == "view":
            return self.find_view(arn, "resourceArn")
        backend = self._backend_for(match.group("region"))
        if backend is None or backend.index is None or backend.index.arn != arn:
            raise ResourceNotFoundException(f"The index {arn} does not exist")
        return backend.index

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self._taggable(arn).tags.update(tags or {})

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        resource = self._taggable(arn)
        for key in keys:
            resource.tags.pop(key, None)

    def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        return dict(self._taggable(arn).tags)

    # --- search -----------------------------------------------------------------
    def _view_for_query(self, view_arn: str | None) -> View:
        if view_arn:
            return self.find_view(view_arn)
        if self.default_view_arn is None:
            raise UnauthorizedException(
                f"There is no default view in {self.region_name}: specify ViewArn or call "
                "AssociateDefaultView"
            )
        return self.find_view(self.default_view_arn)

    def covered_regions(self, view: View) -> list[str]:
        """The Regions whose resources a search through ``view`` sees."""
        now = _now()
        home = self._backend_for(view.region)
        index = home.index if home else None
        if index is None or index.state(now) == "CREATING":
            return []
        if index.type == "AGGREGATOR" and index.state(now) == "ACTIVE":
            return sorted(
                other.region for other in self._indexes() if other.state(now) != "CREATING"
            )
        return [view.region]

    def _matching(self, view: View, query: Query) -> list[inventory.IndexedResource]:
        regions = self.covered_regions(view)
        if not regions:
            return []
        view_filter = view.filter
        resources = inventory.collect(self.account_id, regions, extra=(_own_resources,))
        matched = [r for r in resources if view_filter.matches(r) and query.matches(r)]
        matched.sort(key=lambda r: r.arn)
        return matched

    def _describe_resource(
        self, resource: inventory.IndexedResource, view: View, now: datetime
    ) -> dict[str, Any]:
        properties = []
        if "tags" in view.included_properties and resource.tags:
            properties.append(
                {
                    "Name": "tags",
                    "LastReportedAt": now,
                    "Data": [{"Key": k, "Value": v} for k, v in sorted(resource.tags.items())],
                }
            )
        return {
            "Arn": resource.arn,
            "OwningAccountId": resource.account_id,
            "Region": resource.region,
            "ResourceType": resource.resource_type,
            "Service": resource.service,
            "LastReportedAt": now,
            "Properties": properties,
        }

    def search(
        self,
        query_string: str,
        view_arn: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> dict[str, Any]:
        try:
            query = parse_query(query_string)
        except QuerySyntaxError as error:
            raise ValidationException(f"QueryString is not valid: {error}", "QueryString") from None
        view = self._view_for_query(view_arn)
        key = _token_key("Search", view.arn, query_string)
        offset = _read_token(next_token, key)
        matched = self._matching(view, query)
        complete = len(matched) <= SEARCH_RESULT_LIMIT
        matched = matched[:SEARCH_RESULT_LIMIT]
        page, token = _page(matched, offset, max_results, key)
        now = _now()
        result: dict[str, Any] = {
            "Resources": [self._describe_resource(r, view, now) for r in page],
            "ViewArn": view.arn,
            "Count": {"TotalResources": len(matched), "Complete": complete},
        }
        if token:
            result["NextToken"] = token
        return result

    def list_resources(
        self,
        filters: dict[str, Any] | None,
        view_arn: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> dict[str, Any]:
        filter_string = _validated_filter(_filter_string(filters), "Filters")
        view = self._view_for_query(view_arn)
        key = _token_key("ListResources", view.arn, filter_string)
        offset = _read_token(next_token, key)
        matched = self._matching(view, parse_query(filter_string, allow_keywords=False))
        page, token = _page(matched, offset, max_results, key)
        now = _now()
        result: dict[str, Any] = {
            "Resources": [self._describe_resource(r, view, now) for r in page],
            "ViewArn": view.arn,
        }
        if token:
            result["NextToken"] = token
        return result


# --- pagination -------------------------------------------------------------------


def _token_key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def make_token(offset: int, key: str) -> str:
    payload = {"o": offset, "k": key, "t": _now().timestamp()}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _read_token(token: str | None, key: str) -> int:
    if not token:
        return 0
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, token_key, issued = int(payload["o"]), payload["k"], float(payload["t"])
    except (ValueError, KeyError, TypeError):
        raise ValidationException("NextToken is not valid", "NextToken") from None
    if token_key != key:
        raise ValidationException(
            "NextToken belongs to a different request: repeat the parameters of the call "
            "that returned it",
            "NextToken",
        )
    if _now().timestamp() - issued > TOKEN_LIFETIME.total_seconds():
        raise ValidationException("NextToken has expired (tokens last 24 hours)", "NextToken")
    return offset


def _page(
    items: list[Any], offset: int, max_results: int | None, key: str
) -> tuple[list[Any], str | None]:
    size = max_results or 100
    page = items[offset : offset + size]
    more = offset + size < len(items)
    return page, make_token(offset + size, key) if more else None


def paginate(
    items: list[Any], max_results: int | None, next_token: str | None, *key_parts: str
) -> tuple[list[Any], str | None]:
    """Offset pagination with tokens bound to the request, for the List* operations."""
    key = _token_key(*key_parts)
    return _page(items, _read_token(next_token, key), max_results, key)


def _own_resources(account_id: str, region: str) -> Iterator[inventory.IndexedResource]:
    """Resource Explorer's own index and views (the inventory collects the other services)."""
    backend = inventory.existing_backend(resourceexplorer_backends, account_id, region)
    if backend is None:
        return
    if backend.index is not None:
        yield inventory.indexed(
            backend.index.arn, account_id, region, "resource-explorer-2:index", backend.index.tags
        )
    for view in list(backend.views.values()):
        yield inventory.indexed(view.arn, account_id, region, "resource-explorer-2:view", view.tags)


resourceexplorer_backends = BackendDict(ResourceExplorerBackend, "resource-explorer-2")
