"""The creator's reward queue (service/rewards.py) on the in-memory store: who may see and
handle it, its order and pages, fulfil and reject once (a repeat changes nothing, the other
outcome is a conflict), and a rejection's refund: exactly once under repeated, concurrent and
reordered requests and a crashed commit, always the redemption's cost."""

from __future__ import annotations

import threading

import pytest
from giftengine.domain import access
from giftengine.domain.rewards import Rewards
from giftengine.service import rewards
from giftengine.service.docstore import MemoryStore
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

pytestmark = pytest.mark.unit

NOW = 1_796_000_000.0
CREATOR = access.Actor("c1")
FANS = ("u1", "u2", "u3")


def _store() -> MemoryStore:
    store = MemoryStore()
    rewards_cfg = {
        "rewards": [
            {"id": "song", "title": "Choose the next song", "cost": 30, "needs_note": True},
            {"id": "hi", "title": "Shout-out", "cost": 5},
        ]
    }
    store.set(
        "creators/c1",
        {"timezone": "UTC", "features": {"rewards": Rewards.check_config(rewards_cfg)}},
    )
    for uid in FANS:
        store.set(f"xp/{uid}/creators/c1", {"uid": uid, "points_earned": 100})
    store.set("creators/c1/moderators/mod1", {"uid": "mod1"})
    return store


def _redeem(store, uid: str, k: int, reward: str = "song", at: float = NOW) -> str:
    req = rewards.RedeemRequest(request_id=f"req-{uid}-{k:04d}", note="Song")
    entry, _ = rewards.redeem(store, access.Actor(uid), "c1", reward, req, at)
    return entry["redemption_id"]


def _page(store, actor=CREATOR, **q) -> dict:
    return rewards.list_queue(store, actor, "c1", rewards.QueueQuery(**q))


def _balance(store, uid: str) -> int:
    return rewards.points(store.get(f"xp/{uid}/creators/c1"))["balance"]


def test_queue_is_for_the_creator_their_moderators_and_admins():
    store = _store()
    _redeem(store, "u1", 1)
    for actor in (CREATOR, access.Actor("mod1"), access.Actor("root", admin=True)):
        assert len(_page(store, actor)["items"]) == 1
    for actor in (access.Actor("u1"), access.Actor("staff", moderator=True)):
        with pytest.raises(rewards.Forbidden):
            _page(store, actor)
    rid = _redeem(store, "u1", 2)
    with pytest.raises(rewards.Forbidden):  # the viewer cannot fulfil their own request
        rewards.handle_redemption(
            store, access.Actor("u1"), "c1", rid, "fulfil", rewards.HandleRequest()
        )
    entry, changed = rewards.handle_redemption(
        store, access.Actor("mod1"), "c1", rid, "fulfil", rewards.HandleRequest(), NOW
    )
    assert (
        changed and entry["handled_by"] == "mod1" and entry["handled_role"] == "creator_moderator"
    )


def test_bad_input_is_refused_before_any_read():
    store = _store()

    class NoReads(MemoryStore):
        def transact(self, fn):
            raise AssertionError("no I/O for a bad request")

        get = page = transact

    for rid, action in [("0" * 31, "fulfil"), ("Z" * 32, "reject"), ("a" * 32, "approve")]:
        with pytest.raises(rewards.Invalid):
            rewards.handle_redemption(
                NoReads(), CREATOR, "c1", rid, action, rewards.HandleRequest()
            )
    with pytest.raises(rewards.Invalid):
        rewards.list_queue(NoReads(), CREATOR, "c/1", rewards.QueueQuery())
    for bad in [{"limit": 0}, {"limit": 101}, {"status": "done"}, {"after": "x"}, {"x": 1}]:
        with pytest.raises(ValidationError):
            rewards.QueueQuery.model_validate(bad)
    with pytest.raises(ValidationError):
        rewards.HandleRequest(reason="<img src=x>")
    with pytest.raises(rewards.NotFound):
        rewards.handle_redemption(store, CREATOR, "c1", "a" * 32, "fulfil", rewards.HandleRequest())


def test_queued_first_oldest_first_and_pages_do_not_skip_or_repeat():
    store = _store()
    rids = [_redeem(store, FANS[i % 3], i, "hi", NOW + i) for i in range(7)]
    rewards.handle_redemption(store, CREATOR, "c1", rids[1], "fulfil", rewards.HandleRequest())
    rewards.handle_redemption(store, CREATOR, "c1", rids[4], "reject", rewards.HandleRequest())
    whole = _page(store, limit=100)
    assert [e["redemption_id"] for e in whole["items"]] == [rids[i] for i in (0, 2, 3, 5, 6, 1, 4)]
    assert whole["next"] is None
    assert whole["items"][0]["at"].endswith("Z") and "done" not in whole["items"][0]
    seen, after = [], None
    while True:
        page = _page(store, limit=2, **({"after": after} if after else {}))
        seen += [e["redemption_id"] for e in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
        # handling an entry between pages moves it, but the pages still give each entry once
        if len(seen) == 2:
            rewards.handle_redemption(
                store, CREATOR, "c1", rids[5], "fulfil", rewards.HandleRequest()
            )
    assert sorted(seen) == sorted(rids) and len(seen) == len(set(seen))
    queued = _page(store, status="queued")["items"]
    assert [e["redemption_id"] for e in queued] == [rids[i] for i in (0, 2, 3, 6)]
    assert [e["status"] for e in _page(store, status="rejected")["items"]] == ["rejected"]


def test_reject_refunds_once_and_the_other_outcome_is_a_conflict():
    store = _store()
    rid = _redeem(store, "u1", 1)
    assert _balance(store, "u1") == 70
    for _ in range(3):
        entry, _changed = rewards.handle_redemption(
            store, CREATOR, "c1", rid, "reject", rewards.HandleRequest(reason="not today"), NOW
        )
        assert entry["status"] == "rejected" and entry["reason"] == "not today"
    assert _balance(store, "u1") == 100
    pts = rewards.points(store.get("xp/u1/creators/c1"))
    assert pts == {
        "earned": 100,
        "rewarded": 0,
        "spent": 30,
        "staked": 0,
        "won": 0,
        "revoked": 0,
        "refunded": 30,
        "balance": 100,
    }
    assert store.get(f"xp/u1/creators/c1/refunds/{rid}")["points"] == 30
    assert store.get(f"xp/u1/creators/c1/redemptions/{rid}")["balance_after"] == 70  # unchanged
    with pytest.raises(rewards.Conflict, match="already rejected"):
        rewards.handle_redemption(store, CREATOR, "c1", rid, "fulfil", rewards.HandleRequest())
    other = _redeem(store, "u1", 2)
    _, changed = rewards.handle_redemption(
        store, CREATOR, "c1", other, "fulfil", rewards.HandleRequest()
    )
    assert changed
    _, changed = rewards.handle_redemption(
        store, CREATOR, "c1", other, "fulfil", rewards.HandleRequest()
    )
    assert not changed
    with pytest.raises(rewards.Conflict, match="already fulfilled"):
        rewards.handle_redemption(store, CREATOR, "c1", other, "reject", rewards.HandleRequest())
    assert (
        _balance(store, "u1") == 70
        and rewards.points(store.get("xp/u1/creators/c1"))["refunded"] == 30
    )


def test_a_crashed_reject_commit_applies_nothing_and_the_retry_refunds_once():
    store = _store()
    rid = _redeem(store, "u2", 1)
    store.fail_next_commit = RuntimeError("lost connection")
    with pytest.raises(RuntimeError):
        rewards.handle_redemption(store, CREATOR, "c1", rid, "reject", rewards.HandleRequest())
    assert store.get(rewards.queue_doc("c1", rid))["status"] == "queued"
    assert store.get(f"xp/u2/creators/c1/refunds/{rid}") is None and _balance(store, "u2") == 70
    rewards.handle_redemption(store, CREATOR, "c1", rid, "reject", rewards.HandleRequest())
    assert _balance(store, "u2") == 100


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["fulfil", "reject"])),
        min_size=1,
        max_size=16,
    )
)
def test_concurrent_repeated_handling_settles_each_redemption_once(calls):
    """Any interleaving of fulfils and rejects (repeats included) of 4 redemptions: each
    ends in the first outcome applied to it, refunds exactly its cost if rejected, and the
    points add up."""
    store = _store()
    rids = [_redeem(store, FANS[i % 3], i, "song" if i % 2 else "hi") for i in range(4)]
    results: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def one(i: int, action: str):
        try:
            entry, _ = rewards.handle_redemption(
                store, CREATOR, "c1", rids[i], action, rewards.HandleRequest()
            )
            out = entry["status"]
        except rewards.Conflict:
            out = "conflict"
        with lock:
            results.append((i, action, out))

    threads = [threading.Thread(target=one, args=c) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, rid in enumerate(rids):
        final = store.get(rewards.queue_doc("c1", rid))
        mine = [r for r in results if r[0] == i]
        if not mine:
            assert final["status"] == "queued"
            continue
        assert final["status"] in ("fulfilled", "rejected")
        won = "fulfil" if final["status"] == "fulfilled" else "reject"
        for _, action, out in mine:  # same outcome: answered with it; the other: 409
            assert out == (final["status"] if action == won else "conflict")
        refund = store.get(f"{rewards.creator_doc(final['uid'], 'c1')}/refunds/{rid}")
        assert (refund is not None) == (final["status"] == "rejected")
        if refund:
            assert refund["points"] == final["cost"]
    for uid in FANS:
        refunds = [d["points"] for _, d in store.list(f"xp/{uid}/creators/c1/refunds")]
        spent = sum(d["cost"] for _, d in store.list(f"xp/{uid}/creators/c1/redemptions"))
        pts = rewards.points(store.get(f"xp/{uid}/creators/c1"))
        assert pts["refunded"] == sum(refunds) and pts["spent"] == spent
        assert pts["balance"] == 100 - spent + sum(refunds)
