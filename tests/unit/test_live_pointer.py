"""When the rollup changes a creator's live pointer (domain/live_pointer.py)."""

from __future__ import annotations

from giftengine.domain.live_pointer import pointer_change
from giftengine.domain.stream import StreamState

from tests.unit import factories


def state(**kw) -> StreamState:
    return StreamState("s1", creator_id="c1", source="tiktok", **kw)


def test_a_stream_seen_for_the_first_time_live_is_added():
    ch = pointer_change(None, state(started_at="2026-11-22T20:00:00Z"))
    assert ch.creator_id == "c1" and ch.stream_id == "s1"
    assert ch.entry == {"stream_id": "s1", "source": "tiktok", "started_at": "2026-11-22T20:00:00Z"}


def test_no_change_while_the_status_stays_the_same():
    assert pointer_change("live", state()) is None
    assert pointer_change("ended", state(status="ended")) is None


def test_a_stream_that_ends_is_removed():
    ch = pointer_change("live", state(status="ended"))
    assert ch.entry is None and ch.stream_id == "s1"


def test_a_stream_first_seen_already_ended_changes_nothing():
    assert pointer_change(None, state(status="ended")) is None


def test_a_stream_without_a_creator_changes_nothing():
    assert pointer_change(None, StreamState("s1")) is None


def test_the_status_follows_start_and_end_events():
    s = StreamState("s1")
    before = None
    s.apply(factories.ev("stream_start", "s1", user=None, creator_id="c1"), now=0.0)
    assert pointer_change(before, s).entry["stream_id"] == "s1"
    before = s.status
    s.apply(factories.ev("stream_end", "s1", user=None), now=1.0)
    assert pointer_change(before, s).entry is None
