"""A summary of what a seeded sandbox holds, read back through the AWS APIs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from drorch import names
from drorch.sandbox.core import Sandbox
from drorch.sandbox.scenario import Scenario, SeedReport
from drorch.tags import check_tags


def describe_estate(sandbox: Sandbox, scenario: Scenario, report: SeedReport) -> dict[str, Any]:
    accounts = []
    for account in report.accounts:
        session = sandbox.execution_session(account.account_id)
        drs = session.client("drs")
        servers = [
            item
            for page in drs.get_paginator("describe_source_servers").paginate()
            for item in page["items"]
        ]
        replication = Counter(
            s.get("dataReplicationInfo", {}).get("dataReplicationState", "UNKNOWN") for s in servers
        )
        waves: Counter[str] = Counter()
        invalid = []
        opted_out = 0
        for server in servers:
            check = check_tags(server.get("tags", {}))
            hostname = server["sourceProperties"]["identificationHints"].get("hostname", "")
            if check.errors:
                invalid.append({"hostname": hostname, "reasons": list(check.errors)})
            elif not check.dr_enabled:
                opted_out += 1
            else:
                waves[server["tags"][names.TAG_WAVE]] += 1
        rex = session.client("resource-explorer-2")
        indexes = rex.list_indexes()["Indexes"]
        searchable = rex.search(QueryString="")["Count"]
        accounts.append(
            {
                "name": account.name,
                "accountId": account.account_id,
                "recoveryRegion": account.recovery_region,
                "sourceServers": len(servers),
                "replication": dict(sorted(replication.items())),
                "waves": dict(sorted(waves.items(), key=lambda kv: int(kv[0]))),
                "optedOut": opted_out,
                "invalidTags": invalid,
                "resourceExplorer": {
                    "indexes": {i["Region"]: i["Type"] for i in indexes},
                    "searchableResources": searchable["TotalResources"],
                    "complete": searchable["Complete"],
                },
                "resources": [
                    {"type": r.type, "name": r.name, "region": r.region, "arn": r.arn}
                    for r in report.resources
                    if r.account_id == account.account_id
                ],
            }
        )
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "hub": {"accountId": sandbox.hub.account_id, "region": sandbox.hub.region},
        "accounts": accounts,
        "totals": {
            "sourceServers": report.server_count,
            "resources": len(report.resources),
        },
    }
