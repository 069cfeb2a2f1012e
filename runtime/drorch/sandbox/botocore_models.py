"""One botocore model loader for the whole sandbox.

Every botocore session loads and parses the JSON service models on its own;
sharing one loader between the sandbox's sessions, the default boto3 session
and the fidelity checks parses each model once per process.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.loaders
import botocore.session

LOADER = botocore.loaders.create_loader()


def new_session() -> botocore.session.Session:
    session = botocore.session.Session()
    session.register_component("data_loader", LOADER)
    return session


_SESSION = new_session()


@cache
def service_model(service: str) -> Any:
    """The model of a service, by client name ("drs") or hyphenized service id."""
    try:
        return _SESSION.get_service_model(service)
    except botocore.exceptions.UnknownServiceError:
        pass
    for name in _SESSION.get_available_services():
        model = _SESSION.get_service_model(name)
        if model.service_id.hyphenize() == service:
            return model
    raise LookupError(f"no botocore service named or with id {service!r}")


def service_id(service: str) -> str:
    """botocore's hyphenized service id (as in event names) for a client name."""
    return service_model(service).service_id.hyphenize()


def dedupe_search_paths() -> None:
    """boto3 appends its data path to the loader on every new session: keep one."""
    paths = LOADER.search_paths
    paths[:] = list(dict.fromkeys(paths))
