"""Which stream a creator is live on now: the pointer a creator-scoped overlay follows.

`live_pointers/{creator_id}` (docs/firestore.md) holds the creator's live streams as a map
`streams.{stream_id} -> {stream_id, source, started_at}`. The rollup changes it in the same
commit as the stream's state, and only when the stream's status changes: when the stream is
first seen (live) and when it ends. So it is written at most twice per stream, exactly when
the state says so, and never from two places: a stream's entry is only ever added by its own
first rollup and removed by the rollup that ends it, so the map needs no read to stay right
whatever the order in which two streams of one creator start and end.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PointerChange:
    creator_id: str
    stream_id: str
    entry: dict | None  # None: remove the stream (it ended)


def pointer_change(status_before: str | None, state) -> PointerChange | None:
    """The change to the creator's pointer after a rollup of `state` (a StreamState), given
    the stream's status before it (None: the stream had no state yet). None: no change."""
    if not state.creator_id or status_before == state.status:
        return None
    if state.status == "ended":
        if status_before is None:
            return None  # first seen already ended: it never was live for an overlay
        return PointerChange(state.creator_id, state.stream_id, None)
    entry = {"stream_id": state.stream_id, "source": state.source, "started_at": state.started_at}
    return PointerChange(state.creator_id, state.stream_id, entry)
