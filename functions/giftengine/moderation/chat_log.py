"""Which app chat messages enter the stream's event log, and as what event. Pure.

An app chat message the moderation lets through (shown at once, or restored by a
moderator) becomes a `comment` EngagementEvent of its stream, so it earns comment XP, moves
the mood, votes in polls and runs chat commands like a TikTok comment (docs/engagement.md,
decision 092). A held or blocked message never does, unless a moderator restores it.

- The event id is `chat:<message id>`: a retried send (same client id, same message id), a
  duplicate publish and a repeated restore all name the same event, which the pipeline
  records once.
- `occurred_at` is when the message was sent (`created_at`), also for one restored later:
  the event says when the viewer said it.
- TikTok comments are in the log already (the ingest publishes them, moderation reads them
  from there): restoring one publishes nothing, and moderation does not score an app
  comment a second time when it comes back from the log (`moderate_from_log`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from giftengine.domain.events import EngagementEvent, User

# Actions of a message on the public feed (rules.Verdict.visible).
VISIBLE_ACTIONS = frozenset({"allow", "warn"})
EVENT_PREFIX = "chat:"
# An outbox entry is kept as long as the event log keeps the record it produced (7 days,
# adapters/firestore_store.py), then Firestore's TTL deletes it (`expire_at`).
OUTBOX_RETENTION_S = 7 * 86400


def event_id(message_id: str) -> str:
    return EVENT_PREFIX + message_id


def enters_log(message: dict[str, Any], visible: bool) -> bool:
    """A visible app message enters the log; held, blocked and hidden ones do not, and a
    TikTok message is there already."""
    return visible and message.get("source") == "app" and message.get("action") in VISIBLE_ACTIONS


def comment_event(message: dict[str, Any], creator_id: str | None) -> EngagementEvent:
    """The `comment` event of a chat message document (moderation/service.py's fields).
    `creator_id` is the stream's owner when it has an ownership record: a chat message may
    be the stream's first event, which sets the live state's creator."""
    sent = message["created_at"]
    if not isinstance(sent, datetime):
        sent = datetime.fromtimestamp(float(sent), UTC)
    return EngagementEvent(
        event_id=event_id(message["message_id"]),
        source="app",
        stream_id=message["stream_id"],
        kind="comment",
        occurred_at=sent,
        user=User(
            id=message["uid"],
            name=(message.get("name") or "")[:256],
            linked_tiktok_id=message.get("linked_tiktok_id") or None,
        ),
        creator_id=creator_id,
        text=message["text"],
    )


def moderate_from_log(event: EngagementEvent) -> bool:
    """Moderation scores the comments it reads from the log only when they come from TikTok:
    an app comment in the log was scored when it was sent, and is there because it passed."""
    return event.kind == "comment" and event.source == "tiktok" and event.user is not None
