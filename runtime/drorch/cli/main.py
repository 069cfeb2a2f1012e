"""Entry point: ``drorch <group> <command>``.

Exit codes: 0 success, 1 the operation ran and failed (e.g. a drill with failed
launches), 2 bad input (nothing was changed), 3 an unexpected internal error.
"""

from __future__ import annotations

import os
import sys

import typer
from botocore.exceptions import BotoCoreError, ClientError

from drorch.cli import accounts_cmd, demo_cmd, engine_cmd, manifest_cmd, modules_cmd, sandbox_cmd
from drorch.cli.output import fail
from drorch.errors import DrorchError, InputError

app = typer.Typer(
    name="drorch",
    help="Disaster-recovery orchestration for AWS. Runs against the embedded sandbox by default.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(accounts_cmd.app, name="accounts")
app.add_typer(manifest_cmd.app, name="manifest")
app.add_typer(modules_cmd.app, name="modules")
engine_cmd.register(app)
app.command("demo")(demo_cmd.demo)

EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL = 1, 2, 3
RETRYABLE = (
    "Throttling",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "InternalServerError",
    "ServiceUnavailable",
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


def main(argv: list[str] | None = None) -> int:
    try:
        # without standalone mode click returns a typer.Exit's code instead of exiting
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        fail("aborted")
        return EXIT_FAILED
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
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as exc:  # AWS said no, or was not there: not a bug
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
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
