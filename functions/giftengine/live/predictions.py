"""Use cases of predictions: viewers stake loyalty points on one of 2-10 outcomes while the
prediction is open; the creator locks it, then resolves (the pool is paid out to the winning
side, `domain.payouts`) or cancels (every stake refunded). Resolve and cancel happen exactly
once: each is one transaction that checks and sets the status with the payouts.

The points are the viewer's loyalty points with the stream's creator (the owner in
`stream_owners`, recorded on the prediction as `creator_id` when it opens), the ones the
rewards feature earns (service/rewards.py, decisions 058, 059, 071): balance =
`points_earned + points_won + points_refunded - points_spent - points_staked -
points_revoked` of `xp/{viewer}/creators/{creator}` (`rewards.points`). The viewer is the
id the rewards feature uses: the app user's Firebase uid (`domain.rewards.viewer_id("app", uid)`).
Documents:

    streams/{s}/predictions/{p}                 public: outcomes, status, pools, stakers
    streams/{s}/predictions/{p}/stakes/{viewer} server-only: the viewer's outcome and stake
    xp/{viewer}/creators/{c}/predictions/{id}   server-only ledger, append-only: one entry per
                                                stake (id from the request's key) and one per
                                                payout or refund (id from the prediction)
    xp/{viewer}/creators/{c}                    `points_staked`, `points_won` increments

A stake is one transaction: it reads the prediction, the viewer's stake, their points
counters and the ledger entry of its key (a retry returns the first answer), refuses a stake
above the balance, and writes the pool, the stake, the ledger entry and the `points_staked`
increment. A resolve or cancel writes, for each staker it pays, a ledger entry and a
`points_won` increment, and the prediction's status, in its one transaction: 2 writes per
staker + 1, under Firestore's 500 writes per commit, so a prediction takes at most
`MAX_STAKERS` stakers; the next one is refused (409 `prediction_full`).
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from typing import Any

from giftengine.domain.access import Actor
from giftengine.live import domain
from giftengine.live.domain import PollError
from giftengine.live.service import Deps, NotFound, current_path, require_runner
from giftengine.service import rewards
from giftengine.service.docstore import Doc, Tx

MAX_STAKERS = 240  # a settle writes 2 per staker + 1: 481 <= 500
MIN_WINDOW_S, MAX_WINDOW_S = 15, 30 * 60


def prediction_path(stream_id: str, pid: str) -> str:
    return f"streams/{stream_id}/predictions/{pid}"


def stake_path(stream_id: str, pid: str, viewer: str) -> str:
    return f"{prediction_path(stream_id, pid)}/stakes/{viewer}"


def _entry_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def stake_entry(viewer: str, creator_id: str, stream_id: str, pid: str, key: str) -> str:
    """The ledger entry of one stake request (its idempotency key)."""
    ledger = rewards.predictions_ledger(viewer, creator_id)
    return f"{ledger}/{_entry_id(stream_id, pid, 'stake', key)}"


def settle_entry(viewer: str, creator_id: str, stream_id: str, pid: str) -> str:
    """The ledger entry of what the prediction paid the viewer back (payout or refund: one
    id for both, so a prediction pays a viewer at most once)."""
    ledger = rewards.predictions_ledger(viewer, creator_id)
    return f"{ledger}/{_entry_id(stream_id, pid, 'settle')}"


def open_prediction(
    deps: Deps, actor: Actor, stream_id: str, title: str, outcomes: list[str], window_s: int
) -> Doc:
    creator_id = require_runner(deps, actor, stream_id)
    if creator_id is None:  # staff on a stream without an owner: whose points?
        raise NotFound(f"stream {stream_id!r} has no ownership record (POST /api/streams)")
    keys = [domain.choice_key(o) for o in outcomes]
    if not 2 <= len(outcomes) <= 10 or any(not k for k in keys) or len(set(keys)) != len(keys):
        raise PollError("invalid_request", "a prediction has 2-10 distinct outcomes", 400)
    if not MIN_WINDOW_S <= window_s <= MAX_WINDOW_S:
        raise PollError("invalid_request", f"window_s must be {MIN_WINDOW_S}-{MAX_WINDOW_S}", 400)
    now = deps.clock()
    doc = {
        "prediction_id": deps.new_id(),
        "stream_id": stream_id,
        "title": title,
        "outcomes": list(outcomes),
        "opened_at": now,
        "locks_at": now + window_s,
        "status": "open",
        "pools": [0] * len(outcomes),
        "stakers": [0] * len(outcomes),
        "winner": None,
        "created_by": actor.uid,
        "creator_id": creator_id,
    }

    def tx_fn(tx: Tx) -> None:
        previous = (tx.get(current_path(stream_id)) or {}).get("prediction_id")
        tx.set(prediction_path(stream_id, doc["prediction_id"]), doc)
        pointer = {"prediction_id": doc["prediction_id"]}
        if previous:
            pointer["last_prediction_id"] = previous
        tx.set(current_path(stream_id), pointer, merge=True)

    deps.store.transact(tx_fn)
    return doc


def _creator(pred: Doc) -> str:
    creator = pred.get("creator_id")
    if not creator:  # opened before predictions staked loyalty points (decision 071)
        raise PollError("legacy_prediction", "this prediction predates loyalty-point stakes")
    return creator


def _open_for_stakes(doc: Doc, now: float) -> bool:
    return doc["status"] == "open" and now < doc["locks_at"]


# Every stake writes its prediction's document (the pools): this process runs the stakes of
# one prediction one at a time instead of letting its own requests contend for it (a dozen
# sent at once held every worker of the `api` function on the store's lock waits).
# Correctness comes from the transaction; this only spares the retries. Striped: bounded.
_STAKE_STRIPES = [threading.Lock() for _ in range(64)]


def _stake_lock(stream_id: str, pid: str) -> threading.Lock:
    return _STAKE_STRIPES[zlib.crc32(f"{stream_id}/{pid}".encode()) % len(_STAKE_STRIPES)]


def stake(
    deps: Deps, stream_id: str, pid: str, viewer: str, outcome: int, points: int, key: str
) -> dict[str, Any]:
    """Stakes `points` of `viewer`'s loyalty points with the stream's creator on `outcome`
    (1-based). A viewer backs one outcome per prediction and may add to it. Raises
    PollError, nothing applied: unknown prediction (404), outcome out of range (400), the
    creator on their own prediction (400), locked or past its window (409
    prediction_locked), another outcome already backed (409 other_outcome), above the
    balance (409 insufficient_points, with the balance), full (409 prediction_full), the
    key already used for another stake (409 key_reused). A retry with the same key returns
    the first answer with `replay: true`."""
    if points < 1:
        raise PollError("invalid_request", "points must be at least 1", 400)
    now = deps.clock()

    def tx_fn(tx: Tx) -> dict[str, Any]:
        pred = tx.get(prediction_path(stream_id, pid))
        if pred is None:
            raise NotFound(f"no prediction {pid!r} on stream {stream_id!r}")
        creator = _creator(pred)
        paths = [
            stake_path(stream_id, pid, viewer),
            rewards.creator_doc(viewer, creator),
            stake_entry(viewer, creator, stream_id, pid, key),
        ]
        docs = tx.get_all(paths)
        mine, counters, seen = (docs[p] for p in paths)
        if seen is not None:
            if (seen["outcome"], seen["points"]) != (outcome, points):
                raise PollError("key_reused", "idempotency_key was used for another stake")
            return {**seen["result"], "replay": True}
        if not 1 <= outcome <= len(pred["outcomes"]):
            raise PollError("invalid_choice", f"outcome must be 1..{len(pred['outcomes'])}", 400)
        if viewer == creator:
            raise PollError("invalid_request", "a creator cannot stake on their own stream", 400)
        if not _open_for_stakes(pred, now):
            raise PollError("prediction_locked", "the prediction no longer takes stakes")
        if mine is not None and mine["outcome"] != outcome - 1:
            raise PollError("other_outcome", f"you backed outcome {mine['outcome'] + 1}")
        balance = rewards.points(counters)["balance"]
        if points > balance:
            raise PollError(
                "insufficient_points",
                f"stake {points} is above your balance {balance} with this creator",
            )
        if mine is None and sum(pred["stakers"]) >= MAX_STAKERS:
            raise PollError("prediction_full", f"at most {MAX_STAKERS} viewers per prediction")
        total = points + (mine["points"] if mine else 0)
        pred["pools"][outcome - 1] += points
        if mine is None:
            pred["stakers"][outcome - 1] += 1
        result = {"outcome": outcome, "points": total, "balance": balance - points}
        tx.set(
            prediction_path(stream_id, pid),
            {"pools": pred["pools"], "stakers": pred["stakers"]},
            merge=True,
        )
        tx.set(stake_path(stream_id, pid, viewer), {"outcome": outcome - 1, "points": total})
        tx.set(
            stake_entry(viewer, creator, stream_id, pid, key),
            {
                "type": "stake",
                "stream_id": stream_id,
                "prediction_id": pid,
                "outcome": outcome,
                "points": points,
                "at": now,
                "result": result,
            },
        )
        tx.increment(rewards.creator_doc(viewer, creator), {"points_staked": points})
        return result

    with _stake_lock(stream_id, pid):
        return deps.store.transact(tx_fn)


def lock(deps: Deps, actor: Actor, stream_id: str, pid: str) -> Doc:
    require_runner(deps, actor, stream_id)

    def tx_fn(tx: Tx) -> Doc:
        pred = tx.get(prediction_path(stream_id, pid))
        if pred is None:
            raise NotFound(f"no prediction {pid!r} on stream {stream_id!r}")
        if pred["status"] == "open":
            pred["status"] = "locked"
            tx.set(prediction_path(stream_id, pid), {"status": "locked"}, merge=True)
        return pred

    return deps.store.transact(tx_fn)


def settle(deps: Deps, actor: Actor, stream_id: str, pid: str, winner: int | None) -> Doc:
    """Resolve with `winner` (1-based) or cancel (None), exactly once: the status check,
    the payouts (a ledger entry and a `points_won` increment per staker paid) and the
    status change are one transaction."""
    require_runner(deps, actor, stream_id)
    now = deps.clock()

    def tx_fn(tx: Tx) -> Doc:
        pred = tx.get(prediction_path(stream_id, pid))
        if pred is None:
            raise NotFound(f"no prediction {pid!r} on stream {stream_id!r}")
        if pred["status"] in ("resolved", "canceled"):
            raise PollError("already_settled", f"the prediction is {pred['status']}")
        if winner is not None and not 1 <= winner <= len(pred["outcomes"]):
            raise PollError("invalid_choice", f"outcome must be 1..{len(pred['outcomes'])}", 400)
        if winner is not None and pred["status"] != "locked":
            raise PollError("not_locked", "lock the prediction before resolving it")
        stakes = {
            v: {d["outcome"]: d["points"]}
            for v, d in tx.list(f"{prediction_path(stream_id, pid)}/stakes")
        }
        paid = domain.refunds(stakes) if winner is None else domain.payouts(stakes, winner - 1)
        status = "canceled" if winner is None else "resolved"
        creator = _creator(pred)
        # nobody backed the winner: everyone's stake comes back, as for a cancel
        kind = "refund" if winner is None or not pred["pools"][winner - 1] else "payout"
        for v, amount in paid.items():
            if not amount:
                continue  # a loser: nothing to pay, nothing written
            outcome, staked = next(iter(stakes[v].items()))
            tx.set(
                settle_entry(v, creator, stream_id, pid),
                {
                    "type": kind,
                    "stream_id": stream_id,
                    "prediction_id": pid,
                    "outcome": outcome + 1,
                    "staked": staked,
                    "points": amount,
                    "winner": winner,
                    "at": now,
                },
            )
            tx.increment(rewards.creator_doc(v, creator), {"points_won": amount})
        pred.update(status=status, winner=winner, paid=sum(paid.values()))
        tx.set(
            prediction_path(stream_id, pid),
            {"status": status, "winner": winner, "paid": pred["paid"]},
            merge=True,
        )
        return pred

    return deps.store.transact(tx_fn)
