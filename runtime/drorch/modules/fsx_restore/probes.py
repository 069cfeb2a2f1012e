"""Readiness of FSx restores in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (Probe("fsx:DescribeBackups", "fsx", "describe_backups", {"MaxResults": 1}),)
COPY_TAG = "drorch:drill-copy-of"


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per backed-up file system with backups in ``region``: OK when one of
    them is AVAILABLE (what a restore needs)."""
    client = session.client("fsx", region_name=region)
    try:
        backups = [
            b
            for page in client.get_paginator("describe_backups").paginate()
            for b in page.get("Backups", [])
        ]
    except ClientError as error:
        return [
            Finding(
                "FSx backups",
                "FAIL",
                f"could not list backups in {region}: {error_code(error)}: {error_message(error)}",
                "grant fsx:DescribeBackups to the execution role",
            )
        ]
    by_file_system: dict[str, list[dict[str, Any]]] = {}
    for backup in backups:
        tags = {t["Key"] for t in backup["FileSystem"].get("Tags", [])}
        if COPY_TAG in tags:
            continue
        by_file_system.setdefault(backup["FileSystem"]["FileSystemId"], []).append(backup)
    found = []
    for fs_id, items in sorted(by_file_system.items()):
        available = [b for b in items if b["Lifecycle"] == "AVAILABLE"]
        if available:
            newest = max(available, key=lambda b: b["CreationTime"])
            found.append(
                Finding(
                    f"FSx {fs_id}",
                    "OK",
                    f"{len(available)} AVAILABLE backup(s); newest {newest['BackupId']} of "
                    f"{newest['CreationTime'].isoformat()}",
                )
            )
        else:
            found.append(
                Finding(
                    f"FSx {fs_id}",
                    "WARNING",
                    f"no AVAILABLE backup in {region} ({len(items)} in progress or failed)",
                    "copy a backup here (AWS Backup copy rule or CopyBackup)",
                )
            )
    if not found:
        return [Finding("FSx backups", "SKIP", f"no FSx backup in {region}")]
    return found
