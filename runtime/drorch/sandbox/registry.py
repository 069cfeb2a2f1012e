"""Plug drorch's own service backends and the modules' sandbox extensions into moto.

moto routes a request in two steps: it matches the URL against
``moto.backend_index.backend_url_patterns`` to find a service name, then asks
``moto.backends.get_backend(name)`` for that service's ``BackendDict``. moto has
no plugin API, so :func:`install` adds our services to both places. Once
installed, ``boto3.client("drs")`` inside ``mock_aws`` (and moto's server mode)
reaches our backends exactly like moto's own, with the same per-account and
per-region ``BackendDict`` semantics and the same reset on ``mock_aws`` start.

The services are the sandbox's own (:data:`CORE_SERVICES`: Resource Explorer,
which discovery needs whatever the modules) plus those the registered modules'
extensions declare (:mod:`drorch.sandbox.extensions`; DRS comes from the DRS
module). :func:`install` also calls each extension's ``install`` hook once per
process, and :func:`start` runs their ``start`` hooks for one sandbox.
"""

from __future__ import annotations

import importlib
import re
import threading
from typing import TYPE_CHECKING, Any

import moto.backend_index as backend_index
import moto.backends as moto_backends

from drorch.sandbox.botocore_models import service_id

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox
    from drorch.sandbox.extensions import SandboxExtension

# service name (as botocore names it) -> (python package, BackendDict attribute)
CORE_SERVICES: dict[str, tuple[str, str]] = {
    "resource-explorer-2": ("drorch.sandbox.resourceexplorer", "resourceexplorer_backends"),
}

# every routed service (core + extensions), filled by install()
CUSTOM_SERVICES: dict[str, tuple[str, str]] = dict(CORE_SERVICES)
# botocore service ids of the routed services (their responses are model-checked)
CUSTOM_SERVICE_IDS: set[str] = {"resource-explorer-2"}
# (botocore service id, operation) answered by an extension inside a moto service
EXTENDED_OPERATIONS: set[tuple[str, str]] = set()
# response members whose pattern/length constraints AWS itself does not keep (see extensions)
MODEL_GAPS: set[str] = set()

_lock = threading.RLock()
_installed = False
_extensions: dict[str, SandboxExtension] = {}
_original_get_backend = moto_backends.get_backend


def get_custom_backend(name: str) -> Any:
    package, attribute = CUSTOM_SERVICES[name]
    module = importlib.import_module(f"{package}.models")
    return getattr(module, attribute)


def _get_backend(name: str) -> Any:
    if name in CUSTOM_SERVICES:
        return get_custom_backend(name)
    return _original_get_backend(name)  # type: ignore[call-overload]


def installed_extensions() -> dict[str, SandboxExtension]:
    """The extensions :func:`install` loaded, by module name."""
    install()
    return dict(_extensions)


def is_checked(service: str, operation: str) -> bool:
    """Whether drorch answers this operation (botocore service id): one of its own
    services, or an operation an extension adds to a moto service."""
    return service in CUSTOM_SERVICE_IDS or (service, operation) in EXTENDED_OPERATIONS


_CONSTRAINTS = (" does not match ", " is shorter than ", " is longer than ")


def tolerated(problem: str) -> bool:
    """Whether a fidelity problem is a constraint AWS's own answers break there."""
    path, _, what = problem.partition(": ")
    return path in MODEL_GAPS and any(c in f" {what}" for c in _CONSTRAINTS)


def install() -> None:
    """Route the custom services and install every extension (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        # imported here: drorch.modules imports every module, which import the sandbox's
        # extension type from this package
        from drorch.sandbox.extensions import extensions

        loaded = extensions()
        services = dict(CORE_SERVICES)
        for module, extension in loaded.items():
            for name, spec in extension.services.items():
                if name in services:
                    raise RuntimeError(
                        f"the sandbox service '{name}' is declared twice (module {module})"
                    )
                services[name] = spec
        known = {name for name, _ in backend_index.backend_url_patterns}
        for name in services:
            if name in known:
                raise RuntimeError(
                    f"moto now ships a '{name}' backend; drorch's sandbox would shadow it. "
                    "Review drorch.sandbox.registry before upgrading moto."
                )
        for name, (package, _) in services.items():
            urls = importlib.import_module(f"{package}.urls")
            for base in urls.url_bases:
                backend_index.backend_url_patterns.append((name, re.compile(base)))
        CUSTOM_SERVICES.clear()
        CUSTOM_SERVICES.update(services)
        CUSTOM_SERVICE_IDS.update(service_id(name) for name in services)
        moto_backends.get_backend = _get_backend  # type: ignore[assignment]
        for extension in loaded.values():
            for client_name, operations in extension.operations.items():
                sid = service_id(client_name)
                EXTENDED_OPERATIONS.update((sid, op) for op in operations)
            MODEL_GAPS.update(extension.model_gaps)
            if extension.install is not None:
                extension.install()
        _extensions.clear()
        _extensions.update(loaded)
        _installed = True


def start(sandbox: Sandbox) -> None:
    """Run every extension's ``start`` hook for a sandbox that is starting; what a hook
    returns runs when that sandbox stops."""
    for extension in installed_extensions().values():
        if extension.start is None:
            continue
        undo = extension.start(sandbox)
        if undo is not None:
            sandbox.on_stop(undo)
