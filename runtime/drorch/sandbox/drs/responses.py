"""DRS wire layer: parse a request (moto, from the botocore model), call the backend, shape the result.

Every handler goes through :meth:`DrsResponse._backend_for`, which does what
DRS does before any operation: validate the request against the model (when the
operation declares ValidationException), bring simulated time up to date, and
refuse with UninitializedAccountException where the model says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import botocore.session
from moto.core.responses import ActionResult, BaseResponse, EmptyResult

from drorch.sandbox.drs.exceptions import ValidationError
from drorch.sandbox.drs.models import LOCK, DrsBackend, drs_backends
from drorch.sandbox.drs.util import paginate
from drorch.sandbox.drs.validation import missing_required, validate_request


@cache
def _operation(name: str) -> Any:
    return botocore.session.get_session().get_service_model("drs").operation_model(name)


class DrsResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="drs")
        self.automated_parameter_parsing = True

    # --- plumbing -------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        params = self.params
        if hasattr(params, "original_dict"):
            params = params.original_dict()
        return dict(params or {})

    @contextmanager
    def _backend_for(self) -> Iterator[tuple[DrsBackend, dict[str, Any]]]:
        operation = _operation(self._get_action())
        errors = {shape.name for shape in operation.error_shapes}
        params = self._params()
        with LOCK:
            if "ValidationException" in errors:
                validate_request(operation.input_shape, params)
            elif missing := missing_required(operation.input_shape, params):
                # the operation declares no ValidationException: AWS's common error
                raise ValidationError(
                    "; ".join(
                        f"Value null at '{name}' failed to satisfy constraint: {text}"
                        for name, text in missing
                    )
                )
            backend: DrsBackend = drs_backends[self.current_account][self.region]
            backend.settle()
            if "UninitializedAccountException" in errors:
                backend.require_initialized()
            yield backend, params

    def _page(self, items: list[Any], params: dict[str, Any]) -> ActionResult:
        operation = _operation(self._get_action())
        declares = any(s.name == "ValidationException" for s in operation.error_shapes)
        page, token = paginate(
            items,
            operation=operation.name,
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
            token_errors=declares,
        )
        result: dict[str, Any] = {"items": page}
        if token:
            result["nextToken"] = token
        return ActionResult(result)

    # --- service ----------------------------------------------------------------
    def initialize_service(self) -> ActionResult:
        with self._backend_for() as (backend, _):
            backend.initialize_service()
        return EmptyResult()

    # --- source servers -----------------------------------------------------------
    def describe_source_servers(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            items = backend.describe_source_servers(params.get("filters") or {})
            return self._page(items, params)

    def delete_source_server(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.delete_source_server(params["sourceServerID"])
        return EmptyResult()

    def disconnect_source_server(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.disconnect_source_server(params["sourceServerID"]))

    def start_replication(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            server = backend.start_replication(params["sourceServerID"])
        return ActionResult({"sourceServer": server})

    def stop_replication(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            server = backend.stop_replication(params["sourceServerID"])
        return ActionResult({"sourceServer": server})

    def retry_data_replication(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.retry_data_replication(params["sourceServerID"]))

    # --- templates ----------------------------------------------------------------
    def create_replication_configuration_template(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.create_replication_configuration_template(params))

    def describe_replication_configuration_templates(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            ids = params.get("replicationConfigurationTemplateIDs") or []
            return self._page(backend.describe_replication_configuration_templates(ids), params)

    def update_replication_configuration_template(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.update_replication_configuration_template(params))

    def delete_replication_configuration_template(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.delete_replication_configuration_template(
                params["replicationConfigurationTemplateID"]
            )
        return EmptyResult()

    def create_launch_configuration_template(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            template = backend.create_launch_configuration_template(params)
        return ActionResult({"launchConfigurationTemplate": template})

    def describe_launch_configuration_templates(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            ids = params.get("launchConfigurationTemplateIDs") or []
            return self._page(backend.describe_launch_configuration_templates(ids), params)

    def update_launch_configuration_template(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            template = backend.update_launch_configuration_template(params)
        return ActionResult({"launchConfigurationTemplate": template})

    def delete_launch_configuration_template(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.delete_launch_configuration_template(params["launchConfigurationTemplateID"])
        return EmptyResult()

    # --- per-server configuration ---------------------------------------------------
    def get_replication_configuration(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.get_replication_configuration(params["sourceServerID"]))

    def update_replication_configuration(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.update_replication_configuration(params))

    def get_launch_configuration(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.get_launch_configuration(params["sourceServerID"]))

    def update_launch_configuration(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.update_launch_configuration(params))

    # --- snapshots ----------------------------------------------------------------------
    def describe_recovery_snapshots(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            items = backend.describe_recovery_snapshots(
                params["sourceServerID"], params.get("filters") or {}, params.get("order")
            )
            return self._page(items, params)

    # --- jobs -------------------------------------------------------------------------------
    def start_recovery(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            job = backend.start_recovery(
                params["sourceServers"], bool(params.get("isDrill")), params.get("tags")
            )
        return ActionResult({"job": job})

    def describe_jobs(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return self._page(backend.describe_jobs(params.get("filters") or {}), params)

    def describe_job_log_items(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return self._page(backend.describe_job_log_items(params["jobID"]), params)

    def delete_job(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.delete_job(params["jobID"])
        return EmptyResult()

    # --- recovery instances ----------------------------------------------------------------------
    def describe_recovery_instances(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            items = backend.describe_recovery_instances(params.get("filters") or {})
            return self._page(items, params)

    def terminate_recovery_instances(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            job = backend.terminate_recovery_instances(params["recoveryInstanceIDs"])
        return ActionResult({"job": job})

    def delete_recovery_instance(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.delete_recovery_instance(params["recoveryInstanceID"])
        return EmptyResult()

    def disconnect_recovery_instance(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.disconnect_recovery_instance(params["recoveryInstanceID"])
        return EmptyResult()

    # --- failback ------------------------------------------------------------------------------------
    def reverse_replication(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            arn = backend.reverse_replication(params["recoveryInstanceID"])
        return ActionResult({"reversedDirectionSourceServerArn": arn})

    def start_failback_launch(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            job = backend.start_failback_launch(params["recoveryInstanceIDs"], params.get("tags"))
        return ActionResult({"job": job})

    def stop_failback(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.stop_failback(params["recoveryInstanceID"])
        return EmptyResult()

    def get_failback_replication_configuration(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            config = backend.get_failback_replication_configuration(params["recoveryInstanceID"])
        return ActionResult(config)

    def update_failback_replication_configuration(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.update_failback_replication_configuration(params)
        return EmptyResult()

    # --- tags ------------------------------------------------------------------------------------------
    def list_tags_for_resource(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            tags = backend.list_tags_for_resource(params["resourceArn"])
        return ActionResult({"tags": tags})

    def tag_resource(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.tag_resource(params["resourceArn"], params.get("tags") or {})
        return EmptyResult()

    def untag_resource(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.untag_resource(params["resourceArn"], params.get("tagKeys") or [])
        return EmptyResult()
