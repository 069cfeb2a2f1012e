"""The long fuzz run (issue 11: "no CLI command exits 3 on the fuzz corpus, in a ten-minute
fuzz run"): `drorch manifest validate` and `convert` on arbitrary bytes, arbitrary documents
and schema-shaped documents, for DRORCH_FUZZ_MINUTES minutes (``make fuzz``; skipped
without it). Prints how many inputs ran and the exit codes seen."""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.manifest.test_fuzz_robust_input import COMMANDS, documents, run, shaped

pytestmark = pytest.mark.chaos
MINUTES = float(os.environ.get("DRORCH_FUZZ_MINUTES") or 0)
ROUND = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

inputs = st.one_of(
    st.binary(max_size=400),
    st.tuples(documents | shaped, st.booleans()).map(
        lambda d: (json.dumps(d[0]) if d[1] else yaml.safe_dump(d[0])).encode()
    ),
)


@pytest.mark.skipif(not MINUTES, reason="set DRORCH_FUZZ_MINUTES (make fuzz) to run it")
def test_no_cli_command_exits_3_for_the_whole_run(tmp_path):
    codes: Counter[int] = Counter()
    crashes: list[bytes] = []
    deadline = time.monotonic() + MINUTES * 60
    rounds = 0

    while time.monotonic() < deadline:

        @seed(rounds)
        @ROUND
        @given(data=inputs, command=st.sampled_from(COMMANDS))
        def one_round(data: bytes, command: tuple[str, str]) -> None:
            if time.monotonic() >= deadline:
                return
            code = run(tmp_path, data, command)
            codes[code] += 1
            if code not in (0, 1, 2):
                crashes.append(data)

        one_round()
        rounds += 1
    total = sum(codes.values())
    print(f"\nfuzz: {total} inputs in {MINUTES:g} min ({rounds} rounds); exit codes {dict(codes)}")
    assert crashes == [], crashes[:3]
    assert total > 0
