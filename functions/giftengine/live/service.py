"""Use cases of live polls: open, vote (app and chat), close, publish the tally, freeze.

The service owns each unit of work: every use case is one transaction over the `Store`
protocol (service/docstore.py, shared with the wallet: `MemoryStore` in tests,
`adapters/docstore.FirestoreDocStore` in production). Documents
(docs/engagement.md has the layout):

    streams/{s}/interactions/current      public: the active poll's id, question, choices
    streams/{s}/polls/{p}                 public: config, status, counts (<= 1 write/s)
    streams/{s}/polls/{p}/votes/{voter}   server-only: the vote that counts for a viewer
    streams/{s}/polls/{p}/shards/{k}      server-only: per-choice counters, k = hash(voter)

A vote's transaction writes its voter's document and moves one count between two fields of
one shard, so the shards always sum to the tally of the vote documents. A task per poll and
second (`flush`) copies the shard sums onto the poll document: one write per second at most,
whatever the vote rate. The deadline task (`freeze`) writes the final counts and marks the
poll frozen; every later vote is refused, so redelivered and late votes change nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from giftengine.domain import access, poll_weights
from giftengine.domain.access import Actor
from giftengine.domain.events import Control, EngagementEvent
from giftengine.live import domain
from giftengine.live.domain import Poll, PollError, Vote
from giftengine.service.docstore import Doc, Store, Tx
from giftengine.service.streams import OwnershipRepo, stream_access

SHARDS = 8
log = logging.getLogger(__name__)


class Scheduler(Protocol):
    """Runs `job` ("flush" or "freeze") for a poll at `at` (epoch s); `name` deduplicates."""

    def schedule(self, job: str, stream_id: str, poll_id: str, at: float, name: str) -> None: ...


@dataclass
class Deps:
    store: Store
    scheduler: Scheduler
    ownership: OwnershipRepo
    clock: Callable[[], float] = time.time
    new_id: Callable[[], str] = field(default=lambda: secrets.token_hex(6))
    # Publishes a `control` event to the stream's event log (gift-weighted polls' commands
    # to the rollup, domain/poll_weights.py); None: gift weights are refused (400).
    publish: Callable[[EngagementEvent], None] | None = None


class Forbidden(PollError):
    def __init__(self, reason: str):
        super().__init__("forbidden", reason, 403)


class NotFound(PollError):
    def __init__(self, reason: str):
        super().__init__("not_found", reason, 404)


# ---- paths -----------------------------------------------------------------------------------
def current_path(stream_id: str) -> str:
    return f"streams/{stream_id}/interactions/current"


def poll_path(stream_id: str, poll_id: str) -> str:
    return f"streams/{stream_id}/polls/{poll_id}"


def vote_path(stream_id: str, poll_id: str, voter: str) -> str:
    return f"{poll_path(stream_id, poll_id)}/votes/{voter}"


def shard_path(stream_id: str, poll_id: str, k: int) -> str:
    return f"{poll_path(stream_id, poll_id)}/shards/{k}"


def shard_of(voter: str) -> int:
    return int.from_bytes(hashlib.sha256(voter.encode()).digest()[:4], "big") % SHARDS


# ---- documents <-> domain --------------------------------------------------------------------
def poll_from(doc: Doc) -> Poll:
    return Poll(
        poll_id=doc["poll_id"],
        stream_id=doc["stream_id"],
        question=doc["question"],
        choices=tuple(doc["choices"]),
        opened_at=doc["opened_at"],
        closes_at=doc.get("closes_at"),
        changeable=bool(doc.get("changeable")),
        grace_s=doc.get("grace_s", domain.DEFAULT_GRACE_S),
        frozen=bool(doc.get("frozen")),
    )


def vote_from(voter: str, doc: Doc) -> Vote:
    return Vote(
        occurred_at=doc["occurred_at"],
        vote_id=doc["vote_id"],
        voter=voter,
        choice=doc["choice"],
        source=doc.get("source", "app"),
    )


def _sum_shards(tx: Tx, stream_id: str, poll_id: str, n: int) -> list[int]:
    docs = tx.get_all([shard_path(stream_id, poll_id, k) for k in range(SHARDS)])
    counts = [0] * n
    for d in docs.values():
        for i in range(n):
            counts[i] += int((d or {}).get(f"c{i}", 0))
    return counts


# ---- authorization ---------------------------------------------------------------------------
def require_runner(deps: Deps, actor: Actor, stream_id: str) -> str | None:
    """The stream's creator (its ownership record, docs of POST /api/streams), a moderator
    the creator appointed, a staff moderator or an admin. Returns the creator's uid."""
    acc = stream_access(deps.ownership, stream_id)
    if acc.creator_id is None and not actor.is_staff:
        raise NotFound(f"stream {stream_id!r} has no ownership record (POST /api/streams)")
    try:
        access.require_stream_moderator(actor, acc)
    except access.Forbidden as exc:
        raise Forbidden(str(exc)) from None
    return acc.creator_id


# ---- gift weights: commands to the stream's rollup --------------------------------------------
def _weighted(doc: Doc) -> poll_weights.WeightedPoll:
    return poll_weights.WeightedPoll(
        poll_id=doc["poll_id"],
        opened_at=doc["opened_at"],
        closes_at=doc["closes_at"],
        grace_s=doc["grace_s"],
        choices=list(doc["choices"]),
        gift_choices={g: c - 1 for g, c in (doc.get("gift_choices") or {}).items()},
    )


def _command(deps: Deps, doc: Doc, action: str, params: dict, at: float) -> None:
    """Records a command for the poll_weights feature in the stream's event log. Its event
    id is deterministic, so publishing it again is a duplicate the log drops."""
    assert deps.publish is not None
    deps.publish(
        EngagementEvent(
            event_id=f"poll-{doc['poll_id']}-{action}",
            source="app",
            stream_id=doc["stream_id"],
            kind="control",
            occurred_at=datetime.fromtimestamp(at, UTC),
            creator_id=doc.get("creator_id"),
            control=Control(feature=poll_weights.FEATURE, action=action, params=params),
        )
    )


def _arm(deps: Deps, doc: Doc) -> None:
    _command(deps, doc, "open", poll_weights.open_params(_weighted(doc)), doc["opened_at"])


# ---- use cases -------------------------------------------------------------------------------
def open_poll(
    deps: Deps,
    actor: Actor,
    stream_id: str,
    question: str,
    choices: list[str],
    duration_s: int | None,
    changeable: bool,
    gift_weighted: bool = False,
    gift_choices: dict[str, int] | None = None,
) -> Doc:
    """Opens a poll. `gift_weighted`: gifts add weight (domain/poll_weights.py); then
    `gift_choices` maps gift ids to 1-based choices (a gift not mapped weighs by its comment)."""
    creator_id = require_runner(deps, actor, stream_id)
    if gift_choices and not gift_weighted:
        raise PollError("invalid_request", "gift_choices needs gift_weighted: true", 400)
    if gift_weighted:
        if deps.publish is None:
            raise PollError("invalid_request", "gift-weighted polls are not enabled here", 400)
        try:
            mapped = poll_weights.parse_gift_choices(gift_choices or {}, len(choices))
        except ValueError as exc:
            raise PollError("invalid_request", str(exc), 400) from None
        if len(json.dumps(mapped, separators=(",", ":"))) > poll_weights.MAX_MAP_CHARS:
            raise PollError("invalid_request", "gift_choices is too long (shorter ids)", 400)
    if not domain.duration_ok(duration_s):
        raise PollError(
            "invalid_request",
            f"duration_s must be {domain.MIN_DURATION_S}-"
            f"{domain.MAX_DURATION_S} or omitted (close by hand)",
            400,
        )
    return _open(
        deps, actor.uid, creator_id, stream_id, question, choices, duration_s, changeable,
        gift_weighted, gift_choices,
    )  # fmt: skip


def _open(
    deps: Deps,
    created_by: str,
    creator_id: str | None,
    stream_id: str,
    question: str,
    choices: list[str],
    duration_s: int | None,
    changeable: bool,
    gift_weighted: bool = False,
    gift_choices: dict[str, int] | None = None,
    request: str | None = None,
    poll_id: str | None = None,
) -> Doc:
    """Opens a checked poll in one transaction: refused (`poll_active`) while another poll is
    open. `request`: the path of a command gift's poll start (`start_from_command`), read and
    marked `opened` in the same transaction, so it opens one poll (`poll_id`) at most."""
    now = deps.clock()
    poll = Poll(
        poll_id=poll_id or deps.new_id(),
        stream_id=stream_id,
        question=question,
        choices=tuple(choices),
        opened_at=now,
        closes_at=None if duration_s is None else now + duration_s,
        changeable=changeable,
    )
    doc = {
        "poll_id": poll.poll_id,
        "stream_id": stream_id,
        "question": question,
        "choices": list(poll.choices),
        "opened_at": now,
        "closes_at": poll.closes_at,
        "changeable": changeable,
        "grace_s": poll.grace_s,
        "status": "open",
        "frozen": False,
        "counts": [0] * len(choices),
        "voters": 0,
        "tally_bucket": -1,
        "created_by": created_by,
        "creator_id": creator_id,
        "gift_weighted": gift_weighted,
    }
    if request is not None:
        doc["command"] = request.rsplit("/", 1)[1]
    if gift_weighted:
        doc.update(
            gift_choices=dict(gift_choices or {}),
            weights=[0] * len(choices),
            weighted_gifts=0,
            weights_final=False,
        )

    def tx_fn(tx: Tx) -> Doc | None:
        if request is not None:
            got = tx.get_all([request, poll_path(stream_id, poll.poll_id)])
            req = got[request] or {"execution_id": poll.poll_id, "status": "missing"}
            if req.get("status") != "pending":
                return req  # decided before: nothing to do
            if got[poll_path(stream_id, poll.poll_id)] is not None:  # opened, never marked
                tx.set(request, {"status": "opened", "poll_id": poll.poll_id}, merge=True)
                return {**req, "status": "opened", "poll_id": poll.poll_id}
        cur = (tx.get(current_path(stream_id)) or {}).get("poll")
        if cur and cur["status"] == "open" and (cur["closes_at"] is None or now < cur["closes_at"]):
            raise PollError("poll_active", f"poll {cur['poll_id']} is still open; close it first")
        tx.set(poll_path(stream_id, poll.poll_id), doc)
        pointer: Doc = {"poll": _pointer(doc)}
        if cur:
            pointer["last_poll_id"] = cur["poll_id"]
        tx.set(current_path(stream_id), pointer, merge=True)
        if request is not None:
            tx.set(request, {"status": "opened", "poll_id": poll.poll_id}, merge=True)
        return None

    earlier = deps.store.transact(tx_fn)
    if earlier is not None:
        return earlier
    if poll.freeze_at() is not None:
        deps.scheduler.schedule(
            "freeze", stream_id, poll.poll_id, poll.freeze_at(), f"freeze-{poll.poll_id}"
        )
    if gift_weighted:
        try:
            _arm(deps, doc)
        except Exception:  # the poll is open; its close publishes the command again
            log.exception("poll %s: the open command was not published", poll.poll_id)
    return doc


# ---- command gifts: polls a mapped gift starts (domain/commands.py, decision 077) ---------
COMMAND_GIVE_UP_S = 120.0
# A poll start's task runs at or after the time its rollup asked for it (`asked_at`); one
# naming a time further ahead than this clock skew is not a task the engine scheduled.
COMMAND_AHEAD_S = 30.0


class NotRecorded(Exception):
    """A poll start whose request the stream's rollup has not committed (yet): the task
    that asks for it is retried."""


def start_from_command(deps: Deps, stream_id: str, execution_id: str, asked_at: float) -> Doc:
    """Opens the poll a command gift's run asks for: the request
    `streams/{s}/poll_starts/{execution id}` the stream's rollup committed with the event
    that ran the mapping. It goes the way a creator's poll goes (`open_poll`'s rules and
    transaction), on behalf of the request's creator (the creator whose settings hold the
    mapping: they must be allowed to run the stream's polls), with the execution id as the
    poll id, and marks the request in the same transaction: it ends `opened` (with
    `poll_id`) or `refused` (with the `reason`: another poll is open, ...), once, whatever
    the task's retries and duplicates. Returns the request. Raises NotRecorded while the
    request is missing and its rollup may still commit it; `COMMAND_GIVE_UP_S` after
    `asked_at`, a missing request is given up (its rollup decided otherwise)."""
    from giftengine.domain import commands  # the stream domain; only this use case needs it

    if asked_at > deps.clock() + COMMAND_AHEAD_S:
        raise PollError("invalid_request", "`at` is in the future: no such task was scheduled", 400)
    path = commands.poll_start_path(stream_id, execution_id)
    req = deps.store.get(path)
    if req is None:
        if deps.clock() < asked_at + COMMAND_GIVE_UP_S:
            raise NotRecorded(f"poll start {execution_id} is not recorded yet")
        return {"execution_id": execution_id, "status": "missing"}
    if req.get("status") == "opened":  # a retry: the first run may have died before this
        pdoc = deps.store.get(poll_path(stream_id, req["poll_id"])) or {}
        if pdoc.get("closes_at") is not None and not pdoc.get("frozen"):
            at = pdoc["closes_at"] + pdoc["grace_s"]
            name = f"freeze-{pdoc['poll_id']}"
            deps.scheduler.schedule("freeze", stream_id, pdoc["poll_id"], at, name)
    if req.get("status") != "pending":
        return req
    try:
        creator_id = require_runner(deps, Actor(uid=str(req.get("creator_id") or "")), stream_id)
        if not domain.duration_ok(req.get("duration_s")) or req.get("duration_s") is None:
            raise PollError("invalid_request", "a command's poll needs a duration", 400)
        done = _open(
            deps, f"command:{req.get('mapping_id', '')}", creator_id, stream_id,
            str(req["question"]), [str(c) for c in req["choices"]], int(req["duration_s"]),
            bool(req.get("changeable")), request=path, poll_id=execution_id,
        )  # fmt: skip
    except PollError as exc:
        return _refuse(deps, path, exc.reason)
    if "execution_id" in done:
        return done  # the request as another run (or an earlier try) left it
    return {**req, "status": "opened", "poll_id": execution_id}  # this run opened the poll


def _refuse(deps: Deps, path: str, reason: str) -> Doc:
    """Marks a pending request refused with its reason (one transaction; a request another
    run decided meanwhile stays as it is)."""

    def tx_fn(tx: Tx) -> Doc:
        req = tx.get(path) or {}
        if req.get("status") == "pending":
            req.update(status="refused", reason=reason[:300])
            tx.set(path, {"status": "refused", "reason": reason[:300]}, merge=True)
        return req

    return deps.store.transact(tx_fn)


def _pointer(doc: Doc) -> Doc:
    return {k: doc[k] for k in ("poll_id", "question", "choices", "closes_at", "status")}


def active_poll(deps: Deps, stream_id: str) -> Doc | None:
    """The stream's open (or closing, not yet frozen) poll as the pointer holds it."""
    return (deps.store.get(current_path(stream_id)) or {}).get("poll")


def cast(deps: Deps, stream_id: str, poll_id: str, vote: Vote) -> dict[str, Any]:
    """Records `vote` if it is the one that counts for its viewer. Raises PollError (nothing
    applied) for an unknown or closed poll, an unknown choice or a vote outside the window.
    Returns {"counted": bool, "choice": 1-based choice that counts for the viewer}."""

    def tx_fn(tx: Tx) -> dict[str, Any]:
        docs = tx.get_all(
            [poll_path(stream_id, poll_id), vote_path(stream_id, poll_id, vote.voter)]
        )
        pdoc = docs[poll_path(stream_id, poll_id)]
        if pdoc is None:
            raise NotFound(f"no poll {poll_id!r} on stream {stream_id!r}")
        poll = poll_from(pdoc)
        domain.check_vote(poll, vote)
        old_doc = docs[vote_path(stream_id, poll_id, vote.voter)]
        old = vote_from(vote.voter, old_doc) if old_doc else None
        if not domain.supersedes(vote, old, poll.changeable):
            assert old is not None
            return {"counted": old.vote_id == vote.vote_id, "choice": old.choice + 1}
        tx.set(
            vote_path(stream_id, poll_id, vote.voter),
            {
                "choice": vote.choice,
                "occurred_at": vote.occurred_at,
                "vote_id": vote.vote_id,
                "source": vote.source,
            },
        )
        if old is None or old.choice != vote.choice:
            deltas = {f"c{vote.choice}": 1}
            if old is not None:
                deltas[f"c{old.choice}"] = -1
            tx.increment(shard_path(stream_id, poll_id, shard_of(vote.voter)), deltas)
        return {"counted": True, "choice": vote.choice + 1}

    result = deps.store.transact(tx_fn)
    bucket = math.floor(deps.clock()) + 1
    deps.scheduler.schedule("flush", stream_id, poll_id, float(bucket), f"flush-{poll_id}-{bucket}")
    return result


def chat_vote(
    deps: Deps,
    stream_id: str,
    text: str,
    source: str,
    user_id: str,
    event_id: str,
    occurred_at: float,
    linked_tiktok_id: str | None = None,
) -> dict[str, Any] | None:
    """A chat comment that votes in the stream's active poll (`!vote 2`, `!2`, a choice's
    text). Returns None when the comment is not a vote or the vote cannot count: chat is
    not answered, so a late or invalid vote is dropped silently. `linked_tiktok_id`: an app
    comment's sender's linked TikTok account (`domain.voter_key`)."""
    cur = active_poll(deps, stream_id)
    if not cur:
        return None
    choice = domain.parse_chat_vote(text, tuple(cur["choices"]))
    if choice is None:
        return None
    vote = Vote(
        occurred_at=occurred_at,
        vote_id=event_id,
        choice=choice,
        source=source,
        voter=domain.voter_key(source, user_id, linked_tiktok_id),
    )
    try:
        return cast(deps, stream_id, cur["poll_id"], vote)
    except PollError:
        return None


def close_poll(deps: Deps, actor: Actor, stream_id: str, poll_id: str) -> Doc:
    """Closes the window now (votes that occurred from now on never count); the result is
    frozen `grace_s` later, when votes already in flight have arrived."""
    require_runner(deps, actor, stream_id)
    now = deps.clock()

    def tx_fn(tx: Tx) -> Doc:
        pdoc = tx.get(poll_path(stream_id, poll_id))
        cur = tx.get(current_path(stream_id)) or {}
        if pdoc is None:
            raise NotFound(f"no poll {poll_id!r} on stream {stream_id!r}")
        if pdoc.get("frozen"):
            return pdoc
        if pdoc["status"] == "open" and (pdoc["closes_at"] is None or now < pdoc["closes_at"]):
            pdoc.update(closes_at=now)
        pdoc["status"] = "closed"
        tx.set(
            poll_path(stream_id, poll_id),
            {"closes_at": pdoc["closes_at"], "status": "closed"},
            merge=True,
        )
        if (cur.get("poll") or {}).get("poll_id") == poll_id:
            tx.set(current_path(stream_id), {"poll": _pointer(pdoc)}, merge=True)
        return pdoc

    doc = deps.store.transact(tx_fn)
    if doc.get("gift_weighted") and not doc.get("frozen"):
        _arm(deps, doc)  # again, in case its first publish failed: a duplicate otherwise
        ms = round(doc["closes_at"] * 1000)
        _command(deps, doc, "close", {"poll_id": poll_id, "closes_ms": ms}, doc["closes_at"])
    if not doc.get("frozen"):
        deps.scheduler.schedule(
            "freeze",
            stream_id,
            poll_id,
            doc["closes_at"] + doc["grace_s"],
            f"freeze-{poll_id}-closed",
        )
    return doc


def flush(deps: Deps, stream_id: str, poll_id: str, bucket: int) -> bool:
    """Copies the shard sums onto the poll document, at most once per second `bucket`."""

    def tx_fn(tx: Tx) -> bool:
        pdoc = tx.get(poll_path(stream_id, poll_id))
        if pdoc is None or pdoc.get("frozen") or pdoc.get("tally_bucket", -1) >= bucket:
            return False
        counts = _sum_shards(tx, stream_id, poll_id, len(pdoc["choices"]))
        if counts == pdoc.get("counts"):
            return False
        tx.set(
            poll_path(stream_id, poll_id),
            {"counts": counts, "voters": sum(counts), "tally_bucket": bucket},
            merge=True,
        )
        return True

    return deps.store.transact(tx_fn)


class NotDue(Exception):
    """The freeze task ran before the poll's freeze time (the task is retried)."""


def freeze(deps: Deps, stream_id: str, poll_id: str) -> Doc | None:
    """Writes the final counts and marks the poll frozen, exactly once."""
    now = deps.clock()

    def tx_fn(tx: Tx) -> Doc | None:
        pdoc = tx.get(poll_path(stream_id, poll_id))
        cur = tx.get(current_path(stream_id)) or {}
        if pdoc is None or pdoc.get("frozen"):
            return pdoc
        poll = poll_from(pdoc)
        due = poll.freeze_at()
        if due is None:
            return None  # a manual poll's deadline task: its close schedules the real one
        if now < due:
            raise NotDue(f"poll {poll_id} freezes at {due}")
        counts = _sum_shards(tx, stream_id, poll_id, len(poll.choices))
        pdoc.update(counts=counts, voters=sum(counts), status="closed", frozen=True)
        tx.set(
            poll_path(stream_id, poll_id),
            {"counts": counts, "voters": sum(counts), "status": "closed", "frozen": True},
            merge=True,
        )
        if (cur.get("poll") or {}).get("poll_id") == poll_id:
            tx.set(current_path(stream_id), {"poll": None, "last_poll_id": poll_id}, merge=True)
        return pdoc

    return deps.store.transact(tx_fn)


def state(store: Store, stream_id: str) -> dict[str, Any]:
    """What `giftengine state` and `GET /streams/{s}/interactions` show: the active poll and
    the most recent one, with exact counts (summed from the shards, not the once-a-second
    copy; `weights` as the rollup last wrote them); the latest prediction, and separately the
    active one and the most recent settled or previous one, with their exact pools (written
    by each stake's transaction); the question on screen and the open questions; the active
    challenges and the most recent ended one, with the rollup's progress."""
    cur = store.get(current_path(stream_id)) or {}
    out: dict[str, Any] = {"active_poll": None, "last_poll": None}
    for key, pid in (
        ("active_poll", (cur.get("poll") or {}).get("poll_id")),
        ("last_poll", cur.get("last_poll_id")),
    ):
        if not pid:
            continue
        pdoc = store.get(poll_path(stream_id, pid))
        if pdoc is None:
            continue
        n = len(pdoc["choices"])
        exact = store.transact(lambda tx, pid=pid, n=n: _sum_shards(tx, stream_id, pid, n))
        out[key] = {**pdoc, "exact_counts": exact}
        if pdoc.get("gift_weighted"):  # votes plus gift coins (domain/poll_weights.py)
            weights = pdoc.get("weights") or [0] * n
            out[key]["scores"] = [c + w for c, w in zip(exact, weights, strict=True)]
    out.update(_predictions(store, stream_id, cur))
    out["current_question"] = cur.get("question")
    from giftengine.live.questions import queue  # the Q&A module imports this one

    out["question_queue"] = queue(store, stream_id)
    out["challenges"] = challenges(store.get(f"streams/{stream_id}"))
    return out


def _predictions(store: Store, stream_id: str, cur: Doc) -> dict[str, Doc | None]:
    def get(pid: str | None) -> Doc | None:
        return store.get(f"streams/{stream_id}/predictions/{pid}") if pid else None

    latest = get(cur.get("prediction_id"))
    active = latest if latest and latest["status"] in ("open", "locked") else None
    last = get(cur.get("last_prediction_id")) if active else latest
    return {"prediction": latest, "active_prediction": active, "last_prediction": last}


def challenges(live: Doc | None) -> dict[str, Any]:
    """Challenges (goals with a deadline) from the stream's live document: those still
    running and those that ended (reached or failed), each list by deadline, the latest
    deadline first among the ended ones."""
    running, ended = [], []
    for goal_id, g in ((live or {}).get("goals") or {}).items():
        if g.get("deadline") is None:
            continue
        item = {"goal_id": goal_id, **g}
        item["status"] = (
            "reached" if g.get("reached") else "failed" if g.get("failed") else "running"
        )
        (running if item["status"] == "running" else ended).append(item)
    running.sort(key=lambda c: (c["deadline"], c["goal_id"]))
    ended.sort(key=lambda c: (-c["deadline"], c["goal_id"]))
    return {"active": running, "ended": ended}
