"""`drorch manifest validate` and `convert` never exit 3 (internal error), whatever the
input: invalid UTF-8, unhashable keys, deep nesting, alias bombs, arbitrary documents and
documents shaped like the schema (issue 11, item 2). Hypothesis keeps this quick; a longer
run: ``pytest tests/manifest/test_fuzz_robust_input.py --hypothesis-profile=fuzz``."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drorch.cli.main import main

settings.register_profile("fuzz", max_examples=20000, deadline=None)
FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
COMMANDS = (("manifest", "validate"), ("manifest", "convert"))


def run(tmp_path, data: bytes, command: tuple[str, str]) -> int:
    path = tmp_path / "input.yaml"
    path.write_bytes(data)
    return main([*command, str(path)])


ALIAS_BOMB = b"""a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
BAD = {
    "invalid utf-8": b"application: \xff\xfe claims\n",
    "unhashable key": b"? [a, b]\n: 1\n",
    "mapping as key": b"? {a: 1}\n: 1\n",
    "deep nesting": b"[" * 5000 + b"]" * 5000,
    "deep mappings": b"".join(b"  " * i + b"a:\n" for i in range(500)) + b"  " * 500 + b"1\n",
    "alias bomb": ALIAS_BOMB,
    "huge": b"a: " + b"x" * (3 * 1024 * 1024) + b"\n",
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[1])
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_a_clear_input_error(tmp_path, capsys, command, name):
    assert run(tmp_path, BAD[name], command) == 2
    assert "internal error" not in capsys.readouterr().err


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)
keys = st.sampled_from(
    [
        "application",
        "customer",
        "environment",
        "manifestVersion",
        "phases",
        "waves",
        "waveNumber",
        "waveName",
        "technologies",
        "type",
        "selector",
        "ids",
        "tags",
        "dependsOn",
        "parameters",
        "approvalWorkflow",
        "healthChecks",
        "notifications",
        "layers",
        "resources",
        "action",
        "resourceName",
        "AccountId",
        "allowEmpty",
    ]
)
shaped = st.recursive(
    scalars | st.sampled_from(["drs", "ACTIVATE", "drill", "claims", "{{resolve:ssm:/x}}"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)


@FAST
@given(data=st.binary(max_size=300), command=st.sampled_from(COMMANDS))
def test_arbitrary_bytes_never_exit_3(tmp_path_factory, data, command):
    assert run(tmp_path_factory.mktemp("fuzz"), data, command) in (0, 1, 2)


@FAST
@given(document=documents | shaped, as_json=st.booleans(), command=st.sampled_from(COMMANDS))
def test_arbitrary_documents_never_exit_3(tmp_path_factory, document, as_json, command):
    text = json.dumps(document) if as_json else yaml.safe_dump(document)
    assert run(tmp_path_factory.mktemp("fuzz"), text.encode(), command) in (0, 1, 2)
