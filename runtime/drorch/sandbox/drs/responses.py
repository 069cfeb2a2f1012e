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

    def _page(
        self, items: list[Any], params: dict[str, Any], member: str = "items"
    ) -> ActionResult:
        operation = _operation(self._get_action())
        declares = any(s.name == "ValidationException" for s in operation.error_shapes)
        page, token = paginate(
            items,
            operation=operation.name,
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
            token_errors=declares,
        )
        result: dict[str, Any] = {member: page}
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

    # --- post-launch actions -----------------------------------------------------------
    def put_launch_action(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult(backend.put_launch_action(params))

    def list_launch_actions(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            items = backend.list_launch_actions(params["resourceId"], params.get("filters") or {})
            return self._page(items, params)

    def delete_launch_action(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.delete_launch_action(params["resourceId"], params["actionId"])
        return EmptyResult()

    # --- extended source servers -----------------------------------------------------------
    def list_staging_accounts(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return self._page(backend.list_staging_accounts(), params, "accounts")

    def create_extended_source_server(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            server = backend.create_extended_source_server(
                params["sourceServerArn"], params.get("tags")
            )
        return ActionResult({"sourceServer": server})

    def list_extensible_source_servers(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            items = backend.list_extensible_source_servers(params["stagingAccountID"])
            return self._page(items, params)

    # --- recovery plans ----------------------------------------------------------------------
    def create_recovery_plan(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult({"recoveryPlan": backend.recovery_plans.create_plan(params)})

    def get_recovery_plan(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            plan = backend.recovery_plans.plan(params["recoveryPlanArn"])
            return ActionResult({"recoveryPlan": plan.describe()})

    def update_recovery_plan(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult({"recoveryPlan": backend.recovery_plans.update_plan(params)})

    def delete_recovery_plan(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.recovery_plans.delete_plan(params["recoveryPlanArn"])
        return ActionResult({"recoveryPlanArn": params["recoveryPlanArn"]})

    def list_recovery_plans(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return self._page(backend.recovery_plans.list_plans(), params, "recoveryPlans")

    def create_recovery_plan_step(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            step = backend.recovery_plans.create_step(params)
        return ActionResult({"recoveryPlanStep": step})

    def get_recovery_plan_step(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            step = backend.recovery_plans.get_step(params["recoveryPlanStepArn"])
        return ActionResult({"recoveryPlanStep": step})

    def update_recovery_plan_step(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            step = backend.recovery_plans.update_step(params)
        return ActionResult({"recoveryPlanStep": step})

    def delete_recovery_plan_step(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.recovery_plans.delete_step(params["recoveryPlanStepArn"])
        return ActionResult({"recoveryPlanStepArn": params["recoveryPlanStepArn"]})

    def list_recovery_plan_steps(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            steps = backend.recovery_plans.list_steps(params["recoveryPlanArn"])
            return self._page(steps, params, "recoveryPlanSteps")

    def reorder_recovery_plan_steps(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            steps = backend.recovery_plans.reorder_steps(
                params["recoveryPlanArn"], params["orderedStepArns"]
            )
        return ActionResult({"recoveryPlanSteps": steps})

    def start_recovery_plan_execution(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            execution = backend.recovery_plans.start_execution(params)
        return ActionResult({"recoveryPlanExecution": execution})

    def get_recovery_plan_execution(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            execution = backend.recovery_plans.execution(params["recoveryPlanExecutionArn"])
            return ActionResult({"recoveryPlanExecution": execution.describe()})

    def cancel_recovery_plan_execution(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            execution = backend.recovery_plans.cancel_execution(params["recoveryPlanExecutionArn"])
        return ActionResult({"recoveryPlanExecution": execution})

    def delete_recovery_plan_execution(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.recovery_plans.delete_execution(params["recoveryPlanExecutionArn"])
        return ActionResult({"recoveryPlanExecutionArn": params["recoveryPlanExecutionArn"]})

    def list_recovery_plan_executions(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            items = backend.recovery_plans.list_executions(
                params.get("recoveryPlanArn"), params.get("status")
            )
            return self._page(items, params, "recoveryPlanExecutions")

    def get_recovery_plan_execution_step(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            _, step = backend.recovery_plans.execution_step(params["recoveryPlanExecutionStepArn"])
            return ActionResult({"recoveryPlanExecutionStep": step.describe()})

    def list_recovery_plan_execution_steps(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            steps = backend.recovery_plans.list_execution_steps(
                params["recoveryPlanExecutionArn"], (params.get("filter") or {}).get("status")
            )
            return self._page(steps, params, "recoveryPlanExecutionSteps")

    def retry_recovery_plan_execution_step(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            step = backend.recovery_plans.retry_step(params["recoveryPlanExecutionStepArn"])
        return ActionResult({"recoveryPlanExecutionStep": step})

    def update_recovery_plan_execution_step(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            step = backend.recovery_plans.update_execution_step(params)
        return ActionResult({"recoveryPlanExecutionStep": step})

    # --- source networks -------------------------------------------------------------------
    def create_source_network(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            return ActionResult({"sourceNetworkID": backend.source_networks.create(params)})

    def describe_source_networks(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            items = backend.source_networks.describe(params.get("filters") or {})
            return self._page(items, params)

    def start_source_network_replication(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            network = backend.source_networks.set_replication(
                params["sourceNetworkID"], "PROTECTED"
            )
        return ActionResult({"sourceNetwork": network})

    def stop_source_network_replication(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            network = backend.source_networks.set_replication(params["sourceNetworkID"], "STOPPED")
        return ActionResult({"sourceNetwork": network})

    def delete_source_network(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            backend.source_networks.delete(params["sourceNetworkID"])
        return EmptyResult()

    def export_source_network_cfn_template(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            url = backend.source_networks.export_template(params["sourceNetworkID"])
        return ActionResult({"s3DestinationUrl": url})

    def start_source_network_recovery(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            job = backend.source_networks.start_recovery(
                params["sourceNetworks"], bool(params.get("deployAsNew")), params.get("tags")
            )
        return ActionResult({"job": job})

    def associate_source_network_stack(self) -> ActionResult:
        with self._backend_for() as (backend, params):
            job = backend.source_networks.associate_stack(
                params["sourceNetworkID"], params["cfnStackName"]
            )
        return ActionResult({"job": job})
