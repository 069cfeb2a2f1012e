"""Running the engine inside one ``drorch`` process against the sandbox.

The sandbox lives as long as the command: the Pulumi program deploys the
scenario's staging accounts and the hub (tables, buckets, functions, state
machines) into it, the scenario is loaded, the command uploads the manifest and
runs executions, and can answer gates as they open.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from drorch import names
from drorch.accounts import load_accounts
from drorch.cli.output import errors, note
from drorch.client import Client
from drorch.sandbox import DrsQuotas, DrsTimings, Sandbox, SimClock, persistence
from drorch.sandbox.persistence import Snapshot
from drorch.sandbox.pulumi_deploy import HubDeployment, deploy_hub
from drorch.sandbox.pulumi_deploy.hub import activate
from drorch.sandbox.scenario import SeedReport, builtin_scenarios, load_scenario, seed
from drorch.sandbox.stepfunctions import stop_executions

# Manual clock: simulated time moves when the state machines wait (a 30-second
# poll costs milliseconds), so measured durations are the simulated ones.
DEFAULT_SPEED = 0.0
DRS_VARIATION = 0.15  # +-15 % on each DRS launch step, per server and job


@dataclass
class SandboxHub:
    sandbox: Sandbox
    client: Client
    deployment: HubDeployment
    seeded: SeedReport


def load_scenario_first(scenario: str) -> None:
    """Refuse an unknown scenario before anything is set up."""
    load_scenario(scenario)


class _Progress:
    """One line per set-up step: a spinner at a terminal, plain lines on stderr elsewhere."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self.started = time.monotonic()
        self.status: object | None = None

    def step(self, text: str) -> None:
        if not self.show:
            return
        elapsed = f"[{time.monotonic() - self.started:4.1f}s]"
        if errors.is_terminal:
            if self.status is None:
                self.status = errors.status(text)
                self.status.start()  # type: ignore[attr-defined]
            else:
                self.status.update(text)  # type: ignore[attr-defined]
        else:
            note(f"{elapsed} {text}")

    def done(self) -> None:
        if self.status is not None:
            self.status.stop()  # type: ignore[attr-defined]
            self.status = None
        if self.show:
            note(f"sandbox ready in {time.monotonic() - self.started:.1f}s")


@contextmanager
def sandbox_hub(
    scenario: str,
    accounts_dir: Path,
    *,
    speed: float = DEFAULT_SPEED,
    strict: bool = False,
    progress: bool = False,
    drs_variation: float = DRS_VARIATION,
    snapshot: Snapshot | None = None,
    drs_quotas: DrsQuotas | None = None,
) -> Iterator[SandboxHub]:
    """A running sandbox with the hub and the scenario's staging accounts deployed by the
    Pulumi program (:mod:`drorch.sandbox.pulumi_deploy`), and the scenario loaded; or,
    given a ``snapshot`` (:mod:`drorch.sandbox.persistence`), the state it saved (its
    DRS timings too), with the histories of executions it stopped reconciled.
    ``progress`` says what is being set up (on stderr). DRS launches take their
    :class:`DrsTimings` varied by up to ``drs_variation`` (as real ones vary);
    ``drs_quotas``: the DRS quotas the fake enforces (AWS's defaults unless given)."""
    shown = _Progress(progress)
    saved, entry = snapshot, None
    if snapshot is None:
        shown.step(f"sandbox: loading scenario {scenario}")
        loaded = load_scenario(scenario)
        accounts = load_accounts(accounts_dir)
        entry = _cache_entry(scenario, accounts_dir, drs_variation, drs_quotas)
        if entry is not None:
            entry.lock()  # held while setting up: another process may be storing it
            snapshot = entry.load()
    try:
        if snapshot is None:
            hub, clock = loaded.hub, SimClock(speed=speed)
        else:
            hub, clock = snapshot.hub, SimClock(start=snapshot.clock_start, speed=speed)
        shown.step("sandbox: starting the simulated AWS accounts")
        timings = DrsTimings(variation=drs_variation)
        sandbox = Sandbox(
            hub=hub, clock=clock, strict=strict, drs_timings=timings, drs_quotas=drs_quotas
        ).start()
        try:
            if snapshot is None:
                shown.step("sandbox: deploying the hub and staging stacks with the Pulumi program")
                deployment = deploy_hub(sandbox, loaded.select_accounts(accounts))
                shown.step(f"sandbox: seeding scenario {loaded.name}")
                seeded = seed(sandbox, loaded, accounts)
                if entry is not None:
                    shown.step("sandbox: storing it in the cache")
                    extra = {"deployment": deployment, "seeded": seeded, "scenario": scenario}
                    entry.store(sandbox, extra)
            else:
                shown.step(f"sandbox: restoring the {snapshot.describe()}")
                persistence.restore(sandbox, snapshot)
                deployment, seeded = snapshot.extra["deployment"], snapshot.extra["seeded"]
                activate(sandbox, deployment.environment)
        except BaseException:
            sandbox.stop()
            raise
    finally:
        shown.done()
        if entry is not None:
            entry.unlock()
    try:
        operator = f"arn:aws:iam::{sandbox.hub.account_id}:user/{names.OPERATOR_USER}"
        client = Client(sandbox.operator_session(), operator=operator)
        if saved is not None:
            client.reconcile()  # executions the saved endpoint stopped: histories, locks
        try:
            yield SandboxHub(sandbox, client, deployment, seeded)
        finally:
            # a failed or cancelled execution can leave child executions running
            stop_executions(sandbox.operator_session(), deployment.state_machines.values())
    finally:
        sandbox.stop()


def _cache_entry(
    scenario: str, accounts_dir: Path, drs_variation: float, drs_quotas: object = None
) -> persistence.CacheEntry | None:
    """Where ``$DRORCH_SANDBOX_CACHE`` keeps this scenario deployed for these accounts,
    or None (no cache). The key covers the scenario's and the accounts' files and the
    code (:func:`drorch.sandbox.persistence.cache_key`)."""
    directory = os.environ.get(persistence.CACHE_ENV, "")
    if directory.lower() in ("", "0", "off", "no", "false"):
        return None
    path = Path(scenario)
    scenario_file = path if path.is_file() else builtin_scenarios()[scenario]
    account_files = sorted(p for p in Path(accounts_dir).rglob("*") if p.is_file())
    key = persistence.cache_key(
        scenario_file.read_text(),
        *(f"{p.relative_to(accounts_dir)}:{p.read_bytes()!r}" for p in account_files),
        f"variation={drs_variation}",
        f"quotas={drs_quotas!r}",
    )
    return persistence.CacheEntry(Path(directory).expanduser(), key)
