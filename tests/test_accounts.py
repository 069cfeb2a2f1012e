"""accounts/<name>.yaml: loading and the errors a user sees."""

from __future__ import annotations

import pytest
import yaml

from drorch.accounts import load_account, load_accounts
from drorch.errors import InputError
from tests.conftest import ACCOUNTS_DIR

GOOD = {
    "name": "staging-x",
    "accountId": "555555555555",
    "recoveryRegion": "us-east-2",
    "externalId": "drorch-staging-x-1234",
    "network": {"vpcCidr": "10.50.0.0/16", "subnets": [{"cidr": "10.50.1.0/24"}]},
}


def write(tmp_path, data, name="staging-x"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_accounts_load():
    accounts = load_accounts(ACCOUNTS_DIR)
    assert {a.account_id for a in accounts} == {
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
    }
    assert sum(a.capacity for a in accounts) == 1050
    web = next(a for a in accounts if a.name == "staging-web")
    assert web.execution_role_arn == "arn:aws:iam::111111111111:role/drorch-execution"
    assert [s.purpose for s in web.subnets].count("staging") == 1


def test_good_account(tmp_path):
    account = load_account(write(tmp_path, GOOD))
    assert account.source_region == "us-east-1"
    assert account.subnets[0].purpose == "recovery"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"accountId": "1234"}, r"\$\.accountId: '1234' does not match"),
        ({"externalId": None}, r"\$\.externalId: None is not of type 'string'"),
        ({"colour": "red"}, r"Additional properties are not allowed \('colour'"),
        ({"recoveryRegion": "east"}, r"\$\.recoveryRegion: 'east' does not match"),
        (
            {"network": {"vpcCidr": "10.50.0.0/16", "subnets": [{"cidr": "10.60.1.0/24"}]}},
            r"\$\.network\.subnets\[0\]\.cidr 10\.60\.1\.0/24 is not inside the VPC",
        ),
    ],
)
def test_bad_account_names_the_path(tmp_path, change, message):
    data = GOOD | change
    with pytest.raises(InputError, match=message):
        load_account(write(tmp_path, data))


def test_name_must_match_file(tmp_path):
    with pytest.raises(InputError, match="rename one so they match"):
        load_account(write(tmp_path, GOOD, name="other"))


def test_duplicate_account_ids(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, GOOD | {"name": "staging-y"}, name="staging-y")
    with pytest.raises(InputError, match="555555555555 is described twice"):
        load_accounts(tmp_path)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "staging-x.yaml"
    path.write_text("name: [unclosed")
    with pytest.raises(InputError, match="not valid YAML"):
        load_account(path)


def test_modules_default_to_drs_and_organization_is_optional(tmp_path):
    account = load_account(write(tmp_path, GOOD))
    assert account.modules == ("drs",)
    assert account.organization_id is None
    from drorch.modules import REGISTRY

    for shipped in load_accounts(ACCOUNTS_DIR):  # the examples name the modules they use
        assert "drs" in shipped.modules and set(shipped.modules) <= set(REGISTRY)


def test_modules_and_organization_are_read(tmp_path):
    account = load_account(
        write(tmp_path, GOOD | {"modules": ["drs", "aurora"], "organizationId": "o-a1b2c3d4e5"})
    )
    assert account.modules == ("drs", "aurora")
    assert account.organization_id == "o-a1b2c3d4e5"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"modules": []}, r"\$\.modules: \[\] should be non-empty"),
        ({"modules": ["drs", "drs"]}, r"\$\.modules: .* has non-unique elements"),
        ({"modules": ["DRS!"]}, r"\$\.modules\[0\]: 'DRS!' does not match"),
        ({"organizationId": "org-1"}, r"\$\.organizationId: 'org-1' does not match"),
    ],
)
def test_bad_modules_or_organization_name_the_path(tmp_path, change, message):
    with pytest.raises(InputError, match=message):
        load_account(write(tmp_path, GOOD | change))
