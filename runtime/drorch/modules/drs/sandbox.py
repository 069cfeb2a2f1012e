"""The DRS module's sandbox extension: moto has no DRS, so the sandbox serves drorch's own
DRS backend (``drorch.sandbox.drs``: jobs on the simulated clock, recovery instances as
EC2 instances, failback, the service quotas, injectable launch and job failures)."""

from __future__ import annotations

from drorch.sandbox.extensions import SandboxExtension

EXTENSION = SandboxExtension(services={"drs": ("drorch.sandbox.drs", "drs_backends")})
