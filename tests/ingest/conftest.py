"""Fixtures for the ingest worker tests: the local cloud (the shared `cloud` session fixture of
tests/conftest.py), the fake TikTok, a Pub/Sub tap on the engagement topic, and worker
processes started from the Dockerfile's own command. Our own ports: 9730-9799."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.ingest.fake_tiktok import FakeTikTok

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "infra" / "Dockerfile"
_ports = itertools.count(9730)


def free_port() -> int:
    """Next free port of this suite's range (9730-9799)."""
    for _ in range(70):
        port = next(_ports)
        if port > 9799:
            raise RuntimeError("ingest test port range exhausted")
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def wait_until(pred, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):
    """Polls `pred` until it returns a truthy value (bounded; not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def gcp(cloud):
    """The shared local cloud (tests/conftest.py): emulator env vars are exported."""
    return cloud


@pytest.fixture(scope="session")
def db(gcp):
    from google.cloud import firestore

    return firestore.Client(project=gcp["project_id"])


class Tap:
    """A pull subscription (ordered) on the engagement topic: what reached Pub/Sub."""

    def __init__(self, project: str):
        from giftengine import manifest
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import pubsub_v1

        self.pub = pubsub_v1.PublisherClient()
        self.sub = pubsub_v1.SubscriberClient()
        topic = self.pub.topic_path(project, manifest.load().topic("engagement"))
        with contextlib.suppress(AlreadyExists):
            self.pub.create_topic(name=topic)
        self.path = self.sub.subscription_path(project, f"ingest-tap-{uuid.uuid4().hex[:10]}")
        self.sub.create_subscription(
            request={
                "name": self.path,
                "topic": topic,
                "enable_message_ordering": True,
                "ack_deadline_seconds": 60,
            }
        )
        self.events: list[dict] = []
        self.attrs: list[dict] = []  # per message
        self.messages: list[tuple[dict, list[str]]] = []  # (attributes, its events' ids)

    def drain(self) -> list[dict]:
        resp = self.sub.pull(
            subscription=self.path, max_messages=1000, timeout=5, return_immediately=True
        )
        if resp.received_messages:
            self.sub.acknowledge(
                subscription=self.path, ack_ids=[m.ack_id for m in resp.received_messages]
            )
        for m in resp.received_messages:
            data = json.loads(m.message.data)
            events = data.get("events", [data])  # a batch message carries several
            self.events.extend(events)
            self.attrs.append(dict(m.message.attributes))
            self.messages.append((dict(m.message.attributes), [e["event_id"] for e in events]))
        return self.events

    def for_stream(self, stream_id: str) -> list[dict]:
        return [e for e in self.events if e["stream_id"] == stream_id]

    def wait_for(self, pred, timeout: float = 30.0, what: str = "events") -> list[dict]:
        def check():
            self.drain()
            return pred(self.events)

        wait_until(check, timeout, 0.1, what)
        return self.events

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sub.delete_subscription(subscription=self.path)
        self.sub.close()


@pytest.fixture
def tap(gcp):
    t = Tap(gcp["project_id"])
    yield t
    t.close()


@pytest.fixture
def fake():
    f = FakeTikTok(port=free_port()).start()
    yield f
    f.stop()


def dockerfile_command() -> list[str]:
    """The container's entry point, read from infra/Dockerfile (exec-form CMD/ENTRYPOINT)."""
    cmd: list[str] = []
    for line in DOCKERFILE.read_text().splitlines():
        word = line.strip().split(" ", 1)
        if word[0] in ("ENTRYPOINT", "CMD") and len(word) == 2:
            part = word[1].strip()
            args = json.loads(part) if part.startswith("[") else shlex.split(part)
            cmd = args if word[0] == "ENTRYPOINT" else cmd + args
    return cmd


class WorkerProc:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name = name
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        cmd = dockerfile_command()
        if cmd and cmd[0] == "python":
            cmd[0] = sys.executable
        full_env = {**os.environ, **env, "PORT": str(self.port), "GIFTENGINE_INGEST_INSTANCE": name}
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, env=full_env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(REPO)
        )

    def get(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")
        except OSError:
            return 0, {}

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Startup imports TikTokLive (seconds of CPU); on a loaded 2-core CI box, more."""
        wait_until(
            lambda: self.get("/readyz")[0] == 200 or self.proc.poll() is not None,
            timeout,
            0.2,
            f"{self.name} ready",
        )
        assert self.proc.poll() is None, f"{self.name} exited: {self.log_path.read_text()[-2000:]}"

    def creators(self) -> list[str]:
        status, body = self.get("/readyz")
        return body.get("creators", []) if status else []

    def logs(self) -> list[dict]:
        self._log.flush()
        out = []
        for line in self.log_path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGABRT)  # faulthandler dumps every thread's stack
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


FAST = {  # short intervals so the suite stays quick
    "GIFTENGINE_INGEST_LEASE_TTL_S": "5",
    "GIFTENGINE_INGEST_HEARTBEAT_S": "0.5",
    "GIFTENGINE_INGEST_SCAN_S": "0.3",
    "GIFTENGINE_INGEST_POLL_S": "0.3",
    "GIFTENGINE_INGEST_BACKOFF_BASE_S": "0.1",
    "GIFTENGINE_INGEST_BACKOFF_MAX_S": "1",
    "GIFTENGINE_INGEST_STATS_S": "0.5",
    "GIFTENGINE_INGEST_SHUTDOWN_GRACE_S": "8",
    "GIFTENGINE_LOG_LEVEL": "INFO",
    "PYTHONUNBUFFERED": "1",
    "PYTHONFAULTHANDLER": "1",  # as in the image: log lines reach the file at once
}


@pytest.fixture
def workers(gcp, fake, tmp_path):
    started: list[WorkerProc] = []

    def start(name: str | None = None, ready: bool = True, **env: str) -> WorkerProc:
        w = WorkerProc(
            name or f"w{len(started)}-{uuid.uuid4().hex[:6]}",
            {**FAST, **fake.env(), **env},
            tmp_path,
        )
        started.append(w)
        if ready:
            w.wait_ready()
        return w

    yield start
    for w in started:
        w.stop()
        # Shown by pytest only when the test failed.
        print(f"--- worker {w.name} log (tail) ---")
        print("\n".join(w.log_path.read_text().splitlines()[-60:]))


_n = itertools.count(1)


@pytest.fixture
def creator(db):
    """A fresh ingest target (unique username and room id per test)."""
    from giftengine.ingest.target_store import TargetRepo

    n = next(_n)
    cid = f"c{uuid.uuid4().hex[:8]}"
    room = 7_000_000 + int(uuid.uuid4().int % 1_000_000) * 100 + n
    repo = TargetRepo(db)
    repo.put(cid, owner_uid=f"uid-{cid}", by="test")
    yield cid, room
    cleanup_targets(db, [cid])


def cleanup_targets(db, cids) -> None:
    """Workers of later tests must not find this test's creators."""
    for cid in cids:
        db.collection("ingest_targets").document(cid).delete()
        db.collection("ingest_leases").document(cid).delete()
