"""Plug drorch's own service backends into moto.

moto routes a request in two steps: it matches the URL against
``moto.backend_index.backend_url_patterns`` to find a service name, then asks
``moto.backends.get_backend(name)`` for that service's ``BackendDict``. moto has
no plugin API, so :func:`install` adds our services to both places. Once
installed, ``boto3.client("drs")`` inside ``mock_aws`` (and moto's server mode)
reaches our backends exactly like moto's own, with the same per-account and
per-region ``BackendDict`` semantics and the same reset on ``mock_aws`` start.
"""

from __future__ import annotations

import importlib
import re
import threading
from typing import Any

import moto.backend_index as backend_index
import moto.backends as moto_backends

# service name (as botocore names it) -> (python package, BackendDict attribute)
CUSTOM_SERVICES: dict[str, tuple[str, str]] = {
    "drs": ("drorch.sandbox.drs", "drs_backends"),
    "resource-explorer-2": ("drorch.sandbox.resourceexplorer", "resourceexplorer_backends"),
}

_lock = threading.Lock()
_installed = False
_original_get_backend = moto_backends.get_backend


def get_custom_backend(name: str) -> Any:
    package, attribute = CUSTOM_SERVICES[name]
    module = importlib.import_module(f"{package}.models")
    return getattr(module, attribute)


def _get_backend(name: str) -> Any:
    if name in CUSTOM_SERVICES:
        return get_custom_backend(name)
    return _original_get_backend(name)  # type: ignore[call-overload]


def install() -> None:
    """Register the custom services with moto (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        known = {name for name, _ in backend_index.backend_url_patterns}
        for name, (package, _) in CUSTOM_SERVICES.items():
            if name in known:
                raise RuntimeError(
                    f"moto now ships a '{name}' backend; drorch's sandbox would shadow it. "
                    "Review drorch.sandbox.registry before upgrading moto."
                )
            urls = importlib.import_module(f"{package}.urls")
            for base in urls.url_bases:
                backend_index.backend_url_patterns.append((name, re.compile(base)))
        moto_backends.get_backend = _get_backend  # type: ignore[assignment]
        _installed = True
