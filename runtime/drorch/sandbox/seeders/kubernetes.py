"""EKS clusters with managed node groups, and the Auto Scaling groups behind them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    fail,
    identifier,
    tag_specifications,
)
from drorch.sandbox.seeders.compute import DEFAULT_IMAGE, INSTANCE_TYPE, resolve_image

_NAME = r"^[0-9A-Za-z][A-Za-z0-9\-_]*$"
_NODEGROUP = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "desiredSize"],
    "properties": {
        "name": identifier("a node group name: letters, digits, - and _", _NAME, 63),
        "instanceType": {**INSTANCE_TYPE, "default": "m5.large"},
        "minSize": {"type": "integer", "minimum": 0, "description": "defaults to desiredSize"},
        "maxSize": {
            "type": "integer",
            "minimum": 1,
            "description": "defaults to desiredSize (at least 1)",
        },
        "desiredSize": {"type": "integer", "minimum": 0},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def sizes(group: Mapping[str, Any]) -> dict[str, int]:
    desired = group["desiredSize"]
    return {
        "minSize": group.get("minSize", desired),
        "maxSize": group.get("maxSize", max(desired, 1)),
        "desiredSize": desired,
    }


class EksCluster(Seeder):
    type = "eks-cluster"
    description = (
        "An EKS cluster in the context's subnets with managed node groups; each node group's "
        "Auto Scaling group (named as the node group's resources say) is created with a "
        "launch template and its desired size of InService instances, as EKS would. Node "
        "groups take the entry's tags and their own."
    )
    name_schema = identifier(
        "a cluster name: 1-100 letters, digits, - and _, starting with a letter or digit",
        _NAME,
        100,
    )
    properties = {
        "kubernetesVersion": {"type": "string", "pattern": r"^1\.[0-9]+$", "default": "1.31"},
        "nodegroups": {"type": "array", "items": _NODEGROUP, "minItems": 1, "maxItems": 10},
    }
    required = ("nodegroups",)

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        names = [g["name"] for g in spec["nodegroups"]]
        if len(names) != len(set(names)):
            raise fail(f"{where}.nodegroups", "node group names must be unique in a cluster")
        for index, group in enumerate(spec["nodegroups"]):
            size = sizes(group)
            if not size["minSize"] <= size["desiredSize"] <= size["maxSize"]:
                raise fail(
                    f"{where}.nodegroups[{index}]",
                    f"minSize {size['minSize']} <= desiredSize {size['desiredSize']} <= maxSize "
                    f"{size['maxSize']} does not hold",
                )
        resolve_image(ctx, DEFAULT_IMAGE, f"{where} (the node image)")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        eks, ec2, autoscaling = ctx.client("eks"), ctx.client("ec2"), ctx.client("autoscaling")
        name, tags = spec["name"], dict(spec.get("tags", {}))
        _, subnets = ctx.network()
        prefix = f"arn:aws:iam::{ctx.account_id}:role"
        cluster = eks.create_cluster(
            name=name,
            version=spec.get("kubernetesVersion", "1.31"),
            roleArn=f"{prefix}/eks-cluster-{name}"[:2048],
            resourcesVpcConfig={"subnetIds": subnets, "securityGroupIds": ctx.security_groups()},
            tags=tags,
        )["cluster"]
        undo.push(f"EKS cluster {name}", lambda: eks.delete_cluster(name=name))
        seeded = [self.resource(ctx, name, cluster["arn"])]
        image = resolve_image(ctx, DEFAULT_IMAGE, "the node image")
        for group in spec["nodegroups"]:
            seeded += self._nodegroup(
                ctx, eks, ec2, autoscaling, name, group, tags, subnets, image, undo
            )
        return seeded

    def _nodegroup(
        self,
        ctx: SeedContext,
        eks: Any,
        ec2: Any,
        autoscaling: Any,
        cluster: str,
        group: Mapping[str, Any],
        tags: Mapping[str, str],
        subnets: list[str],
        image: str,
        undo: Undo,
    ) -> list[SeededResource]:
        name, size = group["name"], sizes(group)
        instance_type = group.get("instanceType", "m5.large")
        own = {**tags, **group.get("tags", {})}
        created = eks.create_nodegroup(
            clusterName=cluster,
            nodegroupName=name,
            scalingConfig=size,
            subnets=subnets,
            instanceTypes=[instance_type],
            nodeRole=f"arn:aws:iam::{ctx.account_id}:role/eks-node-{cluster}"[:2048],
            tags=own,
        )["nodegroup"]
        undo.push(
            f"EKS node group {cluster}/{name}",
            lambda: eks.delete_nodegroup(clusterName=cluster, nodegroupName=name),
        )
        seeded = [self.resource(ctx, f"{cluster}/{name}", created["nodegroupArn"], "nodegroup")]
        node_tags = {**own, f"kubernetes.io/cluster/{cluster}": "owned"}
        for asg in created["resources"]["autoScalingGroups"]:
            template = ec2.create_launch_template(
                LaunchTemplateName=asg["name"],
                LaunchTemplateData={
                    "ImageId": image,
                    "InstanceType": instance_type,
                    "TagSpecifications": tag_specifications(["instance"], node_tags),
                },
            )["LaunchTemplate"]
            template_id = template["LaunchTemplateId"]
            undo.push(
                f"launch template {asg['name']}",
                lambda template_id=template_id: ec2.delete_launch_template(
                    LaunchTemplateId=template_id
                ),
            )
            autoscaling.create_auto_scaling_group(
                AutoScalingGroupName=asg["name"],
                LaunchTemplate={"LaunchTemplateId": template_id, "Version": "$Latest"},
                MinSize=size["minSize"],
                MaxSize=size["maxSize"],
                DesiredCapacity=size["desiredSize"],
                VPCZoneIdentifier=",".join(subnets),
                Tags=[
                    {
                        "Key": k,
                        "Value": v,
                        "PropagateAtLaunch": True,
                        "ResourceId": asg["name"],
                        "ResourceType": "auto-scaling-group",
                    }
                    for k, v in {
                        **node_tags,
                        "eks:cluster-name": cluster,
                        "eks:nodegroup-name": name,
                    }.items()
                ],
            )
            undo.push(
                f"Auto Scaling group {asg['name']}",
                lambda asg=asg: autoscaling.delete_auto_scaling_group(
                    AutoScalingGroupName=asg["name"], ForceDelete=True
                ),
            )
            described = autoscaling.describe_auto_scaling_groups(
                AutoScalingGroupNames=[asg["name"]]
            )["AutoScalingGroups"][0]
            seeded.append(
                self.resource(ctx, asg["name"], described["AutoScalingGroupARN"], "nodegroup-asg")
            )
        return seeded
