"""What the sqlserver-ag module may call in a staging account, limited to its regions.

It reads instances (``ec2:DescribeInstances``) and Run Command results, and sends one
document: ``AWS-RunPowerShellScript``, to instances of the account. IAM cannot tell a
script that reads the availability group from one that fails it over, so
``ssm:SendCommand`` is in ``drill_safe``: what makes a drill safe is the module's drill
guard, which refuses (before it is sent) any SendCommand whose script holds an
``ALTER AVAILABILITY GROUP`` or ``ALTER DATABASE`` statement. The module has no other
write.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

DOCUMENT = "AWS-RunPowerShellScript"
READS = (
    "ec2:DescribeInstances",
    "ssm:ListCommands",
    "ssm:ListCommandInvocations",
    "ssm:GetCommandInvocation",
)


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    # an AWS-owned document's ARN has no account; the Service Authorization Reference
    # templates the document resource with one, so both forms name the one document
    documents = [f"arn:aws:ssm:{r}::document/{DOCUMENT}" for r in sorted(set(regions))] + arns(
        "ssm", account_id, regions, f"document/{DOCUMENT}"
    )
    return ModuleIam(
        read=[statement("SqlAgRead", READS, "*", condition=in_regions(regions))],
        drill_safe=[
            statement(
                "SqlAgRunPowerShell",
                ["ssm:SendCommand"],
                documents + arns("ec2", account_id, regions, "instance/*"),
            )
        ],
    )
