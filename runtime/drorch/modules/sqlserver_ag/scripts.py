"""The PowerShell the sqlserver-ag module runs on a replica (AWS-RunPowerShellScript), and
how its output is read.

Every script starts with a header line, ``# drorch:sqlserver-ag v1 action=<action>
groups=<a,b> allowDataLoss=<bool> maxLagSeconds=<n>``, then reads the availability
groups (AGs) of the local replica from the DMVs (``sys.availability_groups``,
``sys.dm_hadr_availability_replica_states``, ``sys.dm_hadr_database_replica_states``)
and prints one line per AG: ``DRORCH-SQLAG {json}`` with ``stage`` (``before`` /
``after``), ``ag``, ``role``, ``availabilityMode``, ``health`` and ``databases``
(``name``, ``state``, ``suspended``, ``logSendQueueKb``, ``redoQueueKb``,
``lagSeconds``). What it refuses or fails at goes to standard error as
``DRORCH-SQLAG-REFUSED <ag>: <why>`` or ``DRORCH-SQLAG-ERROR <ag>: <SQL Server's
message>``, with a non-zero exit code.

Actions, each its own script (the read script holds no ALTER statement, which is what
the drill guard checks):

* ``read`` — only the SELECT (readiness, INSTANTIATE, a drill's ACTIVATE);
* ``failover`` — per AG whose local replica is SECONDARY: a planned
  ``ALTER AVAILABILITY GROUP [ag] FAILOVER`` when the replica is SYNCHRONOUS_COMMIT and
  every database SYNCHRONIZED; otherwise, only with ``allowDataLoss``,
  ``FORCE_FAILOVER_ALLOW_DATA_LOSS`` (refused when a database's lag is above
  ``maxLagSeconds``); without it the script refuses. A replica already PRIMARY is left
  as it is, so running the script twice changes nothing;
* ``resume`` — ``ALTER DATABASE [db] SET HADR RESUME`` for each suspended database of
  the local replica (after a forced failover the other replicas' databases are
  suspended).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HEADER = "# drorch:sqlserver-ag v1"
OUTPUT_PREFIX = "DRORCH-SQLAG "
REFUSED_PREFIX = "DRORCH-SQLAG-REFUSED "
ERROR_PREFIX = "DRORCH-SQLAG-ERROR "
ACTIONS = ("read", "failover", "resume")
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")  # AG names drorch puts into T-SQL
DISRUPTIVE_SQL = re.compile(r"\bALTER\s+(AVAILABILITY\s+GROUP|DATABASE)\b", re.IGNORECASE)

_STATE_QUERY = """SET NOCOUNT ON;
SELECT ag.name AS ag, ars.role_desc AS role, ar.availability_mode_desc AS mode,
       ars.synchronization_health_desc AS health, DB_NAME(drs.database_id) AS db,
       drs.synchronization_state_desc AS state, drs.is_suspended AS suspended,
       drs.log_send_queue_size AS send_kb, drs.redo_queue_size AS redo_kb,
       drs.secondary_lag_seconds AS lag
FROM sys.availability_groups AS ag
JOIN sys.availability_replicas AS ar ON ar.group_id = ag.group_id
JOIN sys.dm_hadr_availability_replica_states AS ars
  ON ars.replica_id = ar.replica_id AND ars.is_local = 1
LEFT JOIN sys.dm_hadr_database_replica_states AS drs
  ON drs.replica_id = ar.replica_id AND drs.is_local = 1
ORDER BY ag.name, db;"""

_PRELUDE = r"""$ErrorActionPreference = 'Stop'
Import-Module SqlServer -ErrorAction Stop
function Invoke-Sql([string]$Query) {
  Invoke-Sqlcmd -ServerInstance '.' -Query $Query -QueryTimeout 600 -TrustServerCertificate
}
function Get-Value($Value) { if ($Value -is [DBNull]) { $null } else { $Value } }
function Get-AgState {
  $groups = [ordered]@{}
  foreach ($r in @(Invoke-Sql @"
__QUERY__
"@)) {
    if (-not $groups.Contains($r.ag)) {
      $groups[$r.ag] = [ordered]@{ ag = $r.ag; role = $r.role; availabilityMode = $r.mode;
        health = $r.health; databases = @() }
    }
    if (Get-Value $r.db) {
      $groups[$r.ag].databases += [ordered]@{ name = $r.db; state = $r.state;
        suspended = [bool]$r.suspended; logSendQueueKb = Get-Value $r.send_kb;
        redoQueueKb = Get-Value $r.redo_kb; lagSeconds = Get-Value $r.lag }
    }
  }
  return @($groups.Values)
}
function Write-State([string]$Stage, $States) {
  foreach ($s in $States) {
    $line = [ordered]@{ stage = $Stage } + $s
    Write-Output ('DRORCH-SQLAG ' + ($line | ConvertTo-Json -Compress -Depth 5))
  }
}
function Write-Problem([string]$Prefix, [string]$Ag, [string]$Text) {
  [Console]::Error.WriteLine("$Prefix $($Ag): $Text")
}
$all = @(Get-AgState)
if ($Groups.Count -gt 0) {
  $chosen = @($all | Where-Object { $Groups -contains $_.ag })
  $missing = @($Groups | Where-Object { @($all | ForEach-Object { $_.ag }) -notcontains $_ })
} else { $chosen = $all; $missing = @() }
foreach ($m in $missing) {
  Write-Problem 'DRORCH-SQLAG-ERROR' $m 'no replica of this availability group on this instance'
}
if ($missing.Count -gt 0 -or $chosen.Count -eq 0) { exit 2 }
Write-State 'before' $chosen
"""

_FAILOVER = r"""$failed = 0
foreach ($g in $chosen) {
  if ($g.role -eq 'PRIMARY') { continue }
  $behind = @($g.databases | Where-Object { $_.state -ne 'SYNCHRONIZED' })
  $planned = $g.availabilityMode -eq 'SYNCHRONOUS_COMMIT' -and $behind.Count -eq 0
  if (-not $planned -and -not $AllowDataLoss) {
    Write-Problem 'DRORCH-SQLAG-REFUSED' $g.ag ("a planned failover needs SYNCHRONOUS_COMMIT " +
      "and every database SYNCHRONIZED (" + $g.availabilityMode + "; " +
      (($behind | ForEach-Object { "$($_.name) $($_.state)" }) -join ', ') + ")")
    $failed++; continue
  }
  if (-not $planned -and $MaxLagSeconds -ge 0) {
    $late = @($g.databases | Where-Object { $_.lagSeconds -ne $null -and $_.lagSeconds -gt $MaxLagSeconds })
    if ($late.Count -gt 0) {
      Write-Problem 'DRORCH-SQLAG-REFUSED' $g.ag ("lag above maxLagSeconds $($MaxLagSeconds): " +
        (($late | ForEach-Object { "$($_.name) $($_.lagSeconds) s" }) -join ', '))
      $failed++; continue
    }
  }
  try {
    if ($planned) { Invoke-Sql "ALTER AVAILABILITY GROUP [$($g.ag)] FAILOVER;" }
    else { Invoke-Sql "ALTER AVAILABILITY GROUP [$($g.ag)] FORCE_FAILOVER_ALLOW_DATA_LOSS;" }
  } catch { Write-Problem 'DRORCH-SQLAG-ERROR' $g.ag $_.Exception.Message; $failed++ }
}
$names = @($chosen | ForEach-Object { $_.ag })
Write-State 'after' @(Get-AgState | Where-Object { $names -contains $_.ag })
if ($failed -gt 0) { exit 3 }
"""

_RESUME = r"""$failed = 0
foreach ($g in $chosen) {
  foreach ($d in @($g.databases | Where-Object { $_.suspended })) {
    try { Invoke-Sql "ALTER DATABASE [$($d.name)] SET HADR RESUME;" }
    catch { Write-Problem 'DRORCH-SQLAG-ERROR' $g.ag $_.Exception.Message; $failed++ }
  }
}
$names = @($chosen | ForEach-Object { $_.ag })
Write-State 'after' @(Get-AgState | Where-Object { $names -contains $_.ag })
if ($failed -gt 0) { exit 3 }
"""


@dataclass(frozen=True)
class Script:
    """What a script does, as its header says it."""

    action: str
    groups: tuple[str, ...] = ()  # empty: every AG of the local replica
    allow_data_loss: bool = False
    max_lag_seconds: int | None = None

    def header(self) -> str:
        return (
            f"{HEADER} action={self.action} groups={','.join(self.groups)} "
            f"allowDataLoss={str(self.allow_data_loss).lower()} "
            f"maxLagSeconds={'' if self.max_lag_seconds is None else self.max_lag_seconds}"
        )

    def commands(self) -> list[str]:
        """The ``commands`` parameter of AWS-RunPowerShellScript."""
        if self.action not in ACTIONS:
            raise ValueError(f"unknown script action {self.action!r}")
        for group in self.groups:
            if not NAME.match(group):
                raise ValueError(f"{group!r} is not an availability group name drorch uses")
        groups = ", ".join(f"'{g}'" for g in self.groups)
        lag = -1 if self.max_lag_seconds is None else int(self.max_lag_seconds)
        body = _PRELUDE.replace("__QUERY__", _STATE_QUERY)
        if self.action == "failover":
            body += _FAILOVER
        elif self.action == "resume":
            body += _RESUME
        lines = [
            self.header(),
            f"$Groups = @({groups})",
            f"$AllowDataLoss = ${str(self.allow_data_loss).lower()}",
            f"$MaxLagSeconds = {lag}",
            *body.splitlines(),
        ]
        return lines


def parse_header(commands: Iterable[str] | str | None) -> Script | None:
    """The script a ``commands`` parameter holds, from its header (None: not drorch's)."""
    if isinstance(commands, str):
        commands = commands.splitlines()
    for line in commands or ():
        text = str(line).strip()
        if not text.startswith(HEADER):
            continue
        values = dict(part.split("=", 1) for part in text[len(HEADER) :].split() if "=" in part)
        lag = values.get("maxLagSeconds", "")
        return Script(
            action=values.get("action", ""),
            groups=tuple(g for g in values.get("groups", "").split(",") if g),
            allow_data_loss=values.get("allowDataLoss") == "true",
            max_lag_seconds=int(lag) if lag.lstrip("-").isdigit() else None,
        )
    return None


def is_disruptive(params: Mapping[str, Any]) -> bool:
    """Whether a SendCommand carries T-SQL that changes an AG or its databases."""
    values = (params.get("Parameters") or {}).get("commands") or []
    text = "\n".join(values) if isinstance(values, list) else str(values)
    return bool(DISRUPTIVE_SQL.search(text))


# --- reading the output --------------------------------------------------------------------


@dataclass
class Reading:
    """What one invocation printed: the AG states before and after, and its problems."""

    before: dict[str, dict[str, Any]] = field(default_factory=dict)  # ag -> state
    after: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # ag -> why
    errors: dict[str, str] = field(default_factory=dict)  # ag -> SQL Server's message
    other_errors: list[str] = field(default_factory=list)  # stderr lines of no AG


def parse_output(stdout: str, stderr: str = "") -> Reading:
    reading = Reading()
    for line in (stdout or "").splitlines():
        if not line.startswith(OUTPUT_PREFIX):
            continue
        try:
            item = json.loads(line[len(OUTPUT_PREFIX) :])
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("ag"):
            target = reading.after if item.get("stage") == "after" else reading.before
            target[str(item["ag"])] = item
    for line in (stderr or "").splitlines():
        text = line.strip()
        for prefix, into in ((REFUSED_PREFIX, reading.refused), (ERROR_PREFIX, reading.errors)):
            if text.startswith(prefix):
                ag, _, why = text[len(prefix) :].partition(": ")
                into[ag] = why
                break
        else:
            if text:
                reading.other_errors.append(text)
    return reading


def databases_behind(state: Mapping[str, Any]) -> list[str]:
    """``name state`` of each database of an AG state that is not SYNCHRONIZED."""
    return [
        f"{d.get('name')} {d.get('state')}"
        for d in state.get("databases") or []
        if d.get("state") != "SYNCHRONIZED"
    ]


def planned_ready(state: Mapping[str, Any]) -> bool:
    """Whether a planned (no data loss) failover to this replica is possible now."""
    return state.get("availabilityMode") == "SYNCHRONOUS_COMMIT" and not databases_behind(state)


def max_lag(state: Mapping[str, Any]) -> int | None:
    lags = [d.get("lagSeconds") for d in state.get("databases") or []]
    known = [int(v) for v in lags if isinstance(v, (int, float))]
    return max(known) if known else None


def summary(state: Mapping[str, Any]) -> dict[str, Any]:
    """A compact view of one AG state for results and reports."""
    databases = state.get("databases") or []
    return {
        "role": state.get("role"),
        "availabilityMode": state.get("availabilityMode"),
        "health": state.get("health"),
        "synchronization": sorted({str(d.get("state")) for d in databases}),
        "suspended": sorted(str(d.get("name")) for d in databases if d.get("suspended")),
        "lagSeconds": max_lag(state),
        "logSendQueueKb": sum(int(d.get("logSendQueueKb") or 0) for d in databases),
    }


def names(groups: Sequence[str]) -> str:
    return ", ".join(groups) if groups else "every availability group of the replica"
