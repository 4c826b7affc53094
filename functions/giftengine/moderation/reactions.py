"""App reaction buttons: what a request may say, and the `like` event it becomes. Pure.

An app viewer taps like, love, laugh or hype; the app batches the taps (e.g. one request a
second) and sends `POST /chat_api/streams/{s}/reactions` with its own idempotency key
(docs/engagement.md, "App reactions"; decision 094). The request becomes one `like` event
of the stream with `count` taps and the button as `reaction`, so it counts where likes
count (the stream's like total, XP, tap battles, hype trains with likes) and moves the
mood the button names (domain/mood.py `like_mood`).

- The event id is `react:` + a hash of (stream id, uid, key): the same key from the same
  viewer in the same stream is the same event whatever the request's other fields, so a
  retry publishes the same event id, which the pipeline records once.
- The first request with a key is kept as the key's record (`key_record`): a later request
  with that key and the same reaction and count is a retry (it publishes the recorded event
  again), with another reaction or count a conflict (409).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from giftengine.domain.events import EngagementEvent, Reaction, User
from giftengine.domain.ids import DocId

EVENT_PREFIX = "react:"
MAX_COUNT = 100  # taps in one request
# An idempotency key: 1-64 safe characters, and a document id (domain/ids.py: not "." or
# "..", not "__name__"), since it names the key's record.
KEY_PATTERN = r"^(?!\.\.?$)(?!__[\s\S]*__$)[A-Za-z0-9_.:-]{1,64}$"
# A key's record is kept as long as the event log keeps the event it produced (7 days,
# adapters/firestore_store.py), then Firestore's TTL deletes it (`expire_at`).
KEY_RETENTION_S = 7 * 86400


class ReactionRequest(BaseModel):
    """The body of `POST /streams/{s}/reactions`."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    key: DocId = Field(min_length=1, max_length=64, pattern=KEY_PATTERN)
    reaction: Reaction
    count: int = Field(default=1, ge=1, le=MAX_COUNT, strict=True)  # no "3", no true


def event_id(stream_id: str, uid: str, key: str) -> str:
    """The event of (stream, viewer, key): the same triple always, any other never (the
    parts are JSON-encoded, so no separator inside an id can make two triples collide)."""
    digest = hashlib.sha256(json.dumps([stream_id, uid, key]).encode()).hexdigest()
    return EVENT_PREFIX + digest[:40]


def like_event(
    stream_id: str,
    uid: str,
    name: str,
    creator_id: str | None,
    request: ReactionRequest,
    at: float,
) -> EngagementEvent:
    """The `like` event of an accepted request: the viewer as `user` (their uid and the name
    the chat shows for them), `source: app`, the stream's owner as `creator_id` (a reaction
    may be the stream's first event, which sets the live state's creator)."""
    return EngagementEvent(
        event_id=event_id(stream_id, uid, request.key),
        source="app",
        stream_id=stream_id,
        kind="like",
        occurred_at=datetime.fromtimestamp(at, UTC),
        user=User(id=uid, name=name[:256]),
        creator_id=creator_id,
        count=request.count,
        reaction=request.reaction,
    )


def key_record(event: EngagementEvent, key: str, at: float) -> dict[str, Any]:
    """The key's record: the event it produced (JSON form), kept until `expire_at`."""
    return {
        "key": key,
        "event": event.model_dump(mode="json", exclude_none=True),
        "created_at": datetime.fromtimestamp(at, UTC),
        "expire_at": datetime.fromtimestamp(at + KEY_RETENTION_S, UTC),
    }


def recorded_event(record: dict[str, Any]) -> EngagementEvent:
    return EngagementEvent.model_validate(record["event"])


def same_request(record: dict[str, Any], request: ReactionRequest) -> bool:
    """Whether `request` repeats the one the key's record holds (a retry) rather than
    reusing its key for another reaction or count (a conflict)."""
    event = record.get("event") or {}
    return event.get("reaction") == request.reaction and event.get("count", 1) == request.count
