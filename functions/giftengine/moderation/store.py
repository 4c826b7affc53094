"""The store the chat service runs on (a Protocol), and an in-memory implementation.

`repo.ChatRepo` is the Firestore adapter; `MemoryChatStore` runs the same service code in
memory for fast tests and behaves the same where the service depends on it: messages are
created once (a second create of the same id is a duplicate), a user's standing is written
only if nobody wrote that user's document since it was read (the version check), and bucket
takes are atomic. Neither holds a moderation rule: strikes and bans are decided in
`strikes`, actions in `rules`; the store reads and writes what it is told.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from giftengine.moderation.bucket import BucketSpec, BucketState, Take, take
from giftengine.moderation.strikes import Standing

Recorded = Literal["created", "duplicate", "conflict"]
Version = Any  # opaque: the Firestore update time, or a counter in memory
# A user's buckets in one stream, each a field of their chat_users document: the chat's
# messages, and the app's reaction requests (decision 094).
UserBucket = Literal["chat", "reactions"]
BUCKET_FIELDS: dict[str, str] = {"chat": "bucket", "reactions": "reaction_bucket"}


def ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


# ---- a user's standing as stored on streams/{s}/chat_users/{uid} ----------------------------
def standing_from_doc(doc: dict | None) -> Standing:
    doc = doc or {}
    strikes = doc.get("strikes") or {}
    return Standing(
        points=float(strikes.get("points") or 0.0),
        points_at=float(strikes.get("at") or 0.0),
        ban_count=int(doc.get("ban_count") or 0),
        banned_until=epoch(doc.get("banned_until")),
        last_ban_at=epoch(doc.get("banned_at")),
    )


def standing_fields(s: Standing) -> dict:
    return {
        "strikes": {"points": s.points, "at": s.points_at},
        "ban_count": s.ban_count,
        "banned_until": ts(s.banned_until) if s.banned_until is not None else None,
        "banned_at": ts(s.last_ban_at) if s.last_ban_at is not None else None,
    }


class StandingWrite:
    """A standing to write with the message, if the user's document is still at `version`.
    `note` adds fields such as ban_reason and banned_by."""

    def __init__(self, uid: str, standing: Standing, version: Version, note: dict | None = None):
        self.uid, self.standing, self.version, self.note = uid, standing, version, note or {}

    def fields(self, stream_id: str) -> dict:
        return {
            "uid": self.uid,
            "stream_id": stream_id,
            **standing_fields(self.standing),
            **self.note,
        }


class OutboxWrite:
    """An outbox entry (service/outbox.py) to commit with a message: `path` and `doc`."""

    def __init__(self, path: str, doc: dict):
        self.path, self.doc = path, doc


class ChatStore(Protocol):
    # reads
    def stream_rules(self, stream_id: str) -> tuple[list[str], dict | None]: ...
    def keywords(self, stream_id: str) -> list[str]: ...
    def standing(self, stream_id: str, uid: str) -> tuple[Standing, Version]: ...
    def get_message(self, stream_id: str, message_id: str) -> tuple[str, dict] | None: ...
    def get_flag(self, flag_id: str) -> dict | None: ...
    def list_messages(self, stream_id: str, held: bool, limit: int) -> list[dict]: ...
    def list_flags(self, status: str | None, stream_id: str | None, limit: int) -> list[dict]: ...
    def active_bans(self, stream_id: str, now: float, limit: int = 500) -> list[dict]: ...
    # throttling
    def take_ip(self, ip_key: str, spec: BucketSpec, now: float) -> Take: ...
    def take_stream(self, stream_id: str, shard: int, spec: BucketSpec, now: float) -> Take: ...
    def take_user(
        self, stream_id: str, uid: str, spec: BucketSpec, now: float, bucket: UserBucket = "chat"
    ) -> tuple[Take | None, float | None]: ...
    # writes
    def claim_reaction(self, stream_id: str, uid: str, key: str, record: dict) -> dict | None:
        """Create the record of a reaction key if it has none (None), else return the one
        it has, unchanged."""
        ...

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
    ) -> Recorded: ...
    def save_standing(self, stream_id: str, write: StandingWrite) -> bool: ...
    def add_notice(self, stream_id: str, uid: str, notice: dict) -> None: ...
    def create_flag(self, flag: dict) -> bool: ...
    def update_flag(self, flag_id: str, fields: dict) -> None: ...
    def move_message(
        self,
        stream_id: str,
        message_id: str,
        to_visible: bool,
        transform: Callable[[dict], dict],
        outbox: OutboxWrite | None = None,
    ) -> bool: ...
    def set_keywords(self, stream_id: str, entries: list[str], by: str, now: float) -> None: ...
    def set_moderation(self, stream_id: str, config: dict, by: str, now: float) -> None: ...
    def audit(self, entry: dict) -> str: ...


class MemoryChatStore:
    """Documents in a dict keyed by their Firestore path; one lock makes every method atomic."""

    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}
        self.versions: dict[str, int] = {}
        self._mu = threading.RLock()

    # ---- helpers --------------------------------------------------------------------------
    def _get(self, path: str) -> dict | None:
        d = self.docs.get(path)
        return copy.deepcopy(d) if d is not None else None

    def _put(self, path: str, data: dict, merge: bool = False) -> None:
        base = self.docs.get(path, {}) if merge else {}
        self.docs[path] = {**base, **copy.deepcopy(data)}
        self.versions[path] = self.versions.get(path, 0) + 1

    def _children(self, collection: str) -> list[tuple[str, dict]]:
        prefix = collection + "/"
        return [
            (p[len(prefix) :], copy.deepcopy(d))
            for p, d in self.docs.items()
            if p.startswith(prefix) and "/" not in p[len(prefix) :]
        ]

    @staticmethod
    def _user(stream_id: str, uid: str) -> str:
        return f"streams/{stream_id}/chat_users/{uid}"

    @staticmethod
    def _msg(stream_id: str, message_id: str, visible: bool) -> str:
        return f"streams/{stream_id}/{'chat' if visible else 'chat_held'}/{message_id}"

    # ---- reads ----------------------------------------------------------------------------
    def stream_rules(self, stream_id: str) -> tuple[list[str], dict | None]:
        with self._mu:
            kw = self._get(f"streams/{stream_id}/chat_config/keywords") or {}
            return list(kw.get("keywords") or []), self._get(
                f"streams/{stream_id}/chat_config/moderation"
            )

    def keywords(self, stream_id: str) -> list[str]:
        return self.stream_rules(stream_id)[0]

    def standing(self, stream_id: str, uid: str) -> tuple[Standing, Version]:
        with self._mu:
            path = self._user(stream_id, uid)
            doc = self._get(path)
            return standing_from_doc(doc), (self.versions.get(path) if doc else None)

    def get_message(self, stream_id: str, message_id: str) -> tuple[str, dict] | None:
        with self._mu:
            for where, visible in (("visible", True), ("held", False)):
                doc = self._get(self._msg(stream_id, message_id, visible))
                if doc is not None:
                    return where, doc
            return None

    def get_flag(self, flag_id: str) -> dict | None:
        return self._get(f"moderation_flags/{flag_id}")

    def list_messages(self, stream_id: str, held: bool, limit: int) -> list[dict]:
        coll = f"streams/{stream_id}/{'chat_held' if held else 'chat'}"
        with self._mu:
            rows = [d for _, d in self._children(coll)]
        rows.sort(key=lambda m: epoch(m.get("created_at")) or 0.0, reverse=True)
        return rows[:limit]

    def list_flags(self, status: str | None, stream_id: str | None, limit: int) -> list[dict]:
        with self._mu:
            rows = [
                d
                for _, d in self._children("moderation_flags")
                if (not status or d.get("status") == status)
                and (not stream_id or d.get("stream_id") == stream_id)
            ]
        rows.sort(key=lambda r: (epoch(r.get("created_at")) or 0.0, r["flag_id"]), reverse=True)
        return rows[:limit]

    def active_bans(self, stream_id: str, now: float, limit: int = 500) -> list[dict]:
        with self._mu:
            rows = [
                {"uid": uid, **d}
                for uid, d in self._children(f"streams/{stream_id}/chat_users")
                if (epoch(d.get("banned_until")) or 0.0) > now
            ]
        return rows[:limit]

    # ---- throttling -----------------------------------------------------------------------
    def _take(self, path: str, spec: BucketSpec, now: float, name: str = "bucket") -> Take:
        raw = (self._get(path) or {}).get(name)
        result = take(spec, BucketState(raw["tokens"], raw["at"]) if raw else None, now)
        if result.allowed:
            self._put(path, {name: {"tokens": result.state.tokens, "at": now}}, merge=True)
        return result

    def take_ip(self, ip_key: str, spec: BucketSpec, now: float) -> Take:
        with self._mu:
            return self._take(f"rate_limits/{ip_key}", spec, now)

    def take_stream(self, stream_id: str, shard: int, spec: BucketSpec, now: float) -> Take:
        with self._mu:
            return self._take(f"streams/{stream_id}/chat_flood/{shard}", spec, now)

    def take_user(
        self, stream_id: str, uid: str, spec: BucketSpec, now: float, bucket: UserBucket = "chat"
    ) -> tuple[Take | None, float | None]:
        with self._mu:
            path = self._user(stream_id, uid)
            until = epoch((self._get(path) or {}).get("banned_until"))
            if until is not None and until > now:
                return None, until
            result = self._take(path, spec, now, BUCKET_FIELDS[bucket])
            if result.allowed:
                self._put(path, {"uid": uid, "stream_id": stream_id}, merge=True)
            return result, until

    # ---- writes ---------------------------------------------------------------------------
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
        with self._mu:
            if self.get_message(stream_id, message_id) is not None:
                return "duplicate"
            if standing is not None and not self._current(stream_id, standing):
                return "conflict"
            self._put(self._msg(stream_id, message_id, visible), message)
            if notice is not None:
                self._put(
                    f"{self._user(stream_id, message['uid'])}/notices/{notice['notice_id']}", notice
                )
            if flag is not None:
                self._put(f"moderation_flags/{flag['flag_id']}", flag)
            if standing is not None:
                self._put(
                    self._user(stream_id, standing.uid), standing.fields(stream_id), merge=True
                )
            if outbox is not None:
                self._put(outbox.path, outbox.doc)
            return "created"

    def claim_reaction(self, stream_id: str, uid: str, key: str, record: dict) -> dict | None:
        with self._mu:
            path = f"{self._user(stream_id, uid)}/reaction_keys/{key}"
            existing = self._get(path)
            if existing is None:
                self._put(path, record)
            return existing

    def _current(self, stream_id: str, write: StandingWrite) -> bool:
        path = self._user(stream_id, write.uid)
        exists = path in self.docs
        return (write.version is None and not exists) or (
            exists and write.version == self.versions.get(path)
        )

    def save_standing(self, stream_id: str, write: StandingWrite) -> bool:
        with self._mu:
            if not self._current(stream_id, write):
                return False
            self._put(self._user(stream_id, write.uid), write.fields(stream_id), merge=True)
            return True

    def add_notice(self, stream_id: str, uid: str, notice: dict) -> None:
        with self._mu:
            self._put(f"{self._user(stream_id, uid)}/notices/{notice['notice_id']}", notice)

    def notices(self, stream_id: str, uid: str) -> list[dict]:
        with self._mu:
            return [d for _, d in self._children(f"{self._user(stream_id, uid)}/notices")]

    def create_flag(self, flag: dict) -> bool:
        with self._mu:
            path = f"moderation_flags/{flag['flag_id']}"
            if path in self.docs:
                return False
            self._put(path, flag)
            return True

    def update_flag(self, flag_id: str, fields: dict) -> None:
        with self._mu:
            path = f"moderation_flags/{flag_id}"
            if path not in self.docs:
                raise KeyError(f"no flag {flag_id}")  # Firestore's update raises NotFound
            self._put(path, fields, merge=True)

    def move_message(
        self,
        stream_id: str,
        message_id: str,
        to_visible: bool,
        transform: Callable[[dict], dict],
        outbox: OutboxWrite | None = None,
    ) -> bool:
        with self._mu:
            src = self._msg(stream_id, message_id, not to_visible)
            doc = self._get(src)
            if doc is None:
                return False
            self._put(self._msg(stream_id, message_id, to_visible), transform(doc))
            del self.docs[src]
            if outbox is not None:
                self._put(outbox.path, outbox.doc)
            return True

    # ---- the outbox's documents (service/outbox.OutboxStore) -----------------------------
    def get(self, path: str) -> dict | None:
        with self._mu:
            return self._get(path)

    def set(self, path: str, data: dict, merge: bool = False) -> None:
        with self._mu:
            self._put(path, data, merge=merge)

    def where(self, collection: str, field: str, op: str, value: Any) -> Iterator[tuple[str, dict]]:
        if op != "==":
            raise NotImplementedError(op)
        with self._mu:
            rows = [(i, d) for i, d in self._children(collection) if d.get(field) == value]
        yield from rows

    def set_keywords(self, stream_id: str, entries: list[str], by: str, now: float) -> None:
        with self._mu:
            self._put(
                f"streams/{stream_id}/chat_config/keywords",
                {"keywords": list(entries), "updated_by": by, "updated_at": ts(now)},
            )

    def set_moderation(self, stream_id: str, config: dict, by: str, now: float) -> None:
        with self._mu:
            self._put(
                f"streams/{stream_id}/chat_config/moderation",
                {**config, "updated_by": by, "updated_at": ts(now)},
            )

    def audit(self, entry: dict) -> str:
        with self._mu:
            audit_id = entry.get("audit_id") or uuid.uuid4().hex
            path = f"moderation_audit/{audit_id}"
            if path in self.docs:
                raise KeyError(f"audit entry {audit_id} exists")  # append-only
            self._put(path, {**entry, "audit_id": audit_id})
            return audit_id

    def audit_actions(self, stream_id: str) -> list[str]:
        with self._mu:
            return sorted(
                d["action"]
                for _, d in self._children("moderation_audit")
                if d.get("stream_id") == stream_id
            )
