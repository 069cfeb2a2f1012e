"""Route 53 hosted zones with their records and health checks.

Route 53 is a global service: the zone and its health checks are seeded resources
with region ``global`` and ARNs without account or region
(``arn:aws:route53:::hostedzone/Z...``), as AWS and Resource Explorer show them.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    GLOBAL_REGION,
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    fail,
    identifier,
    tag_list,
)

_LABEL = r"[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?"
_DOMAIN = rf"^(?:{_LABEL}\.)+{_LABEL}\.?$"
_RECORD_NAME = rf"^(@|\*|(?:\*\.)?(?:{_LABEL}\.)*{_LABEL}\.?)$"
RECORD_TYPES = ["A", "AAAA", "CAA", "CNAME", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "TXT"]

HEALTH_CHECK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "type": {"enum": ["HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"]},
        "fqdn": {"type": "string", "pattern": _DOMAIN, "description": "a domain name"},
        "ipAddress": {"type": "string", "format": "ipv4"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "resourcePath": {"type": "string", "pattern": "^/", "maxLength": 255},
        "searchString": {"type": "string", "maxLength": 255},
        "requestInterval": {"enum": [10, 30], "default": 30},
        "failureThreshold": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
    },
    "anyOf": [{"required": ["fqdn"]}, {"required": ["ipAddress"]}],
    "description": "a health check needs fqdn or ipAddress",
}

RECORD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": _RECORD_NAME,
            "description": "@ for the zone apex, a name relative to the zone, or a full name "
            "ending with the zone name",
        },
        "type": {"enum": RECORD_TYPES},
        "ttl": {"type": "integer", "minimum": 0, "maximum": 2147483647},
        "values": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "alias": {
            "type": "object",
            "additionalProperties": False,
            "required": ["dnsName"],
            "properties": {
                "dnsName": {"type": "string", "minLength": 1},
                "hostedZoneId": {
                    "type": "string",
                    "pattern": "^Z[A-Z0-9]+$",
                    "description": "the target's hosted zone id (default: this zone)",
                },
                "evaluateTargetHealth": {"type": "boolean", "default": False},
            },
        },
        "setIdentifier": {"type": "string", "minLength": 1, "maxLength": 128},
        "weight": {"type": "integer", "minimum": 0, "maximum": 255},
        "failover": {"enum": ["PRIMARY", "SECONDARY"]},
        "region": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$"},
        "healthCheck": {"type": "string", "description": "name of one of the zone's healthChecks"},
    },
    "allOf": [
        {
            "oneOf": [{"required": ["values"]}, {"required": ["alias"]}],
            "description": "a record has either values (with ttl) or alias",
        }
    ],
    "dependentRequired": {
        "values": ["ttl"],
        "weight": ["setIdentifier"],
        "failover": ["setIdentifier"],
        "region": ["setIdentifier"],
    },
    "dependentSchemas": {
        "alias": {
            "not": {"required": ["ttl"]},
            "description": "alias records take the target's TTL: remove ttl",
        },
        "setIdentifier": {
            "oneOf": [
                {"required": ["weight"]},
                {"required": ["failover"]},
                {"required": ["region"]},
            ],
            "description": "setIdentifier goes with exactly one of weight, failover, region",
        },
    },
}


def _strip(name: str) -> str:
    return name.rstrip(".").lower()


def record_name(name: str, zone: str) -> str:
    """The fully qualified record name for ``name`` in ``zone`` (no trailing dot)."""
    zone, bare = _strip(zone), _strip(name)
    if bare == "@":
        return zone
    if bare == zone or bare.endswith("." + zone):
        return bare
    return f"{bare}.{zone}"


class Route53Zone(Seeder):
    type = "route53-zone"
    description = (
        "A Route 53 hosted zone (the entry's name is the domain), public or private "
        "(associated with the context's VPC), with its records and health checks; record "
        "healthCheck names one of healthChecks. Route 53 is global: seeded resources have "
        "region 'global'."
    )
    name_schema = identifier("a domain name such as corp.example.com", _DOMAIN, 255)
    properties = {
        "private": {"type": "boolean", "default": False},
        "comment": {"type": "string", "maxLength": 256},
        "healthChecks": {"type": "array", "items": HEALTH_CHECK},
        "records": {"type": "array", "items": RECORD},
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        checks = [c["name"] for c in spec.get("healthChecks", [])]
        for index, check in enumerate(spec.get("healthChecks", [])):
            at = f"{where}.healthChecks[{index}]"
            if checks.count(check["name"]) > 1:
                raise fail(f"{at}.name", f"health check name {check['name']!r} is used twice")
            if "ipAddress" in check and not ipaddress.ip_address(check["ipAddress"]).is_global:
                raise fail(
                    f"{at}.ipAddress",
                    f"{check['ipAddress']} is not a public address; Route 53 health checkers "
                    "cannot reach private, local or reserved addresses",
                    hint="check a public endpoint or use fqdn",
                )
            if check["type"].endswith("STR_MATCH") != ("searchString" in check):
                raise fail(at, "searchString goes with (and only with) the *_STR_MATCH types")
        seen: dict[str, set[str]] = {}
        for index, record in enumerate(spec.get("records", [])):
            at = f"{where}.records[{index}]"
            name = record_name(record["name"], spec["name"])
            if "healthCheck" in record and record["healthCheck"] not in checks:
                raise fail(
                    f"{at}.healthCheck",
                    f"{record['healthCheck']!r} is not one of the zone's healthChecks "
                    f"({', '.join(checks) or 'none'})",
                )
            if record["type"] == "CNAME" and name == _strip(spec["name"]):
                raise fail(f"{at}.name", "a CNAME record cannot be at the zone apex")
            types = seen.setdefault(name, set())
            if ("CNAME" in types and record["type"] != "CNAME") or (
                record["type"] == "CNAME" and types - {"CNAME"}
            ):
                raise fail(f"{at}.name", f"{name} has a CNAME record and other records")
            types.add(record["type"])

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        r53 = ctx.client("route53")
        zone_name = _strip(spec["name"])
        tags = tag_list(spec.get("tags", {}))
        seeded: list[SeededResource] = []

        health_checks: dict[str, str] = {}
        for check in spec.get("healthChecks", []):
            config: dict[str, Any] = {
                "Type": check["type"],
                "RequestInterval": check.get("requestInterval", 30),
                "FailureThreshold": check.get("failureThreshold", 3),
            }
            for key, field in (
                ("fqdn", "FullyQualifiedDomainName"),
                ("ipAddress", "IPAddress"),
                ("port", "Port"),
                ("resourcePath", "ResourcePath"),
                ("searchString", "SearchString"),
            ):
                if key in check:
                    config[field] = check[key]
            check_id = r53.create_health_check(
                CallerReference=str(uuid.uuid4()), HealthCheckConfig=config
            )["HealthCheck"]["Id"]
            undo.push(
                f"health check {check['name']}",
                lambda i=check_id: r53.delete_health_check(HealthCheckId=i),
            )
            r53.change_tags_for_resource(
                ResourceType="healthcheck",
                ResourceId=check_id,
                AddTags=tag_list({**spec.get("tags", {}), "Name": check["name"]}),
            )
            health_checks[check["name"]] = check_id
            arn = f"arn:aws:route53:::healthcheck/{check_id}"
            seeded.append(self.resource(ctx, check["name"], arn, "health-check", GLOBAL_REGION))

        kwargs: dict[str, Any] = {
            "Name": zone_name,
            "CallerReference": str(uuid.uuid4()),
            "HostedZoneConfig": {
                "Comment": spec.get("comment", ""),
                "PrivateZone": spec.get("private", False),
            },
        }
        if spec.get("private"):
            vpc_id, _ = ctx.network()
            kwargs["VPC"] = {"VPCRegion": ctx.region, "VPCId": vpc_id}
        zone_id = r53.create_hosted_zone(**kwargs)["HostedZone"]["Id"].split("/")[-1]
        changes = [
            {
                "Action": "CREATE",
                "ResourceRecordSet": self._record_set(r, zone_name, zone_id, health_checks),
            }
            for r in spec.get("records", [])
        ]

        def remove_zone() -> None:
            if changes:
                deletes = [{**c, "Action": "DELETE"} for c in changes]
                r53.change_resource_record_sets(
                    HostedZoneId=zone_id, ChangeBatch={"Changes": deletes}
                )
            r53.delete_hosted_zone(Id=zone_id)

        undo.push(f"hosted zone {zone_name}", remove_zone)
        if tags:
            r53.change_tags_for_resource(
                ResourceType="hostedzone", ResourceId=zone_id, AddTags=tags
            )
        if changes:
            r53.change_resource_record_sets(
                HostedZoneId=zone_id,
                ChangeBatch={"Comment": "seeded by drorch sandbox", "Changes": changes},
            )
        arn = f"arn:aws:route53:::hostedzone/{zone_id}"
        seeded.insert(0, self.resource(ctx, zone_name, arn, region=GLOBAL_REGION))
        return seeded

    @staticmethod
    def _record_set(
        record: Mapping[str, Any], zone: str, zone_id: str, health_checks: Mapping[str, str]
    ) -> dict[str, Any]:
        rrset: dict[str, Any] = {"Name": record_name(record["name"], zone), "Type": record["type"]}
        if "alias" in record:
            alias = record["alias"]
            rrset["AliasTarget"] = {
                "HostedZoneId": alias.get("hostedZoneId", zone_id),
                "DNSName": alias["dnsName"],
                "EvaluateTargetHealth": alias.get("evaluateTargetHealth", False),
            }
        else:
            rrset["TTL"] = record["ttl"]
            rrset["ResourceRecords"] = [{"Value": v} for v in record["values"]]
        for key, field in (
            ("setIdentifier", "SetIdentifier"),
            ("weight", "Weight"),
            ("failover", "Failover"),
            ("region", "Region"),
        ):
            if key in record:
                rrset[field] = record[key]
        if "healthCheck" in record:
            rrset["HealthCheckId"] = health_checks[record["healthCheck"]]
        return rrset


# --- Route 53 Application Recovery Controller ----------------------------------------------------
_ARC_NAME = r"^\S{1,64}$"
CONTROL_PLANE_REGION = "us-west-2"  # ARC's control plane API answers in US West (Oregon) only

SAFETY_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type", "rule"],
    "properties": {
        "name": {"type": "string", "pattern": _ARC_NAME},
        "type": {"enum": ["assertion", "gating"]},
        "controls": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string"},
            "description": "assertion: the routing controls (names in this panel) it asserts on",
        },
        "gatingControls": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "targetControls": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "rule": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type"],
            "properties": {
                "type": {"enum": ["ATLEAST", "AND", "OR"]},
                "threshold": {"type": "integer", "minimum": 0, "default": 1},
                "inverted": {"type": "boolean", "default": False},
            },
        },
        "waitPeriodMs": {"type": "integer", "minimum": 0, "default": 5000},
    },
    "if": {"properties": {"type": {"const": "assertion"}}},
    "then": {"required": ["controls"]},
    "else": {"required": ["gatingControls", "targetControls"]},
}

CONTROL_PANEL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "routingControls"],
    "properties": {
        "name": {"type": "string", "pattern": _ARC_NAME},
        "routingControls": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": _ARC_NAME},
                    "state": {"enum": ["On", "Off"], "default": "Off"},
                },
            },
        },
        "safetyRules": {"type": "array", "items": SAFETY_RULE},
    },
}


class ArcRoutingControls(Seeder):
    type = "arc-routing-controls"
    description = (
        "A Route 53 ARC cluster (the entry's name) with control panels, their routing "
        "controls (initial state On or Off) and safety rules naming controls of their panel. "
        "ARC is global: seeded resources have region 'global'; tags go to the cluster, the "
        "control panels and the safety rules (routing controls take none)."
    )
    name_schema = identifier("a cluster name (no spaces)", _ARC_NAME, 64)
    properties = {"controlPanels": {"type": "array", "minItems": 1, "items": CONTROL_PANEL}}
    required = ("controlPanels",)

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        for p_index, panel in enumerate(spec["controlPanels"]):
            at = f"{where}.controlPanels[{p_index}]"
            names = [c["name"] for c in panel["routingControls"]]
            for name in names:
                if names.count(name) > 1:
                    raise fail(f"{at}.routingControls", f"routing control {name!r} is used twice")
            for r_index, rule in enumerate(panel.get("safetyRules", [])):
                for key in ("controls", "gatingControls", "targetControls"):
                    for name in rule.get(key, []):
                        if name not in names:
                            raise fail(
                                f"{at}.safetyRules[{r_index}].{key}",
                                f"{name!r} is not a routing control of panel {panel['name']} "
                                f"({', '.join(names)})",
                            )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        config = ctx.client("route53-recovery-control-config", CONTROL_PLANE_REGION)
        tags = dict(spec.get("tags", {}))
        cluster = config.create_cluster(
            ClientToken=str(uuid.uuid4()), ClusterName=spec["name"], Tags=tags
        )["Cluster"]
        seeded = [self.resource(ctx, spec["name"], cluster["ClusterArn"], region=GLOBAL_REGION)]
        states: list[dict[str, str]] = []
        for panel_spec in spec["controlPanels"]:
            panel = config.create_control_panel(
                ClientToken=str(uuid.uuid4()),
                ClusterArn=cluster["ClusterArn"],
                ControlPanelName=panel_spec["name"],
                Tags=tags,
            )["ControlPanel"]
            seeded.append(
                self.resource(
                    ctx,
                    panel_spec["name"],
                    panel["ControlPanelArn"],
                    "control-panel",
                    GLOBAL_REGION,
                )
            )
            controls: dict[str, str] = {}
            for control_spec in panel_spec["routingControls"]:
                control = config.create_routing_control(
                    ClientToken=str(uuid.uuid4()),
                    ClusterArn=cluster["ClusterArn"],
                    ControlPanelArn=panel["ControlPanelArn"],
                    RoutingControlName=control_spec["name"],
                )["RoutingControl"]
                controls[control_spec["name"]] = control["RoutingControlArn"]
                seeded.append(
                    self.resource(
                        ctx,
                        control_spec["name"],
                        control["RoutingControlArn"],
                        "routing-control",
                        GLOBAL_REGION,
                    )
                )
                if control_spec.get("state", "Off") == "On":
                    states.append(
                        {
                            "RoutingControlArn": control["RoutingControlArn"],
                            "RoutingControlState": "On",
                        }
                    )
            if states:  # the initial states, before any safety rule holds them
                self._set_states(ctx, cluster, states)
                states = []
            for rule_spec in panel_spec.get("safetyRules", []):
                body: dict[str, Any] = {
                    "ControlPanelArn": panel["ControlPanelArn"],
                    "Name": rule_spec["name"],
                    "RuleConfig": {
                        "Type": rule_spec["rule"]["type"],
                        "Threshold": rule_spec["rule"].get("threshold", 1),
                        "Inverted": rule_spec["rule"].get("inverted", False),
                    },
                    "WaitPeriodMs": rule_spec.get("waitPeriodMs", 5000),
                }
                if rule_spec["type"] == "assertion":
                    body["AssertedControls"] = [controls[n] for n in rule_spec["controls"]]
                    rule = config.create_safety_rule(AssertionRule=body, Tags=tags)["AssertionRule"]
                else:
                    body["GatingControls"] = [controls[n] for n in rule_spec["gatingControls"]]
                    body["TargetControls"] = [controls[n] for n in rule_spec["targetControls"]]
                    rule = config.create_safety_rule(GatingRule=body, Tags=tags)["GatingRule"]
                seeded.append(
                    self.resource(
                        ctx, rule_spec["name"], rule["SafetyRuleArn"], "safety-rule", GLOBAL_REGION
                    )
                )
        return seeded

    @staticmethod
    def _set_states(ctx: SeedContext, cluster: Mapping[str, Any], states: list[dict]) -> None:
        endpoint = cluster["ClusterEndpoints"][0]
        data = ctx.session.client(
            "route53-recovery-cluster",
            region_name=endpoint["Region"],
            endpoint_url=endpoint["Endpoint"],
        )
        data.update_routing_control_states(UpdateRoutingControlStateEntries=states)
