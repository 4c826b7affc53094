"""Predictions on the in-memory store, staking the viewers' loyalty points with the stream's
creator (docs/engagement.md, "Predictions"; decision 071): stakes, balance and lock refusals
(nothing applied), payouts that sum to the pool, refunds on cancel, each settled exactly once
and written to the viewer's append-only ledger; duplicates, retries and crashes; hypothesis
over stake sequences (balances plus open pools conserved, never below zero from a stake)."""

from __future__ import annotations

import contextlib

import pytest
from giftengine.domain.access import Actor
from giftengine.live import predictions as pr
from giftengine.live.domain import PollError
from giftengine.service import rewards
from giftengine.service.docstore import MemoryStore
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.live.test_service import CREATOR, make

C = CREATOR.uid  # the owner of stream s1: whose loyalty points the predictions stake


def opened(deps, window=60):
    return pr.open_prediction(deps, CREATOR, "s1", "Win?", ["Yes", "No"], window)["prediction_id"]


def earn(deps, viewer, points):
    """What the rollup's rewards write-out adds for `points` XP earned in C's streams."""
    deps.store.transact(
        lambda tx: tx.increment(rewards.creator_doc(viewer, C), {"points_earned": points})
    )


def counters(deps, viewer):
    return rewards.points(deps.store.get(rewards.creator_doc(viewer, C)))


def balance(deps, viewer):
    return counters(deps, viewer)["balance"]


def ledger(deps, viewer):
    prefix = rewards.predictions_ledger(viewer, C) + "/"
    return [d for p, d in sorted(deps.store.docs.items()) if p.startswith(prefix)]


def test_the_prediction_records_the_streams_creator_and_needs_one():
    deps = make()
    pid = opened(deps)
    assert deps.store.get(pr.prediction_path("s1", pid))["creator_id"] == C
    with pytest.raises(PollError) as err:  # staff on a stream nobody owns: whose points?
        pr.open_prediction(deps, Actor("staff", admin=True), "nobody", "t", ["a", "b"], 60)
    assert err.value.status == 404
    assert not any(p.startswith("streams/nobody") for p in deps.store.docs)


def test_bad_stakes_are_refused_and_nothing_is_applied():
    deps = make()
    earn(deps, "u1", 1000)
    pid = opened(deps)
    first = pr.stake(deps, "s1", pid, "u1", 1, 300, "k1")
    assert first == {"outcome": 1, "points": 300, "balance": 700}
    before = dict(deps.store.docs)
    cases = [
        ("nope", "u1", 1, 10, "k2", "not_found"),
        (pid, "u1", 3, 10, "k3", "invalid_choice"),
        (pid, "u1", 2, 10, "k4", "other_outcome"),
        (pid, "u1", 1, 701, "k5", "insufficient_points"),
        (pid, "u1", 1, 5, "k1", "key_reused"),  # the first stake's key, another amount
        (pid, "u2", 1, 1, "k6", "insufficient_points"),  # never earned anything
        (pid, C, 1, 1, "k7", "invalid_request"),  # the creator on their own prediction
    ]
    for p, who, outcome, points, key, code in cases:
        with pytest.raises(PollError) as err:
            pr.stake(deps, "s1", p, who, outcome, points, key)
        assert err.value.code == code
        if code == "insufficient_points":
            assert err.value.status == 409
            assert f"balance {700 if who == 'u1' else 0}" in err.value.reason
    assert deps.store.docs == before
    assert pr.stake(deps, "s1", pid, "u1", 1, 300, "k1") == {**first, "replay": True}
    assert counters(deps, "u1") == {
        "earned": 1000,
        "rewarded": 0,
        "spent": 0,
        "staked": 300,
        "won": 0,
        "revoked": 0,
        "refunded": 0,
        "balance": 700,
    }
    assert [e["type"] for e in ledger(deps, "u1")] == ["stake"]
    assert pr.stake(deps, "s1", pid, "u1", 1, 700, "k8")["balance"] == 0  # all of it: fine
    pr.lock(deps, CREATOR, "s1", pid)
    earn(deps, "u3", 10)
    with pytest.raises(PollError) as err:
        pr.stake(deps, "s1", pid, "u3", 1, 5, "k6")
    assert err.value.code == "prediction_locked"
    deps.clock.t += 61
    pid2 = opened(deps)
    deps.clock.t += 61  # the window passed without a lock: no more stakes either
    with pytest.raises(PollError):
        pr.stake(deps, "s1", pid2, "u3", 1, 5, "k7")
    assert balance(deps, "u3") == 10


def test_resolve_pays_the_pool_once_into_the_ledger_and_cancel_refunds():
    deps = make()
    for v in "abc":
        earn(deps, v, 1000)
    pid = opened(deps)
    for voter, outcome, points in (("a", 1, 100), ("b", 1, 200), ("c", 2, 301)):
        pr.stake(deps, "s1", pid, voter, outcome, points, f"k-{voter}")
    with pytest.raises(PollError) as err:
        pr.settle(deps, CREATOR, "s1", pid, 1)
    assert err.value.code == "not_locked"
    pr.lock(deps, CREATOR, "s1", pid)
    done = pr.settle(deps, CREATOR, "s1", pid, 1)
    assert done["status"] == "resolved" and done["paid"] == 601
    # pool 601 to a:b = 1:2 -> 200.33 and 400.67 -> 200 and 400, the remainder point to b
    assert [balance(deps, v) for v in "abc"] == [900 + 200, 800 + 401, 699]
    assert counters(deps, "b")["won"] == 401 and counters(deps, "c")["won"] == 0
    (paid,) = [e for e in ledger(deps, "b") if e["type"] == "payout"]
    assert (paid["type"], paid["points"], paid["staked"], paid["winner"]) == ("payout", 401, 200, 1)
    assert [e["type"] for e in ledger(deps, "c")] == ["stake"]  # a loser: nothing written
    before = dict(deps.store.docs)
    for again in (2, 1, None):
        with pytest.raises(PollError) as err:
            pr.settle(deps, CREATOR, "s1", pid, again)
        assert err.value.code == "already_settled"
    assert deps.store.docs == before
    pid2 = opened(deps)
    pr.stake(deps, "s1", pid2, "a", 2, 50, "k-a2")
    assert balance(deps, "a") == 1050
    pr.settle(deps, CREATOR, "s1", pid2, None)
    assert balance(deps, "a") == 1100
    kinds = sorted(e["type"] for e in ledger(deps, "a"))
    assert kinds == ["payout", "refund", "stake", "stake"]
    view = rewards.viewer_view(deps.store, "a", C, Actor("a"), now=deps.clock())
    assert view["points"]["balance"] == 1100 and view["points"]["staked"] == 150


def test_a_resolve_nobody_backed_refunds_everyone():
    deps = make()
    earn(deps, "a", 100)
    pid = opened(deps)
    pr.stake(deps, "s1", pid, "a", 1, 60, "k-a")
    pr.lock(deps, CREATOR, "s1", pid)
    assert pr.settle(deps, CREATOR, "s1", pid, 2)["paid"] == 60
    assert balance(deps, "a") == 100
    assert sorted(e["type"] for e in ledger(deps, "a")) == ["refund", "stake"]


def test_a_crashed_commit_applies_nothing_and_the_retry_applies_once():
    deps = make()
    earn(deps, "a", 500)
    earn(deps, "b", 500)
    pid = opened(deps)
    before = dict(deps.store.docs)
    deps.store.fail_next_commit = ConnectionError("lost")
    with pytest.raises(ConnectionError):
        pr.stake(deps, "s1", pid, "a", 1, 200, "k-a")
    assert deps.store.docs == before
    for _ in range(3):  # the client retries; then a duplicate delivery of the same request
        pr.stake(deps, "s1", pid, "a", 1, 200, "k-a")
    pr.stake(deps, "s1", pid, "b", 2, 100, "k-b")
    assert balance(deps, "a") == 300
    pr.lock(deps, CREATOR, "s1", pid)
    settled = dict(deps.store.docs)
    deps.store.fail_next_commit = ConnectionError("lost")
    with pytest.raises(ConnectionError):
        pr.settle(deps, CREATOR, "s1", pid, 1)
    assert deps.store.docs == settled
    assert pr.settle(deps, CREATOR, "s1", pid, 1)["paid"] == 300
    with pytest.raises(PollError):
        pr.settle(deps, CREATOR, "s1", pid, 1)  # the creator's retry
    assert (balance(deps, "a"), balance(deps, "b")) == (600, 400)


class CountingStore(MemoryStore):
    """Counts each committed transaction's writes (Firestore: at most 500 per commit)."""

    def __init__(self):
        super().__init__()
        self.writes: list[int] = []

    def transact(self, fn):
        def counted(tx):
            out = fn(tx)
            self.writes.append(len(tx._writes))
            return out

        return super().transact(counted)


def test_a_full_prediction_settles_within_one_commit_and_the_next_staker_is_refused():
    deps = make()
    deps.store = CountingStore()
    pid = opened(deps)
    for i in range(pr.MAX_STAKERS):
        earn(deps, f"v{i}", 10)
        pr.stake(deps, "s1", pid, f"v{i}", 1, 10, f"k{i}")
    earn(deps, "late", 10)
    with pytest.raises(PollError) as err:
        pr.stake(deps, "s1", pid, "late", 1, 10, "k-late")
    assert err.value.code == "prediction_full"
    pr.lock(deps, CREATOR, "s1", pid)
    pr.settle(deps, CREATOR, "s1", pid, None)  # every staker refunded: the most writes
    assert deps.store.writes[-1] == 2 * pr.MAX_STAKERS + 1 <= 500
    assert all(balance(deps, f"v{i}") == 10 for i in range(pr.MAX_STAKERS))


VIEWERS = ["a", "b", "c", "d"]
op = st.one_of(
    st.tuples(
        st.just("stake"),
        st.sampled_from(VIEWERS),
        st.integers(0, 1),  # prediction
        st.integers(1, 2),  # outcome
        # points: an amount, or the viewer's balance plus -2..2 (the edge of an overdraft)
        st.one_of(st.integers(1, 400), st.integers(-2, 2).map(lambda d: ("balance", d))),
        st.integers(0, 5),  # request key: the same key again is a retry or a duplicate
    ),
    st.tuples(st.just("lock"), st.integers(0, 1)),
    st.tuples(st.just("settle"), st.integers(0, 1), st.sampled_from([None, 1, 2])),
)


@settings(max_examples=300, deadline=None)
@given(
    earned=st.lists(st.integers(0, 600), min_size=len(VIEWERS), max_size=len(VIEWERS)),
    ops=st.lists(op, max_size=40),
)
def test_balances_plus_open_pools_are_conserved_and_a_stake_never_overdraws(earned, ops):
    deps = make()
    for v, n in zip(VIEWERS, earned, strict=True):
        earn(deps, v, n)
    pids = [opened(deps, window=600), opened(deps, window=600)]
    total = sum(earned)

    def open_pools():
        out = 0
        for p in pids:
            doc = deps.store.get(pr.prediction_path("s1", p))
            if doc["status"] in ("open", "locked"):
                out += sum(doc["pools"])
        return out

    for o in ops:
        with contextlib.suppress(PollError):
            if o[0] == "stake":
                _, v, i, outcome, points, k = o
                before = balance(deps, v)
                if isinstance(points, tuple):
                    points = max(1, before + points[1])
                result = pr.stake(deps, "s1", pids[i], v, outcome, points, f"{v}-{i}-{k}")
                assert result.get("replay") or balance(deps, v) == before - points
            elif o[0] == "lock":
                pr.lock(deps, CREATOR, "s1", pids[o[1]])
            else:
                pr.settle(deps, CREATOR, "s1", pids[o[1]], o[2])
        assert all(balance(deps, v) >= 0 for v in VIEWERS)
        assert sum(balance(deps, v) for v in VIEWERS) + open_pools() == total
    for p in pids:  # settle whatever is left: every point is back with a viewer
        with contextlib.suppress(PollError):
            pr.settle(deps, CREATOR, "s1", p, None)
    assert sum(balance(deps, v) for v in VIEWERS) == total
    for v in VIEWERS:  # the counters are the sums of the ledger's entries
        entries = ledger(deps, v)
        c = counters(deps, v)
        assert c["staked"] == sum(e["points"] for e in entries if e["type"] == "stake")
        assert c["won"] == sum(e["points"] for e in entries if e["type"] != "stake")


def test_state_shows_the_active_and_the_most_recent_prediction_with_exact_pools():
    from giftengine.live import service

    deps = make()
    for v in "abc":
        earn(deps, v, 100)
    first = opened(deps)
    pr.stake(deps, "s1", first, "a", 1, 100, "k-a")
    pr.lock(deps, CREATOR, "s1", first)
    pr.settle(deps, CREATOR, "s1", first, 1)
    s = service.state(deps.store, "s1")
    assert s["active_prediction"] is None and s["last_prediction"]["prediction_id"] == first
    second = opened(deps)
    pr.stake(deps, "s1", second, "b", 2, 40, "k-b")
    pr.stake(deps, "s1", second, "c", 2, 2, "k-c")
    s = service.state(deps.store, "s1")
    assert s["active_prediction"]["prediction_id"] == second
    active = s["active_prediction"]
    assert active["pools"] == [0, 42] and active["stakers"] == [0, 2]
    assert s["last_prediction"]["prediction_id"] == first
    assert s["last_prediction"]["status"] == "resolved" and s["last_prediction"]["paid"] == 100
    pr.settle(deps, CREATOR, "s1", second, None)
    s = service.state(deps.store, "s1")
    assert s["active_prediction"] is None and s["last_prediction"]["status"] == "canceled"


def test_a_prediction_without_a_creator_is_refused_not_a_500():
    deps = make()
    earn(deps, "a", 100)
    pid = opened(deps)
    path = pr.prediction_path("s1", pid)
    legacy = {k: v for k, v in deps.store.get(path).items() if k != "creator_id"}
    deps.store.set(path, legacy)  # opened before predictions staked loyalty points
    before = dict(deps.store.docs)
    with pytest.raises(PollError) as err:
        pr.stake(deps, "s1", pid, "a", 1, 10, "k-a")
    assert (err.value.code, err.value.status) == ("legacy_prediction", 409)
    with pytest.raises(PollError) as err:
        pr.settle(deps, CREATOR, "s1", pid, None)
    assert err.value.code == "legacy_prediction"
    assert deps.store.docs == before
