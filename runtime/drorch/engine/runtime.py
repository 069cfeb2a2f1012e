"""What every engine step works with: the hub's stores and clients, built from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws
from drorch.engine.errors import ManifestInvalid
from drorch.engine.events import Publisher
from drorch.engine.gates import Gates
from drorch.engine.history import History
from drorch.engine.lock import ApplicationLock
from drorch.errors import InputError
from drorch.manifest import Manifest
from drorch.manifest.checked import build_checked

_manifests: dict[tuple[str, str, str], Manifest] = {}


def registry() -> Mapping[str, Any]:
    """The registered modules (importing ``drorch.modules`` registers the built-in ones)."""
    import drorch.modules as modules

    return modules.REGISTRY


@dataclass
class Engine:
    config: names.EnvConfig
    history: History
    lock: ApplicationLock
    publisher: Publisher
    s3: Any
    sfn: Any
    accounts: dict[str, aws.AccountAccess]
    modules: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, modules: Mapping[str, Any] | None = None) -> Engine:
        config = aws.resolve_config(names.env_config())
        history = History.from_config(config)
        return cls(
            config=config,
            history=history,
            lock=ApplicationLock.from_config(config, history),
            publisher=Publisher.from_config(config),
            s3=aws.client("s3"),
            sfn=aws.client("stepfunctions"),
            accounts=aws.accounts(config),
            modules=modules if modules is not None else registry(),
        )

    @property
    def bucket(self) -> str:
        assert self.config.artifacts_bucket  # resolve_config fills it in
        return self.config.artifacts_bucket

    def gates(self) -> Gates:
        return Gates(self.history, self.sfn, self.publisher)

    def manifest(self, ref: Mapping[str, Any], *, validated: bool = False) -> Manifest:
        """The execution's manifest version from S3, validated (ManifestInvalid if not).

        ``validated``: this version passed validation already (initialise checked it and
        the execution record holds its reference); a pinned version is then only built,
        without loading the validator. An unpinned one is always validated.
        """
        bucket = ref.get("bucket") or self.config.manifest_bucket or ""
        key, version = ref.get("key", ""), ref.get("versionId") or ""
        cache_key = (bucket, key, version)
        if version and cache_key in _manifests:
            return _manifests[cache_key]
        source = f"s3://{bucket}/{key}" + (f"?versionId={version}" if version else "")
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            kwargs["VersionId"] = version
        try:
            body = self.s3.get_object(**kwargs)["Body"].read()
        except ClientError as exc:
            raise ManifestInvalid(f"{source}: cannot read the manifest: {exc}") from exc
        if validated and version:
            manifest = build_checked(body, self.modules)
        else:
            from drorch.manifest.validate import load_manifest

            try:
                manifest = load_manifest(body, source, self.modules)
            except InputError as exc:
                raise ManifestInvalid(str(exc), hint=exc.hint) from exc
        if version:
            _manifests[cache_key] = manifest
        return manifest
