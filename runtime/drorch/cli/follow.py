"""Following an execution to its end: the live view, gate answers, Ctrl-C, the summary.

At a terminal the view is a table redrawn in place, and a gate without
``--approve``/``--reject`` is asked (the table is stopped first, so the prompt
stays on screen). Anywhere else (CI, a pipe) one line is printed per event and
a gate that needs a person fails at once with the command that decides it:
drorch never waits on a question nobody can answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import typer
from rich.live import Live

from drorch.cli import output
from drorch.cli.live import approve_command, events, gate_label, render
from drorch.cli.output import console, note, print_json
from drorch.cli.summary import render_summary, render_unreported
from drorch.client import Client
from drorch.errors import DrorchError, InputError

# while a gate waits in the sandbox, one real second is this many simulated seconds
GATE_CLOCK_RATE = 60.0


class Interrupted(DrorchError):
    """Ctrl-C while following an execution: says what becomes of it."""

    exit_code = 130


class GateNeedsDecision(InputError):
    """A gate opened and nobody can answer it here (no terminal, --non-interactive)."""


class SandboxGateClock:
    """Moves the sandbox's simulated clock while a gate waits for a person, so the
    gate's timeout fires as it would in AWS (an hour of gate = a minute here)."""

    def __init__(self, sim_clock: Any, rate: float = GATE_CLOCK_RATE) -> None:
        self.clock = sim_clock
        self.rate = rate

    @contextmanager
    def running(self) -> Iterator[None]:
        stop = threading.Event()

        def tick() -> None:
            last = time.monotonic()
            while not stop.wait(0.1):
                now = time.monotonic()
                self.clock.advance((now - last) * self.rate)
                last = now

        thread = threading.Thread(target=tick, name="gate-clock", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


@dataclass
class Follower:
    approve: bool = False
    reject: bool = False
    non_interactive: bool = False
    quiet: bool = False  # JSON output: nothing but errors on the way
    target: str = ""  # the --profile/--region flags a suggested command needs
    sandbox: bool = True
    gate_clock: SandboxGateClock | None = None
    ask: Any = None  # (gate) -> bool | None; default: a yes/no prompt at the terminal
    _live: Live | None = field(default=None, repr=False)
    _last: Mapping[str, Any] | None = field(default=None, repr=False)
    _execution_id: str = ""

    @property
    def can_ask(self) -> bool:
        return not self.non_interactive and (self.ask is not None or output.interactive())

    def check_can_answer(self, application: str, operation: str) -> None:
        """Before anything starts: a run that will stop at a gate needs someone to answer."""
        if self.approve or self.reject or self.can_ask:
            return
        why = "--non-interactive" if self.non_interactive else "stdin is not a terminal"
        raise GateNeedsDecision(
            f"the {operation} of {application} stops at a gate (approval or wave pause) "
            f"and nobody can answer it here ({why})",
            hint="pass --approve to approve every gate as it opens, or --reject to reject the first",
        )

    # --- gates ------------------------------------------------------------------------
    def on_gate(self, gate: dict[str, Any]) -> bool | None:
        if self.reject:
            return False
        if self.approve:
            return True
        command = approve_command(self._execution_id, gate, self.target)
        if not self.can_ask:
            why = "--non-interactive" if self.non_interactive else "stdin is not a terminal"
            where = (
                "the sandbox run ends with this command"
                if self.sandbox
                else f"the execution waits at the gate: `{command}` or `drorch reject ...`"
            )
            raise GateNeedsDecision(
                f"{gate_label(gate)} of {self._execution_id} needs a decision and nobody can "
                f"answer it here ({why})",
                hint=f"pass --approve (or --reject) to answer gates; {where}",
            )
        if self._live is not None:
            self._live.stop()  # the prompt must stay on screen, not be redrawn away
        if self.gate_clock is not None and gate.get("timeoutMinutes"):
            minutes = int(gate["timeoutMinutes"])
            note(
                f"sandbox: simulated time runs {int(self.gate_clock.rate)}x while the gate waits; "
                f"it times out after {minutes} min (about {minutes * 60 / self.gate_clock.rate:.0f} s)"
            )
        try:
            if self.gate_clock is not None:
                with self.gate_clock.running():
                    answer = self._ask(gate, command)
            else:
                answer = self._ask(gate, command)
        finally:
            if self._live is not None:
                self._live.start()
        return answer

    def on_failed_step(self, gate: dict[str, Any]) -> tuple[str, str] | None:
        """A failed step waits (failurePolicy ask). Against a hub anyone may answer it with
        `drorch retry|skip` (the view shows how); the sandbox lives only inside this command,
        so it asks here, or ends the run when nobody can answer."""
        if not self.sandbox:
            return None
        if not self.can_ask:
            raise GateNeedsDecision(
                f"{gate_label(gate)} of {self._execution_id} failed and waits for retry or "
                f"skip; nobody can answer it here ({gate.get('position', '')})",
                hint="run it at a terminal, or against a deployed hub (drorch retry|skip)",
            )
        if self._live is not None:
            self._live.stop()
        try:
            how = typer.prompt(
                f"{gate_label(gate)}: {gate.get('position', '')}\nretry or skip?",
                type=click.Choice(["retry", "skip"]),
                err=True,
            )
            reason = typer.prompt("reason", err=True)
        finally:
            if self._live is not None:
                self._live.start()
        return how, reason

    def _ask(self, gate: Mapping[str, Any], command: str) -> bool | None:
        if self.ask is not None:
            return self.ask(gate)
        later = "" if self.sandbox else f" (or later: {command})"
        return typer.confirm(f"{gate_label(gate)}: approve?{later}", default=False, err=True)

    # --- following ----------------------------------------------------------------------
    def follow(self, client: Client, execution_id: str) -> dict[str, Any]:
        self._execution_id = execution_id
        try:
            if self.quiet:
                return client.wait(
                    execution_id, on_gate=self.on_gate, on_failed_step=self.on_failed_step
                )
            if console.is_terminal:
                with Live(console=console, refresh_per_second=4, transient=False) as live:
                    self._live = live
                    try:
                        return client.wait(
                            execution_id,
                            on_gate=self.on_gate,
                            on_update=lambda d: live.update(render(d, self.target)),
                            on_failed_step=self.on_failed_step,
                        )
                    finally:
                        self._live = None
            print(f"following {execution_id}", flush=True)
            return client.wait(
                execution_id,
                on_gate=self.on_gate,
                on_update=self._print_events,
                on_failed_step=self.on_failed_step,
            )
        except (KeyboardInterrupt, typer.Abort):
            raise self.interrupted() from None

    def _print_events(self, description: Mapping[str, Any]) -> None:
        for line in events(self._last, description, self.target):
            print(line, flush=True)
        self._last = description

    def interrupted(self) -> Interrupted:
        execution_id = self._execution_id
        if self.sandbox:
            return Interrupted(
                f"interrupted: execution {execution_id} ends with this command "
                "(the sandbox lives only inside one drorch command)",
                hint="run the command again to start over",
            )
        return Interrupted(
            f"interrupted: execution {execution_id} keeps running in the hub",
            hint=f"reattach with `drorch status {execution_id} --wait{self.target}`, "
            f"or cancel it with `drorch cancel {execution_id}{self.target}`",
        )


def write_reports(
    client: Client, execution_id: str, directory: Path
) -> tuple[list[str], dict[str, Any] | None]:
    """The report files (md, html, json) in ``directory``, and the JSON report."""
    files: list[str] = []
    document = None
    for fmt in ("md", "html", "json"):
        try:
            text = client.report(execution_id, fmt)
        except InputError:
            continue  # failed before a report could be written: the error is in the history
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{execution_id}.{fmt}"
        path.write_text(text)
        files.append(str(path))
        if fmt == "json":
            document = json.loads(text)
    return files, document


def report_paths(files: list[str]) -> str:
    """``dir/ID.md (also .html, .json)``: the paths, short enough for 80 columns."""
    if not files:
        return ""
    first = Path(files[0])
    others = [Path(f).suffix for f in files[1:] if Path(f).with_suffix("") == first.with_suffix("")]
    if len(others) != len(files) - 1:
        return ", ".join(files)
    return str(first) + (f" (also {', '.join(others)})" if others else "")


def show_summary(
    final: Mapping[str, Any],
    files: list[str],
    document: Mapping[str, Any] | None,
    target: str,
    hub: bool = False,
) -> None:
    if document is not None:
        console.print(render_summary(document, files, target, hub), crop=False)
    else:
        console.print(render_unreported(final))


def run_summary(
    client: Client,
    execution_id: str,
    final: dict[str, Any],
    report_dir: Path,
    follower: Follower,
) -> str:
    """Write the report files; print the summary (or the JSON document); the status."""
    files, document = write_reports(client, execution_id, report_dir)
    if follower.quiet:
        print_json(final | {"reportFiles": files})
    else:
        show_summary(final, files, document, follower.target, hub=not follower.sandbox)
    return str(final["execution"].get("status"))
