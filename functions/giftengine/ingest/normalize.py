"""TikTokLive events -> EngagementEvents. No I/O: one decoded TikTok message in, at most one
EngagementEvent out, with an event id that is a pure function of TikTok's message id.

The ids (`model.stream_id`, `model.event_id`, docs/ingest.md) are pure functions of the room
and TikTok's message id.
Follow and share come only from `SocialEvent`: TikTokLive also emits `FollowEvent`/`ShareEvent`
for the same message, and the worker does not listen to those.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from TikTokLive.events import (
    CommentEvent,
    GiftEvent,
    JoinEvent,
    LikeEvent,
    LiveEndEvent,
    RoomUserSeqEvent,
    SocialEvent,
)
from TikTokLive.proto.proto_utils import common_display_type

from giftengine.domain.events import EngagementEvent
from giftengine.ingest.model import Normalized, event_id, stream_id, stream_marker

# The event classes the worker subscribes to (FollowEvent/ShareEvent deliberately absent).
HANDLED = (
    GiftEvent,
    LikeEvent,
    CommentEvent,
    SocialEvent,
    JoinEvent,
    RoomUserSeqEvent,
    LiveEndEvent,
)

# WebcastSocialMessage.action values when the display marker is missing.
_FOLLOW_ACTIONS = {1}
_SHARE_ACTIONS = {2, 3}


def message_key(ev: Any) -> str:
    """TikTok's message id; for the rare message without one, a digest of its bytes."""
    common = getattr(ev, "common", None)
    msg_id = int(getattr(common, "msg_id", 0) or 0)
    if msg_id:
        return str(msg_id)
    return "h" + hashlib.sha256(bytes(ev)).hexdigest()[:24]


def _occurred(ev: Any, now: datetime | None) -> datetime:
    common = getattr(ev, "common", None)
    ms = int(getattr(common, "create_time", 0) or 0)
    if ms > 0:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    return now or datetime.now(UTC)


def _user(ev: Any) -> dict | None:
    u = getattr(ev, "user", None)
    if u is None or not int(getattr(u, "id", 0) or 0):
        return None
    return {
        "id": str(u.id),
        "handle": (getattr(u, "display_id", "") or "")[:256],
        "name": (getattr(u, "nickname", "") or "")[:256],
    }


def social_kind(ev: Any) -> str | None:
    marker = common_display_type(getattr(ev, "common", None)).lower()
    if "follow" in marker:
        return "follow"
    if "share" in marker:
        return "share"
    action = int(getattr(ev, "action", 0) or 0)
    if action in _FOLLOW_ACTIONS:
        return "follow"
    if action in _SHARE_ACTIONS:
        return "share"
    return None


def normalize(
    ev: Any, room_id: int, creator_id: str, now: datetime | None = None
) -> Normalized | None:
    """The EngagementEvent for one TikTokLive event, or None for what the product ignores."""
    key = message_key(ev)
    base: dict[str, Any] = {
        "event_id": event_id(room_id, key),
        "source": "tiktok",
        "stream_id": stream_id(room_id),
        "occurred_at": _occurred(ev, now),
        "creator_id": creator_id,
    }
    keys: tuple[str, ...] = (key,)
    if isinstance(ev, LiveEndEvent):  # before ControlEvent-derived checks
        return Normalized(
            stream_marker("stream_end", room_id, creator_id, base["occurred_at"]), (key,)
        )
    user = _user(ev)
    if isinstance(ev, GiftEvent):
        g = ev.gift
        if user is None or g is None:
            return None
        gift_id = int(getattr(g, "id", 0) or ev.gift_id or 0)
        if not gift_id:
            return None
        streakable = int(getattr(g, "type", 0) or 0) == 1
        repeat_end = bool(ev.repeat_end) or not streakable
        group_id = str(ev.group_id) if ev.group_id else ""
        count = max(1, int(ev.repeat_count or 1))
        if streakable and repeat_end and group_id:  # without a group id, finals are not tied
            keys = (key, f"final:{user['id']}:{gift_id}:{group_id}:{count}")
        payload = {
            **base,
            "kind": "gift",
            "user": user,
            "gift": {
                "id": str(gift_id),
                "name": (g.name or "")[:256],
                "coins": max(0, int(g.diamond_count or 0)),
                "streakable": streakable,
            },
            "repeat_count": min(count, 100_000),
            "repeat_end": repeat_end,
            "group_id": group_id,
        }
    elif isinstance(ev, LikeEvent):
        if user is None:
            return None
        payload = {
            **base,
            "kind": "like",
            "user": user,
            "count": min(max(1, int(ev.count or 1)), 1_000_000),
        }
    elif isinstance(ev, CommentEvent):
        if user is None:
            return None
        payload = {**base, "kind": "comment", "user": user, "text": (ev.content or "")[:2000]}
    elif isinstance(ev, SocialEvent):
        kind = social_kind(ev)
        if user is None or kind is None:
            return None
        payload = {**base, "kind": kind, "user": user}
    elif isinstance(ev, JoinEvent):
        if user is None:
            return None
        payload = {**base, "kind": "join", "user": user}
    elif isinstance(ev, RoomUserSeqEvent):
        viewers = int(ev.total or 0) or int(getattr(ev, "total_user", 0) or 0)
        payload = {**base, "kind": "viewers", "viewers": max(0, viewers)}
    else:
        return None
    return Normalized(EngagementEvent.model_validate(payload), keys)
