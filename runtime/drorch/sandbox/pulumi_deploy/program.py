"""How the program runs: under the sandbox's mocks, in a Pulumi context of its own."""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drorch.sandbox.core import Sandbox
from drorch.sandbox.pulumi_deploy.base import SandboxDeployError
from drorch.sandbox.pulumi_deploy.mocks import SandboxMocks


def project_dir(start: Path | None = None) -> Path:
    """The folder holding ``Pulumi.yaml`` and ``stacks/`` (searched upwards)."""
    here = (start or Path.cwd()).resolve()
    package = Path(__file__).resolve().parents[4]  # an editable install: <repo>/runtime/drorch
    for folder in (here, *here.parents, package):
        if (folder / "Pulumi.yaml").is_file() and (folder / "stacks").is_dir():
            return folder
    raise SandboxDeployError(
        f"no Pulumi project (Pulumi.yaml and stacks/) in {here} or above",
        hint="run from the drorch repository",
    )


def _import_build(directory: Path) -> Callable[[Any], dict[str, Any]]:
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    from stacks.program import build

    return build


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _resolve(value: Any) -> Any:
    """Plain values from a tree of Outputs (after the program ran, everything is known)."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    return _sync_await(pulumi.Output.from_input(value).future())


def run_program(
    sandbox: Sandbox,
    config: Any,
    *,
    mocks: SandboxMocks | None = None,
    build: Callable[[Any], dict[str, Any]] | None = None,
    project: str = "drorch",
    stack: str = "sandbox",
) -> tuple[SandboxMocks, dict[str, Any]]:
    """Run ``build(config)`` under :class:`SandboxMocks`; returns the mocks and the exports.

    Pulumi's runtime settings are context variables: the program runs in a context
    of its own, so mocks another caller set (Pulumi unit tests) stay in place.
    """
    mocks = mocks or SandboxMocks(sandbox, hub_region=config.hub_region)
    build = build or _import_build(project_dir())
    return contextvars.copy_context().run(_run_isolated, mocks, build, config, project, stack)


def _run_isolated(
    mocks: SandboxMocks,
    build: Callable[[Any], dict[str, Any]],
    config: Any,
    project: str,
    stack: str,
) -> tuple[SandboxMocks, dict[str, Any]]:
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    class _Adapter(pulumi_mocks.Mocks):
        def new_resource(self, args: Any) -> tuple[str | None, dict]:
            return mocks.new_resource(args)

        def call(self, args: Any) -> tuple[dict, list | None]:
            return mocks.call(args)

    # the program's log messages (pulumi.log) are kept with the deployment, not printed
    logger = logging.getLogger("drorch.sandbox.pulumi")
    logger.propagate = False
    logger.handlers[:] = [_Collect(mocks.messages)]
    settings.ROOT.set(None)  # a root stack of this deployment's own
    pulumi_mocks.set_mocks(_Adapter(), project=project, stack=stack, preview=False, logger=logger)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    exports: dict[str, Any] = {}

    def program() -> None:
        outputs = build(config)
        public = {k: v for k, v in outputs.items() if not k.startswith("_")}
        exports.update(_resolve(public) or {})

    try:
        _sync_await(run_pulumi_func(program))
    except SandboxDeployError:
        raise
    except Exception as exc:
        raise SandboxDeployError(
            f"the Pulumi program failed in the sandbox: {type(exc).__name__}: {exc}"
        ) from exc
    return mocks, exports


def program_config(sandbox: Sandbox, accounts: Any, *, environment: str = "sandbox") -> Any:
    """The ``DeploymentConfig`` of a stack deployed into ``sandbox`` (its hub account and region)."""
    build_dir = project_dir()
    if str(build_dir) not in sys.path:
        sys.path.insert(0, str(build_dir))
    from stacks.config import DeploymentConfig

    return DeploymentConfig(
        environment=environment,
        hub_region=sandbox.hub.region,
        accounts=tuple(accounts),
        hub_account_id=sandbox.hub.account_id,
    )
