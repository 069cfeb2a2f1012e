"""Build the sandbox's AMI catalog (runtime/drorch/sandbox/amis.json).

moto loads about 1,200 AMIs into every EC2 account/region it creates, which
costs most of a second each time. The sandbox instead loads a small catalog:
moto's default AMIs plus, for every region, the AMIs behind the Amazon Linux
"latest" public SSM parameters that scenarios resolve (al2023 and amzn2).
Run it again after upgrading moto: `python scripts/build_ami_catalog.py`.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import moto

MOTO = Path(moto.__file__).parent
OUT = Path(__file__).resolve().parents[1] / "runtime/drorch/sandbox/amis.json"
PARAMETERS = {
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
}


def load(path: Path):
    with gzip.open(path) as handle:
        return json.load(handle)


def main() -> None:
    catalog = {ami["ami_id"]: ami for ami in load(MOTO / "ec2/resources/amis.json.gz")}
    for params in sorted((MOTO / "ssm/resources/ami-amazon-linux-latest").glob("*.json.gz")):
        region = params.name.removesuffix(".json.gz")
        wanted = {p["Value"] for p in load(params) if p["Name"] in PARAMETERS}
        latest = MOTO / f"ec2/resources/latest_amis/{region}.json.gz"
        if not latest.exists():
            continue
        for ami in load(latest):
            if ami["ami_id"] in wanted:
                catalog[ami["ami_id"]] = ami
    OUT.write_text(json.dumps(sorted(catalog.values(), key=lambda a: a["ami_id"]), indent=0))
    print(f"{len(catalog)} AMIs written to {OUT}")


if __name__ == "__main__":
    main()
