"""The ecs-service module: ECS service desired counts in the recovery region (see ``adapter``)."""

from drorch.modules.ecs_service.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    EcsServiceModule,
)

MODULE = EcsServiceModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "EcsServiceModule"]
