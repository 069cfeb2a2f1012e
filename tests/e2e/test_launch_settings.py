"""DRS launch settings off the critical path, through the real state machines.

INSTANTIATE reads each server's launch configuration, writes only what differs and
finishes in its start, so no executor of that phase waits for a poll; a cleanup puts
back what the drill replaced.
"""

from __future__ import annotations

import json

from tests.e2e.test_executions import SERVER_GROUPS, STAGING, approve_all


def _executor_waits(hub) -> dict[str, int]:
    """Wait states entered by the executor executions, per phase."""
    sfn = hub.sandbox.operator_session().client("stepfunctions")
    waits: dict[str, int] = {}
    arn = hub.deployment.state_machines["executor"]
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for execution in page["executions"]:
            events = [
                e
                for history in sfn.get_paginator("get_execution_history").paginate(
                    executionArn=execution["executionArn"]
                )
                for e in history["events"]
            ]
            phase = json.loads(events[0]["executionStartedEventDetails"]["input"])["phase"]
            entered = sum(e["type"] == "WaitStateEntered" for e in events)
            waits[phase] = waits.get(phase, 0) + entered
    return waits


def _launch_configurations(hub) -> dict[str, dict]:
    found = {}
    for account in STAGING.values():
        drs = hub.sandbox.execution_session(account).client("drs")
        for page in drs.get_paginator("describe_source_servers").paginate():
            for server in page["items"]:
                config = drs.get_launch_configuration(sourceServerID=server["sourceServerID"])
                config.pop("ResponseMetadata", None)
                found[server["sourceServerID"]] = config
    return found


def test_a_drill_sets_launch_settings_without_a_poll_and_cleanup_restores_them(hub):
    client, faults = hub.client, hub.sandbox.faults
    before = _launch_configurations(hub)
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]

    waits = _executor_waits(hub)
    assert waits.get("INSTANTIATE", 0) == 0  # every INSTANTIATE start finished at once
    assert waits["ACTIVATE"] > 0  # launches are polled
    instantiated = [
        r
        for r in final["resources"]
        if r["phase"] == "INSTANTIATE" and r["groupId"] in SERVER_GROUPS
    ]
    assert len(instantiated) == 10 and {r["status"] for r in instantiated} == {"SUCCEEDED"}
    written = [r for r in instantiated if r["detail"].get("changed")]
    assert written  # the seeded configurations differ from accounts/drs
    assert faults.call_count("drs", "UpdateLaunchConfiguration") == len(written)
    assert faults.call_count("drs", "GetLaunchConfiguration") >= len(instantiated)
    drilled = _launch_configurations(hub)
    assert any(drilled[r["resourceId"]] != before[r["resourceId"]] for r in written)

    cleanup = client.start_execution("claims", "cleanup", poll_seconds=30)
    done = client.wait(cleanup, on_gate=approve_all, timeout=120)
    assert done["execution"]["status"] == "SUCCEEDED", done["execution"]
    restored = [
        r for r in done["resources"] if r["groupId"] in SERVER_GROUPS and r["phase"] == "CLEANUP"
    ]
    assert sorted(
        r["resourceId"] for r in restored if r["detail"].get("launchSettingsRestored")
    ) == sorted(r["resourceId"] for r in written)
    assert _launch_configurations(hub) == before
