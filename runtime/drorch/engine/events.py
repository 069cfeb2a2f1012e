"""State changes as EventBridge events (``source: drorch``) and, for humans, SNS notifications.

Machines subscribe to the bus; people to the topic. Approval requests carry
the commands that answer them, ready to paste.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from drorch import names
from drorch.engine import aws

log = logging.getLogger(__name__)

EXECUTION_STATUS = "Execution Status Change"
WAVE_STATUS = "Wave Status Change"
RESOURCE_STATUS = "Resource Status Change"
APPROVAL_REQUESTED = "Approval Requested"
GATE_DECIDED = "Gate Decided"
EXECUTION_PAUSED = "Execution Paused"

# events people are told about (resource changes go to the bus only: there can be thousands)
NOTIFY = frozenset(
    {EXECUTION_STATUS, WAVE_STATUS, APPROVAL_REQUESTED, GATE_DECIDED, EXECUTION_PAUSED}
)
PUT_EVENTS_BATCH = 10  # entries per PutEvents call (the API's limit)
PUT_EVENTS_ATTEMPTS = 3  # an entry refused for a passing reason is sent up to this often
RETRIED_EVENT_ERRORS = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})
SUBJECT_MAX = 100


def gate_commands(execution_id: str, gate: int) -> list[str]:
    return [
        f"drorch approve {execution_id} --gate {gate}",
        f"drorch reject {execution_id} --gate {gate} --comment '<why>'",
    ]


def subject(event_type: str, detail: dict[str, Any]) -> str:
    parts = [f"[drorch] {detail.get('application') or detail.get('executionId', '')}".strip()]
    if event_type == APPROVAL_REQUESTED:
        what = "approval" if detail.get("kind") == "approval" else "wave gate"
        parts.append(f"{what} needed before {detail.get('phase', '')}".strip())
    elif event_type == EXECUTION_PAUSED:
        parts.append("paused")
    elif event_type == WAVE_STATUS:
        parts.append(f"wave {detail.get('wave')} {detail.get('phase')}: {detail.get('status')}")
    else:
        parts.append(f"{detail.get('operation', 'execution')} {detail.get('status', event_type)}")
    text = " - ".join(p for p in parts if p)
    text = text.encode("ascii", "replace").decode()  # SNS subjects are ASCII
    return text[:SUBJECT_MAX]


def message(event_type: str, detail: dict[str, Any]) -> str:
    """The notification text: what happened, and what to do about it."""
    execution_id = detail.get("executionId", "")
    lines = [f"{event_type}: execution {execution_id}"]
    for key in ("application", "operation", "status", "phase", "level", "wave", "kind"):
        if detail.get(key) not in (None, ""):
            lines.append(f"  {key}: {detail[key]}")
    if detail.get("error"):
        lines.append(f"  error: {detail['error']}")
    if detail.get("cause"):
        lines.append(f"  cause: {detail['cause']}")
    if event_type == APPROVAL_REQUESTED:
        gate = detail.get("gate")
        lines += ["", f"Gate {gate} waits for a decision. To answer it, run one of:"]
        lines += [f"  {command}" for command in gate_commands(execution_id, gate)]
        if detail.get("approvers"):
            lines.append(f"Approvers: {', '.join(detail['approvers'])}")
        if detail.get("timeoutMinutes"):
            lines.append(
                f"Without a decision within {detail['timeoutMinutes']} minutes the execution fails."
            )
    elif event_type == EXECUTION_PAUSED:
        lines += ["", "To continue, run:", f"  drorch resume {execution_id}"]
        lines += ["To stop, run:", f"  drorch cancel {execution_id}"]
    if detail.get("status") in ("FAILED", "CANCELLED") and detail.get("operation") == "drill":
        lines += [
            "",
            "Drill instances may still be running: start a 'cleanup' operation for "
            f"{detail.get('application', 'the application')} to terminate them.",
        ]
    if detail.get("report"):
        lines += ["", f"Report: {detail['report']}"]
    return "\n".join(lines)


@dataclass
class Publisher:
    """Publishes to the hub's bus and topic (plus optional extra topics).

    Best effort: a denied, throttled or unreachable bus or topic is logged and kept in
    :attr:`failures`, never raised, so a notification never fails a run.
    """

    events: Any  # boto3 events client
    sns: Any  # boto3 sns client
    bus: str
    topic_arn: str | None
    extra_topics: tuple[str, ...] = field(default_factory=tuple)
    failures: list[str] = field(default_factory=list)

    def _failed(self, what: str, exc: BaseException) -> None:
        text = f"{what}: {type(exc).__name__}: {exc}"[:500]
        log.warning("best-effort publish failed: %s", text)
        self.failures.append(text)

    @classmethod
    def from_config(
        cls, config: names.EnvConfig, extra_topics: Iterable[str] = (), session: Any = None
    ) -> Publisher:
        config = aws.resolve_config(config, session)
        return cls(
            aws.client("events", session),
            aws.client("sns", session),
            config.event_bus,
            config.topic_arn,
            tuple(t for t in extra_topics if t and t != config.topic_arn),
        )

    def publish(self, event_type: str, detail: dict[str, Any], notify: bool | None = None) -> None:
        """One event on the bus; and a notification when ``notify`` (default: by event type)."""
        self.publish_many(event_type, [detail])
        if notify if notify is not None else event_type in NOTIFY:
            self.notify(subject(event_type, detail), message(event_type, detail))

    def publish_many(self, event_type: str, details: Iterable[dict[str, Any]]) -> int:
        """Events only (no notification), in PutEvents batches."""
        entries = [
            {
                "Source": names.EVENT_SOURCE,
                "DetailType": event_type,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": self.bus,
            }
            for detail in details
        ]
        sent = 0
        for start in range(0, len(entries), PUT_EVENTS_BATCH):
            sent += self._put_batch(entries[start : start + PUT_EVENTS_BATCH])
        return sent

    def _put_batch(self, batch: list[dict[str, Any]]) -> int:
        """One PutEvents call of at most 10 entries; the entries EventBridge refuses for a
        passing reason (throttling, an internal failure) are sent again, the others recorded."""
        sent = 0
        refused: list[str] = []
        for attempt in range(PUT_EVENTS_ATTEMPTS):
            try:
                answer = self.events.put_events(Entries=batch)
            except Exception as exc:  # noqa: BLE001 - best effort (see the class)
                self._failed(f"events:PutEvents on {self.bus}", exc)
                return sent
            failed = int(answer.get("FailedEntryCount") or 0)
            sent += len(batch) - failed
            if not failed:
                return sent
            # the answer's entries are in the order of the request's
            retry, refused = [], []
            for entry, result in zip(batch, answer.get("Entries", []), strict=False):
                code = result.get("ErrorCode")
                if not code:
                    continue
                if code in RETRIED_EVENT_ERRORS and attempt < PUT_EVENTS_ATTEMPTS - 1:
                    retry.append(entry)
                else:
                    refused.append(f"{code}: {result.get('ErrorMessage', '')}")
            if refused:
                self._failed(
                    f"events:PutEvents on {self.bus}",
                    RuntimeError(
                        f"EventBridge refused {len(refused)} event(s): " + "; ".join(refused)
                    ),
                )
            if not retry:
                return sent
            batch = retry
        return sent

    def notify(self, subject_line: str, text: str) -> None:
        if self.topic_arn:
            try:
                self.sns.publish(TopicArn=self.topic_arn, Subject=subject_line, Message=text)
            except Exception as exc:  # noqa: BLE001 - best effort (see the class)
                self._failed(f"sns:Publish to {self.topic_arn}", exc)
        for topic in self.extra_topics:
            try:  # the manifest's own topic: a customer's, whose failure must not stop a recovery
                region = topic.split(":")[3] if topic.count(":") >= 5 else None
                sns = self.sns
                if region and region != self.sns.meta.region_name:
                    sns = aws.client("sns", region=region)
                sns.publish(TopicArn=topic, Subject=subject_line, Message=text)
            except Exception as exc:  # noqa: BLE001 - reported, never raised
                log.warning("notification to %s failed: %s", topic, exc)


def publish(event_type: str, detail: dict[str, Any], config: names.EnvConfig | None = None) -> None:
    """Publish with the names of the environment (a handler's shortcut)."""
    Publisher.from_config(config or names.env_config()).publish(event_type, detail)
