"""Readiness of the Route 53 hosted zones a staging account's records live in."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (Probe("route53:ListHostedZones", "route53", "list_hosted_zones", {"MaxItems": "1"}),)
MAX_ZONES = 100  # readiness looks at this many zones at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per hosted zone: its record sets can be read (what ACTIVATE records
    before it changes them), and how many have a failover or weighted routing policy."""
    client = session.client("route53")
    try:
        zones = client.list_hosted_zones(MaxItems=str(MAX_ZONES)).get("HostedZones", [])
    except ClientError as error:
        return [
            Finding(
                "Route 53 hosted zones",
                "FAIL",
                f"could not list hosted zones: {error_code(error)}: {error_message(error)}",
                "grant route53:ListHostedZones to the execution role",
            )
        ]
    found = []
    for zone in zones:
        zone_id = zone["Id"].split("/")[-1]
        check = f"Route 53 zone {zone['Name'].rstrip('.')} ({zone_id})"
        try:
            sets = client.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="300")
        except ClientError as error:
            found.append(
                Finding(
                    check,
                    "FAIL",
                    f"{error_code(error)}: {error_message(error)}",
                    "grant route53:ListResourceRecordSets on the zone",
                )
            )
            continue
        routed = [
            s
            for s in sets.get("ResourceRecordSets", [])
            if "Failover" in s or "Weight" in s or "Region" in s
        ]
        found.append(
            Finding(
                check,
                "OK",
                f"{len(sets.get('ResourceRecordSets', []))} record sets, {len(routed)} with a "
                "failover, weighted or latency routing policy",
            )
        )
    if not found:
        return [Finding("Route 53 hosted zones", "SKIP", "no hosted zone in the account")]
    return found
