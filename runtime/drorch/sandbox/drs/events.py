"""The events DRS sends to EventBridge, as the sandbox's DRS sends them.

"DRS Source Server Launch Result" (AWS DRS user guide, "Monitoring with EventBridge"):
sent when the launch of a drill or recovery instance for a source server has ended,
to the default bus of the account and region of the job, with the source server's
ARN as the resource and the job in the detail::

    {"detail-type": "DRS Source Server Launch Result", "source": "aws.drs",
     "resources": ["arn:aws:drs:<region>:<account>:source-server/s-..."],
     "detail": {"state": "RECOVERY_LAUNCH_SUCCEEDED" | "RECOVERY_LAUNCH_FAILED",
                "job-id": "drsjob-...", "is-drill": "TRUE" | "FALSE"}}

The event leaves at the simulated moment of the launch's end; a fault
(:meth:`drorch.sandbox.faults.FaultPlan.drop_events`) loses it, as a best-effort
delivery can.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drorch.sandbox import eventbridge
from drorch.sandbox.state import STATE

SOURCE = "aws.drs"
LAUNCH_RESULT = "DRS Source Server Launch Result"
LAUNCH_INITIATORS = frozenset({"START_DRILL", "START_RECOVERY"})
LAUNCH_STATES = {"LAUNCHED": "RECOVERY_LAUNCH_SUCCEEDED", "FAILED": "RECOVERY_LAUNCH_FAILED"}


def launch_result(backend: Any, job: Any, source_server_id: str, status: str, at: datetime) -> bool:
    """Send the launch result of one server of a recovery or drill job; False when there
    is none to send (another kind of job or status) or the event was dropped."""
    state = LAUNCH_STATES.get(status)
    if state is None or job.job_type != "LAUNCH" or job.initiated_by not in LAUNCH_INITIATORS:
        return False
    account, region = backend.account_id, backend.region_name
    if STATE.faults.event_dropped_for(account, region, SOURCE, LAUNCH_RESULT):
        return False
    event = eventbridge.service_event(
        source=SOURCE,
        detail_type=LAUNCH_RESULT,
        detail={
            "state": state,
            "job-id": job.job_id,
            "is-drill": "TRUE" if job.is_drill else "FALSE",
        },
        account=account,
        region=region,
        time=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[backend.arn("source-server", source_server_id)],
    )
    eventbridge.put_service_event(event)
    return True
