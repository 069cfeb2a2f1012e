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
EC2_LAUNCH_WRITES = (
    "ec2:RunInstances",
    "ec2:StartInstances",
    "ec2:StopInstances",
    "ec2:TerminateInstances",
    "ec2:ModifyInstanceAttribute",
    "ec2:CreateVolume",
    "ec2:AttachVolume",
    "ec2:DetachVolume",
    "ec2:DeleteVolume",
    "ec2:CreateSnapshot",
    "ec2:DeleteSnapshot",
    "ec2:CreateTags",
    "ec2:CreateLaunchTemplate",
    "ec2:CreateLaunchTemplateVersion",
    "ec2:ModifyLaunchTemplate",
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupEgress",
)
EC2_RESOURCE_TYPES = (
    "instance/*",
    "volume/*",
    "snapshot/*",
    "launch-template/*",
    "security-group/*",
    "subnet/*",
    "network-interface/*",
    "vpc/*",
)


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    def drs(*kinds: str) -> list[str]:
        return arns("drs", account_id, regions, *kinds)

    images = [f"arn:aws:ec2:{r}::image/*" for r in sorted(set(regions))] + arns(
        "ec2", account_id, regions, "image/*"
    )
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
                drs("source-server/*", "recovery-instance/*", "job/*"),
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
                drs("source-server/*", "recovery-instance/*"),
            ),
            statement(
                "DrsTerminateRecoveryInstances",
                ["drs:TerminateRecoveryInstances"],
                drs("recovery-instance/*"),
            ),
            statement("DrsTagJobs", ["drs:TagResource"], drs("job/*", "recovery-instance/*")),
            statement(
                "Ec2Launch",
                EC2_LAUNCH_WRITES,
                arns("ec2", account_id, regions, *EC2_RESOURCE_TYPES) + images,
            ),
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
