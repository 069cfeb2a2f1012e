"""Creators for IAM: roles, inline and managed policies, attachments."""

from __future__ import annotations

from typing import Any

from drorch.sandbox.pulumi_deploy.base import Clients, Creator, Record, Target, as_int, tag_list

# --- IAM ----------------------------------------------------------------------------------


def role(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    kwargs: dict[str, Any] = {
        "RoleName": i["name"],
        "AssumeRolePolicyDocument": i["assumeRolePolicy"],
        "Description": i.get("description", ""),
    }
    if i.get("maxSessionDuration"):
        kwargs["MaxSessionDuration"] = as_int(i["maxSessionDuration"])
    if i.get("tags"):
        kwargs["Tags"] = tag_list(i["tags"])
    role = s.client("iam").create_role(**kwargs)["Role"]
    return i["name"], {"arn": role["Arn"], "uniqueId": role["RoleId"], "name": i["name"]}


def role_policy(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("iam").put_role_policy(
        RoleName=i["role"], PolicyName=i["name"], PolicyDocument=i["policy"]
    )
    return f"{i['role']}:{i['name']}", {}


def policy(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    policy = s.client("iam").create_policy(
        PolicyName=i["name"],
        PolicyDocument=i["policy"],
        Description=i.get("description", ""),
        Tags=tag_list(i.get("tags")),
    )["Policy"]
    return policy["Arn"], {"arn": policy["Arn"], "policyId": policy["PolicyId"]}


def attachment(d: Record, s: Clients, t: Target, name: str, i: dict) -> tuple[str, dict]:
    s.client("iam").attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
    return f"{i['role']}-{i['policyArn']}", {}


CREATORS: dict[str, Creator] = {
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:iam/policy:Policy": policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": attachment,
}
