"""The eks-nodegroup module: EKS managed node groups scaled in the recovery region
(see ``adapter``)."""

from drorch.modules.eks_nodegroup.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    EksNodegroupModule,
)

MODULE = EksNodegroupModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "EksNodegroupModule"]
