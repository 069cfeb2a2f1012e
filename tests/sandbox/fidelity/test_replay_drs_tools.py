"""Replay: the call sequences public DRS automation tools make, run against the sandbox.

The clients below are our own reimplementation of the sequences that the DRS
automation tools make (the drs-tools "DRS plan automation" and "configuration
synchronizer", and the DRS orchestration solution's wave runner), written from their
documented behaviour, not copied:

* configuration synchroniser: page through DescribeSourceServers, read each server's
  GetLaunchConfiguration and GetReplicationConfiguration, write the wanted settings
  with UpdateLaunchConfiguration / UpdateReplicationConfiguration, and give the
  server's EC2 launch template a new default version (CreateLaunchTemplateVersion +
  ModifyLaunchTemplate) with the instance type and subnet;
* plan automation / orchestration: StartRecovery per wave (a drill), poll
  DescribeJobs until the job is COMPLETED (sleeping between polls), read
  DescribeJobLogItems, check the recovery instances (DescribeRecoveryInstances, EC2
  DescribeInstances), then TerminateRecoveryInstances and poll that job too.

Each response is checked against the botocore model by the strict sandbox (the
conftest's ``env`` fails the test on any fidelity violation); the sleeps between polls
pass on the simulated clock (botocore's ``time.sleep`` is the sandbox's).
"""

from __future__ import annotations

import time
from typing import Any

POLL_SECONDS = 30  # what the tools sleep between DescribeJobs polls


def sleep(seconds: float) -> None:
    """The tools' ``time.sleep``: the sandbox makes it simulated (see interceptor)."""
    import botocore.endpoint

    botocore.endpoint.time.sleep(seconds)


class ConfigurationSynchroniser:
    """Apply per-server launch settings, as the drs-tools configuration synchroniser does."""

    def __init__(self, drs: Any, ec2: Any) -> None:
        self.drs, self.ec2 = drs, ec2

    def servers(self, tag_key: str, tag_value: str) -> list[dict[str, Any]]:
        found = []
        for page in self.drs.get_paginator("describe_source_servers").paginate(
            filters={}, PaginationConfig={"PageSize": 2}
        ):
            found += [s for s in page["items"] if s.get("tags", {}).get(tag_key) == tag_value]
        return found

    def apply(self, server: dict[str, Any], instance_type: str, subnet_id: str) -> None:
        sid = server["sourceServerID"]
        launch = self.drs.get_launch_configuration(sourceServerID=sid)
        self.drs.update_launch_configuration(
            sourceServerID=sid,
            copyPrivateIp=False,
            copyTags=True,
            launchDisposition="STARTED",
            targetInstanceTypeRightSizingMethod="NONE",
            recoveryMode="FAST",
        )
        replication = self.drs.get_replication_configuration(sourceServerID=sid)
        self.drs.update_replication_configuration(
            sourceServerID=sid, stagingAreaTags={**replication["stagingAreaTags"], "Sync": "yes"}
        )
        template_id = launch["ec2LaunchTemplateID"]
        version = self.ec2.create_launch_template_version(
            LaunchTemplateId=template_id,
            SourceVersion="$Default",
            LaunchTemplateData={
                "InstanceType": instance_type,
                "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": subnet_id}],
            },
        )["LaunchTemplateVersion"]["VersionNumber"]
        self.ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version))


class PlanAutomation:
    """Run a drill wave by wave, as the DRS plan automation and orchestration tools do."""

    def __init__(self, drs: Any, ec2: Any) -> None:
        self.drs, self.ec2 = drs, ec2
        self.polls = 0

    def wait_for_job(self, job_id: str) -> dict[str, Any]:
        while True:
            (job,) = self.drs.describe_jobs(filters={"jobIDs": [job_id]})["items"]
            if job["status"] == "COMPLETED":
                return job
            self.polls += 1
            sleep(POLL_SECONDS)

    def log(self, job_id: str) -> list[str]:
        events = []
        for page in self.drs.get_paginator("describe_job_log_items").paginate(jobID=job_id):
            events += [item["event"] for item in page["items"]]
        return events

    def run_wave(self, server_ids: list[str]) -> tuple[dict[str, Any], list[str]]:
        job = self.drs.start_recovery(
            sourceServers=[{"sourceServerID": sid} for sid in server_ids],
            isDrill=True,
            tags={"Automation": "replay"},
        )["job"]
        finished = self.wait_for_job(job["jobID"])
        return finished, self.log(job["jobID"])

    def recovery_instances(self, server_ids: list[str]) -> list[dict[str, Any]]:
        items = []
        for page in self.drs.get_paginator("describe_recovery_instances").paginate(
            filters={"sourceServerIDs": server_ids}
        ):
            items += page["items"]
        return items

    def clean_up(self, instance_ids: list[str]) -> dict[str, Any]:
        job = self.drs.terminate_recovery_instances(recoveryInstanceIDs=instance_ids)["job"]
        return self.wait_for_job(job["jobID"])


def test_drs_tools_sequences_run_unmodified_against_the_sandbox(env):
    env.drs.initialize_service()
    ec2 = env.ec2()
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    waves = {"1": ["db-1", "db-2"], "2": ["app-1", "app-2", "app-3"]}
    for wave, hosts in waves.items():
        for n, host in enumerate(hosts):
            env.seed(
                host, ip=f"172.31.7.{10 * int(wave) + n}", tags={"Wave": wave, "App": "orders"}
            )
    env.seed("other", ip="172.31.7.99", tags={"App": "billing"})

    sync = ConfigurationSynchroniser(env.drs, ec2)
    orders = sync.servers("App", "orders")
    assert sorted(
        s["sourceProperties"]["identificationHints"]["hostname"] for s in orders
    ) == sorted(waves["1"] + waves["2"])
    for server in orders:
        sync.apply(server, "m5.large", subnet)
    (first,) = [s for s in orders if s["tags"]["Wave"] == "1"][:1]
    launch = env.drs.get_launch_configuration(sourceServerID=first["sourceServerID"])
    assert (launch["recoveryMode"], launch["targetInstanceTypeRightSizingMethod"]) == (
        "FAST",
        "NONE",
    )

    automation = PlanAutomation(env.drs, ec2)
    before, started = env.sandbox.now(), time.monotonic()
    launched: list[str] = []
    for wave in sorted(waves):
        ids = [s["sourceServerID"] for s in orders if s["tags"]["Wave"] == wave]
        job, events = automation.run_wave(ids)
        assert {p["launchStatus"] for p in job["participatingServers"]} == {"LAUNCHED"}
        assert events[0] == "JOB_START" and events[-1] == "JOB_END"
        assert events.count("LAUNCH_START") == len(ids)
        instances = automation.recovery_instances(ids)
        assert len(instances) == len(ids) and all(i["isDrill"] for i in instances)
        described = ec2.describe_instances(InstanceIds=[i["ec2InstanceID"] for i in instances])
        for reservation in described["Reservations"]:
            for instance in reservation["Instances"]:
                assert (instance["InstanceType"], instance["SubnetId"]) == ("m5.large", subnet)
        launched += [i["recoveryInstanceID"] for i in instances]

    cleanup = automation.clean_up(launched)
    assert {p["launchStatus"] for p in cleanup["participatingServers"]} == {"TERMINATED"}
    assert automation.recovery_instances([s["sourceServerID"] for s in orders]) == []
    # the tools' 30-second sleeps passed in simulated time, not real time
    assert automation.polls >= 3
    assert (env.sandbox.now() - before).total_seconds() >= automation.polls * POLL_SECONDS
    assert time.monotonic() - started < 10
