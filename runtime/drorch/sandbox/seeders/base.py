"""What every seeder shares: the context it works in, what it reports, and rollback.

A seeder turns one validated scenario entry into real resources in moto, through
boto3 only. It creates them in dependency order and registers an undo step for
each; if a later call fails, the steps run in reverse so that a failed entry
leaves nothing behind, and the AWS error is reported as an :class:`InputError`
naming the entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boto3
import jsonschema
from botocore.exceptions import ClientError

from drorch.errors import InputError

log = logging.getLogger(__name__)

GLOBAL_REGION = "global"
"""Region of a seeded global resource (Route 53, IAM, Aurora global clusters), as Resource
Explorer reports global resources; their ARNs have an empty region field."""

TAGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Tags applied to every resource the entry creates, with the service's own "
    "tagging parameters (at most 50; keys 1-128 characters, values up to 256, no aws: prefix)",
    "maxProperties": 50,
    "propertyNames": {
        "minLength": 1,
        "maxLength": 128,
        "pattern": "^(?!aws:)",
        "description": "tag keys starting with aws: are reserved for AWS",
    },
    "additionalProperties": {"type": "string", "maxLength": 256},
}

COMMON_PROPERTIES: dict[str, Any] = {
    "account": {
        "type": "string",
        "pattern": "^[a-z0-9][a-z0-9-]*$",
        "description": "Staging account name (accounts/<name>.yaml) or id",
    },
    "region": {
        "type": "string",
        "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$",
        "description": "Defaults to the account's recovery region",
    },
    "type": {"type": "string"},
    "name": {"type": "string"},
    "tags": TAGS_SCHEMA,
}
COMMON_REQUIRED = ("account", "type", "name")

# Errors that say nothing about the entry: botocore already retried the transient ones, and
# access denied is the sandbox's (or a fault plan's) doing. They are re-raised as they are.
_NOT_INPUT = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
}


@dataclass
class SeedContext:
    """Where an entry is seeded: one account and region, reached with an admin session."""

    session: boto3.Session  # admin session for the target account, region already set
    account_id: str
    region: str
    vpc_id: str | None = None  # staging VPC in the recovery region; None -> the default VPC
    subnet_ids: list[str] = field(default_factory=list)
    security_group_id: str | None = None

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region_name=region or self.region)

    def network(self) -> tuple[str, list[str]]:
        """The VPC and subnets to place resources in: the context's, else the default VPC's."""
        ec2 = self.client("ec2")
        vpc_id = self.vpc_id
        if vpc_id is None:
            vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            if not vpcs:
                raise InputError(
                    f"account {self.account_id} has no default VPC in {self.region} and the "
                    "seed context names none"
                )
            vpc_id = vpcs[0]["VpcId"]
        subnet_ids = list(self.subnet_ids)
        if not subnet_ids:
            subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "Subnets"
            ]
            subnet_ids = [
                s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"])
            ]
        return vpc_id, subnet_ids

    def security_groups(self) -> list[str]:
        return [self.security_group_id] if self.security_group_id else []


@dataclass(frozen=True)
class SeededResource:
    """One resource a seeder created.

    ``type`` is the scenario type for the entry's main resource (``aurora-cluster``) and
    ``<scenario type>/<part>`` for what it created along with it
    (``aurora-cluster/instance``, ``route53-zone/health-check``, ``lambda-function/role``).
    Global resources have ``region == "global"``.
    """

    type: str
    name: str
    arn: str
    account_id: str
    region: str


class Undo:
    """Undo steps for what a seeder has created so far, run newest first on failure."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], object]]] = []

    def push(self, what: str, step: Callable[[], object]) -> None:
        self._steps.append((what, step))

    def run(self) -> None:
        for what, step in reversed(self._steps):
            try:
                step()
            except Exception:  # noqa: BLE001 - roll back as much as possible, then report
                log.warning("seeder rollback: could not remove %s", what, exc_info=True)
        self._steps.clear()


class Seeder:
    """Base class: a scenario type, the JSON Schema of its properties, and how to create it.

    Subclasses set ``type``, ``name_schema`` and ``properties`` (JSON Schema of the
    type-specific properties), optionally ``required`` and ``constraints`` (extra schema
    keywords such as ``if``/``then``), and implement :meth:`create`. :meth:`check`
    holds rules JSON Schema cannot express; it runs before anything is created.
    """

    type: ClassVar[str]
    description: ClassVar[str]
    name_schema: ClassVar[dict[str, Any]]
    properties: ClassVar[dict[str, Any]]
    required: ClassVar[tuple[str, ...]] = ()
    constraints: ClassVar[dict[str, Any]] = {}

    def entry_schema(self) -> dict[str, Any]:
        """JSON Schema of a whole ``resources[]`` entry of this type."""
        schema: dict[str, Any] = {
            "type": "object",
            "description": self.description,
            "required": [*COMMON_REQUIRED, *self.required],
            "properties": {
                **COMMON_PROPERTIES,
                "type": {"const": self.type},
                "name": self.name_schema,
                **self.properties,
            },
            "additionalProperties": False,
        }
        schema.update(self.constraints)
        return schema

    def validate(self, spec: Any, where: str = "$") -> None:
        """Raise InputError naming every JSON path where ``spec`` breaks the entry schema."""
        validate(self.entry_schema(), spec, where)

    @property
    def schema(self) -> dict[str, Any]:
        """JSON Schema of the type-specific properties of an entry."""
        schema: dict[str, Any] = {
            "description": self.description,
            "type": "object",
            "properties": dict(self.properties),
        }
        if self.required:
            schema["required"] = list(self.required)
        schema.update(self.constraints)
        return schema

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        """Raise InputError for what JSON Schema cannot say (the spec is schema-valid)."""

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        raise NotImplementedError

    def seed(
        self, ctx: SeedContext, spec: Mapping[str, Any], where: str = "$"
    ) -> list[SeededResource]:
        """Validate, then create the entry's resources; on an AWS error remove what was
        created and raise InputError."""
        self.validate(spec, where)
        self.check(ctx, spec, where)
        undo = Undo()
        try:
            return self.create(ctx, spec, undo)
        except ClientError as exc:
            undo.run()
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if (
                code in _NOT_INPUT
                or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400) >= 500
            ):
                raise
            raise InputError(
                f"{where}: {self.type} {spec.get('name')!r} could not be created in account "
                f"{ctx.account_id} {ctx.region}: {code}: {error.get('Message', exc)}",
                hint="fix the entry; nothing of it was left behind",
            ) from exc
        except BaseException:
            undo.run()
            raise

    # --- helpers for subclasses -------------------------------------------------
    def resource(
        self,
        ctx: SeedContext,
        name: str,
        arn: str,
        part: str | None = None,
        region: str | None = None,
    ) -> SeededResource:
        return SeededResource(
            type=f"{self.type}/{part}" if part else self.type,
            name=name,
            arn=arn,
            account_id=ctx.account_id,
            region=region or ctx.region,
        )


# --- validation ------------------------------------------------------------------------
def json_path(error: jsonschema.ValidationError, prefix: str = "$") -> str:
    path = prefix
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


_EXPLAINED = {"pattern", "anyOf", "oneOf", "not", "const"}


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, or the schema's own description where that says it better."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator in _EXPLAINED and "description" in schema:
        shown = error.instance if not isinstance(error.instance, dict) else None
        prefix = f"{shown!r} is not valid: " if shown is not None else ""
        return prefix + schema["description"]
    return error.message


def validate(schema: Mapping[str, Any], spec: Any, where: str = "$") -> None:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise InputError(
            "; ".join(f"{json_path(e, where)}: {_message(e)}" for e in errors),
            hint="see the scenario resource schema (drorch.sandbox.seeders.resource_schema())",
        )


def fail(where: str, message: str, hint: str | None = None) -> InputError:
    return InputError(f"{where}: {message}", hint=hint)


# --- tags in each service's own shape ---------------------------------------------------
def tag_list(
    tags: Mapping[str, str], key: str = "Key", value: str = "Value"
) -> list[dict[str, str]]:
    """``[{"Key": k, "Value": v}]`` (EC2, RDS, ElastiCache, ...) or another key spelling."""
    return [{key: k, value: v} for k, v in tags.items()]


def tag_specifications(
    resource_types: Iterable[str], tags: Mapping[str, str]
) -> list[dict[str, Any]]:
    return [{"ResourceType": rtype, "Tags": tag_list(tags)} for rtype in resource_types]


def with_name(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """Tags plus ``Name`` (EC2 and EFS show the Name tag as the resource's name)."""
    return {**tags, "Name": name}


def engine_properties(versions: Mapping[str, str], default: str | None = None) -> dict[str, Any]:
    """Schemas of ``engine`` (a key of ``versions``, engine -> default version) and of an
    ``engineVersion`` that overrides the default."""
    engine: dict[str, Any] = {"enum": sorted(versions)}
    if default is not None:
        engine["default"] = default
    return {"engine": engine, "engineVersion": {"type": "string", "minLength": 1}}


def identifier(
    description: str, pattern: str, max_length: int, min_length: int = 1
) -> dict[str, Any]:
    """A name schema; the description is shown when a name breaks the service's rules."""
    return {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": pattern,
        "description": description,
    }


def service_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def exists(describe: Callable[..., object], not_found: str, **params: Any) -> bool:
    """Whether ``describe(**params)`` finds its resource: False when it fails with the error
    code ``not_found``; other errors are raised."""
    try:
        describe(**params)
    except ClientError as exc:
        if service_error_code(exc) != not_found:
            raise
        return False
    return True
