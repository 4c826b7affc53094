"""The rollup lease's rules (domain/rollup.py, decision 018) over an in-memory lease document:
processes take, release and lose the lease in any interleaving, with crashes and expiry, the
way adapters/firestore_store.py drives them (a conditional update on the version the memo
holds, else a read of `until` and a conditional take)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from giftengine.domain.rollup import LEASE_SECONDS, LeaseMemo, lease_held, lease_until
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit


@dataclass
class LeaseDoc:
    """The lease document: a version that changes on every write (Firestore's update time)."""

    until: float | None = None
    version: int = 0

    def write(self, until: float, if_version: int | None) -> int | None:
        if if_version is not None and if_version != self.version:
            return None  # FailedPrecondition
        self.until, self.version = until, self.version + 1
        return self.version


@dataclass
class Process:
    memo: LeaseMemo = field(default_factory=LeaseMemo)
    held: tuple[int, object] | None = None  # (version after taking, cursor it vouches for)


UNKNOWN = object()


def acquire(p: Process, doc: LeaseDoc, stream: str, now: float) -> bool:
    memo = p.memo.take(stream)
    if memo is not None:
        v = doc.write(lease_until(now), memo.version)
        if v is not None:
            p.held = (v, memo.cursor)
            return True
    if lease_held(doc.until, now):
        return False
    v = doc.write(lease_until(now), doc.version)
    p.held = (v, UNKNOWN) if v is not None else None
    return v is not None


def release(p: Process, doc: LeaseDoc, stream: str, cursor) -> None:
    version, _ = p.held
    p.held = None
    v = doc.write(0, version)
    if v is not None and cursor is not UNKNOWN:
        p.memo.released(stream, v, cursor)


def test_a_free_expired_or_released_lease_can_be_taken():
    assert not lease_held(None, 100.0)
    assert not lease_held(0, 100.0)
    assert not lease_held(100.0, 100.0)
    assert lease_held(lease_until(100.0), 100.0 + LEASE_SECONDS - 1)
    assert not lease_held(lease_until(100.0), 100.0 + LEASE_SECONDS)


def test_the_memo_is_taken_once_and_bounded():
    m = LeaseMemo(size=2)
    m.released("a", 1, {"n": 1})
    m.released("b", 2, None)
    assert len(m) == 2
    m.released("c", 3, {"n": 3})  # past the bound: forgets everything, keeps the newest
    assert len(m) == 1 and m.take("a") is None
    r = m.take("c")
    assert r is not None and (r.version, r.cursor) == (3, {"n": 3})
    assert m.take("c") is None


ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 2),  # which process
        st.sampled_from(["take", "commit", "crash", "abandon", "wait"]),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ACTIONS)
def test_a_remembered_cursor_is_used_only_while_it_is_current(actions):
    """Whatever the interleaving of takes, commits, crashes, abandoned leases and expiry, a
    process that skips the cursor read (its memo took the lease back) vouches for exactly the
    cursor the last committed rollup left, as long as no rollup committed after its lease was
    lost (expired and taken by another); and nobody takes a lease another process holds
    unexpired. A rollup that outlived its lease may still commit (its transaction checks the
    cursor, not the lease): then a memo can vouch for a cursor that moved, which the next
    rollup's transaction finds and reads again, so the memo is a hint and never the proof."""
    doc, stream, now = LeaseDoc(), "s1", 1000.0
    procs = [Process() for _ in range(3)]
    committed = 0  # the stream's cursor: rollups committed so far
    late = False  # a rollup committed after another process took its expired lease
    for who, action in actions:
        p = procs[who]
        if action == "wait":
            now += LEASE_SECONDS / 2
        elif action == "take" and p.held is None:
            until_before = doc.until
            if acquire(p, doc, stream, now):
                assert (until_before or 0) <= now  # free, released or expired
                _, vouched = p.held
                assert vouched is UNKNOWN or vouched == committed or late
        elif action == "commit" and p.held is not None:
            late = late or doc.version != p.held[0]  # its lease was taken meanwhile
            committed += 1  # the rollup's transaction checks the cursor: always safe
            release(p, doc, stream, committed)
        elif action == "crash" and p.held is not None:  # released, the cursor not known
            release(p, doc, stream, UNKNOWN)
        elif action == "abandon":  # the process dies holding the lease; it expires
            p.held = None
            p.memo = LeaseMemo()
        now += 1
