"""Compute: ECS services, EC2 Auto Scaling groups and plain EC2 instances."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from drorch.sandbox.seeders.base import (
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    fail,
    identifier,
    service_error_code,
    tag_list,
    tag_specifications,
    with_name,
)

DEFAULT_IMAGE = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
IMAGE = {
    "type": "string",
    "pattern": r"^(ami-[0-9a-f]{8,17}|resolve:ssm:/.+)$",
    "default": DEFAULT_IMAGE,
    "description": "an AMI id, or resolve:ssm:<public parameter> (default: latest Amazon Linux "
    "2023); the image must exist in the region",
}
INSTANCE_TYPE = {
    "type": "string",
    "pattern": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
    "description": "an EC2 instance type such as m5.large",
}


def resolve_image(ctx: SeedContext, image: str, where: str) -> str:
    """The AMI id for ``image``, checked to exist in the context's region."""
    ec2 = ctx.client("ec2")
    if image.startswith("resolve:ssm:"):
        parameter = image.removeprefix("resolve:ssm:")
        try:
            image = ctx.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
        except ClientError as exc:
            if service_error_code(exc) != "ParameterNotFound":
                raise
            raise fail(where, f"SSM parameter {parameter} does not exist in {ctx.region}") from None
    try:
        ec2.describe_images(ImageIds=[image])
    except ClientError as exc:
        if not service_error_code(exc).startswith("InvalidAMIID"):
            raise
        raise fail(where, f"image {image} does not exist in {ctx.region}") from None
    return image


# --- ECS -------------------------------------------------------------------------------
_ECS_NAME = r"^[a-zA-Z0-9_-]+$"
_ECS_RULE = "letters, digits, hyphens and underscores"
# Fargate task sizes: CPU units -> allowed memory (MiB)
FARGATE_SIZES: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


class EcsService(Seeder):
    type = "ecs-service"
    description = (
        "An ECS service, its task definition (family defaults to the service name) and, if it "
        "does not exist yet, its cluster. awsvpc networking in the context's subnets. "
        "desiredCount 0 is a pilot-light service."
    )
    name_schema = identifier(f"an ECS service name: 1-255 {_ECS_RULE}", _ECS_NAME, 255)
    properties = {
        "cluster": identifier(f"an ECS cluster name: 1-255 {_ECS_RULE}", _ECS_NAME, 255),
        "task": {
            "type": "object",
            "additionalProperties": False,
            "required": ["image", "cpu", "memory"],
            "properties": {
                "family": identifier(f"a task family: 1-255 {_ECS_RULE}", _ECS_NAME, 255),
                "image": {"type": "string", "minLength": 1, "maxLength": 1024},
                "cpu": {"type": "integer", "enum": sorted(FARGATE_SIZES)},
                "memory": {"type": "integer", "minimum": 512, "maximum": 122880},
                "containerPort": {"type": "integer", "minimum": 1, "maximum": 65535},
                "environment": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "desiredCount": {"type": "integer", "minimum": 0, "maximum": 5000, "default": 1},
        "launchType": {"enum": ["FARGATE", "EC2"], "default": "FARGATE"},
    }
    required = ("cluster", "task")

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        try:
            services = ctx.client("ecs").describe_services(
                cluster=spec["cluster"], services=[spec["name"]]
            )["services"]
        except ClientError as exc:
            if service_error_code(exc) != "ClusterNotFoundException":
                raise
            services = []  # the cluster is created with the service
        if any(s["status"] == "ACTIVE" for s in services):
            raise fail(
                f"{where}.name",
                f"service {spec['name']!r} already exists in cluster {spec['cluster']!r}",
            )
        task = spec["task"]
        if (
            spec.get("launchType", "FARGATE") == "FARGATE"
            and task["memory"] not in FARGATE_SIZES[task["cpu"]]
        ):
            sizes = FARGATE_SIZES[task["cpu"]]
            raise fail(
                f"{where}.task.memory",
                f"{task['memory']} MiB is not a Fargate size for {task['cpu']} CPU units "
                f"({sizes.start}-{sizes.stop - 1} MiB in steps of {sizes.step})",
            )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        ecs = ctx.client("ecs")
        name, cluster = spec["name"], spec["cluster"]
        tags = tag_list(spec.get("tags", {}), "key", "value")
        launch_type = spec.get("launchType", "FARGATE")
        task = spec["task"]
        seeded: list[SeededResource] = []

        found = ecs.describe_clusters(clusters=[cluster])["clusters"]
        active = [c for c in found if c["status"] == "ACTIVE"]
        if active:
            cluster_arn = active[0]["clusterArn"]
        else:
            cluster_arn = ecs.create_cluster(clusterName=cluster, tags=tags)["cluster"][
                "clusterArn"
            ]
            undo.push(f"ECS cluster {cluster}", lambda: ecs.delete_cluster(cluster=cluster))
            seeded.append(self.resource(ctx, cluster, cluster_arn, "cluster"))

        container: dict[str, Any] = {
            "name": name,
            "image": task["image"],
            "essential": True,
            "environment": [
                {"name": k, "value": v} for k, v in task.get("environment", {}).items()
            ],
        }
        if "containerPort" in task:
            container["portMappings"] = [
                {"containerPort": task["containerPort"], "protocol": "tcp"}
            ]
        definition = ecs.register_task_definition(
            family=task.get("family", name),
            containerDefinitions=[container],
            cpu=str(task["cpu"]),
            memory=str(task["memory"]),
            networkMode="awsvpc",
            requiresCompatibilities=[launch_type],
            tags=tags,
        )["taskDefinition"]
        definition_arn = definition["taskDefinitionArn"]
        undo.push(
            f"task definition {definition_arn}",
            lambda: ecs.deregister_task_definition(taskDefinition=definition_arn),
        )
        seeded.append(
            self.resource(
                ctx,
                f"{definition['family']}:{definition['revision']}",
                definition_arn,
                "task-definition",
            )
        )

        _, subnets = ctx.network()
        service = ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=definition_arn,
            desiredCount=spec.get("desiredCount", 1),
            launchType=launch_type,
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": subnets,
                    "securityGroups": ctx.security_groups(),
                    "assignPublicIp": "DISABLED",
                }
            },
            tags=tags,
            propagateTags="SERVICE",
            enableECSManagedTags=True,
        )["service"]
        undo.push(
            f"ECS service {name}",
            lambda: ecs.delete_service(cluster=cluster, service=name, force=True),
        )
        seeded.append(self.resource(ctx, name, service["serviceArn"]))
        return seeded


# --- EC2 Auto Scaling ------------------------------------------------------------------
_LT_NAME = r"^[a-zA-Z0-9().\-/_]+$"


class AutoscalingGroup(Seeder):
    type = "autoscaling-group"
    description = (
        "An EC2 Auto Scaling group and its launch template (same name), in the context's "
        "subnets; tags propagate to instances. 0/0/0 is a pilot-light group."
    )
    name_schema = identifier(
        "an Auto Scaling group name (also its launch template's): 3-128 letters, digits and "
        "( ) . - / _",
        _LT_NAME,
        128,
        3,
    )
    properties = {
        "launchTemplate": {
            "type": "object",
            "additionalProperties": False,
            "required": ["instanceType"],
            "properties": {"image": IMAGE, "instanceType": INSTANCE_TYPE},
        },
        "minSize": {"type": "integer", "minimum": 0},
        "maxSize": {"type": "integer", "minimum": 0},
        "desiredCapacity": {"type": "integer", "minimum": 0, "description": "defaults to minSize"},
        "healthCheckType": {"enum": ["EC2", "ELB"], "default": "EC2"},
    }
    required = ("launchTemplate", "minSize", "maxSize")

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        resolve_image(
            ctx, spec["launchTemplate"].get("image", DEFAULT_IMAGE), f"{where}.launchTemplate.image"
        )
        low, high = spec["minSize"], spec["maxSize"]
        desired = spec.get("desiredCapacity", low)
        if low > high:
            raise fail(f"{where}.minSize", f"{low} is greater than maxSize {high}")
        if not low <= desired <= high:
            raise fail(
                f"{where}.desiredCapacity",
                f"{desired} is not between minSize {low} and maxSize {high}",
            )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        ec2, autoscaling = ctx.client("ec2"), ctx.client("autoscaling")
        name = spec["name"]
        tags = spec.get("tags", {})
        template = spec["launchTemplate"]
        image = resolve_image(
            ctx, template.get("image", DEFAULT_IMAGE), "launchTemplate.image"
        )  # checked
        data: dict[str, Any] = {
            "ImageId": image,
            "InstanceType": template["instanceType"],
            "TagSpecifications": tag_specifications(["instance", "volume"], tags),
        }
        if ctx.security_group_id:
            data["SecurityGroupIds"] = ctx.security_groups()
        launch_template = ec2.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData=data,
            TagSpecifications=tag_specifications(["launch-template"], tags),
        )["LaunchTemplate"]
        template_id = launch_template["LaunchTemplateId"]
        undo.push(
            f"launch template {name}",
            lambda: ec2.delete_launch_template(LaunchTemplateId=template_id),
        )
        _, subnets = ctx.network()
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": template_id, "Version": "$Latest"},
            MinSize=spec["minSize"],
            MaxSize=spec["maxSize"],
            DesiredCapacity=spec.get("desiredCapacity", spec["minSize"]),
            HealthCheckType=spec.get("healthCheckType", "EC2"),
            VPCZoneIdentifier=",".join(subnets),
            Tags=[
                {
                    "Key": k,
                    "Value": v,
                    "PropagateAtLaunch": True,
                    "ResourceId": name,
                    "ResourceType": "auto-scaling-group",
                }
                for k, v in tags.items()
            ],
        )
        undo.push(
            f"Auto Scaling group {name}",
            lambda: autoscaling.delete_auto_scaling_group(
                AutoScalingGroupName=name, ForceDelete=True
            ),
        )
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ][0]
        template_arn = f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:launch-template/{template_id}"
        return [
            self.resource(ctx, name, template_arn, "launch-template"),
            self.resource(ctx, name, group["AutoScalingGroupARN"]),
        ]


# --- EC2 instances ---------------------------------------------------------------------
_HOST = r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"


class Ec2Instance(Seeder):
    type = "ec2-instance"
    description = (
        "EC2 instances not protected by DRS (e.g. an AD domain controller tagged "
        "dr:enabled=false). With count > 1 they are named <name>-01, <name>-02, ...; "
        "state stopped leaves them stopped."
    )
    name_schema = identifier(
        "a host name: 1-60 letters, digits and hyphens, not starting or ending with a hyphen",
        _HOST,
        60,
    )
    properties = {
        "count": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
        "image": IMAGE,
        "instanceType": INSTANCE_TYPE,
        "subnetIndex": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "which of the context's subnets (default VPC: ordered by AZ)",
        },
        "privateIp": {"type": "string", "format": "ipv4"},
        "state": {"enum": ["running", "stopped"], "default": "running"},
    }
    required = ("instanceType",)
    constraints = {
        "if": {"required": ["privateIp"]},
        "then": {"properties": {"count": {"const": 1, "description": "privateIp needs count 1"}}},
    }

    def _subnet(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        _, subnets = ctx.network()
        index = spec.get("subnetIndex", 0)
        if index >= len(subnets):
            raise fail(
                f"{where}.subnetIndex", f"{index} is out of range: there are {len(subnets)} subnets"
            )
        return ctx.client("ec2").describe_subnets(SubnetIds=[subnets[index]])["Subnets"][0]

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        resolve_image(ctx, spec.get("image", DEFAULT_IMAGE), f"{where}.image")
        subnet = self._subnet(ctx, spec, where)
        if "privateIp" in spec:
            network = ipaddress.ip_network(subnet["CidrBlock"])
            address = ipaddress.ip_address(spec["privateIp"])
            reserved = [network[n] for n in range(4)] + [network.broadcast_address]
            if address not in network or address in reserved:
                raise fail(
                    f"{where}.privateIp",
                    f"{address} is not a usable address of subnet {subnet['SubnetId']} ({network})",
                )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        ec2 = ctx.client("ec2")
        name, count = spec["name"], spec.get("count", 1)
        image = resolve_image(ctx, spec.get("image", DEFAULT_IMAGE), "image")  # checked
        subnet_id = self._subnet(ctx, spec, "$")["SubnetId"]
        seeded: list[SeededResource] = []
        for n in range(1, count + 1):
            host = name if count == 1 else f"{name}-{n:02d}"
            tags = with_name(spec.get("tags", {}), host)
            kwargs: dict[str, Any] = {
                "ImageId": image,
                "InstanceType": spec["instanceType"],
                "MinCount": 1,
                "MaxCount": 1,
                "SubnetId": subnet_id,
                "TagSpecifications": tag_specifications(["instance", "volume"], tags),
            }
            if "privateIp" in spec:
                kwargs["PrivateIpAddress"] = spec["privateIp"]
            if ctx.security_group_id:
                kwargs["SecurityGroupIds"] = ctx.security_groups()
            instance_id = ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
            undo.push(
                f"EC2 instance {instance_id}",
                lambda i=instance_id: ec2.terminate_instances(InstanceIds=[i]),
            )
            arn = f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:instance/{instance_id}"
            seeded.append(self.resource(ctx, host, arn))
        if spec.get("state", "running") == "stopped":
            ec2.stop_instances(InstanceIds=[r.arn.rsplit("/", 1)[1] for r in seeded])
        return seeded
