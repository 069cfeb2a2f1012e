"""``drorch accounts onboard|verify``: readiness of staging accounts, checked from the hub."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from drorch.accounts import load_account, load_accounts
from drorch.cli.accounts_cmd import break_account
from drorch.cli.main import main
from drorch.onboarding import FAIL, OK, verify_account
from drorch.sandbox import Sandbox
from tests.conftest import ACCOUNTS_DIR


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def checks(readiness) -> dict[str, tuple[str, str]]:
    return {c.check: (c.result, c.detail) for c in readiness.checks}


def test_a_wrong_external_id_reports_the_refusal():
    with Sandbox(strict=True) as sandbox:
        account = load_account(ACCOUNTS_DIR / "staging-web.yaml")
        sandbox.provision_account(account)
        wrong = type(account)(**{**account.__dict__, "external_id": "drorch-not-the-one"})
        readiness = verify_account(sandbox.orchestrator_session(), wrong)
        result, detail = checks(readiness)["assume execution role"]
        assert result == FAIL
        assert "with ExternalId refused: AccessDenied: " in detail
        assert "not authorized to perform: sts:AssumeRole" in detail
        assert checks(readiness)["DRS initialised"][0] == "skipped"


# --- the command line ----------------------------------------------------------------------


def test_cli_verify_ready_accounts_exit_0(capsys):
    code, out, _ = run(
        capsys, "accounts", "verify", "staging-web", "--json", "--accounts-dir", str(ACCOUNTS_DIR)
    )
    result = json.loads(out)
    assert code == 0
    assert result["ready"] is True
    assert [a["name"] for a in result["accounts"]] == ["staging-web"]


def test_cli_verify_names_each_problem_and_exits_1(capsys):
    code, out, _ = run(
        capsys,
        "accounts",
        "verify",
        "staging-web",
        "staging-app",
        "staging-data",
        "--json",
        "--accounts-dir",
        str(ACCOUNTS_DIR),
        "--sandbox-break",
        "trust-without-external-id:staging-web",
        "--sandbox-break",
        "no-index:staging-app",
        "--sandbox-break",
        "drs-uninitialised:staging-data",
    )
    result = json.loads(out)
    assert code == 1 and result["ready"] is False
    problems = {
        a["name"]: {c["check"]: c["detail"] for c in a["checks"] if c["result"] == FAIL}
        for a in result["accounts"]
    }
    assert problems["staging-web"] == {
        "ExternalId required": "role arn:aws:iam::111111111111:role/drorch-execution "
        "does not require an ExternalId (assumed without one)"
    }
    assert problems["staging-app"]["Resource Explorer index"] == (
        "no Resource Explorer index in us-east-2"
    )
    assert set(problems["staging-data"]) == {"DRS initialised"}


def test_cli_verify_table_has_fix_hints(capsys, monkeypatch):
    from drorch.cli.output import console

    monkeypatch.setattr(console, "width", 300)
    code, out, _ = run(
        capsys,
        "accounts",
        "verify",
        "staging-app",
        "--accounts-dir",
        str(ACCOUNTS_DIR),
        "--sandbox-break",
        "deny-drs-reads:staging-app",
    )
    assert code == 1
    flat = " ".join(out.split())
    assert "denied: drs:DescribeJobs (AccessDeniedException" in flat
    assert "grant these actions to the execution role" in flat
    assert "staging-app: NOT READY (1 problem)" in flat


def test_cli_verify_unknown_account_is_bad_input(capsys):
    code, _, err = run(
        capsys, "accounts", "verify", "staging-nope", "--accounts-dir", str(ACCOUNTS_DIR)
    )
    assert code == 2 and "no account named staging-nope" in err


def test_cli_verify_bad_break_is_bad_input(capsys):
    code, _, err = run(
        capsys,
        "accounts",
        "verify",
        "--accounts-dir",
        str(ACCOUNTS_DIR),
        "--sandbox-break",
        "explode:staging-web",
    )
    assert code == 2 and "expected KIND:ACCOUNT" in err


# --- onboard --------------------------------------------------------------------------------


def test_onboard_writes_a_valid_account_with_a_random_external_id(capsys, tmp_path):
    code, out, _ = run(
        capsys,
        "accounts",
        "onboard",
        "staging-new",
        "--account-id",
        "555555555555",
        "--recovery-region",
        "us-west-2",
        "--source-region",
        "us-west-1",
        "--vpc-cidr",
        "10.210.0.0/16",
        "--accounts-dir",
        str(tmp_path),
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    account = load_account(tmp_path / "staging-new.yaml")
    assert account.account_id == "555555555555"
    assert account.recovery_region == "us-west-2" and account.source_region == "us-west-1"
    assert account.modules == ("drs",)
    assert account.external_id.startswith("drorch-staging-new-") and len(account.external_id) > 30
    assert [s.purpose for s in account.subnets] == ["recovery"] * 3 + ["staging"]
    assert {s.availability_zone for s in account.subnets} == {
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",
    }
    assert any("pulumi up" in step for step in result["nextSteps"])
    assert any("drorch accounts verify staging-new" in step for step in result["nextSteps"])
    # a second one gets another ExternalId
    run(capsys, "accounts", "onboard", "staging-new2", "--account-id", "555555555556",
        "--accounts-dir", str(tmp_path))  # fmt: skip
    other = load_account(tmp_path / "staging-new2.yaml")
    assert other.external_id != account.external_id


def test_onboard_refuses_to_overwrite_or_duplicate(capsys, tmp_path):
    shutil.copy(ACCOUNTS_DIR / "staging-web.yaml", tmp_path / "staging-web.yaml")
    before = (tmp_path / "staging-web.yaml").read_text()
    code, _, err = run(
        capsys,
        "accounts",
        "onboard",
        "staging-web",
        "--account-id",
        "555555555555",
        "--accounts-dir",
        str(tmp_path),
    )
    assert code == 2 and "already exists" in err
    assert (tmp_path / "staging-web.yaml").read_text() == before
    code, _, err = run(
        capsys,
        "accounts",
        "onboard",
        "staging-copy",
        "--account-id",
        "111111111111",
        "--accounts-dir",
        str(tmp_path),
    )
    assert code == 2 and "already onboarded as staging-web" in err
    assert not (tmp_path / "staging-copy.yaml").exists()


def test_onboard_validates_before_writing(capsys, tmp_path):
    code, _, err = run(
        capsys,
        "accounts",
        "onboard",
        "staging-x",
        "--account-id",
        "12345",
        "--accounts-dir",
        str(tmp_path),
    )
    assert code == 2 and "$.accountId" in err
    assert list(tmp_path.iterdir()) == []


def test_onboard_explicit_external_id_and_modules(capsys, tmp_path):
    code, _, _ = run(
        capsys,
        "accounts",
        "onboard",
        "staging-y",
        "--account-id",
        "555555555557",
        "--external-id",
        "my-external-id-1",
        "--organization-id",
        "o-abcdef1234",
        "--accounts-dir",
        str(tmp_path),
    )
    assert code == 0
    data = yaml.safe_load((tmp_path / "staging-y.yaml").read_text())
    assert data["externalId"] == "my-external-id-1"
    assert data["organizationId"] == "o-abcdef1234"
    assert data["modules"] == ["drs"]


# --- verify, on the logic (last: its sandbox lives for the rest of the module, and
# every other test starts a sandbox of its own) -----------------------------------------


@pytest.fixture(scope="module")
def provisioned():
    """A sandbox with every account in accounts/ provisioned, and the hub's identity."""
    with Sandbox(strict=True) as sandbox:
        accounts = {a.name: a for a in load_accounts(ACCOUNTS_DIR)}
        for account in accounts.values():
            sandbox.provision_account(account)
        yield sandbox, accounts, sandbox.orchestrator_session()
        assert sandbox.state.fidelity.violations == []


def test_a_provisioned_account_is_ready(provisioned):
    sandbox, accounts, hub = provisioned
    readiness = verify_account(hub, accounts["staging-web"])
    assert readiness.ready
    found = checks(readiness)
    for check in (
        "assume execution role",
        "ExternalId required",
        "DRS initialised",
        "DRS replication template",
        "DRS launch template",
        "Resource Explorer index",
        "Resource Explorer view",
        "permissions: discovery",
        "permissions: drs",
    ):
        assert found[check][0] == OK, (check, found[check])
    assert found["Resource Explorer index"][1] == "aggregator in us-east-2"


def test_a_trust_policy_without_external_id_is_named(provisioned):
    sandbox, accounts, hub = provisioned
    account = accounts["staging-app"]
    iam = sandbox.admin_session(account.account_id, account.recovery_region).client("iam")
    iam.update_assume_role_policy(
        RoleName=account.execution_role_name,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{sandbox.hub.account_id}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    readiness = verify_account(hub, account)
    assert not readiness.ready
    result, detail = checks(readiness)["ExternalId required"]
    assert result == FAIL
    assert detail == (
        "role arn:aws:iam::222222222222:role/drorch-execution does not require an ExternalId "
        "(assumed without one)"
    )
    assert [c.check for c in readiness.problems()] == ["ExternalId required"]


def test_a_missing_resource_explorer_index_is_named(provisioned):
    sandbox, accounts, hub = provisioned
    account = accounts["staging-data"]
    rex = sandbox.admin_session(account.account_id, account.recovery_region).client(
        "resource-explorer-2"
    )
    rex.delete_index(Arn=sandbox.accounts[account.account_id].index_arns["us-east-2"])
    readiness = verify_account(hub, account)
    found = checks(readiness)
    assert found["Resource Explorer index"] == (FAIL, "no Resource Explorer index in us-east-2")
    assert found["DRS initialised"][0] == OK
    assert not readiness.ready


def test_uninitialised_drs_is_named(provisioned):
    sandbox, accounts, hub = provisioned
    account = accounts["staging-nonprod"]
    break_account(sandbox, account, "drs-uninitialised")
    readiness = verify_account(hub, account)
    result, detail = checks(readiness)["DRS initialised"]
    assert result == FAIL
    assert detail.startswith("DRS is not initialised in us-east-2 (UninitializedAccountException")
    assert [c.check for c in readiness.problems()] == ["DRS initialised"]
