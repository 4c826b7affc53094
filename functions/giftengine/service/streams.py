"""Stream ownership use cases: create an app stream, record a TikTok room for its linked
creator, read who holds powers on a stream, appoint and dismiss a creator's moderators.

Rules live in `giftengine.domain.access`; storage behind `OwnershipRepo` (Firestore:
`giftengine.adapters.ownership`, in memory: `MemoryOwnership`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from giftengine.domain import access
from giftengine.domain.access import Actor, StreamAccess, StreamOwner


class Conflict(Exception):
    """The stream id belongs to another creator (409)."""


class NotFound(Exception):
    pass


class OwnershipRepo(Protocol):
    def get(self, stream_id: str) -> StreamOwner | None: ...

    def create(self, owner: StreamOwner, by: str, at: datetime) -> tuple[StreamOwner, bool]:
        """Create the record unless one exists (create precondition); returns the record
        that holds and whether this call created it."""
        ...

    def moderators(self, creator_id: str) -> list[dict[str, Any]]: ...

    def appoint(self, creator_id: str, uid: str, by: str, at: datetime) -> bool: ...

    def dismiss(self, creator_id: str, uid: str) -> bool: ...


def owner_view(o: StreamOwner) -> dict[str, Any]:
    return {
        "stream_id": o.stream_id,
        "creator_id": o.creator_id,
        "source": o.source,
        "tiktok_username": o.tiktok_username,
        "title": o.title,
    }


def create_stream(
    repo: OwnershipRepo,
    actor: Actor,
    stream_id: str | None,
    title: str,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """An app stream owned by the caller. Re-creating one's own stream is a no-op (200);
    an id another creator holds is a Conflict; ids the ingest worker names are Forbidden."""
    sid = stream_id or f"s-{secrets.token_hex(8)}"
    if not access.may_create_stream(sid):
        raise access.Forbidden(
            f"stream ids starting with {access.RESERVED_STREAM_PREFIXES} "
            "are named by the ingest worker"
        )
    owner, created = repo.create(
        StreamOwner(sid, actor.uid, "app", None, title), actor.uid, now or datetime.now(UTC)
    )
    if owner.creator_id != actor.uid:
        raise Conflict(f"stream {sid} belongs to another creator; choose another id")
    return owner_view(owner), created


def record_tiktok_stream(
    repo: OwnershipRepo, stream_id: str, owner_uid: str, username: str, now: datetime | None = None
) -> StreamOwner:
    """The ingest worker's record of a TikTok LIVE room for the creator linked to the
    account. The first record holds."""
    owner, _ = repo.create(
        StreamOwner(stream_id, owner_uid, "tiktok", username), "ingest", now or datetime.now(UTC)
    )
    return owner


def get_stream(repo: OwnershipRepo, stream_id: str) -> dict[str, Any]:
    owner = repo.get(stream_id)
    if owner is None:
        raise NotFound(f"stream {stream_id} has no ownership record")
    return owner_view(owner)


def stream_access(repo: OwnershipRepo, stream_id: str) -> StreamAccess:
    owner = repo.get(stream_id)
    mods = [m["uid"] for m in repo.moderators(owner.creator_id)] if owner else []
    return StreamAccess.of(stream_id, owner, mods)


def list_moderators(repo: OwnershipRepo, actor: Actor, creator_id: str) -> list[dict[str, Any]]:
    access.require_self_or_admin(actor, creator_id)
    return repo.moderators(creator_id)


def appoint_moderator(
    repo: OwnershipRepo, actor: Actor, creator_id: str, uid: str, now: datetime | None = None
) -> tuple[dict[str, Any], bool]:
    access.require_self_or_admin(actor, creator_id)
    if uid == creator_id:
        raise Conflict("a creator already moderates their own streams")
    if len(repo.moderators(creator_id)) >= access.MAX_CREATOR_MODERATORS and not any(
        m["uid"] == uid for m in repo.moderators(creator_id)
    ):
        raise Conflict(f"at most {access.MAX_CREATOR_MODERATORS} moderators per creator")
    created = repo.appoint(creator_id, uid, actor.uid, now or datetime.now(UTC))
    return {"creator_id": creator_id, "uid": uid}, created


def dismiss_moderator(repo: OwnershipRepo, actor: Actor, creator_id: str, uid: str) -> dict:
    access.require_self_or_admin(actor, creator_id)
    if not repo.dismiss(creator_id, uid):
        raise NotFound(f"{uid} is not a moderator of {creator_id}")
    return {"creator_id": creator_id, "uid": uid, "dismissed": True}


@dataclass
class MemoryOwnership:
    """In-memory OwnershipRepo for service tests."""

    owners: dict[str, StreamOwner] = field(default_factory=dict)
    mods: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def get(self, stream_id: str) -> StreamOwner | None:
        return self.owners.get(stream_id)

    def create(self, owner: StreamOwner, by: str, at: datetime) -> tuple[StreamOwner, bool]:
        if owner.stream_id in self.owners:
            return self.owners[owner.stream_id], False
        self.owners[owner.stream_id] = owner
        return owner, True

    def moderators(self, creator_id: str) -> list[dict[str, Any]]:
        return sorted(self.mods.get(creator_id, {}).values(), key=lambda m: m["uid"])

    def appoint(self, creator_id: str, uid: str, by: str, at: datetime) -> bool:
        bucket = self.mods.setdefault(creator_id, {})
        if uid in bucket:
            return False
        bucket[uid] = {"uid": uid, "appointed_by": by, "appointed_at": at}
        return True

    def dismiss(self, creator_id: str, uid: str) -> bool:
        return self.mods.get(creator_id, {}).pop(uid, None) is not None
