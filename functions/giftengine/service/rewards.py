"""Rewards use cases: a viewer's XP, level, badges and points with a creator, and redeeming
the creator's points rewards (docs/engagement.md, "Loyalty points", "Badges").

The documents are the ones the rollup's `rewards` feature and the wallet's refunds write
(decisions 058, 059). The store is the wallet's small document-store Protocol (transactions
with reads before writes, increments), so the same code runs on the in-memory store in tests
and on Firestore (adapters/docstore.py) in production.

Points: balance = `points_earned + points_won - points_spent - points_staked -
points_revoked` of `xp/{viewer}/creators/{creator}` (`points`; predictions stake and pay
back through `points_staked` and `points_won`, live/predictions.py). A redemption is one
transaction: it reads the creator's rewards, the viewer's document and the redemption's
own ledger entry (keyed by the viewer and their request id, so a retry returns the first
answer), refuses when the balance is short, and writes the ledger entry (append-only:
`xp/{viewer}/creators/{creator}/redemptions/{id}`), the creator's queue entry
(`creators/{creator}/reward_queue/{id}`) and the `points_spent` increment. The balance can
only go below zero through a refund taking back points already spent or staked (decision
059).
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from giftengine.domain import access, xp
from giftengine.domain import badges as bd
from giftengine.domain.ids import ID_PATTERN, id_problem
from giftengine.domain.rewards import Settings
from giftengine.service.docstore import Store, Tx


class Invalid(ValueError):
    """400: the request is malformed."""


class NotFound(LookupError):
    """404."""


class Conflict(RuntimeError):
    """409: e.g. not enough points, or a request id reused for another reward."""


def viewer_doc(uid: str) -> str:
    return f"xp/{uid}"


def creator_doc(uid: str, creator_id: str) -> str:
    return f"xp/{uid}/creators/{creator_id}"


# `points_<name>` counters of creator_doc: earned (the rollup), spent (redemptions), staked
# and won (predictions, live/predictions.py), revoked (refunds, decision 059).
POINT_COUNTERS = ("earned", "spent", "staked", "won", "revoked")


def predictions_ledger(uid: str, creator_id: str) -> str:
    """The viewer's append-only ledger of prediction stakes, payouts and refunds with the
    creator, next to `redemptions` (live/predictions.py)."""
    return f"{creator_doc(uid, creator_id)}/predictions"


def _check_ids(**ids: str) -> None:
    for name, value in ids.items():
        if (problem := id_problem(value)) is not None:
            raise Invalid(f"invalid {name}: {problem}")


def _settings(creator: dict | None) -> Settings:
    raw = ((creator or {}).get("features") or {}).get("rewards") or {}
    try:
        return Settings.model_validate(raw)
    except ValueError:  # written before a rule changed: show the built-in badges only
        return Settings()


def points(doc: dict | None) -> dict[str, int]:
    """The one balance formula (docs/engagement.md, "Loyalty points and rewards"):
    earned + won - spent - staked - revoked, from the counters of
    `xp/{viewer}/creators/{creator}`."""
    d = doc or {}
    out = {name: int(d.get(f"points_{name}", 0)) for name in POINT_COUNTERS}
    out["balance"] = out["earned"] + out["won"] - out["spent"] - out["staked"] - out["revoked"]
    return out


def _today(creator: dict | None, now: float):
    try:
        tz = ZoneInfo((creator or {}).get("timezone") or "UTC")
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return datetime.fromtimestamp(now, UTC).astimezone(tz).date()


def viewer_view(
    store: Store, uid: str, creator_id: str, actor: access.Actor | None, now: float | None = None
) -> dict[str, Any]:
    """XP and level (global and with the creator), badges, and, for the viewer themselves,
    the creator or staff, points and days attended. Four document reads."""
    _check_ids(uid=uid, creator_id=creator_id)
    now = time.time() if now is None else now
    paths = [viewer_doc(uid), creator_doc(uid, creator_id), f"creators/{creator_id}"]
    paths.append(f"wallets/{uid}")
    docs = store.transact(lambda tx: tx.get_all(paths))
    glob, per, creator, wallet = (docs[p] for p in paths)
    cfg = _settings(creator)
    today = _today(creator, now)
    held = bd.held(per, today, tuple(cfg.badges))
    tier = (wallet or {}).get("tier") or {}
    expires = tier.get("expires_at")
    expires_ts = expires.timestamp() if isinstance(expires, datetime) else float(expires or 0)
    if int(tier.get("level", 0)) > 0 and expires_ts > now:
        held.append({"id": "og_tier", "name": f"OG {int(tier['level'])}", "custom": False})
    g = glob or {}
    out: dict[str, Any] = {
        "uid": uid,
        "creator_id": creator_id,
        "exists": bool(glob or per),
        "global": {
            **xp.progress(int(g.get("xp", 0))),
            "by_source": {s: int(g.get(f"xp_{s}", 0)) for s in xp.SOURCES},
        },
        "creator": xp.progress(int((per or {}).get("xp", 0))),
        "badges": held,
    }
    if g.get("creator_xp"):
        out["as_creator"] = xp.progress(int(g["creator_xp"]))
    private = actor is not None and (
        actor.uid in (uid, creator_id) or actor.admin or actor.moderator
    )
    if private:
        m = bd.metrics(per, today)
        out["points"] = points(per)
        out["creator"].update(days_attended=m["days"], streak=m["streak"])
        out["rewards"] = [r.model_dump() for r in cfg.rewards]
    return out


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    request_id: str = Field(min_length=8, max_length=64, pattern=ID_PATTERN)
    note: str = Field(default="", max_length=200, pattern=bd.TEXT_PATTERN.replace("{1,40}", "*"))


def redemption_id(uid: str, request_id: str) -> str:
    return hashlib.sha256(f"{uid}|{request_id}".encode()).hexdigest()[:32]


def redeem(
    store: Store,
    actor: access.Actor,
    creator_id: str,
    reward_id: str,
    req: RedeemRequest,
    now: float | None = None,
) -> tuple[dict[str, Any], bool]:
    """Spend the viewer's points with the creator on one of the creator's rewards; returns
    (the redemption, created). Idempotent by (viewer, request id)."""
    _check_ids(creator_id=creator_id, reward_id=reward_id)
    uid = actor.uid
    if uid == creator_id:
        raise Invalid("a creator cannot redeem their own rewards")
    rid = redemption_id(uid, req.request_id)
    at = time.time() if now is None else now
    ledger = f"{creator_doc(uid, creator_id)}/redemptions/{rid}"
    queue = f"creators/{creator_id}/reward_queue/{rid}"

    def work(tx: Tx) -> tuple[dict[str, Any], bool]:
        docs = tx.get_all([f"creators/{creator_id}", creator_doc(uid, creator_id), ledger])
        done = docs[ledger]
        if done:
            if done.get("reward_id") != reward_id or done.get("note", "") != req.note:
                raise Conflict("request_id was already used for another redemption")
            return done, False
        item = next(
            (r for r in _settings(docs[f"creators/{creator_id}"]).rewards if r.id == reward_id),
            None,
        )
        if item is None:
            raise NotFound(f"creator {creator_id!r} has no reward {reward_id!r}")
        if item.needs_note and not req.note.strip():
            raise Invalid(f"reward {reward_id!r} needs a note")
        balance = points(docs[creator_doc(uid, creator_id)])["balance"]
        if balance < item.cost:
            raise Conflict(f"reward {reward_id!r} costs {item.cost} points; you have {balance}")
        entry = {
            "redemption_id": rid,
            "uid": uid,
            "creator_id": creator_id,
            "reward_id": reward_id,
            "title": item.title,
            "cost": item.cost,
            "note": req.note,
            "at": datetime.fromtimestamp(at, UTC),
            "balance_after": balance - item.cost,
        }
        tx.set(ledger, entry)
        tx.set(queue, {**entry, "status": "queued"})
        tx.increment(creator_doc(uid, creator_id), {"points_spent": item.cost})
        return entry, True

    return store.transact(work)
