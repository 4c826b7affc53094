"""When the rollup changes creators' live pointers (domain/live_pointer.py)."""

from __future__ import annotations

from giftengine.domain.live_pointer import PointerChange, pointer_changes
from giftengine.domain.stream import StreamState

from tests.unit import factories


def state(**kw) -> StreamState:
    return StreamState("s1", creator_id="tiktok-user", source="tiktok", **kw)


def test_a_stream_seen_for_the_first_time_live_is_added_under_its_owner():
    [ch] = pointer_changes(None, state(started_at="2026-11-22T20:00:00Z"), "uid-1")
    assert ch == PointerChange(
        "uid-1",
        "s1",
        {"stream_id": "s1", "source": "tiktok", "started_at": "2026-11-22T20:00:00Z"},
    )


def test_without_an_ownership_record_the_events_creator_id_is_the_key():
    [ch] = pointer_changes(None, state(), None)
    assert ch.creator_id == "tiktok-user"


def test_no_change_while_the_status_stays_the_same():
    assert pointer_changes("live", state(), "uid-1") == []
    assert pointer_changes("ended", state(status="ended"), "uid-1") == []


def test_a_stream_that_ends_is_removed_under_the_owner_and_the_events_creator():
    changes = pointer_changes("live", state(status="ended"), "uid-1")
    assert [(c.creator_id, c.entry) for c in changes] == [("uid-1", None), ("tiktok-user", None)]
    [same] = pointer_changes("live", StreamState("s1", creator_id="uid-1", status="ended"), "uid-1")
    assert same == PointerChange("uid-1", "s1", None)


def test_a_stream_first_seen_already_ended_changes_nothing():
    assert pointer_changes(None, state(status="ended"), "uid-1") == []


def test_a_stream_without_any_creator_changes_nothing():
    assert pointer_changes(None, StreamState("s1"), None) == []


def test_the_status_follows_start_and_end_events():
    s = StreamState("s1")
    s.apply(factories.ev("stream_start", "s1", user=None, creator_id="c1"), now=0.0)
    assert pointer_changes(None, s, None)[0].entry["stream_id"] == "s1"
    before = s.status
    s.apply(factories.ev("stream_end", "s1", user=None), now=1.0)
    assert pointer_changes(before, s, None) == [PointerChange("c1", "s1", None)]
