"""SQL Server Always On availability groups: one EC2 instance per replica, and what each
replica's SQL Server answers (:mod:`drorch.modules.sqlserver_ag.sandbox`).

An entry is one availability group (``name``) with its databases and replicas. Each
replica is an EC2 instance (Name tag ``host``) in its region — the account's recovery
region unless it says otherwise, e.g. the primary in the source region — carrying the
entry's ``tags`` and its own. The sandbox then answers the sqlserver-ag module's
Run Command scripts on those instances from the declared role, availability mode,
synchronisation state, lag and queues. The instances run the sandbox's default image:
the sandbox does not care that SQL Server runs on Windows.

Example (the recovery replica of an AG whose primary is in us-east-1)::

    - type: sqlserver-ag
      account: staging-data
      name: claims-ag
      databases: [Claims, Members]
      tags: {dr:enabled: "true", dr:wave: "1", dr:priority: critical,
             dr:recovery-strategy: sql-ag, Customer: acme, Environment: production}
      replicas:
        - {host: acme-sql-01, region: us-east-1, role: PRIMARY}
        - {host: acme-sql-dr-01, role: SECONDARY, synchronizationState: SYNCHRONIZED}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    TAGS_SCHEMA,
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    fail,
    identifier,
    tag_specifications,
    with_name,
)
from drorch.sandbox.seeders.compute import DEFAULT_IMAGE, INSTANCE_TYPE, resolve_image

_HOST = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,58}[A-Za-z0-9])?$"
_REPLICA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["host", "role"],
    "properties": {
        "host": identifier("a host name: 1-60 letters, digits and hyphens", _HOST, 60),
        "region": {
            "type": "string",
            "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$",
            "description": "Defaults to the account's recovery region",
        },
        "role": {"enum": ["PRIMARY", "SECONDARY"]},
        "availabilityMode": {
            "enum": ["SYNCHRONOUS_COMMIT", "ASYNCHRONOUS_COMMIT"],
            "default": "SYNCHRONOUS_COMMIT",
        },
        "synchronizationState": {
            "enum": ["SYNCHRONIZED", "SYNCHRONIZING", "NOT SYNCHRONIZING", "INITIALIZING"],
            "default": "SYNCHRONIZED",
        },
        "suspended": {"type": "boolean", "default": False},
        "lagSeconds": {"type": ["integer", "null"], "minimum": 0, "default": 0},
        "logSendQueueKb": {"type": "integer", "minimum": 0, "default": 0},
        "redoQueueKb": {"type": "integer", "minimum": 0, "default": 0},
        "tags": TAGS_SCHEMA,
    },
}


class SqlServerAvailabilityGroup(Seeder):
    type = "sqlserver-ag"
    description = (
        "A SQL Server Always On availability group: an EC2 instance per replica (Name tag "
        "host, in its region) and what its SQL Server answers the sqlserver-ag module "
        "(role, availability mode, synchronisation state, lag)."
    )
    name_schema = identifier(
        "an availability group name: 1-128 letters, digits, _ . and -",
        r"^[A-Za-z0-9_.-]{1,128}$",
        128,
    )
    properties = {
        "databases": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,128}$"},
        },
        "instanceType": {**INSTANCE_TYPE, "default": "r5.xlarge"},
        "replicas": {"type": "array", "minItems": 2, "maxItems": 9, "items": _REPLICA},
    }
    required = ("databases", "replicas")

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        replicas = spec["replicas"]
        primaries = [i for i, r in enumerate(replicas) if r["role"] == "PRIMARY"]
        if len(primaries) != 1:
            raise fail(f"{where}.replicas", "exactly one replica must be PRIMARY")
        hosts = [r["host"].lower() for r in replicas]
        for index, host in enumerate(hosts):
            if hosts.index(host) != index:
                raise fail(f"{where}.replicas[{index}].host", f"{host!r} repeats")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        from drorch.modules.sqlserver_ag.sandbox import SQL_SERVERS

        seeded: list[SeededResource] = []
        declared: list[dict[str, Any]] = []
        for replica in spec["replicas"]:
            region = replica.get("region", ctx.region)
            here = (
                ctx
                if region == ctx.region
                else SeedContext(session=ctx.session, account_id=ctx.account_id, region=region)
            )
            ec2 = here.client("ec2")
            _, subnets = here.network()
            tags = with_name({**spec.get("tags", {}), **replica.get("tags", {})}, replica["host"])
            kwargs: dict[str, Any] = {
                "ImageId": resolve_image(here, DEFAULT_IMAGE, "image"),
                "InstanceType": spec.get("instanceType", "r5.xlarge"),
                "MinCount": 1,
                "MaxCount": 1,
                "SubnetId": subnets[0],
                "TagSpecifications": tag_specifications(["instance", "volume"], tags),
            }
            if here is ctx and ctx.security_group_id:
                kwargs["SecurityGroupIds"] = ctx.security_groups()
            instance_id = ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
            undo.push(
                f"EC2 instance {instance_id}",
                lambda e=ec2, i=instance_id: e.terminate_instances(InstanceIds=[i]),
            )
            arn = f"arn:aws:ec2:{region}:{ctx.account_id}:instance/{instance_id}"
            seeded.append(self.resource(here, replica["host"], arn))
            declared.append(
                {
                    "instanceId": instance_id,
                    "region": region,
                    "name": replica["host"],
                    "role": replica["role"],
                    "availabilityMode": replica.get("availabilityMode", "SYNCHRONOUS_COMMIT"),
                    "synchronizationState": replica.get("synchronizationState", "SYNCHRONIZED"),
                    "suspended": replica.get("suspended", False),
                    "lagSeconds": replica.get("lagSeconds", 0),
                    "logSendQueueKb": replica.get("logSendQueueKb", 0),
                    "redoQueueKb": replica.get("redoQueueKb", 0),
                }
            )
        SQL_SERVERS.declare_group(ctx.account_id, spec["name"], spec["databases"], declared)
        undo.push(
            f"availability group {spec['name']}",
            lambda: SQL_SERVERS.forget_group(ctx.account_id, spec["name"]),
        )
        return seeded  # the replicas' instances (an AG has no ARN of its own)
