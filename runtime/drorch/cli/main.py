"""Entry point: ``drorch <group> <command>``.

Exit codes: 0 success, 1 the operation ran and failed (e.g. a drill with failed
launches), 2 bad input or a wrong state (nothing was changed), 3 an unexpected
internal error, 130 interrupted.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
import typer.main
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from drorch.cli import (
    accounts_cmd,
    demo_cmd,
    engine_cmd,
    manifest_cmd,
    modules_cmd,
    plan_cmd,
    readiness_cmd,
    sandbox_cmd,
)
from drorch.cli.help import OUTPUT, polish
from drorch.cli.options import set_project_dir
from drorch.cli.output import OUTPUT_FORMATS, fail
from drorch.errors import DrorchError, InputError
from drorch.sandbox.endpoint import target_endpoint


def _version() -> str:
    try:
        return package_version("drorch")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        print(f"drorch {_version()}")
        raise typer.Exit(0)


class _Root(typer.core.TyperGroup):
    """The root group: keeps the subcommand's own arguments for the root callback (Click
    clears ``ctx.args`` before the callback runs)."""

    def invoke(self, ctx: Any) -> Any:
        ctx.meta[SUBCOMMAND_ARGUMENTS] = list(ctx.args)
        return super().invoke(ctx)


SUBCOMMAND_ARGUMENTS = "drorch.subcommand_arguments"

app = typer.Typer(
    name="drorch",
    cls=_Root,
    help="Disaster-recovery orchestration for AWS. Runs against the embedded sandbox by default; "
    "--profile/--region (or AWS_PROFILE/AWS_REGION) target a deployed hub. " + OUTPUT,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
    project_dir: Annotated[
        Path | None,
        typer.Option(
            "--project-dir",
            help="The project folder (holds accounts/ and manifests/); default: found "
            "from the current folder upwards.",
            envvar="DRORCH_PROJECT_DIR",
        ),
    ] = None,
) -> None:
    set_project_dir(project_dir)
    # with `drorch sandbox up` running, the hub commands target its endpoint
    target_endpoint(ctx.invoked_subcommand, ctx.meta.get(SUBCOMMAND_ARGUMENTS, []))


app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(accounts_cmd.app, name="accounts")
app.add_typer(manifest_cmd.app, name="manifest")
app.add_typer(modules_cmd.app, name="modules")
app.add_typer(plan_cmd.app, name="plan")
engine_cmd.register(app)
app.command("demo")(demo_cmd.demo)
app.command("readiness")(readiness_cmd.readiness)

EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 130
RETRYABLE = (
    "Throttling",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "InternalServerError",
    "ServiceUnavailable",
)
CREDENTIAL_CODES = (
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
)
CREDENTIALS_HINT = (
    "configure credentials (aws configure / aws sso login --profile NAME) and pass "
    "--profile NAME --region REGION (or set AWS_PROFILE and AWS_REGION); "
    "without either, drorch uses the sandbox"
)


def aws_failure(exc: Exception) -> tuple[str, str]:
    """A failed AWS call as (what happened, what to do): classified, not a traceback."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        operation = getattr(exc, "operation_name", "") or "an AWS call"
        message = exc.response.get("Error", {}).get("Message", "")
        if code in RETRYABLE or code.endswith("Throttling"):
            return (
                f"AWS throttled or could not serve {operation} ({code}) after retries; "
                "nothing further was changed",
                "run the same command again in a minute",
            )
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return (
                f"access denied to {operation}: {message}",
                "attach the drorch-operator policy (or assume the drorch-operator role)",
            )
        return f"{operation} failed: {code}: {message}", "check the hub with `drorch reconcile`"
    return f"AWS could not be reached: {exc}", "check the network and the region, then retry"


def credentials_problem(exc: Exception) -> str | None:
    """The one line for a missing profile, credentials or region: the user's to fix."""
    if isinstance(exc, ProfileNotFound):
        return f"AWS profile not found: {exc.kwargs.get('profile', '')}"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found"
    if isinstance(exc, NoRegionError):
        return "no AWS region given"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in CREDENTIAL_CODES:
            return f"the AWS credentials were refused ({code})"
    return None


_COMMAND: Any = None


def command() -> Any:
    """The click command typer builds from ``app``, with examples, exit codes and
    placeholders in every help screen (built once)."""
    global _COMMAND
    if _COMMAND is None:
        _COMMAND = polish(typer.main.get_command(app))
    return _COMMAND


def _subcommand(args: list[str]) -> Any:
    found = command()
    for word in args:
        if word.startswith("-"):
            continue
        nested = getattr(found, "commands", None)
        if not nested or word not in nested:
            break
        found = nested[word]
    return found


def translate_output(args: list[str]) -> list[str]:
    """``--output json|table|text`` (AWS CLI style) for commands with ``--json``.
    A command with an ``--output`` option of its own (a file) keeps it."""
    target = _subcommand(args)
    params = getattr(target, "params", [])
    if not any("--json" in p.opts for p in params) or any("--output" in p.opts for p in params):
        return args
    result: list[str] = []
    words = iter(args)
    for word in words:
        value = None
        if word == "--output":
            value = next(words, "")
        elif word.startswith("--output="):
            value = word.split("=", 1)[1]
        else:
            result.append(word)
            continue
        if value not in OUTPUT_FORMATS:
            raise InputError(
                f"--output {value!r} is not a format", hint="use --output json, table or text"
            )
        if value == "json":
            result.append("--json")
        elif value == "text":
            result.append("--plain")
    if "--plain" in result and not any("--plain" in p.opts for p in params):
        result.remove("--plain")  # text and table read the same for this command
    return result


def interrupted() -> int:
    """Ctrl-C outside an execution being followed (which says more: see follow.py)."""
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # no traceback of a cancelled task
    fail(
        "interrupted",
        "in the sandbox nothing runs on after drorch ends; against a hub, "
        "`drorch list --status RUNNING` shows what is still running",
    )
    return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # the in-process Lambda handlers' metrics are off in the sandbox: not the operator's news
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    try:
        args = translate_output(args)
        # without standalone mode click returns a typer.Exit's code instead of exiting
        result = command().main(args=args, prog_name="drorch", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        fail("aborted")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return interrupted()
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument...
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            fail(str(exc))
        return getattr(exc, "exit_code", EXIT_INPUT)
    except InputError as exc:
        fail(str(exc), exc.hint)
        return EXIT_INPUT
    except DrorchError as exc:
        fail(str(exc), exc.hint)
        return getattr(exc, "exit_code", EXIT_FAILED)
    except (ClientError, BotoCoreError) as exc:  # AWS said no, or was not there: not a bug
        problem = credentials_problem(exc)
        if problem is not None:
            fail(problem, CREDENTIALS_HINT)
            return EXIT_INPUT
        fail(*aws_failure(exc))
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, not a traceback
        if os.environ.get("DRORCH_DEBUG"):
            raise
        fail(
            f"internal error: {type(exc).__name__}: {exc}",
            "re-run with DRORCH_DEBUG=1 for a traceback",
        )
        return EXIT_INTERNAL
    if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent return of 130
        return interrupted()
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
