"""firestore.rules, checked by a real Firebase client against the local cloud's Firestore emulator.

The checks themselves are node tests (tests/rules/*.test.mjs) on `@firebase/rules-unit-testing`
and the Firebase JS SDK, the client that apps and OBS overlays use. This test runs them as part
of the one pytest session and shows node's report when a rule is wrong.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES_TESTS = REPO / "tests" / "rules"

# A guard against a hung emulator connection, not a speed assertion (the run takes seconds).
HANG_GUARD_S = 600


@pytest.mark.emulator
def test_firestore_rules_hold_for_real_clients(cloud: dict) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("`node` is not on PATH; the rules tests run on the Firebase JS SDK")
    if not (REPO / "node_modules" / "@firebase" / "rules-unit-testing").is_dir():
        pytest.fail(
            "node_modules lacks @firebase/rules-unit-testing: run `npm ci` in the repo root"
        )

    files = sorted(str(p.relative_to(REPO)) for p in RULES_TESTS.glob("*.test.mjs"))
    assert files, f"no rules tests found in {RULES_TESTS}"
    env = {k: v for k, v in os.environ.items() if k != "RULES_UNDER_TEST"}
    env["FIRESTORE_EMULATOR_HOST"] = cloud["emulators"]["firestore"]

    proc = subprocess.run(
        [node, "--test", "--test-reporter=spec", *files],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )

    if proc.returncode != 0:
        pytest.fail(
            f"node --test {' '.join(files)} exited {proc.returncode}; node's report:\n"
            f"{proc.stdout}\n{proc.stderr}",
            pytrace=False,
        )
    ran = re.search(r"^\S* ?tests (\d+)$", proc.stdout, re.MULTILINE)
    assert ran and int(ran.group(1)) > 0, f"node ran no rules tests:\n{proc.stdout}"
