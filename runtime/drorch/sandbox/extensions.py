"""What a module adds to the sandbox where moto lacks an API (its ``sandbox.py``).

A module's ``sandbox.py`` defines ``EXTENSION = SandboxExtension(...)``:

* ``services``: whole services moto does not have, as ``{service name: (package,
  BackendDict attribute)}``; the package has moto-style ``models``/``responses``/``urls``
  modules and is routed by :mod:`drorch.sandbox.registry`;
* ``install``: a function called once per process, before the first request, that
  adds operations to one of moto's own services (real wire shapes);
* ``operations``: the operations the extension answers in moto's own services, by
  botocore client name (``{"ssm": ("StartAutomationExecution", ...)}``); the
  interceptor checks every response of these against the service model (strict
  sandboxes raise on a difference), as it does for the whole of ``services``;
* ``model_gaps``: response members (as the fidelity checker names them,
  ``"GetCommandInvocation.ExecutionElapsedTime"``) where AWS's documented answers
  break a pattern or length of its own model; the checker does not hold the
  extension to those constraints there (types and members are still checked);
* ``start``: called with the :class:`~drorch.sandbox.core.Sandbox` each time one
  starts, for what lives only while it runs (an HTTP interceptor, per-run
  declarations); it may return a function that undoes it, which runs when the
  sandbox stops.

The registry of modules is the only list: :func:`extensions` imports each module's
declared extension.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass(frozen=True)
class SandboxExtension:
    services: dict[str, tuple[str, str]] = field(default_factory=dict)
    install: Callable[[], None] | None = None
    operations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    start: Callable[[Sandbox], Callable[[], Any] | None] | None = None
    model_gaps: tuple[str, ...] = ()


def extensions() -> dict[str, SandboxExtension]:
    """Every registered module's sandbox extension, by module name."""
    from drorch.modules import REGISTRY

    found = {}
    for name, module in sorted(REGISTRY.items()):
        if module.sandbox_extension:
            found[name] = importlib.import_module(module.sandbox_extension).EXTENSION
    return found
