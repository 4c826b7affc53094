"""Session-wide fixtures: the local cloud for the whole pytest session.

`cloud` (session): starts a local cloud stack of its own (state dir .giftengine/test, port
base 9400, so a developer's demo stack on 8700 is untouched), exports the client env vars
(FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST, FIREBASE_AUTH_EMULATOR_HOST,
STORAGE_EMULATOR_HOST, CLOUD_TASKS_EMULATOR_HOST, GIFTENGINE_PROJECT, GIFTENGINE_URL_*) into
this process and yields the `giftengine dev status --json` dict. The stack is stopped when
the session ends, also on failure or Ctrl-C. Functions run with
GIFTENGINE_STREAK_IDLE_TIMEOUT_S=2 so streak-timeout tests are quick.

Tests marked `emulator` or `e2e` get the stack even without asking for `cloud`; a session
of unit tests only never starts it.

Knobs: GIFTENGINE_TEST_REUSE=1 reuses a test stack that is already running (and leaves it
running); GIFTENGINE_TEST_PORT_BASE / GIFTENGINE_TEST_STATE_DIR move the test stack.

Sub-folder conftest.py files add their own fixtures on top of `cloud` / `stream_id`.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import uuid
from pathlib import Path

import pytest
from giftengine.devcloud import procs, stack
from giftengine.devcloud.layout import ROOT

TEST_STATE_DIR = Path(
    os.environ.get("GIFTENGINE_TEST_STATE_DIR") or ROOT / ".giftengine" / "test"
).resolve()
TEST_PORT_BASE = int(os.environ.get("GIFTENGINE_TEST_PORT_BASE") or 9400)
# Function env of the test stack (tests that depend on these values read them from here).
TEST_FUNCTION_ENV = {"GIFTENGINE_STREAK_IDLE_TIMEOUT_S": "2"}
OWNER_FILE = TEST_STATE_DIR / "session.json"


def _owner_alive() -> int | None:
    """pid of another live pytest session that owns the running test stack, if any."""
    try:
        owner = json.loads(OWNER_FILE.read_text())
        proc = procs.Proc(int(owner["pid"]), str(owner["start"]))
    except (OSError, ValueError, KeyError):
        return None
    return proc.pid if proc.pid != os.getpid() and procs.alive(proc) else None


def _claim() -> None:
    me = procs.identify(os.getpid())
    OWNER_FILE.parent.mkdir(parents=True, exist_ok=True)
    OWNER_FILE.write_text(json.dumps({"pid": os.getpid(), "start": me.start if me else ""}))


def _stop_test_stack() -> None:
    try:
        stack.down(TEST_STATE_DIR)
    finally:
        OWNER_FILE.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def cloud():
    reuse = os.environ.get("GIFTENGINE_TEST_REUSE") == "1"
    current = stack.status(TEST_STATE_DIR)
    owned = False
    if reuse and current["running"]:
        status = current
    else:
        other = _owner_alive()
        if other and current["running"]:
            pytest.fail(
                f"the test stack in {TEST_STATE_DIR} belongs to another pytest session (pid "
                f"{other}); set GIFTENGINE_TEST_REUSE=1 to share it, or GIFTENGINE_TEST_PORT_BASE "
                "and GIFTENGINE_TEST_STATE_DIR to start another one"
            )
        if current["pids"]:
            stack.down(TEST_STATE_DIR)  # left behind by a session that was killed
        _claim()
        owned = True
        atexit.register(_stop_test_stack)  # backstop if teardown never runs
        previous = _sigterm_as_interrupt()
        try:
            status = stack.up(
                TEST_STATE_DIR, port_base=TEST_PORT_BASE, extra_env=TEST_FUNCTION_ENV
            )
        except BaseException:
            _stop_test_stack()
            raise
    saved = {k: os.environ.get(k) for k in status["env"]}
    os.environ.update(status["env"])
    try:
        yield status
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if owned:
            _stop_test_stack()
            atexit.unregister(_stop_test_stack)
            signal.signal(signal.SIGTERM, previous)


def _sigterm_as_interrupt():
    """A SIGTERM (CI timeout, `kill`) unwinds like Ctrl-C so the stack is still stopped."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, handler)


@pytest.fixture(autouse=True)
def _cloud_for_marked_tests(request):
    if request.node.get_closest_marker("emulator") or request.node.get_closest_marker("e2e"):
        request.getfixturevalue("cloud")


@pytest.fixture
def stream_id() -> str:
    """A stream id no other test uses, so tests share the stack without seeing each other."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def project_id(cloud) -> str:
    return cloud["project_id"]
