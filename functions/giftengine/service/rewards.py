"""Rewards use cases: a viewer's XP, level, badges and points with a creator, and redeeming
the creator's points rewards (docs/engagement.md, "Loyalty points", "Badges").

The documents are the ones the rollup's `rewards` feature and the wallet's refunds write
(decisions 058, 059). The store is the wallet's small document-store Protocol (transactions
with reads before writes, increments), so the same code runs on the in-memory store in tests
and on Firestore (adapters/docstore.py) in production.

Points: balance = `points_earned + points_rewarded + points_won + points_refunded -
points_spent - points_staked - points_revoked` of `xp/{viewer}/creators/{creator}`
(`points`; timed rounds' rewards come in through `points_rewarded`, domain/rewards.py;
predictions stake and pay back through `points_staked` and `points_won`,
live/predictions.py). A
redemption is one transaction: it reads the creator's rewards, the viewer's document and
the redemption's own ledger entry (keyed by the viewer and their request id, so a retry
returns the first answer), refuses when the balance is short, and writes the ledger entry
(append-only: `xp/{viewer}/creators/{creator}/redemptions/{id}`), the creator's queue
entry (`creators/{creator}/reward_queue/{id}`) and the `points_spent` increment. The
balance can only go below zero through a refund taking back points already spent or
staked (decision 059).

A redemption of a reward that one of the creator's command mappings names (`{reward_id}`,
domain/commands.py) also enters the event log of the stream the creator is live on now, so
the mapping's overlay action runs (decision 095): in the same transaction it reads the
creator's live pointer and the newest entries' live documents (`live_pointer.current_stream`)
and, when one is live, writes an outbox entry (`reward_outbox/{event id}`: a `control` event
`commands/redeem`, its id derived from the creator and the redemption) that is published
after the commit (service/outbox.py: a retry of the request, or the outbox job, publishes it
if that publish did not happen). Not live, or no mapping: the redemption only queues.

The creator's queue: the creator, the moderators they appointed
(`creators/{creator}/moderators/{uid}`) and admins list it (queued first, oldest first) and
mark an entry fulfilled or rejected, once: the entry's status changes in a transaction that
reads it, so a repeated request changes nothing and the other outcome is a conflict. A
rejection refunds the cost in the same transaction: an append-only ledger entry keyed by the
redemption (`xp/{viewer}/creators/{creator}/refunds/{id}`) and the `points_refunded`
increment.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from giftengine.domain import access, live_pointer, xp
from giftengine.domain import badges as bd
from giftengine.domain import commands as cmd
from giftengine.domain import rewards as rw
from giftengine.domain.ids import ID_PATTERN, id_problem
from giftengine.domain.rewards import Settings
from giftengine.service.docstore import Store, Tx
from giftengine.service.outbox import Outbox
from giftengine.service.outbox import entry as outbox_entry


class Invalid(ValueError):
    """400: the request is malformed."""


class NotFound(LookupError):
    """404."""


class Conflict(RuntimeError):
    """409: e.g. not enough points, or a request id reused for another reward."""


class Forbidden(PermissionError):
    """403: signed in, but not allowed."""


def viewer_doc(uid: str) -> str:
    return f"xp/{uid}"


def creator_doc(uid: str, creator_id: str) -> str:
    return f"xp/{uid}/creators/{creator_id}"


# `points_<name>` counters of creator_doc: earned and rewarded (the rollup: XP, and timed
# rounds' rewards, decision 093), spent (redemptions), refunded (rejected redemptions), staked
# and won (predictions, live/predictions.py), revoked (purchase refunds, decision 059).
POINT_COUNTERS = ("earned", "rewarded", "spent", "refunded", "staked", "won", "revoked")
CREDITS = ("earned", "rewarded", "won", "refunded")  # add to the balance; the rest subtract


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
    earned + rewarded + won + refunded - spent - staked - revoked, from the counters of
    `xp/{viewer}/creators/{creator}`."""
    d = doc or {}
    out = {name: int(d.get(f"points_{name}", 0)) for name in POINT_COUNTERS}
    out["balance"] = sum(v if k in CREDITS else -v for k, v in out.items())
    return out


def _tz(creator: dict | None) -> str:
    return (creator or {}).get("timezone") or "UTC"


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
    the creator or staff, points and days attended. Five document reads; when a week of the
    creator has closed since the last judgment, it is judged first (`judge_weeks`)."""
    _check_ids(uid=uid, creator_id=creator_id)
    now = time.time() if now is None else now
    paths = [viewer_doc(uid), creator_doc(uid, creator_id), f"creators/{creator_id}"]
    paths += [f"wallets/{uid}", top3_cursor_doc(creator_id)]
    docs = store.transact(lambda tx: tx.get_all(paths))
    if judge_weeks(store, creator_id, docs[paths[2]], docs[paths[4]], now):
        docs = store.transact(lambda tx: tx.get_all(paths))  # with the new awards
    glob, per, creator, wallet = (docs[p] for p in paths[:4])
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


OUTBOX_TTL = timedelta(days=7)  # `expire_at`: Firestore's TTL deletes the entry


def live_pointer_doc(creator_id: str) -> str:
    return f"live_pointers/{creator_id}"


def _live_stream(tx: Tx, creator_id: str, at: float) -> str | None:
    """The stream the creator is live on now (domain/live_pointer.py `current_stream`): the
    pointer, then the live documents of its newest entries (at most 3; none when empty)."""
    pointer = tx.get(live_pointer_doc(creator_id))
    ids = live_pointer.newest_first(pointer)
    if not ids:
        return None
    docs = tx.get_all([f"streams/{s}" for s in ids])
    return live_pointer.current_stream(pointer, {s: docs[f"streams/{s}"] for s in ids}, at)


def redeem(
    store: Store,
    actor: access.Actor,
    creator_id: str,
    reward_id: str,
    req: RedeemRequest,
    now: float | None = None,
    outbox: Outbox | None = None,
    name: str = "",
) -> tuple[dict[str, Any], bool]:
    """Spend the viewer's points with the creator on one of the creator's rewards; returns
    (the redemption, created). Idempotent by (viewer, request id). With `outbox` (the
    `reward_outbox` collection on this store), a new redemption of a reward a command mapping
    names, while the creator is live, enters the live stream's log as the viewer (`name`: the
    one their token carries) through it (module doc); a retry publishes what the first
    attempt did not."""
    _check_ids(creator_id=creator_id, reward_id=reward_id)
    uid = actor.uid
    if uid == creator_id:
        raise Invalid("a creator cannot redeem their own rewards")
    rid = redemption_id(uid, req.request_id)
    at = time.time() if now is None else now
    ledger = f"{creator_doc(uid, creator_id)}/redemptions/{rid}"
    queue = f"creators/{creator_id}/reward_queue/{rid}"

    def work(tx: Tx) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
        docs = tx.get_all([f"creators/{creator_id}", creator_doc(uid, creator_id), ledger])
        done = docs[ledger]
        if done:
            if done.get("reward_id") != reward_id or done.get("note", "") != req.note:
                raise Conflict("request_id was already used for another redemption")
            return done, False, None
        creator = docs[f"creators/{creator_id}"]
        item = next((r for r in _settings(creator).rewards if r.id == reward_id), None)
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
        event = None
        if outbox is not None and cmd.reward_mapped((creator or {}).get("features"), reward_id):
            stream = _live_stream(tx, creator_id, at)
            try:
                if stream is not None:
                    event = cmd.redemption_event(
                        stream, creator_id, uid, name, reward_id, rid, entry["at"]
                    )
            except ValueError:  # an id an event cannot carry: the redemption only queues
                event = None
        tx.set(ledger, entry)
        tx.set(queue, {**entry, "status": "queued", "done": False})
        tx.increment(creator_doc(uid, creator_id), {"points_spent": item.cost})
        if event is not None and outbox is not None:
            doc = outbox_entry(
                event,
                at,
                creator_id=creator_id,
                redemption_id=rid,
                stream_id=event.stream_id,
                expire_at=entry["at"] + OUTBOX_TTL,
            )
            tx.set(outbox.path(event.event_id), doc)
            return entry, True, doc
        return entry, True, None

    entry, created, pending = store.transact(work)
    if outbox is not None:
        if pending is not None:  # after the commit; a failure leaves it to the job
            outbox.publish(pending["event"]["event_id"], pending["event"])
        elif not created:  # a retry: the first attempt may have stopped short of it
            outbox.publish_pending(cmd.redemption_event_id(creator_id, rid))
    return entry, created


# ---- the creator's reward queue ----------------------------------------------------------
QUEUE_STATUSES = ("queued", "fulfilled", "rejected")
ACTIONS = {"fulfil": "fulfilled", "reject": "rejected"}
_RID = re.compile(r"^[0-9a-f]{32}$")
# A page position: done (0/1), microseconds since the epoch of `at`, redemption id.
_CURSOR = re.compile(r"^([01])\.(\d{1,17})\.([0-9a-f]{32})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def queue_doc(creator_id: str, rid: str) -> str:
    return f"creators/{creator_id}/reward_queue/{rid}"


def refund_doc(uid: str, creator_id: str, rid: str) -> str:
    return f"{creator_doc(uid, creator_id)}/refunds/{rid}"


def _queue_role(actor: access.Actor, creator_id: str, moderator_doc: dict | None) -> str:
    if actor.admin:
        return "admin"
    if actor.uid == creator_id:
        return "creator"
    if moderator_doc is not None:
        return "creator_moderator"
    raise Forbidden("only the creator, the moderators they appointed and admins see their queue")


def _authorize(store: Store, actor: access.Actor, creator_id: str) -> str:
    if actor.admin or actor.uid == creator_id:
        return _queue_role(actor, creator_id, None)
    return _queue_role(
        actor, creator_id, store.get(f"creators/{creator_id}/moderators/{actor.uid}")
    )


def _iso(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return v


def public_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A queue entry as the API answers it (RFC 3339 times, no ordering field)."""
    return {k: _iso(v) for k, v in entry.items() if k != "done"}


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


class QueueQuery(BaseModel):
    """`GET /creators/{c}/reward_queue` parameters."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    status: str | None = Field(default=None, pattern=r"^(queued|fulfilled|rejected)$")
    limit: int = Field(default=20, ge=1, le=100)
    after: str | None = Field(default=None, pattern=_CURSOR.pattern)


def list_queue(store: Store, actor: access.Actor, creator_id: str, q: QueueQuery) -> dict[str, Any]:
    """One page of the creator's queue: without a status, queued entries first, then the
    handled ones, each oldest first (then by id); with a status, that status only, oldest
    first. `next` is the position to pass as `after` for the next page (null at the end)."""
    _check_ids(creator_id=creator_id)
    _authorize(store, actor, creator_id)
    after = None
    if q.after is not None:
        m = _CURSOR.match(q.after)
        assert m is not None  # the model's pattern
        at = _EPOCH + timedelta(microseconds=int(m[2]))
        after = [at, m[3]] if q.status else [m[1] == "1", at, m[3]]
    order = [("at", "asc"), ("redemption_id", "asc")]
    if q.status is None:
        order.insert(0, ("done", "asc"))
    equal = ("status", q.status) if q.status else None
    rows = store.page(
        f"creators/{creator_id}/reward_queue", order, q.limit + 1, equal=equal, after=after
    )
    items = [d for _, d in rows[: q.limit]]
    nxt = None
    if len(rows) > q.limit:
        last = items[-1]
        nxt = f"{int(bool(last['done']))}.{_micros(last['at'])}.{last['redemption_id']}"
    return {"items": [public_entry(d) for d in items], "next": nxt}


class HandleRequest(BaseModel):
    """Body of fulfil / reject (optional): a reason shown to the creator's team."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    reason: str = Field(default="", max_length=200, pattern=bd.TEXT_PATTERN.replace("{1,40}", "*"))


def handle_redemption(
    store: Store,
    actor: access.Actor,
    creator_id: str,
    rid: str,
    action: str,
    req: HandleRequest,
    now: float | None = None,
) -> tuple[dict[str, Any], bool]:
    """Mark a queued redemption fulfilled or rejected; returns (the entry, changed). Doing
    the same again changes nothing; the other outcome after one is a Conflict. A rejection
    refunds the cost once (module doc)."""
    _check_ids(creator_id=creator_id)
    if not _RID.match(rid):
        raise Invalid("invalid redemption_id: 32 lowercase hex digits expected")
    status = ACTIONS.get(action)
    if status is None:
        raise Invalid(f"unknown action {action!r}: fulfil or reject")
    at = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    path = queue_doc(creator_id, rid)
    mod_path = f"creators/{creator_id}/moderators/{actor.uid}"

    def work(tx: Tx) -> tuple[dict[str, Any], bool]:
        paths = [path] if actor.admin or actor.uid == creator_id else [path, mod_path]
        docs = tx.get_all(paths)
        role = _queue_role(actor, creator_id, docs.get(mod_path))
        entry = docs[path]
        if entry is None:
            raise NotFound(f"creator {creator_id!r} has no redemption {rid!r} in their queue")
        current = entry.get("status", "queued")
        if current == status:
            return entry, False
        if current != "queued":
            raise Conflict(f"redemption {rid} is already {current}")
        uid, cost = str(entry["uid"]), int(entry["cost"])
        refund = refund_doc(uid, creator_id, rid)
        refunded = status == "rejected" and tx.get(refund) is None
        handled = {
            "status": status,
            "done": True,
            "handled_at": at,
            "handled_by": actor.uid,
            "handled_role": role,
            "reason": req.reason,
        }
        tx.set(path, handled, merge=True)
        if refunded:
            tx.set(
                refund,
                {
                    "redemption_id": rid,
                    "uid": uid,
                    "creator_id": creator_id,
                    "reward_id": entry.get("reward_id"),
                    "points": cost,
                    "at": at,
                    "by": actor.uid,
                    "reason": req.reason,
                },
            )
            tx.increment(creator_doc(uid, creator_id), {"points_refunded": cost})
        return {**entry, **handled}, True

    return store.transact(work)


# ---- top 3 of a week (domain/badges.py; decision 091) --------------------------------------
TOP3_BATCH = 5  # weeks judged at most per read; the next read continues


def top3_cursor_doc(creator_id: str) -> str:
    return f"creators/{creator_id}/weekly_top3/cursor"


def top3_week_doc(creator_id: str, week: str) -> str:
    return f"creators/{creator_id}/weekly_top3/{week}"


def judge_weeks(
    store: Store, creator_id: str, creator: dict | None, cursor: dict | None, now: float
) -> int:
    """Judge the creator's weekly boards whose week may be judged and is not yet (oldest
    first, at most TOP3_BATCH); returns how many weeks this call judged. `cursor.through`:
    the newest week judged or passed over. Nothing is read when no week closed since."""
    tz = _tz(creator)
    at = datetime.fromtimestamp(now, UTC)
    last = bd.last_judged_week(tz, at)
    through = str((cursor or {}).get("through", ""))
    if through >= last:
        return 0
    prefix = f"creator.{creator_id}.weekly."
    rows = store.page(
        "leaderboards",
        [("board_id", "asc")],
        TOP3_BATCH,
        equal=("creator_id", creator_id),
        after=[prefix + through],
    )
    weeks = [
        str(d["board_id"])[len(prefix) :]
        for _, d in rows
        if str(d.get("board_id", "")).startswith(prefix) and d.get("period") == "weekly"
    ]
    due = [w for w in weeks if w <= last and bd.may_judge(w, tz, at)]
    judged = sum(_judge_week(store, creator_id, w, at) for w in due)
    if len(rows) < TOP3_BATCH or len(due) < len(weeks):  # every closed week is done
        _advance(store, creator_id, last)
    return judged


def _advance(store: Store, creator_id: str, week: str) -> None:
    path = top3_cursor_doc(creator_id)

    def work(tx: Tx) -> None:
        if str((tx.get(path) or {}).get("through", "")) < week:
            tx.set(path, {"through": week}, merge=True)

    store.transact(work)


def _judge_week(store: Store, creator_id: str, week: str, at: datetime) -> int:
    """One week, once: the judgment document is created in the transaction that counts the
    awards, so a concurrent or repeated judgment finds it and does nothing. The board is
    read before (closed weeks change only by late arrivals, which the judgment leaves out)."""
    board = f"creator.{creator_id}.weekly.{week}"
    entries = store.page(
        f"leaderboards/{board}/entries", [("coins", "desc"), ("user_id", "asc")], 3
    )
    top = bd.week_top3([d for _, d in entries])
    # A board names TikTok users by their TikTok id and app users by uid (decision 058's
    # viewer ids): the XP document that exists says which one this is.
    options = {t["user_id"]: [t["user_id"], rw.viewer_id("tiktok", t["user_id"])] for t in top}
    path, cur = top3_week_doc(creator_id, week), top3_cursor_doc(creator_id)

    def work(tx: Tx) -> int:
        xp_paths = [creator_doc(v, creator_id) for vs in options.values() for v in vs]
        docs = tx.get_all([path, cur, *xp_paths])
        if docs[path] is not None:
            return 0
        winners = []
        for t in top:
            vid = next((v for v in options[t["user_id"]] if docs[creator_doc(v, creator_id)]), None)
            winners.append({**t, "viewer_id": vid})
        tx.set(
            path,
            {
                "week": week,
                "board_id": board,
                "creator_id": creator_id,
                "top": winners,
                "judged_at": at,
            },
        )
        for w in winners:
            if w["viewer_id"] is not None:
                tx.increment(creator_doc(w["viewer_id"], creator_id), {"award_top3_week": 1})
        if str((docs[cur] or {}).get("through", "")) < week:
            tx.set(cur, {"through": week}, merge=True)
        return 1

    return store.transact(work)
