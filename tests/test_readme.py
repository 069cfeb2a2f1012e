"""The README's module table names every registered module (a new module is documented)."""

from __future__ import annotations

import re

from drorch.modules import registry
from tests.conftest import REPO


def test_the_readme_module_table_covers_the_registry():
    text = (REPO / "README.md").read_text()
    table = text[text.index("| Module | Kind | What it does | In a drill |") :]
    table = table[: table.index("\n\n")]
    listed = set(re.findall(r"^\| `([a-z0-9-]+)`", table, flags=re.M))
    assert listed == set(registry.load())
