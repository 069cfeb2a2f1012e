"""``__main__.py`` itself under the mocks: stack settings in, exports out."""

from __future__ import annotations

import runpy

import pulumi

from tests.conftest import REPO
from tests.stacks.mocks import HUB_ACCOUNT, MOCKS


def test_the_program_runs_from_stack_settings():
    MOCKS.reset()
    pulumi.runtime.set_config("drorch:environment", "nonprod")
    pulumi.runtime.set_config("drorch:accounts", '["staging-nonprod"]')
    try:

        @pulumi.runtime.test
        def run() -> None:
            runpy.run_path(str(REPO / "__main__.py"))

        run()
    finally:
        pulumi.runtime.set_all_config({})
    (execution,) = [
        r for r in MOCKS.of_type("aws:iam/role:Role") if r.inputs["name"] == "drorch-execution"
    ]
    assert execution.account == "444444444444"
    # no hubAccountId: the deploying credentials' account (getCallerIdentity)
    functions = MOCKS.of_type("aws:lambda/function:Function")
    assert all(f":{HUB_ACCOUNT}:" in f.state["arn"] for f in functions)
    (key,) = MOCKS.of_type("aws:kms/key:Key")
    assert "drorch nonprod" in key.inputs["description"]
