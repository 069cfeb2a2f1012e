"""A small AMI catalog for the sandbox's EC2.

moto loads about 1,200 AMIs into every EC2 account/region it creates, which
costs most of a second each time, and the sandbox creates many. The sandbox
points moto at a smaller catalog instead (``MOTO_AMIS_PATH``): moto's default
AMIs plus, for every region, the AMIs behind the Amazon Linux "latest" public
SSM parameters that scenarios resolve. It is built from the installed moto's
own data the first time and cached per moto version.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

PARAMETERS = {
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
}


def _load(path: Path) -> Any:
    with gzip.open(path) as handle:
        return json.load(handle)


def build_catalog(moto_dir: Path) -> list[dict[str, Any]]:
    catalog = {ami["ami_id"]: ami for ami in _load(moto_dir / "ec2/resources/amis.json.gz")}
    for params in sorted((moto_dir / "ssm/resources/ami-amazon-linux-latest").glob("*.json.gz")):
        region = params.name.removesuffix(".json.gz")
        latest = moto_dir / f"ec2/resources/latest_amis/{region}.json.gz"
        if not latest.exists():
            continue
        wanted = {p["Value"] for p in _load(params) if p["Name"] in PARAMETERS}
        catalog.update({a["ami_id"]: a for a in _load(latest) if a["ami_id"] in wanted})
    return sorted(catalog.values(), key=lambda ami: ami["ami_id"])


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for candidate in (Path(base) / "drorch", Path(tempfile.gettempdir()) / "drorch"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            return candidate
        except OSError:
            continue
    raise OSError("no writable cache directory for the sandbox's AMI catalog")


def catalog_path() -> Path:
    """The catalog for the installed moto, built on first use."""
    spec = metadata.distribution("moto")
    moto_dir = Path(str(spec.locate_file("moto")))
    path = _cache_dir() / f"moto-{spec.version}-amis.json"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(build_catalog(moto_dir), handle)
        os.replace(tmp, path)  # atomic: parallel test workers never read half a file
    return path
