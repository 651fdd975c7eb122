"""The benchmark still runs, all three modes without an error.

Tiny sizes; no timing is asserted (machines are shared). python-ldap is in
the test extra: a missing one fails here rather than skipping a mode.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import start_slapd

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"-?\d+\.\d\d"


def test_bench_runs_every_mode_without_errors() -> None:
    start_slapd().stop()  # skip, or fail under CI, like every directory test
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--users", "40", "--changes", "60", "--rounds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # The bench exits 1 when any change in any mode failed.
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "slapd: fsync (default durability)" in out
    for mode in ("raw", "python-ldap", "passgate"):
        for level in (1, 8, 32):
            row = re.search(rf"^{mode} +{level} +\d+ .*$", out, re.MULTILINE)
            assert row is not None, f"no {mode} row at c={level}:\n{out}"
            assert row.group(0).split()[5] == "0", row.group(0)  # the errors column
    lines = out.strip().splitlines()
    assert re.fullmatch(
        rf"ratio@1={NUMBER} ratio@8={NUMBER} ratio@32={NUMBER} "
        rf"cpu_gap_ms={NUMBER} slapd_gap_ms={NUMBER}",
        lines[-1],
    ), lines[-1]
    assert re.fullmatch(
        rf"pyldap_ratio@1={NUMBER} pyldap_ratio@8={NUMBER} pyldap_ratio@32={NUMBER} .*",
        lines[-2],
    ), lines[-2]
    assert "passgate RSS:" in out
    assert "per phase at c=8" in out
