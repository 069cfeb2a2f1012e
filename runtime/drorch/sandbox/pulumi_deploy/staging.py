"""Creators for what a staging account needs: Resource Explorer, the DRS replication
template and the network."""

from __future__ import annotations

from typing import Any

from drorch.sandbox.pulumi_deploy.base import Clients, Creator, Record, Target, as_int, tag_list

# --- Resource Explorer --------------------------------------------------------------------


def index(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    rex = s.client("resource-explorer-2")
    arn = rex.create_index()["Arn"]
    kind = i.get("type", "LOCAL")
    if kind != "LOCAL":
        rex.update_index_type(Arn=arn, Type=kind)
    return arn, {"arn": arn, "type": kind}


def view(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    kwargs: dict[str, Any] = {
        "ViewName": i["name"],
        "IncludedProperties": [{"Name": p["name"]} for p in i.get("includedProperties") or []],
    }
    filters = i.get("filters") or {}
    if filters.get("filterString"):
        kwargs["Filters"] = {"FilterString": filters["filterString"]}
    if i.get("tags"):
        kwargs["Tags"] = dict(i["tags"])
    rex = s.client("resource-explorer-2")
    arn = rex.create_view(**kwargs)["View"]["ViewArn"]
    if i.get("defaultView"):
        rex.associate_default_view(ViewArn=arn)
    return arn, {"arn": arn}


# --- DRS ----------------------------------------------------------------------------------


def replication_template(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    template = s.client("drs").create_replication_configuration_template(
        associateDefaultSecurityGroup=bool(i.get("associateDefaultSecurityGroup")),
        bandwidthThrottling=as_int(i.get("bandwidthThrottling")),
        createPublicIP=bool(i.get("createPublicIp")),
        dataPlaneRouting=i["dataPlaneRouting"],
        defaultLargeStagingDiskType=i["defaultLargeStagingDiskType"],
        ebsEncryption=i["ebsEncryption"],
        **(
            {"ebsEncryptionKeyArn": i["ebsEncryptionKeyArn"]}
            if i.get("ebsEncryptionKeyArn")
            else {}
        ),
        replicationServerInstanceType=i["replicationServerInstanceType"],
        replicationServersSecurityGroupsIDs=list(
            i.get("replicationServersSecurityGroupsIds") or []
        ),
        stagingAreaSubnetId=i["stagingAreaSubnetId"],
        stagingAreaTags=dict(i.get("stagingAreaTags") or {}),
        useDedicatedReplicationServer=bool(i.get("useDedicatedReplicationServer")),
        pitPolicy=[
            {
                "interval": as_int(p["interval"]),
                "retentionDuration": as_int(p["retentionDuration"]),
                "units": p["units"],
                "enabled": bool(p.get("enabled", True)),
                **({"ruleID": as_int(p["ruleId"])} if p.get("ruleId") is not None else {}),
            }
            for p in i.get("pitPolicies") or []
        ],
        tags=dict(i.get("tags") or {}),
    )
    template_id = template["replicationConfigurationTemplateID"]
    return template_id, {"arn": template["arn"]}


# --- EC2 ----------------------------------------------------------------------------------


def vpc(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    ec2 = s.client("ec2")
    kwargs: dict[str, Any] = {"CidrBlock": i["cidrBlock"]}
    if i.get("tags"):
        kwargs["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": tag_list(i["tags"])}]
    vpc_id = ec2.create_vpc(**kwargs)["Vpc"]["VpcId"]
    for key, attribute in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
    ):
        if i.get(key) is not None:
            ec2.modify_vpc_attribute(VpcId=vpc_id, **{attribute: {"Value": bool(i[key])}})
    arn = f"arn:aws:ec2:{t.region}:{t.account_id}:vpc/{vpc_id}"
    return vpc_id, {"arn": arn}


def subnet(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    kwargs: dict[str, Any] = {"VpcId": i["vpcId"], "CidrBlock": i["cidrBlock"]}
    if i.get("availabilityZone"):
        kwargs["AvailabilityZone"] = i["availabilityZone"]
    if i.get("tags"):
        kwargs["TagSpecifications"] = [{"ResourceType": "subnet", "Tags": tag_list(i["tags"])}]
    subnet = s.client("ec2").create_subnet(**kwargs)["Subnet"]
    return subnet["SubnetId"], {
        "arn": subnet.get("SubnetArn", ""),
        "availabilityZone": subnet["AvailabilityZone"],
    }


def security_group(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    ec2 = s.client("ec2")
    group = ec2.create_security_group(
        GroupName=i.get("name") or name,
        Description=i.get("description", "Managed by Pulumi"),
        VpcId=i["vpcId"],
    )["GroupId"]

    def permissions(rules: list[dict]) -> list[dict]:
        return [
            {
                "IpProtocol": r["protocol"],
                "FromPort": as_int(r.get("fromPort")),
                "ToPort": as_int(r.get("toPort")),
                "IpRanges": [
                    {"CidrIp": c, "Description": r.get("description", "")}
                    for c in r.get("cidrBlocks") or []
                ],
            }
            for r in rules
        ]

    if i.get("ingress"):
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=permissions(i["ingress"]))
    if i.get("egress") is not None:
        # like the provider: the egress rules given replace AWS's default allow-all
        ec2.revoke_security_group_egress(
            GroupId=group,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        if i["egress"]:
            ec2.authorize_security_group_egress(
                GroupId=group, IpPermissions=permissions(i["egress"])
            )
    arn = f"arn:aws:ec2:{t.region}:{t.account_id}:security-group/{group}"
    return group, {"arn": arn}


CREATORS: dict[str, Creator] = {
    "aws:resourceexplorer/index:Index": index,
    "aws:resourceexplorer/view:View": view,
    "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate": replication_template,
    "aws:ec2/vpc:Vpc": vpc,
    "aws:ec2/subnet:Subnet": subnet,
    "aws:ec2/securityGroup:SecurityGroup": security_group,
}
