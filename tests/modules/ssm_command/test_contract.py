"""The ssm-command step against the sandbox's Run Command (invocations on the simulated clock)."""

from __future__ import annotations

from tests.modules.contract import SKIPPED_BY_PLAN, Case, ModuleContract, Phase, Run, Staging

COMMANDS = {"commands": ["systemctl restart claims", "echo restarted"]}
BY_TAG = {"targetTags": {"Role": "claims-web"}, "parameters": COMMANDS}
IN_DRILL = {**BY_TAG, "drillParameters": {"commands": ["echo drill"]}}


def instances(world: Staging) -> None:
    ec2 = world.admin("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for name in ("claims-web-1", "claims-web-2"):
        ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [
                        {"Key": "Name", "Value": name},
                        {"Key": "Role", "Value": "claims-web"},
                    ],
                }
            ],
        )


def one_fails(world: Staging) -> None:
    instances(world)
    world.sandbox.faults.fail_command("claims-web-2", exit_code=3, stderr="claims: unit not found")


def by_ids(world: Staging) -> dict:
    reservations = world.admin("ec2").describe_instances()["Reservations"]
    ids = sorted(i["InstanceId"] for r in reservations for i in r["Instances"])
    return {"instanceIds": ids, "parameters": COMMANDS}


def commands(world: Staging) -> list[str]:
    return sorted(c["CommandId"] for c in world.admin("ssm").list_commands()["Commands"])


def per_instance(world: Staging, run: Run) -> None:
    final = run.phases[-1].final
    step, *each = final.resources
    assert step.detail["instances"] == 2
    assert [r.status for r in each] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(r.detail["commandStatus"] == "Success" for r in each)


def drill_commands_sent(world: Staging, run: Run) -> None:
    [command] = world.admin("ssm").list_commands()["Commands"]
    assert command["Parameters"]["commands"] == ["echo drill"]


class TestSsmCommandContract(ModuleContract):
    module = "ssm-command"
    cases = (
        Case(
            "failover-by-tag",
            (Phase("ACTIVATE", BY_TAG, poll_seconds=10),),
            seed=instances,
            selector={"ids": ["restart-claims"]},
            writes=(("ssm", "SendCommand"),),
            effect=commands,
            check=per_instance,
        ),
        Case(
            "failover-by-id",
            (Phase("ACTIVATE", by_ids, poll_seconds=10),),
            seed=instances,
            selector={"ids": ["restart-claims"]},
            writes=(("ssm", "SendCommand"),),
            effect=commands,
            check=per_instance,
            extra=True,
        ),
        Case(
            "drill-by-default-skipped",
            (Phase("ACTIVATE", IN_DRILL, expect=SKIPPED_BY_PLAN),),
            drill=True,
            seed=instances,
            selector={"ids": ["restart-claims"]},
        ),
        Case(
            "drill-opted-in",
            (Phase("ACTIVATE", IN_DRILL, poll_seconds=10),),
            drill=True,
            run_in_drill=True,
            seed=instances,
            selector={"ids": ["restart-claims"]},
            writes=(("ssm", "SendCommand"),),
            effect=commands,
            check=drill_commands_sent,
        ),
        Case(
            "fails-on-one-instance",
            (Phase("ACTIVATE", BY_TAG, expect="FAILED", error="claims: unit not found"),),
            seed=one_fails,
            selector={"ids": ["restart-claims"]},
            extra=True,
        ),
    )
