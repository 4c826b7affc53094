"""The ingest's plain values, no I/O and no TikTokLive: the ids of a TikTok room's stream and
events, the stream markers, a normalized message, a creator's lease and why a connection
attempt failed. The worker and the creator session (the service) decide with these; the
TikTokLive adapter (`source.py`, `normalize.py`) and the Firestore leases (`leases.py`)
produce them.

Ids (docs/ingest.md):
- stream_id  = f"tiktok-{room_id}"          (one TikTok LIVE room is one stream)
- event_id   = f"tiktok:{room_id}:{msg_id}"  (msg_id from the message's `common` block)
- stream_start / stream_end have one fixed id per room (`...:start`, `...:end`), so a reconnect,
  a restart or a second instance can never start or end a stream twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from giftengine.domain.events import EngagementEvent


def stream_id(room_id: int) -> str:
    return f"tiktok-{room_id}"


def event_id(room_id: int, msg_key: str) -> str:
    return f"tiktok:{room_id}:{msg_key}"


def stream_marker(kind: str, room_id: int, creator_id: str, at: datetime) -> EngagementEvent:
    """stream_start / stream_end: one per room, whatever happens to connections."""
    suffix = "start" if kind == "stream_start" else "end"
    return EngagementEvent(
        event_id=event_id(room_id, suffix),
        source="tiktok",
        stream_id=stream_id(room_id),
        kind=kind,
        occurred_at=at,
        creator_id=creator_id,
    )


@dataclass(frozen=True)
class Normalized:
    event: EngagementEvent
    # Keys the dedupe window remembers: the message key, plus for a streak's final message a
    # key of the streak itself (TikTok re-sends finals, sometimes under a new message id).
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Lease:
    """A worker instance's hold on a creator; `token` fences writes of an earlier holder."""

    creator_id: str
    holder: str
    token: int
    expires_at: float


@dataclass
class Failure(Exception):
    """Why a connection attempt did not produce a live connection."""

    kind: str  # "offline" | "rate_limited" | "permanent" | "transient"
    code: str
    reason: str
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return f"{self.kind}/{self.code}: {self.reason}"
