"""Wire layer of the fake Resource Explorer: parse (botocore model), call the backend, shape.

``automated_parameter_parsing`` makes ``self.params`` the request parsed with the
real service model; every handler returns an :class:`ActionResult` that moto
serializes with the same model, so responses are exactly what botocore expects.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult, BaseResponse, EmptyResult

from drorch.sandbox.resourceexplorer import setup
from drorch.sandbox.resourceexplorer.exceptions import ResourceNotFoundException
from drorch.sandbox.resourceexplorer.inventory import supported_resource_types
from drorch.sandbox.resourceexplorer.models import (
    ResourceExplorerBackend,
    paginate,
    resourceexplorer_backends,
)


class ResourceExplorerResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="resource-explorer-2")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> ResourceExplorerBackend:
        return resourceexplorer_backends[self.current_account][self.region]

    def _p(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None else value

    # --- indexes ----------------------------------------------------------------
    def create_index(self) -> ActionResult:
        index = self.backend.create_index(self._p("ClientToken"), self._p("Tags"))
        return ActionResult(
            {"Arn": index.arn, "State": index.transition, "CreatedAt": index.created_at}
        )

    def get_index(self) -> ActionResult:
        backend = self.backend
        return ActionResult(backend.index_details(backend.get_index()))

    def delete_index(self) -> ActionResult:
        index = self.backend.delete_index(self._p("Arn"))
        return ActionResult(
            {"Arn": index.arn, "State": "DELETING", "LastUpdatedAt": index.last_updated_at}
        )

    def list_indexes(self) -> ActionResult:
        indexes = self.backend.list_indexes(self._p("Type"), self._p("Regions"))
        page, token = paginate(
            indexes,
            self._p("MaxResults"),
            self._p("NextToken"),
            "ListIndexes",
            str(self._p("Type")),
            ",".join(sorted(self._p("Regions", []))),
        )
        return ActionResult({"Indexes": page, "NextToken": token})

    def update_index_type(self) -> ActionResult:
        index = self.backend.update_index_type(self._p("Arn"), self._p("Type"))
        return ActionResult(
            {
                "Arn": index.arn,
                "Type": index.type,
                "State": index.transition,
                "LastUpdatedAt": index.last_updated_at,
            }
        )

    # --- views ------------------------------------------------------------------
    def create_view(self) -> ActionResult:
        view = self.backend.create_view(
            name=self._p("ViewName"),
            filters=self._p("Filters"),
            included_properties=self._p("IncludedProperties"),
            scope=self._p("Scope"),
            tags=self._p("Tags"),
            client_token=self._p("ClientToken"),
        )
        return ActionResult({"View": view.describe()})

    def get_view(self) -> ActionResult:
        view = self.backend.find_view(self._p("ViewArn"))
        return ActionResult({"View": view.describe(), "Tags": dict(view.tags)})

    def update_view(self) -> ActionResult:
        view = self.backend.update_view(
            self._p("ViewArn"), self.params.get("Filters"), self.params.get("IncludedProperties")
        )
        return ActionResult({"View": view.describe()})

    def delete_view(self) -> ActionResult:
        view = self.backend.delete_view(self._p("ViewArn"))
        return ActionResult({"ViewArn": view.arn})

    def list_views(self) -> ActionResult:
        page, token = paginate(
            self.backend.list_views(), self._p("MaxResults"), self._p("NextToken"), "ListViews"
        )
        return ActionResult({"Views": page, "NextToken": token})

    def batch_get_view(self) -> ActionResult:
        views, errors = self.backend.batch_get_view(self._p("ViewArns", []))
        return ActionResult({"Views": [view.describe() for view in views], "Errors": errors})

    def associate_default_view(self) -> ActionResult:
        view = self.backend.associate_default_view(self._p("ViewArn"))
        return ActionResult({"ViewArn": view.arn})

    def get_default_view(self) -> ActionResult:
        return ActionResult({"ViewArn": self.backend.default_view_arn})

    def disassociate_default_view(self) -> ActionResult:
        self.backend.disassociate_default_view()
        return EmptyResult()

    # --- search -----------------------------------------------------------------
    def search(self) -> ActionResult:
        return ActionResult(
            self.backend.search(
                self._p("QueryString", ""),
                self._p("ViewArn"),
                self._p("MaxResults"),
                self._p("NextToken"),
            )
        )

    def list_resources(self) -> ActionResult:
        return ActionResult(
            self.backend.list_resources(
                self._p("Filters"),
                self._p("ViewArn"),
                self._p("MaxResults"),
                self._p("NextToken"),
            )
        )

    def list_supported_resource_types(self) -> ActionResult:
        page, token = paginate(
            supported_resource_types(),
            self._p("MaxResults"),
            self._p("NextToken"),
            "ListSupportedResourceTypes",
        )
        return ActionResult({"ResourceTypes": page, "NextToken": token})

    def get_account_level_service_configuration(self) -> ActionResult:
        # No organization-wide views in the sandbox: trusted access is off.
        return ActionResult({"OrgConfiguration": {"AWSServiceAccessStatus": "DISABLED"}})

    # --- tags -------------------------------------------------------------------
    def tag_resource(self) -> ActionResult:
        self.backend.tag_resource(self._p("resourceArn"), self._p("Tags", {}))
        return EmptyResult()

    def untag_resource(self) -> ActionResult:
        self.backend.untag_resource(self._p("resourceArn"), self._p("tagKeys", []))
        return EmptyResult()

    def list_tags_for_resource(self) -> ActionResult:
        return ActionResult({"Tags": self.backend.list_tags_for_resource(self._p("resourceArn"))})

    # --- service-owned views and indexes, organizations ----------------------------------
    # No AWS service creates managed views or service indexes in the sandbox, and no
    # service streams resources from it: the lists are empty and a named one is not found.
    def get_service_index(self) -> ActionResult:
        index = self.backend.get_index()
        return ActionResult({"Arn": index.arn, "Type": index.type})

    def list_service_indexes(self) -> ActionResult:
        indexes = self.backend.list_indexes(None, self._p("Regions"))
        page, token = paginate(
            indexes,
            self._p("MaxResults"),
            self._p("NextToken"),
            "ListServiceIndexes",
            ",".join(sorted(self._p("Regions", []))),
        )
        return ActionResult({"Indexes": page, "NextToken": token})

    def list_managed_views(self) -> ActionResult:
        return ActionResult({"ManagedViews": []})

    def get_managed_view(self) -> ActionResult:
        raise ResourceNotFoundException(f"There is no managed view {self._p('ManagedViewArn')}")

    def list_service_views(self) -> ActionResult:
        return ActionResult({"ServiceViews": []})

    def get_service_view(self) -> ActionResult:
        raise ResourceNotFoundException(f"There is no service view {self._p('ServiceViewArn')}")

    def list_streaming_access_for_services(self) -> ActionResult:
        return ActionResult({"StreamingAccessForServices": []})

    def list_indexes_for_members(self) -> ActionResult:
        """The indexes of the member accounts named (the caller is taken to be the
        organization's management account or delegated administrator)."""
        indexes = []
        for account_id in self._p("AccountIdList", []):
            account = resourceexplorer_backends[account_id]
            for region in sorted(dict.keys(account)):
                index = dict.__getitem__(account, region).index
                if index is not None:
                    indexes.append(
                        {
                            "AccountId": account_id,
                            "Region": region,
                            "Arn": index.arn,
                            "Type": index.type,
                        }
                    )
        page, token = paginate(
            indexes,
            self._p("MaxResults"),
            self._p("NextToken"),
            "ListIndexesForMembers",
            ",".join(sorted(self._p("AccountIdList", []))),
        )
        return ActionResult({"Indexes": page, "NextToken": token})

    # --- the multi-Region setup task ---------------------------------------------------
    def create_resource_explorer_setup(self) -> ActionResult:
        task_id = setup.create_setup(
            self.current_account,
            self._p("RegionList", []),
            self._p("AggregatorRegions", []),
            self._p("ViewName"),
        )
        return ActionResult({"TaskId": task_id})

    def delete_resource_explorer_setup(self) -> ActionResult:
        task_id = setup.delete_setup(
            self.current_account, self._p("RegionList"), bool(self._p("DeleteInAllRegions"))
        )
        return ActionResult({"TaskId": task_id})

    def get_resource_explorer_setup(self) -> ActionResult:
        task_id = self._p("TaskId")
        regions = setup.get_setup(self.current_account, task_id)
        page, token = paginate(
            regions,
            self._p("MaxResults"),
            self._p("NextToken"),
            "GetResourceExplorerSetup",
            task_id,
        )
        return ActionResult({"Regions": page, "NextToken": token})
