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

from dataclasses import dataclass


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
