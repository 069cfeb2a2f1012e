"""Resource Explorer's multi-Region setup task (CreateResourceExplorerSetup and its kin).

``CreateResourceExplorerSetup`` turns Resource Explorer on in every Region of
``RegionList``: an index in each, the index of the one ``AggregatorRegions`` Region
promoted to ``AGGREGATOR``, and a view named ``ViewName`` made the default view (in
the aggregator Region when there is one, else in every Region listed).
``DeleteResourceExplorerSetup`` deletes the indexes (and with them the views) of the
Regions listed, or of every Region with ``DeleteInAllRegions``. Both answer a
``TaskId`` at once; ``GetResourceExplorerSetup`` reports each Region's index and view
outcome (``SUCCEEDED``, ``FAILED`` with the error, or ``SKIPPED``). The sandbox carries
the work out at once, so a task is never seen ``IN_PROGRESS``.
"""

from __future__ import annotations

import uuid
from typing import Any

from moto.core.exceptions import ServiceException

from drorch.sandbox.resourceexplorer.exceptions import ResourceNotFoundException
from drorch.sandbox.resourceexplorer.models import resourceexplorer_backends

# (account, task id) -> the Regions' statuses, in RegionStatus shape
TASKS: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _error(error: Exception) -> dict[str, str]:
    code = getattr(error, "code", type(error).__name__)
    return {"Code": str(code), "Message": str(error)}


def create_setup(
    account_id: str, regions: list[str], aggregators: list[str], view_name: str
) -> str:
    aggregator = aggregators[0] if aggregators else None
    statuses = []
    for region in regions:
        backend = resourceexplorer_backends[account_id][region]
        status: dict[str, Any] = {"Region": region}
        try:
            index = backend.index or backend.create_index(None, None)
            if region == aggregator and index.type != "AGGREGATOR":
                backend.update_index_type(index.arn, "AGGREGATOR")
            status["Index"] = {
                "Status": "SUCCEEDED",
                "Index": {"Region": region, "Arn": index.arn, "Type": index.type},
            }
        except ServiceException as error:
            status["Index"] = {"Status": "FAILED", "ErrorDetails": _error(error)}
            status["View"] = {"Status": "SKIPPED"}
            statuses.append(status)
            continue
        if aggregator is not None and region != aggregator:
            status["View"] = {"Status": "SKIPPED"}
        else:
            try:
                view = backend.create_view(view_name, None, [{"Name": "tags"}], None, None, None)
                backend.associate_default_view(view.arn)
                status["View"] = {"Status": "SUCCEEDED", "View": view.describe()}
            except ServiceException as error:
                status["View"] = {"Status": "FAILED", "ErrorDetails": _error(error)}
        statuses.append(status)
    task_id = str(uuid.uuid4())
    TASKS[(account_id, task_id)] = statuses
    return task_id


def delete_setup(account_id: str, regions: list[str] | None, everywhere: bool) -> str:
    account = resourceexplorer_backends[account_id]
    if everywhere:
        regions = [r for r in sorted(dict.keys(account)) if dict.__getitem__(account, r).index]
    statuses = []
    for region in regions or []:
        backend = account[region]
        status: dict[str, Any] = {"Region": region}
        if backend.index is None:
            status["Index"] = {"Status": "SKIPPED"}
        else:
            try:
                index = backend.delete_index(backend.index.arn)
                status["Index"] = {
                    "Status": "SUCCEEDED",
                    "Index": {"Region": region, "Arn": index.arn, "Type": index.type},
                }
            except ServiceException as error:
                status["Index"] = {"Status": "FAILED", "ErrorDetails": _error(error)}
        statuses.append(status)
    task_id = str(uuid.uuid4())
    TASKS[(account_id, task_id)] = statuses
    return task_id


def get_setup(account_id: str, task_id: str) -> list[dict[str, Any]]:
    statuses = TASKS.get((account_id, task_id))
    if statuses is None:
        raise ResourceNotFoundException(f"There is no Resource Explorer setup task {task_id}")
    return statuses
