"""Who may do what: the one definition of each role and of stream ownership (pure).

Roles come from Firebase Auth custom claims set by the backend (Admin SDK). A role holds only
when its claim is exactly `true`, the same test firestore.rules makes (`hasClaim`): a claim of
`"yes"`, `1` or `["x"]` grants nothing.

- `admin` (claim): everything, everywhere.
- `moderator` (claim): staff moderator of every stream's chat.
- creator of a stream: the Firebase uid in the stream's ownership record
  (`stream_owners/{stream_id}.creator_id`), written by the server only: by
  `POST /api/streams` for an app stream (the caller becomes its creator), or by the ingest
  worker for a TikTok LIVE room of an account linked to that uid (`ingest_targets.owner_uid`).
  The `creator_id` of a stream's first event never decides ownership.
- creator moderator: a uid the creator appointed (`creators/{creator_id}/moderators/{uid}`);
  moderates that creator's streams only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ADMIN, MODERATOR = "admin", "moderator"
# Stream ids the ingest worker names (`tiktok-{room_id}`): an app stream cannot take one.
RESERVED_STREAM_PREFIXES = ("tiktok-",)
MAX_CREATOR_MODERATORS = 50

StreamRole = Literal["admin", "moderator", "creator", "creator_moderator"]


class Forbidden(Exception):
    """Authenticated but not allowed (maps to 403)."""


def has_role(claims: Mapping[str, Any], role: str) -> bool:
    return claims.get(role) is True


@dataclass(frozen=True)
class Actor:
    """A signed-in caller with the roles their token grants."""

    uid: str
    admin: bool = False
    moderator: bool = False
    # The TikTok account the user linked (the `tiktok_id` claim): they are that TikTok
    # viewer too, so a poll counts them once whichever way they vote.
    tiktok_id: str | None = None

    @classmethod
    def from_claims(cls, uid: str, claims: Mapping[str, Any]) -> Actor:
        linked = claims.get("tiktok_id")
        return cls(
            uid=uid,
            admin=has_role(claims, ADMIN),
            moderator=has_role(claims, MODERATOR),
            tiktok_id=linked if isinstance(linked, str) and linked else None,
        )

    @property
    def is_staff(self) -> bool:
        return self.admin or self.moderator

    def roles(self) -> list[str]:
        return [r for r, on in ((ADMIN, self.admin), (MODERATOR, self.moderator)) if on]


@dataclass(frozen=True)
class StreamOwner:
    """The ownership record of one stream."""

    stream_id: str
    creator_id: str  # Firebase uid
    source: Literal["app", "tiktok"] = "app"
    tiktok_username: str | None = None
    title: str = ""


@dataclass(frozen=True)
class StreamAccess:
    """What decides creator powers on a stream: its owner (None: no record) and the uids
    the owner appointed as moderators."""

    stream_id: str
    creator_id: str | None
    moderators: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls, stream_id: str, owner: StreamOwner | None, moderators: Iterable[str] = ()
    ) -> StreamAccess:
        return cls(stream_id, owner.creator_id if owner else None, frozenset(moderators))


def stream_role(actor: Actor, access: StreamAccess) -> StreamRole | None:
    """The strongest role `actor` holds on the stream, or None."""
    if actor.admin:
        return "admin"
    if actor.moderator:
        return "moderator"
    if access.creator_id is not None and actor.uid == access.creator_id:
        return "creator"
    if access.creator_id is not None and actor.uid in access.moderators:
        return "creator_moderator"
    return None


def require_stream_moderator(actor: Actor, access: StreamAccess) -> StreamRole:
    """Moderation of one stream (held messages, bans, flags, keywords): staff, the stream's
    creator or a moderator the creator appointed. Returns the role for the audit log."""
    role = stream_role(actor, access)
    if role is None:
        raise Forbidden(
            "only moderators, admins, the stream's creator and the moderators "
            "the creator appointed may do this"
        )
    return role


def require_stream_creator(actor: Actor, access: StreamAccess) -> StreamRole:
    """Creator powers that are not moderation (goals): the creator or an admin."""
    role = stream_role(actor, access)
    if role not in ("admin", "creator"):
        raise Forbidden("only the stream's creator or an admin may do this")
    return role


def require_self_or_admin(actor: Actor, creator_id: str) -> None:
    """A creator's own settings and moderators: that creator or an admin."""
    if not (actor.admin or actor.uid == creator_id):
        raise Forbidden("only the creator or an admin may change this")


def may_manage_ingest_target(
    actor: Actor, claims: Mapping[str, Any], username: str, owner_uid: str | None
) -> bool:
    """A TikTok account's ingest target: admins, the account's recorded owner (a Firebase
    uid), a user whose `creator_id` claim names the account (a string or a list of them), or
    a user whose uid is the username itself."""
    if actor.admin or actor.uid == username or (owner_uid is not None and actor.uid == owner_uid):
        return True
    claim = claims.get("creator_id")
    return claim == username or (isinstance(claim, list) and username in claim)


def may_create_stream(stream_id: str) -> bool:
    return not stream_id.startswith(RESERVED_STREAM_PREFIXES)


def gift_recipient(owner: StreamOwner | None, named_creator: str | None) -> str:
    """The creator credited for an app gift to a stream: its recorded owner. Raises
    LookupError (no record) or ValueError (the request names another creator)."""
    if owner is None:
        raise LookupError(
            "stream has no ownership record: its creator creates it with "
            "POST /api/streams (TikTok streams: the ingest worker)"
        )
    if named_creator and named_creator != owner.creator_id:
        raise ValueError(f"stream {owner.stream_id} belongs to another creator")
    return owner.creator_id
