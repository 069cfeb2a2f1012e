"""What DRS does in EC2, done on moto's EC2 backend of the same account/region.

DRS gives every source server an EC2 launch template (tagged as DRS-managed) and
launches recovery instances from it: real moto instances, visible to
``ec2.describe_instances`` in the recovery account, tagged the way DRS tags them.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Any

from drorch.sandbox.drs.util import stable_id

MANAGED_TAG = "AWSElasticDisasterRecoveryManaged"
MANAGED_VALUE = "drs.amazonaws.com"
SOURCE_SERVER_TAG = "AWSElasticDisasterRecoverySourceServerID"
INSTANCE_JOB_TAG = "drs.amazonaws.com-job"
INSTANCE_SOURCE_SERVER_TAG = "drs.amazonaws.com-source-server"
# An existing instance may be launched into only when it carries this tag.
LAUNCH_INTO_TAG = ("AWSDRS", "AllowLaunchingIntoThisInstance")

GIB = 1024**3
_STATES = {
    "pending": "PENDING",
    "running": "RUNNING",
    "stopping": "STOPPING",
    "stopped": "STOPPED",
    "shutting-down": "SHUTTING-DOWN",
    "terminated": "TERMINATED",
}


def backend(account_id: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def _default_subnet(ec2: Any) -> Any | None:
    subnets = [s for s in ec2.describe_subnets() if getattr(s, "default_for_az", False)]
    subnets.sort(key=lambda s: s.availability_zone)
    return subnets[0] if subnets else None


def create_launch_template(
    account_id: str, region: str, *, source_server_id: str, hostname: str, instance_type: str
) -> str:
    """Create the per-server launch template DRS manages; return its id."""
    ec2 = backend(account_id, region)
    drs_tags = [
        {"Key": MANAGED_TAG, "Value": MANAGED_VALUE},
        {"Key": SOURCE_SERVER_TAG, "Value": source_server_id},
    ]
    named = [*drs_tags, {"Key": "Name", "Value": hostname}]
    data: dict[str, Any] = {
        "InstanceType": instance_type,
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": named},
            {"ResourceType": "volume", "Tags": named},
        ],
    }
    subnet = _default_subnet(ec2)
    if subnet is not None:
        data["NetworkInterfaces"] = [
            {"DeviceIndex": 0, "SubnetId": subnet.id, "AssociatePublicIpAddress": False}
        ]
    template = ec2.create_launch_template(
        f"drs-{source_server_id}",
        "Elastic Disaster Recovery launch template",
        data,
        {"launch-template": {t["Key"]: t["Value"] for t in drs_tags}},
    )
    return template.id


def delete_launch_template(account_id: str, region: str, template_id: str) -> None:
    ec2 = backend(account_id, region)
    if template_id in ec2.launch_templates:
        ec2.delete_launch_template(None, template_id)


def launch_template_exists(account_id: str, region: str, template_id: str) -> bool:
    return template_id in backend(account_id, region).launch_templates


@dataclass
class LaunchRequest:
    source_server_id: str
    job_id: str
    hostname: str
    ip: str
    is_windows: bool
    disks: list[tuple[str, int]]  # (source device name, bytes)
    recommended_instance_type: str
    launch_template_id: str
    right_sizing: str
    copy_private_ip: bool
    copy_tags: bool
    launch_disposition: str
    source_tags: dict[str, str]
    launch_into_instance_id: str | None = None


@dataclass
class Launched:
    instance_id: str
    volumes: dict[str, str]  # source device name -> EBS volume id


def _ip_usable(ec2: Any, subnet: Any, ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    network = subnet.cidr
    if address not in network:
        return False
    offset = int(address) - int(network.network_address)
    if offset < 4 or address == network.broadcast_address:  # AWS reserves these
        return False
    for instance in ec2.all_instances():
        if instance.state != "terminated" and ip in {
            nic.private_ip_address for nic in instance.nics.values()
        }:
            return False
    return True


def launch(account_id: str, region: str, request: LaunchRequest) -> Launched:
    """Start the recovery instance of one source server (or launch into an existing one)."""
    ec2 = backend(account_id, region)
    tags = {
        MANAGED_TAG: MANAGED_VALUE,
        SOURCE_SERVER_TAG: request.source_server_id,
        INSTANCE_SOURCE_SERVER_TAG: request.source_server_id,
        INSTANCE_JOB_TAG: request.job_id,
        "Name": request.hostname,
    }
    if request.copy_tags:
        copied = {k: v for k, v in request.source_tags.items() if not k.lower().startswith("aws:")}
        tags = {**copied, **tags}

    if request.launch_into_instance_id:
        instance = ec2.get_instance(request.launch_into_instance_id)
        if instance.state == "stopped" and request.launch_disposition == "STARTED":
            ec2.start_instances([instance.id])
        instance.add_tags(tags)
        return Launched(instance.id, {})

    template = ec2.get_launch_template(request.launch_template_id)
    data = template.default_version().data
    nic = (data.get("NetworkInterfaces") or [{}])[0]
    subnet_id = nic.get("SubnetId")
    if not subnet_id:
        default = _default_subnet(ec2)
        subnet_id = default.id if default is not None else None
    groups = list(nic.get("Groups") or data.get("SecurityGroupIds") or [])
    instance_type = data.get("InstanceType") or request.recommended_instance_type
    if request.right_sizing != "NONE":
        instance_type = request.recommended_instance_type
    private_ip = nic.get("PrivateIpAddress")
    if not private_ip and request.copy_private_ip and subnet_id:
        if _ip_usable(ec2, ec2.get_subnet(subnet_id), request.ip):
            private_ip = request.ip

    mappings = []
    device_of: dict[str, str] = {}
    for index, (source_device, size) in enumerate(request.disks):
        if index == 0:
            device = "/dev/sda1" if request.is_windows else "/dev/xvda"
        else:
            device = f"/dev/xvd{chr(ord('a') + index)}"
        device_of[device] = source_device
        mappings.append(
            {
                "DeviceName": device,
                "Ebs": {
                    "VolumeSize": max(1, math.ceil(size / GIB)),
                    "VolumeType": "gp3",
                    "DeleteOnTermination": True,
                },
            }
        )
    reservation = ec2.run_instances(
        stable_id("ami-", request.source_server_id),
        1,
        None,
        [],
        instance_type=instance_type,
        is_instance_type_default=False,
        region_name=region,
        subnet_id=subnet_id,
        private_ip=private_ip,
        security_group_ids=groups,
        associate_public_ip=False,
        tags={"instance": tags, "volume": tags},
        block_device_mappings=mappings,
        launch_template={"LaunchTemplateId": template.id},
    )
    instance = reservation.instances[0]
    if request.launch_disposition == "STOPPED":
        ec2.stop_instances([instance.id])
    volumes = {
        device_of[name]: block.volume_id
        for name, block in instance.block_device_mapping.items()
        if name in device_of
    }
    return Launched(instance.id, volumes)


def instances_by_id(account_id: str, region: str) -> dict[str, Any]:
    return {instance.id: instance for instance in backend(account_id, region).all_instances()}


def state_of(instance: Any | None) -> str:
    if instance is None:
        return "NOT_FOUND"
    return _STATES.get(instance.state, "NOT_FOUND")


def terminate(account_id: str, region: str, instance_id: str) -> None:
    ec2 = backend(account_id, region)
    instance = instances_by_id(account_id, region).get(instance_id)
    if instance is not None and instance.state != "terminated":
        ec2.terminate_instances([instance_id])


def find_instance(account_id: str, region: str, instance_id: str) -> Any | None:
    return instances_by_id(account_id, region).get(instance_id)


def tags_of(instance: Any) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in instance.get_tags()}
