"""The Pulumi program's configuration: validated before any resource is declared."""

from __future__ import annotations

import pytest

from drorch.errors import InputError
from stacks.config import build_config
from tests.conftest import REPO


def test_defaults_take_every_account_file():
    config = build_config({}, REPO)
    assert config.hub_region == "us-east-2"
    assert [a.name for a in config.accounts] == [
        "staging-app",
        "staging-data",
        "staging-nonprod",
        "staging-web",
    ]


def test_account_selection_keeps_the_given_order():
    config = build_config({"accounts": ["staging-web", "staging-data"]}, REPO)
    assert [a.account_id for a in config.accounts] == ["111111111111", "333333333333"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hubRegion": "mars-1"}, "drorch:hubRegion 'mars-1' is not an AWS region name"),
        ({"environment": "Prod!"}, "drorch:environment 'Prod!' must be lowercase"),
        ({"accounts": ["staging-web", "nope"]}, "drorch:accounts names nope"),
        ({"accountsDir": "missing"}, "accounts directory not found"),
    ],
)
def test_bad_configuration_is_named(values, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("!", "!")):
        build_config(values, REPO)
