"""The per-instance bucket gate and client-IP extraction (no Firestore needed)."""

from __future__ import annotations

import threading

import pytest
from flask import Flask, request
from giftengine.moderation.bucket import BucketSpec, take
from giftengine.moderation.http import client_ip
from giftengine.moderation.repo import ChatRepo, Gate
from giftengine.moderation.service import ip_key

pytestmark = pytest.mark.unit

SPEC = BucketSpec(capacity=2, rate=1.0)


class FakeStore:
    """Stands in for the transaction: a bucket other instances may also drain."""

    def __init__(self):
        self.state = None
        self.calls = 0

    def txn(self, now):
        def run():
            self.calls += 1
            result = take(SPEC, self.state, now)
            if result.allowed:
                self.state = result.state
            return result

        return run


def test_gate_refuses_from_memory_once_it_saw_the_bucket_empty():
    repo, store = ChatRepo(db=None, gate=Gate()), FakeStore()
    results = [repo._gated("k", SPEC, 100.0, store.txn(100.0)).allowed for _ in range(10)]
    assert results == [True, True] + [False] * 8
    assert store.calls == 2  # the state left by the second take shows the bucket empty
    refused = repo._gated("k", SPEC, 100.0, store.txn(100.0))
    assert refused.retry_after_s == pytest.approx(1.0)
    # time refills it: the gate lets the next request through to the store again
    assert repo._gated("k", SPEC, 101.0, store.txn(101.0)).allowed
    assert store.calls == 3


def test_gate_never_allows_what_the_store_refuses():
    # Another instance drained the bucket: this instance's memory is stale-optimistic, so the
    # request goes to the store, which refuses.
    repo, store = ChatRepo(db=None, gate=Gate()), FakeStore()
    assert repo._gated("k", SPEC, 0.0, store.txn(0.0)).allowed
    store.state = take(SPEC, store.state, 0.0).state  # the other instance takes the last one
    assert not repo._gated("k", SPEC, 0.0, store.txn(0.0)).allowed


def test_contention_becomes_a_429_not_an_error():
    repo = ChatRepo(db=None, gate=Gate())

    def contended():
        raise ValueError("Failed to commit transaction in 2 attempts.")

    result = repo._gated("k", SPEC, 0.0, contended)
    assert not result.allowed and result.retry_after_s == 1.0


def test_gate_serializes_one_bucket_per_instance():
    repo, store = ChatRepo(db=None, gate=Gate()), FakeStore()
    inside, peak = [0], [0]
    lock = threading.Lock()

    def slow():
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        result = store.txn(0.0)()
        with lock:
            inside[0] -= 1
        return result

    threads = [threading.Thread(target=repo._gated, args=("k", SPEC, 0.0, slow)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1


def test_gate_memory_is_bounded():
    gate = Gate(max_keys=3)
    for i in range(10):
        gate.lock(f"k{i}")
    assert gate.seen("k0") is None and len(gate._entries) == 3


@pytest.mark.parametrize(
    "xff, hops, expected",
    [
        ("", 1, "10.9.9.9"),  # no proxy header: the socket peer
        ("203.0.113.7", 1, "203.0.113.7"),
        ("1.2.3.4, 203.0.113.7", 1, "203.0.113.7"),  # the left entry is client-supplied
        ("1.2.3.4, 203.0.113.7, 198.51.100.1", 2, "203.0.113.7"),
        ("203.0.113.7", 0, "10.9.9.9"),
        ("203.0.113.7", 5, "203.0.113.7"),
    ],
)
def test_client_ip_takes_the_entry_added_by_trusted_proxies(xff, hops, expected):
    app = Flask(__name__)
    headers = {"X-Forwarded-For": xff} if xff else {}
    with app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": "10.9.9.9"}):
        assert client_ip(request, hops) == expected


def test_ip_keys_hide_the_address_and_rotate_daily():
    day1, day2 = 1_800_000_000.0, 1_800_000_000.0 + 86400
    k = ip_key("203.0.113.7", b"secret", day1)
    assert "203" not in k and len(k) == 40
    assert k == ip_key("203.0.113.7", b"secret", day1 + 60)
    assert k != ip_key("203.0.113.7", b"secret", day2)
    assert k != ip_key("203.0.113.7", b"other-key", day1)
