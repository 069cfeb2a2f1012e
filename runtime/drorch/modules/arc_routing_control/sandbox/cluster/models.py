"""moto's router finds a service's urls next to its backend class: this one routes
route53-recovery-cluster; the state is :class:`~drorch.modules.arc_routing_control.sandbox.models.ArcBackend`'s."""

from __future__ import annotations

from moto.core.base_backend import BackendDict, BaseBackend


class ClusterBackend(BaseBackend):
    """No state of its own (both ARC services share the account's ArcBackend)."""


arc_backends = BackendDict(
    ClusterBackend,
    "route53-recovery-cluster",
    use_boto3_regions=False,
    additional_regions=["us-east-1"],
)
