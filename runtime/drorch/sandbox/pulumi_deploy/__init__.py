"""Deploy the real Pulumi program (``stacks.program.build``) into the sandbox.

This is the one way the sandbox gets its hub and staging accounts. The program
runs under Pulumi's mock runtime, but :class:`SandboxMocks` does not invent
state: every ``new_resource`` creates the resource in the sandbox through
boto3 — in the hub account for the hub's provider, in a staging account for a
resource whose provider assumes a role there (its ``assumeRoles``) — and
returns the ids and ARNs the sandbox's services gave it. Dynamic resources (the
DRS initialisation and launch configuration template) run their own provider
code. A resource type the mocks cannot create is recorded in
:attr:`SandboxMocks.unsupported` and makes :func:`deploy_program` fail, naming
it, unless the caller allows it — it is never faked.

The Lambda functions are created in moto and registered for in-process dispatch
(:mod:`drorch.sandbox.lambda_runtime`).

Layout: :mod:`.base` (targets, clients, input conversions), :mod:`.mocks` (the
Mocks interface and routing), one module of creators per group of services
(:mod:`.storage`, :mod:`.events`, :mod:`.iam`, :mod:`.compute`,
:mod:`.staging`), :mod:`.program` (running the program) and :mod:`.hub` (the
deployment and the sandbox set to run it).
"""

from drorch.sandbox.pulumi_deploy.base import Created, SandboxDeployError, Target
from drorch.sandbox.pulumi_deploy.hub import HubDeployment, deploy_hub, deploy_program
from drorch.sandbox.pulumi_deploy.mocks import SandboxMocks
from drorch.sandbox.pulumi_deploy.program import program_config, project_dir, run_program

__all__ = [
    "Created",
    "HubDeployment",
    "SandboxDeployError",
    "SandboxMocks",
    "Target",
    "deploy_hub",
    "deploy_program",
    "program_config",
    "project_dir",
    "run_program",
]
