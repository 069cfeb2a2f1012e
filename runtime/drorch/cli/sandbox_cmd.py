"""``drorch sandbox``: the embedded AWS."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from drorch.accounts import load_accounts
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json, Scenario
from drorch.cli.output import console, errors, print_json
from drorch.errors import DrorchError, InputError
from drorch.sandbox import Sandbox
from drorch.sandbox import endpoint as endpoint_mod
from drorch.sandbox.estate import describe_estate
from drorch.sandbox.scenario import builtin_scenarios, load_scenario, seed

app = typer.Typer(
    help="The embedded AWS sandbox (simulated accounts, DRS, Resource Explorer).",
    no_args_is_help=True,
)


@app.command("scenarios")
def scenarios(json_output: Json = False) -> None:
    """List the built-in scenarios."""
    rows = []
    for name, path in sorted(builtin_scenarios().items()):
        scenario = load_scenario(path)
        rows.append(
            {
                "name": name,
                "description": scenario.description,
                "accounts": scenario.account_names,
                "sourceServers": len(scenario.servers),
                "resources": len(scenario.resources),
            }
        )
    if json_output:
        print_json(rows)
        return
    table = Table(title="Built-in sandbox scenarios")
    for column in ("name", "servers", "resources", "accounts", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            str(row["sourceServers"]),
            str(row["resources"]),
            ", ".join(row["accounts"] or ["all"]),
            row["description"],
        )
    console.print(table)


def render_estate(estate: dict[str, Any]) -> None:
    console.print(
        f"[bold]{estate['scenario']}[/]: {estate['description']}\n"
        f"hub account {estate['hub']['accountId']} ({estate['hub']['region']}); recovery region "
        f"{', '.join(sorted({a['recoveryRegion'] for a in estate['accounts']}))}; "
        f"{estate['totals']['sourceServers']} source servers, "
        f"{estate['totals']['resources']} managed-service resources"
    )
    table = Table(title="Staging accounts")
    for column in (
        "account",
        "servers",
        "replication",
        "DR waves",
        "opted out",
        "bad tags",
        "indexed",
    ):
        table.add_column(column, no_wrap=column in ("account", "DR waves", "replication"))
    for a in estate["accounts"]:
        rex = a["resourceExplorer"]
        table.add_row(
            f"{a['name']}\n{a['accountId']}",
            str(a["sourceServers"]),
            "\n".join(f"{k.lower()}:{v}" for k, v in a["replication"].items()),
            " ".join(f"w{k}:{v}" for k, v in a["waves"].items()) or "-",
            str(a["optedOut"]),
            str(len(a["invalidTags"])),
            f"{rex['searchableResources']}{'' if rex['complete'] else '+'}",
        )
    console.print(table)
    resources = [
        (a["name"], r) for a in estate["accounts"] for r in a["resources"] if "/" not in r["type"]
    ]
    if resources:
        table = Table(title="Managed-service resources (supporting parts not listed)")
        for column in ("account", "type", "name", "region"):
            table.add_column(column)
        for account, r in resources:
            table.add_row(account, r["type"], r["name"], r["region"])
        console.print(table)
    for a in estate["accounts"]:
        for bad in a["invalidTags"]:
            console.print(
                f"[yellow]excluded[/] {a['name']}/{bad['hostname']}: {'; '.join(bad['reasons'])}"
            )


@app.command("show")
def show(
    scenario: Scenario = "three-tier",
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    json_output: Json = False,
) -> None:
    """Load a scenario into a fresh sandbox and show the simulated estate."""
    loaded = load_scenario(scenario)
    accounts = load_accounts(accounts_dir)
    with Sandbox(hub=loaded.hub) as sandbox:
        report = seed(sandbox, loaded, accounts)
        estate = describe_estate(sandbox, loaded, report)
    if json_output:
        print_json(estate)
    else:
        render_estate(estate)


# --- the sandbox as a local endpoint (drorch.sandbox.server) -------------------------
StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where the endpoint's state file and log live "
        "(default: $DRORCH_SANDBOX_DIR or ~/.drorch/sandbox). Given to `up`, the "
        "sandbox's whole state is also saved there when the endpoint stops, and "
        "restored by the next `up --state-dir` with it.",
        metavar="DIR",
    ),
]
UP_TIMEOUT_SECONDS = 300.0


def _endpoint_or_fail(directory: Path | None) -> endpoint_mod.Endpoint:
    found = endpoint_mod.running_endpoint(directory)
    if found is None:
        raise InputError(
            "no sandbox endpoint is up" + (f" (state folder {directory})" if directory else ""),
            hint="start one with `drorch sandbox up`",
        )
    return found


def _start(arguments: list[str], directory: Path, show: bool) -> endpoint_mod.Endpoint:
    """Start the endpoint in the background and wait until it answers."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / endpoint_mod.LOG_FILE
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_ENDPOINT_URL") and k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")
    }
    env["DRORCH_SANDBOX_DIR"] = str(directory)
    started = time.monotonic()
    with log.open("ab") as out:
        child = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "drorch.sandbox.server", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # the endpoint outlives this command and its terminal
        )
    status = (
        errors.status("sandbox: starting the endpoint") if show and errors.is_terminal else None
    )
    if status is not None:
        status.start()
    try:
        while True:
            if child.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise DrorchError(
                    f"the sandbox endpoint did not start (exit code {child.returncode}):\n{tail}",
                    hint=f"the whole log is {log}",
                )
            found = endpoint_mod.read_state(directory)
            if found is not None and found.pid == child.pid:
                return found
            if time.monotonic() - started > UP_TIMEOUT_SECONDS:
                os.kill(child.pid, signal.SIGTERM)
                raise DrorchError(
                    f"the sandbox endpoint was not ready after {UP_TIMEOUT_SECONDS:.0f}s",
                    hint=f"see its log: {log}",
                )
            time.sleep(0.2)
    finally:
        if status is not None:
            status.stop()


def _stop(found: endpoint_mod.Endpoint, timeout: float = 60.0) -> None:
    try:
        endpoint_mod.control(found, "shutdown", {})
    except endpoint_mod.EndpointError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(found.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while endpoint_mod.running_endpoint(found.state_dir or None) is not None:
        if time.monotonic() > deadline:
            raise DrorchError(
                f"the sandbox endpoint (pid {found.pid}) did not stop in {timeout:.0f}s",
                hint=f"stop it with `kill {found.pid}`",
            )
        time.sleep(0.1)


def _show_up(found: endpoint_mod.Endpoint, seconds: float, json_output: bool) -> None:
    if json_output:
        print_json(
            {"url": found.url, "pid": found.pid, "port": found.port, "startupSeconds": seconds}
        )
        return
    console.print(
        f"sandbox endpoint up on [bold]{found.url}[/] (pid {found.pid}, scenario "
        f"{found.scenario}, clock {found.clock}, ready in {seconds:.1f}s)\n"
        "drorch commands now target it (execute, status, approve, pause...).\n"
        'AWS CLI and boto3: eval "$(drorch sandbox env)", or '
        f"`drorch sandbox env --account NAME` for a staging account; stop it with "
        "`drorch sandbox down`."
    )


@app.command("up")
def up(
    port: Annotated[int, typer.Option(help="The port to serve on.")] = endpoint_mod.DEFAULT_PORT,
    state_dir: StateDir = None,
    clock: Annotated[
        str,
        typer.Option(
            help="Simulated time: manual (moves on Wait states and `drorch sandbox clock "
            "advance`), realtime, or fast:FACTOR.",
            metavar="MODE",
        ),
    ] = "manual",
    scenario: Annotated[str, typer.Option(help="Sandbox scenario to seed.")] = "three-tier",
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    json_output: Json = False,
) -> None:
    """Start the sandbox as a local AWS endpoint in the background (one port, every
    service the sandbox fakes, the hub deployed and the scenario seeded)."""
    from drorch.sandbox.server import clock_speed

    try:
        clock_speed(clock)
    except ValueError as error:
        raise InputError(str(error)) from error
    load_scenario(scenario)  # an unknown scenario fails before anything starts
    directory = endpoint_mod.state_dir(state_dir)
    running = endpoint_mod.running_endpoint(directory)
    if running is not None:
        raise InputError(
            f"a sandbox endpoint is already up on {running.url} (pid {running.pid})",
            hint="`drorch sandbox down` stops it, `drorch sandbox reset` starts it afresh",
        )
    arguments = [
        "--port",
        str(port),
        "--state-dir",
        str(directory.resolve()),
        "--clock",
        clock,
        "--scenario",
        scenario,
        "--accounts-dir",
        str(Path(accounts_dir).resolve()),
    ]
    if state_dir is not None:
        arguments.append("--persist")
    started = time.monotonic()
    found = _start(arguments, directory, show=not json_output)
    _show_up(found, time.monotonic() - started, json_output)


@app.command("down")
def down(state_dir: StateDir = None) -> None:
    """Stop the sandbox endpoint. Its state goes with it, unless it was started with
    --state-dir: then it is saved there for the next `up --state-dir`."""
    found = _endpoint_or_fail(state_dir)
    _stop(found)
    saved = f"; its state is saved in {found.saved_state}" if found.saved_state else ""
    console.print(f"sandbox endpoint on {found.url} stopped{saved}")


@app.command("status")
def status(state_dir: StateDir = None, json_output: Json = False) -> None:
    """Whether the sandbox endpoint is up, where, and its simulated time."""
    found = endpoint_mod.running_endpoint(state_dir)
    if found is None:
        if json_output:
            print_json({"running": False})
        else:
            console.print("no sandbox endpoint is up (start one with `drorch sandbox up`)")
        raise typer.Exit(1)
    answer = endpoint_mod.control(found, "status")
    if json_output:
        print_json({"running": True} | answer)
        return
    console.print(
        f"sandbox endpoint up on [bold]{found.url}[/] (pid {found.pid})\n"
        f"scenario {answer['scenario']}; hub account {answer['account_id']} in "
        f"{answer['region']}; clock {answer['clock']}, simulated now {answer['now']}; "
        f"up {answer['uptimeSeconds']:.0f}s (ready in {answer['startupSeconds']}s)"
    )
    if answer.get("restored_from"):
        console.print(f"restored the state saved at {answer['restored_from']}")
    if answer.get("saved_state"):
        console.print(f"its state is saved to {answer['saved_state']} when it stops")


@app.command("reset")
def reset(state_dir: StateDir = None, json_output: Json = False) -> None:
    """Start the endpoint afresh with the same options (the scenario re-seeded, a saved
    state discarded)."""
    found = _endpoint_or_fail(state_dir)
    _stop(found)
    if found.saved_state:
        Path(found.saved_state).unlink(missing_ok=True)
    started = time.monotonic()
    fresh = _start(found.arguments, Path(found.state_dir), show=not json_output)
    _show_up(fresh, time.monotonic() - started, json_output)


@app.command("env")
def env(
    account: Annotated[
        str | None,
        typer.Option(
            help="A staging account (name or id): its administrator (OrganizationAccount"
            "AccessRole) in its recovery region, instead of the hub's operator.",
            metavar="ACCOUNT",
        ),
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Shell exports for the AWS CLI and SDKs to use the endpoint: eval "$(drorch sandbox env)"."""
    found = _endpoint_or_fail(state_dir)
    variables = found.client_environment()
    if account is not None:
        variables |= _account_environment(found, account)
    for key, value in variables.items():
        print(f"export {key}={shlex.quote(value)}")
    if "AWS_SESSION_TOKEN" not in variables:
        print("unset AWS_SESSION_TOKEN AWS_PROFILE")


def _account_environment(found: endpoint_mod.Endpoint, account: str) -> dict[str, str]:
    import json as json_mod

    accounts = json_mod.loads(found.environment.get("DRORCH_ACCOUNTS", "[]"))
    match = [a for a in accounts if account in (a.get("name"), a.get("accountId"))]
    if not match:
        known = ", ".join(f"{a['name']} ({a['accountId']})" for a in accounts)
        raise InputError(f"no staging account {account!r} in the sandbox", hint=f"known: {known}")
    chosen = match[0]
    credentials = found.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{chosen['accountId']}:role/OrganizationAccountAccessRole",
        RoleSessionName="drorch-sandbox-env",
    )["Credentials"]
    region = chosen.get("recoveryRegion") or found.region
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


clock_app = typer.Typer(help="The endpoint's simulated clock.", no_args_is_help=True)
app.add_typer(clock_app, name="clock")


@clock_app.command("show")
def clock_show(state_dir: StateDir = None, json_output: Json = False) -> None:
    """The clock's mode and simulated time."""
    _clock({}, state_dir, json_output)


@clock_app.command("advance")
def clock_advance(
    seconds: Annotated[float, typer.Argument(help="Simulated seconds to move forward.")],
    state_dir: StateDir = None,
    json_output: Json = False,
) -> None:
    """Move simulated time forward (DRS jobs, Wait states, gate timeouts, schedules)."""
    _clock({"advance": seconds}, state_dir, json_output)


@clock_app.command("set")
def clock_set(
    mode: Annotated[str, typer.Argument(help="manual, realtime or fast:FACTOR.")],
    state_dir: StateDir = None,
    json_output: Json = False,
) -> None:
    """Change how simulated time runs (it stays continuous)."""
    _clock({"mode": mode}, state_dir, json_output)


def _clock(payload: dict[str, Any], state_dir: Path | None, json_output: bool) -> None:
    found = _endpoint_or_fail(state_dir)
    try:
        answer = endpoint_mod.control(found, "clock", payload or None)
    except endpoint_mod.EndpointError as error:
        raise InputError(str(error)) from error
    if json_output:
        print_json(answer)
    else:
        console.print(f"clock {answer['clock']}; simulated now {answer['now']}")
