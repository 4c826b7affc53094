"""Firestore adapter for chat and moderation. Layout (docs/moderation.md):

  streams/{s}/chat/{message_id}            visible messages (public read)
  streams/{s}/chat_held/{message_id}       held messages with score and action (moderators)
  streams/{s}/chat_users/{uid}             bucket + ban of one user in one stream
  streams/{s}/chat_users/{uid}/notices/{id} warnings and holds for the sender
  streams/{s}/chat_users/{uid}/reaction_keys/{key}  an app reaction's key and its event
  streams/{s}/chat_flood/{k}               stream-wide flood-control shards
  streams/{s}/chat_config/keywords         the creator's keyword filter
  streams/{s}/chat_config/moderation       the creator's strictness level and overrides
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
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from giftengine.moderation.bucket import BucketSpec, BucketState, Take, take
from giftengine.moderation.store import (
    BUCKET_FIELDS,
    OutboxWrite,
    Recorded,
    StandingWrite,
    UserBucket,
    Version,
    epoch,
    standing_from_doc,
    ts,
)
from giftengine.moderation.strikes import Standing

log = logging.getLogger("giftengine.chat")
__all__ = ["ChatRepo", "Gate", "epoch", "ts"]


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
        self._entries: OrderedDict[str, tuple[threading.Lock, BucketState | None]] = OrderedDict()
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
    def config(self, stream_id: str, name: str):
        return self.stream(stream_id).collection("chat_config").document(name)

    def stream_rules(self, stream_id: str) -> tuple[list[str], dict | None]:
        """The keyword list and the moderation config, in one round trip."""
        kw_ref, cfg_ref = self.config(stream_id, "keywords"), self.config(stream_id, "moderation")
        snaps = {s.reference.path: s for s in self.db.get_all([kw_ref, cfg_ref])}
        kw, cfg = snaps.get(kw_ref.path), snaps.get(cfg_ref.path)
        keywords = list((kw.to_dict() or {}).get("keywords") or []) if kw and kw.exists else []
        return keywords, (cfg.to_dict() if cfg and cfg.exists else None)

    def keywords(self, stream_id: str) -> list[str]:
        snap = self.config(stream_id, "keywords").get()
        return list((snap.to_dict() or {}).get("keywords") or []) if snap.exists else []

    def standing(self, stream_id: str, uid: str) -> tuple[Standing, Version]:
        snap = self.user(stream_id, uid).get()
        if not snap.exists:
            return Standing(), None
        return standing_from_doc(snap.to_dict()), snap.update_time

    def get_message(self, stream_id: str, message_id: str) -> tuple[str, dict] | None:
        """("visible" | "held", data) of a message, or None."""
        for where, ref in (
            ("visible", self.visible(stream_id, message_id)),
            ("held", self.held(stream_id, message_id)),
        ):
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
        q = (
            self.stream(stream_id)
            .collection("chat_users")
            .where(filter=firestore.FieldFilter("banned_until", ">", ts(now)))
            .limit(limit)
        )
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
                txn.set(
                    ref,
                    {"bucket": {"tokens": result.state.tokens, "at": now}, "updated_at": ts(now)},
                    merge=True,
                )
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

    def take_user(
        self, stream_id: str, uid: str, spec: BucketSpec, now: float, bucket: UserBucket = "chat"
    ) -> tuple[Take | None, float | None]:
        """One transaction on the user's own document: (token taken?, banned_until).
        A banned user takes no token (the first element is None). `bucket` picks the
        document's bucket field (the chat's or the reactions')."""
        ref = self.user(stream_id, uid)
        name = BUCKET_FIELDS[bucket]

        @firestore.transactional
        def run(txn):
            snap = ref.get(transaction=txn)
            data = snap.to_dict() or {}
            until = epoch(data.get("banned_until"))
            if until is not None and until > now:
                return None, until
            result = take(spec, _state(data.get(name)), now)
            if result.allowed:
                txn.set(
                    ref,
                    {
                        "uid": uid,
                        "stream_id": stream_id,
                        name: {"tokens": result.state.tokens, "at": now},
                    },
                    merge=True,
                )
            return result, until

        key = ref.path if bucket == "chat" else f"{ref.path}#{name}"  # the Gate's memory
        out = self._gated(key, spec, now, lambda: run(self.db.transaction(max_attempts=2)))
        return out if isinstance(out, tuple) else (out, None)

    def claim_reaction(self, stream_id: str, uid: str, key: str, record: dict) -> dict | None:
        """Create the key's record (a create precondition); if it exists, read it."""
        ref = self.user(stream_id, uid).collection("reaction_keys").document(key)
        try:
            ref.create(record)
            return None
        except gexc.AlreadyExists:
            return ref.get().to_dict() or {}

    # ---- writes -------------------------------------------------------------------------
    def record(
        self,
        stream_id: str,
        message_id: str,
        visible: bool,
        message: dict,
        notice: dict | None,
        flag: dict | None,
        standing: StandingWrite | None = None,
        outbox: OutboxWrite | None = None,
    ) -> Recorded:
        """Create the message (and its notice, flag, the sender's new standing and its outbox
        entry) in one batch: "duplicate" if the message id already exists (a retried send or
        a redelivered TikTok comment), "conflict" if the sender's document changed since
        `standing` was read (the caller reads again and recomputes)."""
        batch = self.db.batch()
        ref = self.visible(stream_id, message_id) if visible else self.held(stream_id, message_id)
        batch.create(ref, message)
        if notice is not None:
            uid = message["uid"]
            batch.create(
                self.user(stream_id, uid).collection("notices").document(notice["notice_id"]),
                notice,
            )
        if flag is not None:
            batch.create(self.flag(flag["flag_id"]), flag)
        if standing is not None:
            self._write_standing(batch, stream_id, standing)
        if outbox is not None:
            batch.create(self.db.document(outbox.path), outbox.doc)
        try:
            batch.commit()
        except gexc.AlreadyExists:
            if (
                standing is not None
                and standing.version is None
                and self.get_message(stream_id, message_id) is None
            ):
                return "conflict"  # the user's document was created meanwhile
            return "duplicate"
        except (gexc.FailedPrecondition, gexc.NotFound):
            return "conflict"
        return "created"

    def _write_standing(self, batch, stream_id: str, write: StandingWrite) -> None:
        ref = self.user(stream_id, write.uid)
        if write.version is None:
            batch.create(ref, write.fields(stream_id))
        else:
            batch.update(
                ref,
                write.fields(stream_id),
                option=self.db.write_option(last_update_time=write.version),
            )

    def save_standing(self, stream_id: str, write: StandingWrite) -> bool:
        """Write a standing if the user's document is unchanged since it was read."""
        batch = self.db.batch()
        self._write_standing(batch, stream_id, write)
        try:
            batch.commit()
        except (gexc.AlreadyExists, gexc.FailedPrecondition, gexc.NotFound):
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

    def move_message(
        self,
        stream_id: str,
        message_id: str,
        to_visible: bool,
        transform: Callable[[dict], dict],
        outbox: OutboxWrite | None = None,
    ) -> bool:
        """Move a message between the visible and held collections in one transaction (with
        its outbox entry, written whole: a second restore writes the same event again)."""
        src = (
            self.held(stream_id, message_id) if to_visible else self.visible(stream_id, message_id)
        )
        dst = (
            self.visible(stream_id, message_id) if to_visible else self.held(stream_id, message_id)
        )

        @firestore.transactional
        def run(txn) -> bool:
            snap = src.get(transaction=txn)
            if not snap.exists:
                return False
            txn.set(dst, transform(snap.to_dict() or {}))
            txn.delete(src)
            if outbox is not None:
                txn.set(self.db.document(outbox.path), outbox.doc)
            return True

        return run(self.db.transaction())

    def set_keywords(self, stream_id: str, entries: list[str], by: str, now: float) -> None:
        self.config(stream_id, "keywords").set(
            {"keywords": entries, "updated_by": by, "updated_at": ts(now)}
        )

    def set_moderation(self, stream_id: str, config: dict, by: str, now: float) -> None:
        self.config(stream_id, "moderation").set(
            {**config, "updated_by": by, "updated_at": ts(now)}
        )

    def audit(self, entry: dict) -> str:
        """Append-only: each entry is a new document created with a precondition."""
        audit_id = entry.get("audit_id") or uuid.uuid4().hex
        self.db.collection("moderation_audit").document(audit_id).create(
            {**entry, "audit_id": audit_id}
        )
        return audit_id
