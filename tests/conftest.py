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
running); GIFTENGINE_TEST_PORT_BASE / GIFTENGINE_TEST_STATE_DIR move the test stack. A test
stack held by another live pytest session (a lock file) is never touched: the fixture waits up
to GIFTENGINE_TEST_WAIT_S (900) for that session to end, then fails with a clear message.

Sub-folder conftest.py files add their own fixtures on top of `cloud` / `stream_id`.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from giftengine_dev.devcloud import stack
from giftengine_dev.devcloud.layout import ROOT

TEST_STATE_DIR = Path(
    os.environ.get("GIFTENGINE_TEST_STATE_DIR") or ROOT / ".giftengine" / "test"
).resolve()
TEST_PORT_BASE = int(os.environ.get("GIFTENGINE_TEST_PORT_BASE") or 9400)
# Function env of the test stack (tests that depend on these values read them from here).
TEST_FUNCTION_ENV = {"GIFTENGINE_STREAK_IDLE_TIMEOUT_S": "2", "GIFTENGINE_BATTLE_GRACE_S": "5"}
LOCK_FILE = TEST_STATE_DIR / "session.lock"


def _lock_test_stack():
    """Hold the test stack for this session (an flock, released even if pytest is killed).

    Another live pytest session holding it is waited for, up to GIFTENGINE_TEST_WAIT_S;
    returns the open lock file, or None on timeout.
    """
    TEST_STATE_DIR.mkdir(parents=True, exist_ok=True)
    lock = open(LOCK_FILE, "a+")  # noqa: SIM115 - held open for the whole session
    deadline = time.monotonic() + float(os.environ.get("GIFTENGINE_TEST_WAIT_S") or 900)
    announced = False
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                lock.close()
                return None
            if not announced:
                lock.seek(0)
                print(
                    f"\nwaiting for pytest session {lock.read().strip() or '?'} to release "
                    f"{TEST_STATE_DIR}",
                    file=sys.stderr,
                )
                announced = True
            time.sleep(2)
            continue
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        return lock


def _stop_test_stack() -> None:
    stack.down(TEST_STATE_DIR)


@pytest.fixture(scope="session")
def cloud():
    reuse = os.environ.get("GIFTENGINE_TEST_REUSE") == "1"
    current = stack.status(TEST_STATE_DIR)
    owned = False
    if reuse and current["running"]:
        status = current
    else:
        lock = _lock_test_stack()
        if lock is None:
            pytest.fail(
                f"the test stack in {TEST_STATE_DIR} is held by another pytest session; set "
                "GIFTENGINE_TEST_REUSE=1 to share it, or GIFTENGINE_TEST_PORT_BASE and "
                "GIFTENGINE_TEST_STATE_DIR to start another one"
            )
        if stack.status(TEST_STATE_DIR)["pids"]:
            stack.down(TEST_STATE_DIR)  # left behind by a session that was killed
        owned = True
        atexit.register(_stop_test_stack)  # backstop if teardown never runs
        previous = _sigterm_as_interrupt()
        try:
            status = stack.up(TEST_STATE_DIR, port_base=TEST_PORT_BASE, extra_env=TEST_FUNCTION_ENV)
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
            try:
                _stop_test_stack()
            finally:
                atexit.unregister(_stop_test_stack)
                signal.signal(signal.SIGTERM, previous)
                lock.close()


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
