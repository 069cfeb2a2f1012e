"""What the DRS module may call in a staging account, limited to the account's regions.

DRS launches recovery instances with the caller's permissions, so the role also
needs the EC2 actions ``drs:StartRecovery`` depends on (Service Authorization
Reference, "Dependent actions") and ``iam:PassRole`` for the recovery instance
profile.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

DRS_READS = (
    "drs:DescribeSourceServers",
    "drs:DescribeJobs",
    "drs:DescribeRecoveryInstances",
    "drs:DescribeLaunchConfigurationTemplates",
    "drs:DescribeReplicationConfigurationTemplates",
)
DRS_RESOURCE_READS = (
    "drs:GetLaunchConfiguration",
    "drs:GetReplicationConfiguration",
    "drs:DescribeJobLogItems",
    "drs:DescribeRecoverySnapshots",
)
EC2_READS = (
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:DescribeImages",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeAccountAttributes",
)
# DRS launches recovery instances with the caller's permissions (forward access
# sessions), so every EC2 write carries aws:ViaAWSService; writes to existing
# resources also need DRS's own tag, as in AWS's managed DRS policies.
MANAGED_TAG = "AWSElasticDisasterRecoveryManaged"
VIA_DRS = {"Bool": {"aws:ViaAWSService": "true"}}
MANAGED_BY_DRS = {
    "Bool": {"aws:ViaAWSService": "true"},
    "Null": {f"aws:ResourceTag/{MANAGED_TAG}": "false"},
}
EC2_CREATES = (
    "ec2:RunInstances",
    "ec2:CreateVolume",
    "ec2:CreateSnapshot",
    "ec2:CreateLaunchTemplate",
    "ec2:CreateSecurityGroup",
)
# (actions, resource types) on resources DRS created and tagged
EC2_MANAGED_WRITES = (
    (
        (
            "ec2:StartInstances",
            "ec2:StopInstances",
            "ec2:TerminateInstances",
            "ec2:ModifyInstanceAttribute",
            "ec2:AttachVolume",
            "ec2:DetachVolume",
        ),
        ("instance/*",),
    ),
    (("ec2:AttachVolume", "ec2:DetachVolume", "ec2:DeleteVolume"), ("volume/*",)),
    (
        (
            "ec2:CreateLaunchTemplateVersion",
            "ec2:ModifyLaunchTemplate",
            "ec2:DeleteLaunchTemplateVersions",
        ),
        ("launch-template/*",),
    ),
    (
        (
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupEgress",
        ),
        ("security-group/*",),
    ),
)
EC2_LAUNCH_WRITES = tuple(
    sorted(
        {*EC2_CREATES, "ec2:CreateTags", "ec2:DeleteSnapshot"}
        | {a for actions, _ in EC2_MANAGED_WRITES for a in actions}
    )
)
# what RunInstances and the other creates name (snapshots and AMIs have no account)
EC2_CREATE_TYPES = (
    "instance/*",
    "volume/*",
    "launch-template/*",
    "security-group/*",
    "subnet/*",
    "network-interface/*",
    "vpc/*",
)


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    def drs(*kinds: str) -> list[str]:
        return arns("drs", account_id, regions, *kinds)

    def ec2(*kinds: str) -> list[str]:
        return arns("ec2", account_id, regions, *kinds)

    def unowned(kind: str) -> list[str]:  # EC2 snapshot and AMI ARNs carry no account
        return [f"arn:aws:ec2:{r}::{kind}" for r in sorted(set(regions))]

    managed = [
        statement(
            f"Ec2Managed{''.join(k.split('/')[0].title().replace('-', '') for k in kinds)}",
            actions,
            ec2(*kinds),
            condition=MANAGED_BY_DRS,
        )
        for actions, kinds in EC2_MANAGED_WRITES
    ]
    return ModuleIam(
        read=[
            statement("DrsRead", DRS_READS, "*", condition=in_regions(regions)),
            # tags are read on "*" only (no resource-level permissions for this action)
            statement(
                "DrsTagsRead", ["drs:ListTagsForResource"], "*", condition=in_regions(regions)
            ),
            statement(
                "DrsResourceRead",
                DRS_RESOURCE_READS,
                drs("source-server/*", "job/*"),
            ),
            statement("Ec2Read", EC2_READS, "*", condition=in_regions(regions)),
            statement(
                "Ec2InstanceRead",
                ["ec2:DescribeInstanceAttribute"],
                arns("ec2", account_id, regions, "instance/*"),
            ),
        ],
        drill_safe=[
            # StartRecovery cannot be conditioned on isDrill: the module's drill guard
            # refuses a non-drill StartRecovery before it is sent
            statement(
                "DrsRecover",
                [
                    "drs:StartRecovery",
                    "drs:UpdateLaunchConfiguration",
                    "drs:CreateRecoveryInstanceForDrs",
                ],
                drs("source-server/*"),
            ),
            statement(
                "DrsTerminateRecoveryInstances",
                ["drs:TerminateRecoveryInstances"],
                drs("recovery-instance/*"),
            ),
            statement("DrsTagJobs", ["drs:TagResource"], drs("job/*", "recovery-instance/*")),
            statement(
                "Ec2Launch",
                EC2_CREATES,
                ec2(*EC2_CREATE_TYPES) + unowned("snapshot/*") + unowned("image/*"),
                condition=VIA_DRS,
            ),
            statement(
                "Ec2TagOnCreate",
                ["ec2:CreateTags"],
                ec2(*EC2_CREATE_TYPES) + unowned("snapshot/*"),
                condition={
                    **VIA_DRS,
                    "StringEquals": {"ec2:CreateAction": sorted(a[4:] for a in EC2_CREATES)},
                },
            ),
            statement(
                "Ec2ManagedSnapshot",
                ["ec2:DeleteSnapshot"],
                unowned("snapshot/*"),
                condition=MANAGED_BY_DRS,
            ),
            *managed,
            statement(
                "PassRecoveryInstanceRole",
                ["iam:PassRole"],
                [f"arn:aws:iam::{account_id}:role/service-role/AWSElasticDisasterRecovery*"],
                condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            ),
        ],
        write=[
            statement(
                "DrsFailback",
                ["drs:ReverseReplication", "drs:StartFailbackLaunch"],
                drs("recovery-instance/*"),
            ),
        ],
    )
