"""Use cases of predictions: viewers stake loyalty points on one of 2-10 outcomes while the
prediction is open; the creator locks it, then resolves (the pool is paid out to the winning
side, `domain.payouts`) or cancels (every stake refunded). Resolve and cancel happen exactly
once: each is one transaction that checks and sets the status with the payouts.

Points are a per-stream balance until the rewards issue lands: `streams/{s}/points/{viewer}`
= `{balance}`; a viewer's first stake on a stream grants `STARTING_POINTS`. Documents:

    streams/{s}/predictions/{p}                public: outcomes, status, pools, stakers
    streams/{s}/predictions/{p}/stakes/{voter} server-only: the viewer's outcome and stake
    streams/{s}/predictions/{p}/keys/{key}     server-only: applied idempotency keys
    streams/{s}/points/{voter}                 server-only: the viewer's balance

A resolve writes every staker's balance in its one transaction, so a prediction takes at
most `MAX_STAKERS` stakers (Firestore's 500 writes per commit); the next is refused (409).
"""

from __future__ import annotations

from typing import Any

from giftengine.domain.access import Actor
from giftengine.live import domain
from giftengine.live.domain import PollError
from giftengine.live.service import Deps, NotFound, current_path, require_runner
from giftengine.service.docstore import Doc, Tx

STARTING_POINTS = 1000
MAX_STAKERS = 400
MIN_WINDOW_S, MAX_WINDOW_S = 15, 30 * 60


def prediction_path(stream_id: str, pid: str) -> str:
    return f"streams/{stream_id}/predictions/{pid}"


def stake_path(stream_id: str, pid: str, voter: str) -> str:
    return f"{prediction_path(stream_id, pid)}/stakes/{voter}"


def key_path(stream_id: str, pid: str, key: str) -> str:
    return f"{prediction_path(stream_id, pid)}/keys/{key}"


def points_path(stream_id: str, voter: str) -> str:
    return f"streams/{stream_id}/points/{voter}"


def open_prediction(
    deps: Deps, actor: Actor, stream_id: str, title: str, outcomes: list[str], window_s: int
) -> Doc:
    require_runner(deps, actor, stream_id)
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


def _open_for_stakes(doc: Doc, now: float) -> bool:
    return doc["status"] == "open" and now < doc["locks_at"]


def stake(
    deps: Deps, stream_id: str, pid: str, voter: str, outcome: int, points: int, key: str
) -> dict[str, Any]:
    """Adds `points` on `outcome` (1-based) for `voter`. A viewer backs one outcome per
    prediction. Raises PollError, nothing applied: unknown prediction (404), locked or
    resolved (409 prediction_locked), another outcome already backed (409), above the
    balance (409 insufficient_points). A retry with the same key is a replay."""
    if points < 1:
        raise PollError("invalid_request", "points must be at least 1", 400)
    now = deps.clock()

    def tx_fn(tx: Tx) -> dict[str, Any]:
        paths = [
            prediction_path(stream_id, pid),
            stake_path(stream_id, pid, voter),
            points_path(stream_id, voter),
            key_path(stream_id, pid, key),
        ]
        docs = tx.get_all(paths)
        pred, mine, wallet, seen = (docs[p] for p in paths)
        if pred is None:
            raise NotFound(f"no prediction {pid!r} on stream {stream_id!r}")
        if seen is not None:
            return {**seen, "replay": True}
        if not 1 <= outcome <= len(pred["outcomes"]):
            raise PollError("invalid_choice", f"outcome must be 1..{len(pred['outcomes'])}", 400)
        if not _open_for_stakes(pred, now):
            raise PollError("prediction_locked", "the prediction no longer takes stakes")
        if mine is not None and mine["outcome"] != outcome - 1:
            raise PollError("other_outcome", f"you backed outcome {mine['outcome'] + 1}")
        balance = STARTING_POINTS if wallet is None else int(wallet["balance"])
        if points > balance:
            raise PollError(
                "insufficient_points", f"stake {points} is above your balance {balance}"
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
        tx.set(stake_path(stream_id, pid, voter), {"outcome": outcome - 1, "points": total})
        tx.set(points_path(stream_id, voter), {"balance": balance - points})
        tx.set(key_path(stream_id, pid, key), result)
        return result

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
    the payouts and the status change are one transaction."""
    require_runner(deps, actor, stream_id)

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
        for v, amount in paid.items():
            if amount:
                tx.increment(points_path(stream_id, v), {"balance": amount})
        status = "canceled" if winner is None else "resolved"
        pred.update(status=status, winner=winner, paid=sum(paid.values()))
        tx.set(
            prediction_path(stream_id, pid),
            {"status": status, "winner": winner, "paid": pred["paid"]},
            merge=True,
        )
        return pred

    return deps.store.transact(tx_fn)
