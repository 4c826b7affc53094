"""Use cases of Q&A: viewers submit questions, the creator or their moderators approve or
reject each one (nothing a viewer writes is shown before a person allowed it), viewers upvote
approved questions once each, the creator puts one on screen and marks questions answered.

    streams/{s}/questions_pending/{q}       server-only: submitted, not yet reviewed
    streams/{s}/questions/{q}               public: approved questions, `votes`, `status`
    streams/{s}/questions/{q}/upvotes/{v}   server-only: one per viewer
    streams/{s}/interactions/current        `question`: the one on screen (overlay)

Text is cleaned by the chat pipeline's sanitizer (control characters removed) with markup
stripped as well (`strip_markup`: questions are shown on stream as plain text).
"""

from __future__ import annotations

import hashlib
from typing import Any

from giftengine.domain.access import Actor
from giftengine.live.domain import PollError
from giftengine.live.service import Deps, NotFound, current_path, require_runner
from giftengine.moderation.sanitize import InvalidMessage, sanitize, strip_markup
from giftengine.service.docstore import Doc, Tx
from giftengine.service.streams import stream_access

MAX_CHARS = 300


def pending_path(stream_id: str, qid: str) -> str:
    return f"streams/{stream_id}/questions_pending/{qid}"


def question_path(stream_id: str, qid: str) -> str:
    return f"streams/{stream_id}/questions/{qid}"


def upvote_path(stream_id: str, qid: str, voter: str) -> str:
    return f"{question_path(stream_id, qid)}/upvotes/{voter}"


def submit(
    deps: Deps, stream_id: str, voter: str, name: str, raw: str, key: str
) -> tuple[Doc, bool]:
    """Queues a question for review. The id is derived from (stream, viewer, key), so a retry
    returns the same question. Returns (question, created)."""
    try:
        clean = sanitize(strip_markup(raw), MAX_CHARS)
    except InvalidMessage as exc:
        raise PollError("invalid_request", str(exc), 400) from None
    if stream_access(deps.ownership, stream_id).creator_id is None:
        raise NotFound(f"stream {stream_id!r} has no ownership record (POST /api/streams)")
    qid = "q-" + hashlib.sha256(f"{stream_id}\0{voter}\0{key}".encode()).hexdigest()[:20]
    doc = {
        "question_id": qid,
        "stream_id": stream_id,
        "voter": voter,
        "name": name,
        "text": clean.text,
        "status": "pending",
        "votes": 0,
        "created_at": deps.clock(),
    }

    def tx_fn(tx: Tx) -> tuple[Doc, bool]:
        found = tx.get_all([pending_path(stream_id, qid), question_path(stream_id, qid)])
        for existing in found.values():
            if existing is not None:
                return existing, False
        tx.set(pending_path(stream_id, qid), doc)
        return doc, True

    return deps.store.transact(tx_fn)


def review(deps: Deps, actor: Actor, stream_id: str, qid: str, approve: bool) -> Doc:
    require_runner(deps, actor, stream_id)

    def tx_fn(tx: Tx) -> Doc:
        q = tx.get(pending_path(stream_id, qid))
        if q is None:
            raise NotFound(f"no question {qid!r} waiting for review")
        decided = "open" if approve else "rejected"
        if q.get("status", "pending") != "pending":  # reviewed once, for good
            was = "approved" if q["status"] != "rejected" else "rejected"
            if (was == "approved") == approve:  # a retry of the same review
                return tx.get(question_path(stream_id, qid)) or q
            raise PollError("already_reviewed", f"question {qid!r} was already {was}")
        q["status"] = decided
        q["reviewed_by"] = actor.uid
        if approve:
            tx.set(question_path(stream_id, qid), q)
        tx.set(pending_path(stream_id, qid), {"status": q["status"]}, merge=True)
        return q

    return deps.store.transact(tx_fn)


def pending(deps: Deps, actor: Actor, stream_id: str) -> list[Doc]:
    require_runner(deps, actor, stream_id)
    return [
        d
        for _, d in deps.store.where(
            f"streams/{stream_id}/questions_pending", "status", "==", "pending"
        )
    ]


def upvote(deps: Deps, stream_id: str, qid: str, voter: str) -> dict[str, Any]:
    """One upvote per viewer: a second one changes nothing."""

    def tx_fn(tx: Tx) -> dict[str, Any]:
        docs = tx.get_all([question_path(stream_id, qid), upvote_path(stream_id, qid, voter)])
        q = docs[question_path(stream_id, qid)]
        if q is None:
            raise NotFound(f"no question {qid!r} on stream {stream_id!r}")
        if docs[upvote_path(stream_id, qid, voter)] is not None:
            return {"counted": False, "votes": q["votes"]}
        if q.get("status") == "answered":  # off the queue: its votes are final
            raise PollError("question_answered", f"question {qid!r} was answered")
        tx.set(upvote_path(stream_id, qid, voter), {"at": deps.clock()})
        tx.set(question_path(stream_id, qid), {"votes": q["votes"] + 1}, merge=True)
        return {"counted": True, "votes": q["votes"] + 1}

    return deps.store.transact(tx_fn)


def mark(deps: Deps, actor: Actor, stream_id: str, qid: str, action: str) -> Doc:
    """`show`: put the question on screen; `answered`: mark it answered (and take it off)."""
    require_runner(deps, actor, stream_id)

    def tx_fn(tx: Tx) -> Doc:
        q = tx.get(question_path(stream_id, qid))
        cur = tx.get(current_path(stream_id)) or {}
        if q is None:
            raise NotFound(f"no question {qid!r} on stream {stream_id!r}")
        shown = (cur.get("question") or {}).get("question_id")
        if action == "show":
            tx.set(
                current_path(stream_id),
                {"question": {"question_id": qid, "text": q["text"], "name": q["name"]}},
                merge=True,
            )
        else:
            q["status"] = "answered"
            tx.set(question_path(stream_id, qid), {"status": "answered"}, merge=True)
            if shown == qid:
                tx.set(current_path(stream_id), {"question": None}, merge=True)
        return q

    return deps.store.transact(tx_fn)


def queue(store, stream_id: str, limit: int = 20) -> list[Doc]:
    """Open approved questions, most upvoted first (for `giftengine state`)."""
    qs = [d for _, d in store.where(f"streams/{stream_id}/questions", "status", "==", "open")]
    return sorted(qs, key=lambda d: (-d["votes"], d["created_at"]))[:limit]
