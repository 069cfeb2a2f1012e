"""What Resource Explorer would have indexed: the resources that exist in the sandbox.

Real Resource Explorer discovers resources in the background; the sandbox
instead reads moto's in-memory backends (and drorch's DRS fake) at the moment of
a Search or ListResources, so results always reflect what exists now.

Every collector is guarded: if a moto upgrade renames an attribute, that one
resource type drops out of the results (and is logged) instead of breaking
Search. Collectors only *read* backends that already exist (``dict.get``), so a
search never creates a moto backend, its default VPC or anything else.

Resource types and services use Resource Explorer's own spelling
(``ec2:instance``, ``rds:cluster``, ``autoscaling:autoScalingGroup``, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

GLOBAL_REGION = "global"


@dataclass(frozen=True)
class IndexedResource:
    arn: str
    account_id: str
    region: str  # an AWS Region, or "global"
    resource_type: str  # e.g. "ec2:instance"
    tags: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    supports_tags: bool = True
    name: str = ""  # a name that is not part of the ARN (security group names)

    @property
    def service(self) -> str:
        return self.resource_type.split(":", 1)[0]

    @property
    def resource_id(self) -> str:
        """The last part of the ARN (after the last ``/`` or ``:``)."""
        tail = self.arn.split(":", 5)[-1]
        return tail.rsplit("/", 1)[-1] if "/" in tail else tail.rsplit(":", 1)[-1]


# Resource type -> whether Resource Explorer indexes its tags. IAM tags are not
# indexed by Resource Explorer ("tags attached to IAM resources ... are not indexed").
SUPPORTED_TYPES: dict[str, bool] = {
    "autoscaling:autoScalingGroup": True,
    "drs:recovery-instance": True,
    "drs:source-server": True,
    "dynamodb:table": True,
    "ec2:instance": True,
    "ec2:launch-template": True,
    "ec2:security-group": True,
    "ec2:subnet": True,
    "ec2:volume": True,
    "ec2:vpc": True,
    "ecs:cluster": True,
    "ecs:service": True,
    "ecs:task-definition": True,
    "elasticache:cluster": True,
    "elasticache:replicationgroup": True,
    "elasticfilesystem:file-system": True,
    "events:event-bus": True,
    "events:rule": True,
    "iam:role": False,
    "iam:user": False,
    "lambda:function": True,
    "rds:cluster": True,
    "rds:db": True,
    "resource-explorer-2:index": True,
    "resource-explorer-2:view": True,
    "route53:hostedzone": True,
    "s3:bucket": True,
    "sns:topic": True,
    "sqs:queue": True,
}


def supported_resource_types() -> list[dict[str, str]]:
    return [
        {"Service": rtype.split(":", 1)[0], "ResourceType": rtype}
        for rtype in sorted(SUPPORTED_TYPES)
    ]


def indexed(
    arn: str, account_id: str, region: str, rtype: str, tags: Any, name: str = ""
) -> IndexedResource:
    tags_indexed = SUPPORTED_TYPES[rtype]
    return IndexedResource(
        arn=arn,
        account_id=account_id,
        region=region,
        resource_type=rtype,
        tags=tag_dict(tags) if tags_indexed else {},
        supports_tags=tags_indexed,
        name=name,
    )


def tag_dict(tags: Any) -> dict[str, str]:
    """Normalise moto's many tag shapes to ``{key: value}``."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        if "Tags" in tags and isinstance(tags["Tags"], list):
            return tag_dict(tags["Tags"])
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for item in tags:
        if isinstance(item, Mapping):
            key = item.get("Key", item.get("key"))
            value = item.get("Value", item.get("value", ""))
            if key is not None:
                result[str(key)] = "" if value is None else str(value)
    return result


def existing_backend(backends: Any, account_id: str, region: str) -> Any:
    """A moto region backend if it already exists (never creates one)."""
    account = dict.get(backends, account_id)
    if account is None:
        return None
    if region == GLOBAL_REGION:
        return dict.get(account, "aws") or dict.get(account, "global")
    return dict.get(account, region)


def _listed(
    backends: Any,
    account_id: str,
    region: str,
    rtype: str,
    collection: str,
    *,
    arn: str = "arn",
    tags: str = "tags",
) -> Iterator[IndexedResource]:
    """The resources of a moto backend kept in its dict ``collection``: each with its ARN and
    tags in the attributes ``arn`` and ``tags``."""
    backend = existing_backend(backends, account_id, region)
    if backend is None:
        return
    for item in list(getattr(backend, collection).values()):
        yield indexed(getattr(item, arn), account_id, region, rtype, getattr(item, tags))


# --- regional collectors ---------------------------------------------------------


def _ec2(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.ec2.models import ec2_backends

    backend = existing_backend(ec2_backends, account_id, region)
    if backend is None:
        return
    tags = backend.tags
    prefix = f"arn:aws:ec2:{region}:{account_id}"
    for reservation in list(backend.reservations.values()):
        for instance in reservation.instances:
            if instance.state in ("terminated",):
                continue
            yield indexed(
                f"{prefix}:instance/{instance.id}",
                account_id,
                region,
                "ec2:instance",
                tags.get(instance.id),
            )
    for vpc_id in list(backend.vpcs):
        yield indexed(f"{prefix}:vpc/{vpc_id}", account_id, region, "ec2:vpc", tags.get(vpc_id))
    for subnets in list(backend.subnets.values()):
        for subnet_id in list(subnets):
            yield indexed(
                f"{prefix}:subnet/{subnet_id}",
                account_id,
                region,
                "ec2:subnet",
                tags.get(subnet_id),
            )
    for groups in list(backend.groups.values()):
        for group_id, group in list(groups.items()):
            yield indexed(
                f"{prefix}:security-group/{group_id}",
                account_id,
                region,
                "ec2:security-group",
                tags.get(group_id),
                name=getattr(group, "name", ""),
            )
    for volume_id in list(backend.volumes):
        yield indexed(
            f"{prefix}:volume/{volume_id}", account_id, region, "ec2:volume", tags.get(volume_id)
        )
    for template_id in list(getattr(backend, "launch_templates", {})):
        yield indexed(
            f"{prefix}:launch-template/{template_id}",
            account_id,
            region,
            "ec2:launch-template",
            tags.get(template_id),
        )


def _rds(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.rds.models import rds_backends

    yield from _listed(
        rds_backends, account_id, region, "rds:cluster", "clusters", arn="db_cluster_arn"
    )
    yield from _listed(
        rds_backends, account_id, region, "rds:db", "databases", arn="db_instance_arn"
    )


def _ecs(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.ecs.models import ecs_backends

    backend = existing_backend(ecs_backends, account_id, region)
    if backend is None:
        return
    for cluster in list(backend.clusters.values()):
        if cluster.status == "ACTIVE":
            yield indexed(cluster.arn, account_id, region, "ecs:cluster", cluster.tags)
    for service in list(backend.services.values()):
        if service.status != "INACTIVE":
            yield indexed(service.arn, account_id, region, "ecs:service", service.tags)
    for revisions in list(backend.task_definitions.values()):
        for task_definition in list(revisions.values()):
            if task_definition.status == "ACTIVE":
                yield indexed(
                    task_definition.arn,
                    account_id,
                    region,
                    "ecs:task-definition",
                    task_definition.tags,
                )


def _autoscaling(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.autoscaling.models import autoscaling_backends

    yield from _listed(
        autoscaling_backends,
        account_id,
        region,
        "autoscaling:autoScalingGroup",
        "autoscaling_groups",
    )


def _lambda(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.awslambda.models import lambda_backends

    backend = existing_backend(lambda_backends, account_id, region)
    if backend is None:
        return
    for function in list(backend._lambdas.all()):
        arn = f"arn:aws:lambda:{region}:{account_id}:function:{function.function_name}"
        yield indexed(arn, account_id, region, "lambda:function", function.tags)


def _elasticache(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.elasticache.models import elasticache_backends

    backend = existing_backend(elasticache_backends, account_id, region)
    if backend is None:
        return

    def tags_of(arn: str) -> Any:
        return backend.tagging_service.list_tags_for_resource(arn)

    for cluster in list(backend.cache_clusters.values()):
        yield indexed(cluster.arn, account_id, region, "elasticache:cluster", tags_of(cluster.arn))
    for group in list(backend.replication_groups.values()):
        yield indexed(
            group.arn, account_id, region, "elasticache:replicationgroup", tags_of(group.arn)
        )


def _efs(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.efs.models import efs_backends

    backend = existing_backend(efs_backends, account_id, region)
    if backend is None:
        return
    for fs in list(backend.file_systems_by_id.values()):
        tags = backend.list_tags_for_resource(fs.file_system_id)
        yield indexed(fs.file_system_arn, account_id, region, "elasticfilesystem:file-system", tags)


def _events(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.events.models import events_backends

    backend = existing_backend(events_backends, account_id, region)
    if backend is None:
        return
    tags_of = backend.tagger.list_tags_for_resource
    for bus in list(backend.event_buses.values()):
        yield indexed(bus.arn, account_id, region, "events:event-bus", tags_of(bus.arn))
        for rule in list(bus.rules.values()):
            yield indexed(rule.arn, account_id, region, "events:rule", tags_of(rule.arn))


def _dynamodb(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.dynamodb.models import dynamodb_backends

    yield from _listed(
        dynamodb_backends, account_id, region, "dynamodb:table", "tables", arn="table_arn"
    )


def _sns(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.sns.models import sns_backends

    yield from _listed(sns_backends, account_id, region, "sns:topic", "topics", tags="_tags")


def _sqs(account_id: str, region: str) -> Iterator[IndexedResource]:
    from moto.sqs.models import sqs_backends

    yield from _listed(sqs_backends, account_id, region, "sqs:queue", "queues", arn="queue_arn")


def _field(obj: Any, *names: str) -> Any:
    """The first present field of a dict or an object (DRS records may be either)."""
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _drs(account_id: str, region: str) -> Iterator[IndexedResource]:
    from drorch.sandbox.drs.models import drs_backends

    backend = existing_backend(drs_backends, account_id, region)
    if backend is None:
        return
    separate_tags = getattr(backend, "tags", None)
    kinds = (
        (
            "source_servers",
            "drs:source-server",
            "source-server",
            ("sourceServerID", "source_server_id"),
        ),
        (
            "recovery_instances",
            "drs:recovery-instance",
            "recovery-instance",
            ("recoveryInstanceID", "recovery_instance_id"),
        ),
    )
    for attribute, rtype, arn_kind, id_fields in kinds:
        records = getattr(backend, attribute, None) or {}
        for key, record in list(records.items()):
            record_id = _field(record, *id_fields) or key
            arn = (
                _field(record, "arn") or f"arn:aws:drs:{region}:{account_id}:{arn_kind}/{record_id}"
            )
            tags = _field(record, "tags")
            if tags is None and isinstance(separate_tags, Mapping):
                tags = separate_tags.get(arn)
            yield indexed(arn, account_id, region, rtype, tags)


# --- global collectors (reported with Region "global", or the bucket's Region) -----


def _route53(account_id: str) -> Iterator[IndexedResource]:
    from moto.route53.models import route53_backends

    backend = existing_backend(route53_backends, account_id, GLOBAL_REGION)
    if backend is None:
        return
    for zone in list(backend.zones.values()):
        zone_id = str(zone.id).rsplit("/", 1)[-1]
        arn = f"arn:aws:route53:::hostedzone/{zone_id}"
        tags = backend.resource_tags.get(zone_id)
        yield indexed(arn, account_id, GLOBAL_REGION, "route53:hostedzone", tags)


def _iam(account_id: str) -> Iterator[IndexedResource]:
    from moto.iam.models import iam_backends

    backend = existing_backend(iam_backends, account_id, GLOBAL_REGION)
    if backend is None:
        return
    for role in list(backend.roles.values()):
        yield indexed(role.arn, account_id, GLOBAL_REGION, "iam:role", None)
    for user in list(backend.users.values()):
        yield indexed(user.arn, account_id, GLOBAL_REGION, "iam:user", None)


def _s3(account_id: str) -> Iterator[IndexedResource]:
    from moto.s3.models import s3_backends

    backend = existing_backend(s3_backends, account_id, GLOBAL_REGION)
    if backend is None:
        return
    for bucket in list(backend.buckets.values()):
        tags = backend.tagger.get_tag_dict_for_resource(bucket.arn)
        yield indexed(bucket.arn, account_id, bucket.region_name, "s3:bucket", tags)


RegionalCollector = Callable[[str, str], Iterable[IndexedResource]]
GlobalCollector = Callable[[str], Iterable[IndexedResource]]

REGIONAL_COLLECTORS: tuple[RegionalCollector, ...] = (
    _ec2,
    _rds,
    _ecs,
    _autoscaling,
    _lambda,
    _elasticache,
    _efs,
    _events,
    _dynamodb,
    _sns,
    _sqs,
    _drs,
)
GLOBAL_COLLECTORS: tuple[GlobalCollector, ...] = (_route53, _iam, _s3)


def _guarded(name: str, produce: Callable[[], Iterable[IndexedResource]]) -> list[IndexedResource]:
    try:
        return list(produce())
    except Exception:  # noqa: BLE001 - a moto internals change drops one type, not Search
        log.warning(
            "resource explorer: collector %s failed; its resources are not indexed",
            name,
            exc_info=True,
        )
        return []


def collect(
    account_id: str, regions: Iterable[str], extra: Iterable[RegionalCollector] = ()
) -> list[IndexedResource]:
    """Every resource of the account that lives in ``regions`` (plus global resources).

    ``extra`` collectors run after the others, for each Region (Resource Explorer
    adds its own index and views this way).

    ``regions`` are the Regions whose index the search covers; global resources
    (Route 53, IAM) are reported with Region ``global`` and are included in every
    search; S3 buckets are reported in the bucket's own Region.
    """
    covered = set(regions)
    found: dict[str, IndexedResource] = {}
    for region in sorted(covered):
        for collector in (*REGIONAL_COLLECTORS, *extra):
            for resource in _guarded(
                collector.__name__, lambda c=collector, r=region: c(account_id, r)
            ):
                found.setdefault(resource.arn, resource)
    for collector in GLOBAL_COLLECTORS:
        for resource in _guarded(collector.__name__, lambda c=collector: c(account_id)):
            if resource.region == GLOBAL_REGION or resource.region in covered:
                found.setdefault(resource.arn, resource)
    return list(found.values())
