"""Which stream a creator is live on now: the pointer a creator-scoped overlay follows.

`live_pointers/{creator_id}` (docs/firestore.md, decision 060) holds the creator's live
streams as a map `streams.{stream_id} -> {stream_id, source, started_at, since}`. The rollup
changes it in the same commit as the stream's state, and only when the stream's status
changes: when the stream is first seen (live) and when it ends. A stream's entry is only ever
added by its own first rollup (or its ownership record, for a TikTok room) and removed by the
rollup that ends it, so the map needs no read to stay right whatever the order in which two
streams of one creator start and end.

The key is the stream's owner (`stream_owners/{stream_id}.creator_id`, a Firebase uid) when
the stream has an ownership record, else the `creator_id` its events carry (server-side
publishers such as the demo). On the end the entry is removed under both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Which entry is the creator's current stream, for a server-side reader (a points redemption
# entering the stream's log: docs/engagement.md, "Command gifts"). The overlay's rule
# (decision 063) with its defaults: the newest entry by `since`, passing over a stream whose
# live document says it ended, or has not been updated for STALE_S, or is still missing
# UNSEEN_GRACE_S after the entry was written (an entry may come before the first live
# document). Only the CANDIDATES newest entries are looked at (one document read each).
STALE_S = 120 * 60.0
UNSEEN_GRACE_S = 20.0
CANDIDATES = 3


@dataclass(frozen=True)
class PointerChange:
    creator_id: str
    stream_id: str
    entry: dict | None  # None: remove the stream (it ended)


def status_changed(status_before: str | None, state) -> bool:
    """Whether this rollup may change a pointer (cheap: decides whether to read the owner)."""
    if status_before == state.status:
        return False
    return not (status_before is None and state.status == "ended")


def pointer_changes(status_before: str | None, state, owner_uid: str | None) -> list[PointerChange]:
    """The changes to creators' pointers after a rollup of `state` (a StreamState), given the
    stream's status before it (None: the stream had no state yet) and its owner's uid."""
    if not status_changed(status_before, state):
        return []
    keys = [k for k in dict.fromkeys([owner_uid, state.creator_id]) if k]
    if state.status == "ended":
        return [PointerChange(k, state.stream_id, None) for k in keys]
    entry = {"stream_id": state.stream_id, "source": state.source, "started_at": state.started_at}
    return [PointerChange(keys[0], state.stream_id, entry)] if keys else []


def _ts(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def newest_first(pointer: dict | None, limit: int = CANDIDATES) -> list[str]:
    """The pointer's stream ids, newest first (by `since`, then `started_at`, then id: the
    overlay's order), at most `limit`."""
    entries = [
        e
        for e in ((pointer or {}).get("streams") or {}).values()
        if isinstance(e, dict) and isinstance(e.get("stream_id"), str) and e["stream_id"]
    ]
    entries.sort(
        key=lambda e: (_ts(e.get("since")) or 0.0, str(e.get("started_at") or ""), e["stream_id"]),
        reverse=True,
    )
    return [e["stream_id"] for e in entries[:limit]]


def current_stream(
    pointer: dict | None,
    streams: Mapping[str, dict | None],
    now: float,
    stale_s: float = STALE_S,
    grace_s: float = UNSEEN_GRACE_S,
) -> str | None:
    """The stream the creator is live on now, or None: the newest of `newest_first(pointer)`
    whose live document (`streams[stream_id]`, None when missing) is neither ended nor silent
    for `stale_s`; a missing document counts only within `grace_s` of the entry's `since`."""
    entries = (pointer or {}).get("streams") or {}
    for sid in newest_first(pointer):
        doc = streams.get(sid)
        if doc is None:
            since = _ts((entries.get(sid) or {}).get("since"))
            if since is not None and now - since <= grace_s:
                return sid
            continue
        if doc.get("status") == "ended":
            continue
        updated = _ts(doc.get("updated_at"))
        if updated is not None and now - updated > stale_s:
            continue
        return sid
    return None
