"""The sandbox's whole state, saved to a file and put back (``drorch sandbox up --state-dir``).

A :class:`Snapshot` holds everything a running sandbox knows:

* every backend of moto and of drorch's own services (DRS, Resource Explorer, the
  modules' extension services): each ``BackendDict`` of a loaded module, with every
  account and region in it;
* the modules' extension state kept beside moto (module-level dictionaries, sets and
  lists of a ``drorch.modules.*.sandbox`` module, such as the simulated progress of an
  Aurora failover or the HTTP endpoints a scenario declares);
* the simulated clock (its start and current time), the DRS quotas and timings, the
  identities (the operator's access key, the provisioned staging accounts), the hub's
  Lambda functions run in process, the hub deployment and the seeded scenario, and the
  scheduled rules' last firing times.

It is one ``pickle`` of all of that, so objects that refer to each other (a Lambda
function and its backend, a DRS job and its servers) still do after :func:`load`.
Objects that cannot be pickled as they are get a stand-in: locks are made anew, keys
and certificates travel as PEM, a weak-value dictionary as its items, a
``defaultdict`` whose factory is a lambda as a copy of what the factory makes.

What is not kept: a Step Functions execution's interpreter thread. The endpoint stops
the executions still running before it saves (they end ``ABORTED``), and after a
restore the engine's histories and locks are reconciled with Step Functions, as
``drorch reconcile`` does. Simulated time does not move while the endpoint is down.
Neither is what the process cached from the state it replaces: the engine's clients and
assumed sessions (:func:`drorch.engine.aws.forget`) are dropped by :func:`restore`, since
credentials issued after the snapshot do not exist in it.

A snapshot is read only by the drorch and moto versions and the code of the fakes
that wrote it (anything else refuses it, naming both).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import io
import json
import pickle
import sys
import threading
import weakref
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from moto.core.base_backend import BackendDict

from drorch.engine import aws as engine_aws

SNAPSHOT_FILE = "sandbox-state.pickle"
FORMAT = 1
_EXTENSION_PACKAGE = "drorch.modules."
_CONTAINERS = (dict, set, list, deque)


class SnapshotError(RuntimeError):
    """A snapshot that cannot be written or read back."""


@dataclass
class Snapshot:
    versions: dict[str, str]
    saved_at: str
    hub: Any  # drorch.sandbox.core.Hub
    clock_start: datetime
    clock_now: datetime
    operator: dict[str, str]
    accounts: dict[str, Any]  # account id -> ProvisionedAccount
    drs_quotas: Any
    drs_timings: Any
    lambda_handlers: dict[str, str]
    backends: dict[str, dict[str, Any]]  # "module:attribute" -> account id -> regions
    backend_attributes: dict[str, dict[str, Any]]  # "module:attribute" -> its own state
    extensions: dict[str, dict[str, Any]]  # module -> name -> container
    extra: dict[str, Any] = field(default_factory=dict)  # deployment, seeded, scenario...

    def describe(self) -> str:
        services = sum(1 for accounts in self.backends.values() if accounts)
        return (
            f"sandbox state of {self.saved_at} (simulated {self.clock_now.isoformat()}): "
            f"{services} services, {len(self.accounts)} staging accounts"
        )


def versions() -> dict[str, str]:
    """What a snapshot must have been written by: these drorch and moto versions, and the
    same code of the fakes (a changed class would come back without its new fields)."""
    from importlib.metadata import version

    return {
        "drorch": version("drorch"),
        "moto": version("moto"),
        "format": str(FORMAT),
        "fakes": _fakes_fingerprint(),
    }


@functools.cache
def _fakes_fingerprint() -> str:
    """A digest of the sandbox's and the modules' source files."""
    package = Path(__file__).resolve().parents[1]  # drorch/
    digest = hashlib.sha256()
    for path in sorted([*package.glob("sandbox/**/*.py"), *package.glob("modules/**/*.py")]):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# --- what is saved ----------------------------------------------------------------------------
def _backend_dicts() -> dict[str, BackendDict]:
    """Every ``BackendDict`` of a loaded moto or drorch module, by one stable name."""
    found: dict[int, tuple[str, BackendDict]] = {}
    for name in sorted(sys.modules):
        if not name.startswith(("moto.", "drorch.")):
            continue
        module = sys.modules[name]
        for attribute, value in sorted(vars(module).items()):
            if isinstance(value, BackendDict) and id(value) not in found:
                found[id(value)] = (f"{name}:{attribute}", value)
    return dict(found.values())


# what BackendDict.__init__ sets: the rest is a subclass's state (S3's bucket_accounts)
_BACKEND_DICT_FIELDS = {
    "backend",
    "service_name",
    "_use_boto3_regions",
    "_additional_regions",
    "_id",
}


def _own_attributes(backend_dict: BackendDict) -> dict[str, Any]:
    return {k: v for k, v in vars(backend_dict).items() if k not in _BACKEND_DICT_FIELDS}


def _extension_modules() -> list[str]:
    return sorted(
        name
        for name in sys.modules
        if name.startswith(_EXTENSION_PACKAGE) and name.rsplit(".", 1)[-1] == "sandbox"
    )


def _extension_state(module: Any) -> dict[str, Any]:
    """A module's mutable module-level containers that hold data (not functions): its
    private stores and what the seeders register (http-check's ENDPOINTS); constants
    come back as they were."""
    state = {}
    for name, value in vars(module).items():
        if name.startswith("__"):
            continue
        if _own_instance(module, value):  # a store object of the module (ENDPOINTS)
            state[name] = value
            continue
        if not isinstance(value, _CONTAINERS) or isinstance(value, BackendDict):
            continue
        items = value.values() if isinstance(value, dict) else value
        if any(callable(item) for item in items):
            continue  # the original methods an extension patched, its operation table
        state[name] = value
    return state


def capture(sandbox: Any, extra: dict[str, Any] | None = None, scheduler: Any = None) -> Snapshot:
    """The sandbox's state now (take it while nothing runs: see :func:`save`)."""
    state = sandbox.state
    snapshot = Snapshot(
        versions=versions(),
        saved_at=datetime.now(UTC).isoformat(timespec="seconds"),
        hub=sandbox.hub,
        clock_start=sandbox.clock.now() - timedelta(seconds=sandbox.clock.elapsed()),
        clock_now=sandbox.clock.now(),
        operator=dict(sandbox.operator_credentials),
        accounts=dict(sandbox.accounts),
        drs_quotas=state.drs_quotas,
        drs_timings=state.drs_timings,
        lambda_handlers=dict(state.lambda_runtime.handlers),
        backends={name: dict(value) for name, value in _backend_dicts().items()},
        backend_attributes={
            name: _own_attributes(value) for name, value in _backend_dicts().items()
        },
        extensions={name: _extension_state(sys.modules[name]) for name in _extension_modules()},
        extra=dict(extra or {}),
    )
    if scheduler is not None:
        snapshot.extra["scheduler"] = scheduler.checkpoint()
    return snapshot


def save(snapshot_source: Callable[[], Snapshot], path: Path) -> Path:
    """Write the snapshot ``snapshot_source`` takes, with moto's and the DRS fake's locks
    held (no request changes a backend meanwhile); atomically replaces ``path``."""
    from drorch.sandbox.drs.models import LOCK as DRS_LOCK
    from drorch.sandbox.interceptor import _MOTO_LOCK

    buffer = io.BytesIO()
    with _MOTO_LOCK, DRS_LOCK:
        snapshot = snapshot_source()
        try:
            _Pickler(buffer).dump(snapshot)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise SnapshotError(f"the sandbox state cannot be saved: {error}") from error
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(buffer.getvalue())
    temporary.chmod(0o600)  # it holds the sandbox operator's credentials
    temporary.replace(path)
    return path


def load(path: Path) -> Snapshot:
    """The snapshot in ``path``, refused if another drorch or moto version wrote it."""
    try:
        with path.open("rb") as source:
            snapshot = pickle.load(source)  # noqa: S301 - the endpoint's own file (mode 600)
    except Exception as error:  # noqa: BLE001 - whatever is wrong with the file, say so
        raise SnapshotError(f"{path}: not a readable sandbox state: {error}") from error
    if not isinstance(snapshot, Snapshot):
        raise SnapshotError(f"{path}: not a sandbox state")
    if snapshot.versions != versions():
        raise SnapshotError(
            f"{path} was saved by {_versions(snapshot.versions)}, this is "
            f"{_versions(versions())}: the sandbox's code changed since"
        )
    return snapshot


# --- a cache of deployed sandboxes (DRORCH_SANDBOX_CACHE) ---------------------------------------
CACHE_ENV = "DRORCH_SANDBOX_CACHE"
_CACHE_PACKAGES = ("moto", "boto3", "botocore", "pulumi", "pulumi-aws")


def cache_key(*inputs: str) -> str:
    """A digest of what a deployed sandbox depends on: ``inputs`` (the scenario and the
    accounts, as text), the drorch package's and the stacks' code, and the versions of
    drorch, moto, boto3, botocore and Pulumi."""
    digest = hashlib.sha256(_code_digest().encode())
    for text in inputs:
        digest.update(text.encode())
    return digest.hexdigest()[:24]


@functools.cache
def _code_digest() -> str:
    """The code and versions part of :func:`cache_key`, read once per process (hashing
    the package and the stacks takes seconds on a loaded machine; the code a process
    runs does not change under it)."""
    from importlib.metadata import PackageNotFoundError, version

    package = Path(__file__).resolve().parents[1]  # drorch/
    digest = hashlib.sha256(json.dumps(versions(), sort_keys=True).encode())
    for name in _CACHE_PACKAGES:
        try:
            digest.update(f"{name}={version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"{name}=-".encode())
    for root in (package, package.parents[1] / "stacks"):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


class CacheEntry:
    """One deployed sandbox in the cache folder: ``lock`` it, ``load`` it, or ``store``
    the one just set up. Processes sharing the folder set a key up once: the others
    wait on the lock, then load it."""

    def __init__(self, directory: Path, key: str) -> None:
        self.path = directory / f"sandbox-{key}.pickle"
        self._lock: Any = None

    def lock(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self.path.with_suffix(".lock").open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def load(self) -> Snapshot | None:
        if not self.path.exists():
            return None
        try:
            return load(self.path)
        except SnapshotError:
            self.path.unlink(missing_ok=True)  # unreadable: set it up again
            return None

    def store(self, sandbox: Any, extra: dict[str, Any]) -> None:
        save(lambda: capture(sandbox, extra), self.path)


def _versions(found: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(found.items()))


def restore(sandbox: Any, snapshot: Snapshot, scheduler: Any = None) -> None:
    """Put a started sandbox back into the snapshot's state (its backends replaced in
    place, so every reference moto and drorch hold to them stays good)."""
    from drorch.sandbox.drs.models import LOCK as DRS_LOCK
    from drorch.sandbox.interceptor import _MOTO_LOCK

    if snapshot.hub != sandbox.hub:
        raise SnapshotError(f"the snapshot's hub is {snapshot.hub}, this sandbox's {sandbox.hub}")
    with _MOTO_LOCK, DRS_LOCK:
        for name, accounts in snapshot.backends.items():
            module, attribute = name.split(":")
            target = getattr(importlib.import_module(module), attribute)
            dict.clear(target)
            dict.update(target, accounts)
            for attribute_name, value in snapshot.backend_attributes.get(name, {}).items():
                current = getattr(target, attribute_name, None)
                if isinstance(current, _CONTAINERS) and isinstance(value, _CONTAINERS):
                    _refill(current, value)  # others may hold the container itself
                else:
                    setattr(target, attribute_name, value)
            if accounts and target not in BackendDict._instances:
                BackendDict._instances.append(target)  # reset when the sandbox stops
        for module, values in snapshot.extensions.items():
            loaded = vars(importlib.import_module(module))
            for name, value in values.items():
                _refill(loaded[name], value)
    # what this process cached from the state replaced: sessions assumed since the snapshot
    # was taken (their keys are not in it, so moto would answer them as another account)
    engine_aws.forget()
    state = sandbox.state
    state.drs_quotas = snapshot.drs_quotas
    state.drs_timings = snapshot.drs_timings
    state.lambda_runtime.handlers = dict(snapshot.lambda_handlers)
    sandbox.clock.advance_to(snapshot.clock_now)
    sandbox.adopt(snapshot.operator, snapshot.accounts)
    if scheduler is not None and "scheduler" in snapshot.extra:
        scheduler.resume(snapshot.extra["scheduler"])


def _own_instance(module: Any, value: Any) -> bool:
    kind = type(value)
    return kind.__module__ == module.__name__ and not callable(value) and hasattr(value, "__dict__")


def _refill(target: Any, value: Any) -> None:
    """Put ``value`` into the module's own container or store object (other modules may
    hold it too)."""
    if not isinstance(target, _CONTAINERS):
        vars(target).update(vars(value))
        return
    target.clear()
    if isinstance(target, dict | set):
        target.update(value)
    else:
        target.extend(value)


# --- pickling what does not pickle as it is --------------------------------------------------
_LOCKS = (type(threading.Lock()), type(threading.RLock()))


def _new_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary:
    return weakref.WeakValueDictionary(items)


def _pem_key(pem: bytes, private: bool) -> Any:
    from cryptography.hazmat.primitives import serialization

    if private:
        return serialization.load_pem_private_key(pem, password=None)
    return serialization.load_pem_public_key(pem)


def _pem_certificate(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem)


@dataclass
class _CopyOf:
    """A ``defaultdict`` factory that makes a copy of one value (stands in for a lambda)."""

    template: Any

    def __call__(self) -> Any:
        return copy.deepcopy(self.template)


def _empty_defaultdict(kind: type, factory: Any) -> defaultdict:
    made = defaultdict.__new__(kind)
    made.default_factory = factory
    return made


def _fill_defaultdict(made: defaultdict, state: tuple[dict[str, Any], dict[Any, Any]]) -> None:
    attributes, items = state
    if attributes:  # a subclass's own attributes (a plain defaultdict has none)
        made.__dict__.update(attributes)
    dict.update(made, items)


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - any failure means "no"
        return False
    return True


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:  # noqa: PLR0911 - one case per stand-in
        kind = type(obj)
        if kind in _LOCKS:
            return _new_lock, (kind is _LOCKS[1],)
        if kind is weakref.WeakValueDictionary:
            return _weak_values, (dict(obj.items()),)
        if isinstance(obj, defaultdict):  # a subclass's own __init__ need not be re-run
            factory = obj.default_factory
            if not _picklable(factory):
                factory = _CopyOf(factory())
            state = (getattr(obj, "__dict__", {}), dict(obj))
            return _empty_defaultdict, (kind, factory), state, None, None, _fill_defaultdict
        if kind.__module__.startswith("cryptography"):
            return self._cryptography(obj)
        return NotImplemented

    @staticmethod
    def _cryptography(obj: Any) -> Any:
        from cryptography.hazmat.primitives import serialization

        pem = serialization.Encoding.PEM
        if hasattr(obj, "private_bytes"):
            data = obj.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return _pem_key, (data, True)
        if hasattr(obj, "tbs_certificate_bytes"):
            return _pem_certificate, (obj.public_bytes(pem),)
        if hasattr(obj, "public_bytes"):
            data = obj.public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
            return _pem_key, (data, False)
        return NotImplemented
