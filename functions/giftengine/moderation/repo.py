"""Firestore adapter for chat and moderation. Layout (docs/moderation.md):

  streams/{s}/chat/{message_id}            visible messages (public read)
  streams/{s}/chat_held/{message_id}       held messages with score and action (moderators)
  streams/{s}/chat_users/{uid}             bucket + ban of one user in one stream
  streams/{s}/chat_users/{uid}/notices/{id} warnings and holds for the sender
  streams/{s}/chat_flood/{k}               stream-wide flood-control shards
  streams/{s}/chat_config/keywords         the creator's keyword filter
  moderation_flags/{flag_id}               review queue
  moderation_audit/{id}                    append-only record of moderator/admin actions
  rate_limits/{hmac(ip)}                   per-IP API limiter (no raw IPs stored)

Contention: a user's bucket lives on that user's own document, so a flood from one user only
contends there; the stream-wide limit is spread over `stream_shards` documents. Each function
instance also keeps a `Gate`: requests for one bucket take their transaction one at a time,
and a bucket this instance saw empty is refused from memory until time refills it. That
refusal is sound across instances, because other instances only ever take tokens: the state
an instance last saw, refilled by elapsed time, bounds the true state from above.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from giftengine.moderation.bucket import BucketSpec, BucketState, Take, take

log = logging.getLogger("giftengine.chat")


def ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _state(raw: dict | None) -> BucketState | None:
    if not raw:
        return None
    return BucketState(tokens=float(raw["tokens"]), at=float(raw["at"]))


# A transaction that cannot get its document (lock wait, contention) means the same bucket is
# being hammered: answer "slow down" instead of an error.
_CONTENDED = (gexc.Aborted, gexc.Conflict, gexc.DeadlineExceeded, ValueError)
CONTENDED_RETRY_S = 1.0


class Gate:
    """Per-instance lock and last-seen state of each bucket (bounded LRU)."""

    def __init__(self, max_keys: int = 20_000, wait_s: float = 2.0):
        self._mu = threading.Lock()
        self._entries: OrderedDict[str, tuple[threading.Lock, BucketState | None]] = (
            OrderedDict())
        self.max_keys, self.wait_s = max_keys, wait_s

    def lock(self, key: str) -> threading.Lock:
        with self._mu:
            entry = self._entries.get(key)
            if entry is None:
                entry = (threading.Lock(), None)
                self._entries[key] = entry
                while len(self._entries) > self.max_keys:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
            return entry[0]

    def seen(self, key: str) -> BucketState | None:
        with self._mu:
            entry = self._entries.get(key)
            return entry[1] if entry else None

    def remember(self, key: str, state: BucketState) -> None:
        with self._mu:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries[key] = (entry[0], state)


class ChatRepo:
    def __init__(self, db: firestore.Client, gate: Gate | None = None):
        self.db = db
        self.gate = gate or Gate()

    # ---- references ---------------------------------------------------------------------
    def stream(self, stream_id: str):
        return self.db.collection("streams").document(stream_id)

    def user(self, stream_id: str, uid: str):
        return self.stream(stream_id).collection("chat_users").document(uid)

    def visible(self, stream_id: str, message_id: str):
        return self.stream(stream_id).collection("chat").document(message_id)

    def held(self, stream_id: str, message_id: str):
        return self.stream(stream_id).collection("chat_held").document(message_id)

    def flag(self, flag_id: str):
        return self.db.collection("moderation_flags").document(flag_id)

    # ---- reads --------------------------------------------------------------------------
    def keywords(self, stream_id: str) -> list[str]:
        snap = self.stream(stream_id).collection("chat_config").document("keywords").get()
        return list((snap.to_dict() or {}).get("keywords") or []) if snap.exists else []

    def chat_user(self, stream_id: str, uid: str) -> dict:
        snap = self.user(stream_id, uid).get()
        return snap.to_dict() or {} if snap.exists else {}

    def get_message(self, stream_id: str, message_id: str) -> tuple[str, dict] | None:
        """("visible" | "held", data) of a message, or None."""
        for where, ref in (("visible", self.visible(stream_id, message_id)),
                           ("held", self.held(stream_id, message_id))):
            snap = ref.get()
            if snap.exists:
                return where, snap.to_dict() or {}
        return None

    def get_flag(self, flag_id: str) -> dict | None:
        snap = self.flag(flag_id).get()
        return snap.to_dict() if snap.exists else None

    def list_messages(self, stream_id: str, held: bool, limit: int) -> list[dict]:
        coll = self.stream(stream_id).collection("chat_held" if held else "chat")
        q = coll.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
        return [d.to_dict() or {} for d in q.stream()]

    def list_flags(self, status: str | None, stream_id: str | None, limit: int) -> list[dict]:
        # Equality filters only (served by single-field indexes); newest first in memory.
        q: Any = self.db.collection("moderation_flags")
        if status:
            q = q.where(filter=firestore.FieldFilter("status", "==", status))
        if stream_id:
            q = q.where(filter=firestore.FieldFilter("stream_id", "==", stream_id))
        rows = [d.to_dict() or {} for d in q.limit(1000).stream()]
        rows.sort(key=lambda r: (epoch(r.get("created_at")) or 0.0, r["flag_id"]), reverse=True)
        return rows[:limit]

    def active_bans(self, stream_id: str, now: float, limit: int = 500) -> list[dict]:
        q = (self.stream(stream_id).collection("chat_users")
             .where(filter=firestore.FieldFilter("banned_until", ">", ts(now))).limit(limit))
        return [{"uid": d.id, **(d.to_dict() or {})} for d in q.stream()]

    # ---- throttling ---------------------------------------------------------------------
    def take_ip(self, ip_key: str, spec: BucketSpec, now: float) -> Take:
        return self._take(self.db.collection("rate_limits").document(ip_key), spec, now)

    def take_stream(self, stream_id: str, shard: int, spec: BucketSpec, now: float) -> Take:
        ref = self.stream(stream_id).collection("chat_flood").document(str(shard))
        return self._take(ref, spec, now)

    def _take(self, ref, spec: BucketSpec, now: float) -> Take:
        @firestore.transactional
        def run(txn) -> Take:
            snap = ref.get(transaction=txn)
            result = take(spec, _state((snap.to_dict() or {}).get("bucket")), now)
            if result.allowed:  # a refused request writes nothing: floods only read
                txn.set(ref, {"bucket": {"tokens": result.state.tokens, "at": now},
                              "updated_at": ts(now)}, merge=True)
            return result

        return self._gated(ref.path, spec, now, lambda: run(self.db.transaction(max_attempts=2)))

    def _gated(self, key: str, spec: BucketSpec, now: float, txn_take):
        """Refuse from memory when this instance knows the bucket is empty; otherwise run the
        transaction, one per bucket at a time in this instance."""
        seen = self.gate.seen(key)
        if seen is not None:
            estimate = take(spec, seen, now)
            if not estimate.allowed:
                return estimate
        lock = self.gate.lock(key)
        if not lock.acquire(timeout=self.gate.wait_s):
            return Take(False, seen or BucketState(0.0, now), CONTENDED_RETRY_S)
        try:
            seen = self.gate.seen(key)  # another thread may have learned it while we waited
            if seen is not None and not (estimate := take(spec, seen, now)).allowed:
                return estimate
            try:
                result = txn_take()
            except _CONTENDED as exc:
                log.warning("bucket %s contended (%s): answering 429", key, type(exc).__name__)
                return Take(False, seen or BucketState(0.0, now), CONTENDED_RETRY_S)
            taken = result[0] if isinstance(result, tuple) else result
            if taken is not None:
                self.gate.remember(key, taken.state)
            return result
        finally:
            lock.release()

    def take_user(self, stream_id: str, uid: str, spec: BucketSpec,
                  now: float) -> tuple[Take | None, float | None]:
        """One transaction on the user's own document: (token taken?, banned_until).
        A banned user takes no token (the first element is None)."""
        ref = self.user(stream_id, uid)

        @firestore.transactional
        def run(txn):
            snap = ref.get(transaction=txn)
            data = snap.to_dict() or {}
            until = epoch(data.get("banned_until"))
            if until is not None and until > now:
                return None, until
            result = take(spec, _state(data.get("bucket")), now)
            if result.allowed:
                txn.set(ref, {"uid": uid, "stream_id": stream_id,
                              "bucket": {"tokens": result.state.tokens, "at": now}}, merge=True)
            return result, until

        out = self._gated(ref.path, spec, now,
                          lambda: run(self.db.transaction(max_attempts=2)))
        return out if isinstance(out, tuple) else (out, None)

    # ---- bans ---------------------------------------------------------------------------
    def ban(self, stream_id: str, uid: str, now: float, duration_for, reason: str,
            by: str) -> tuple[float, int]:
        """Ban until now + duration_for(prior ban count); never shortens a longer ban.
        Returns (until, ban number)."""
        ref = self.user(stream_id, uid)

        @firestore.transactional
        def run(txn):
            data = ref.get(transaction=txn).to_dict() or {}
            count = int(data.get("ban_count") or 0)
            until = now + duration_for(count)
            current = epoch(data.get("banned_until")) or 0.0
            until = max(until, current)
            txn.set(ref, {"uid": uid, "stream_id": stream_id, "banned_until": ts(until),
                          "ban_count": count + 1, "ban_reason": reason, "banned_by": by,
                          "banned_at": ts(now)}, merge=True)
            return until, count + 1

        return run(self.db.transaction())

    def unban(self, stream_id: str, uid: str, now: float, by: str) -> bool:
        ref = self.user(stream_id, uid)
        snap = ref.get()
        until = epoch((snap.to_dict() or {}).get("banned_until")) if snap.exists else None
        if until is None or until <= now:
            return False
        ref.set({"banned_until": None, "unbanned_by": by, "unbanned_at": ts(now)}, merge=True)
        return True

    # ---- writes -------------------------------------------------------------------------
    def record(self, stream_id: str, message_id: str, visible: bool, message: dict,
               notice: dict | None, flag: dict | None) -> bool:
        """Create the message (and its notice and flag) atomically; False if the message id
        already exists (a retried send or a redelivered TikTok comment)."""
        batch = self.db.batch()
        ref = self.visible(stream_id, message_id) if visible else self.held(stream_id, message_id)
        batch.create(ref, message)
        if notice is not None:
            uid = message["uid"]
            batch.create(self.user(stream_id, uid).collection("notices").document(
                notice["notice_id"]), notice)
        if flag is not None:
            batch.create(self.flag(flag["flag_id"]), flag)
        try:
            batch.commit()
        except gexc.AlreadyExists:
            return False
        return True

    def add_notice(self, stream_id: str, uid: str, notice: dict) -> None:
        self.user(stream_id, uid).collection("notices").document(notice["notice_id"]).set(notice)

    def create_flag(self, flag: dict) -> bool:
        try:
            self.flag(flag["flag_id"]).create(flag)
        except gexc.AlreadyExists:
            return False
        return True

    def update_flag(self, flag_id: str, fields: dict) -> None:
        self.flag(flag_id).update(fields)

    def move_message(self, stream_id: str, message_id: str, to_visible: bool,
                     transform: Callable[[dict], dict]) -> bool:
        """Move a message between the visible and held collections in one transaction."""
        src = self.held(stream_id, message_id) if to_visible else self.visible(stream_id,
                                                                                  message_id)
        dst = self.visible(stream_id, message_id) if to_visible else self.held(stream_id,
                                                                                  message_id)

        @firestore.transactional
        def run(txn) -> bool:
            snap = src.get(transaction=txn)
            if not snap.exists:
                return False
            txn.set(dst, transform(snap.to_dict() or {}))
            txn.delete(src)
            return True

        return run(self.db.transaction())

    def set_keywords(self, stream_id: str, entries: list[str], by: str, now: float) -> None:
        self.stream(stream_id).collection("chat_config").document("keywords").set(
            {"keywords": entries, "updated_by": by, "updated_at": ts(now)})

    def audit(self, entry: dict) -> str:
        """Append-only: each entry is a new document created with a precondition."""
        audit_id = entry.get("audit_id") or uuid.uuid4().hex
        self.db.collection("moderation_audit").document(audit_id).create({**entry,
                                                                   "audit_id": audit_id})
        return audit_id
