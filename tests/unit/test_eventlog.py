"""The event log's pure rules: batch messages, record ids, and which records and events a
rollup applies (domain/eventlog.py)."""

from __future__ import annotations

import json

import pytest
from giftengine.domain import eventlog
from giftengine.domain.eventlog import Stored
from pydantic import ValidationError

from tests.unit import factories
from tests.unit.factories import gift

pytestmark = pytest.mark.unit


def test_a_single_event_message_is_the_event_itself_and_a_batch_wraps_its_events():
    a, b = gift(), gift()
    assert json.loads(eventlog.encode_message([a]))["event_id"] == a.event_id
    assert eventlog.parse_message(eventlog.encode_message([a])) == ([a], [])
    body = json.loads(eventlog.encode_message([a, b]))
    assert [e["event_id"] for e in body["events"]] == [a.event_id, b.event_id]
    assert eventlog.parse_message(eventlog.encode_message([a, b])) == ([a, b], [])
    assert eventlog.message_attributes([a])["event_id"] == a.event_id
    assert eventlog.message_attributes([a, b]) == {
        "stream_id": a.stream_id,
        "kind": "batch",
        "count": "2",
    }


def test_an_invalid_element_of_a_batch_is_rejected_alone_with_its_reason():
    good = gift()
    bad = {**json.loads(good.model_dump_json()), "event_id": "x", "kind": "gift", "gift": None}
    data = json.dumps({"events": [json.loads(good.model_dump_json()), bad]})
    events, rejected = eventlog.parse_message(data)
    assert events == [good]
    assert [r.index for r in rejected] == [1] and "events.1" in rejected[0].reason


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"events": []}',
        b'{"events": {"a": 1}}',
        json.dumps({"events": [{}] * (eventlog.MAX_MESSAGE_EVENTS + 1)}).encode(),
    ],
)
def test_an_unusable_message_is_refused_as_a_whole(data):
    with pytest.raises((ValidationError, ValueError)):
        eventlog.parse_message(data)


def test_a_batch_of_two_streams_is_refused():
    a, b = gift(), gift().model_copy(update={"stream_id": "other"})
    with pytest.raises(ValueError, match="one stream"):
        eventlog.parse_message(eventlog.encode_message([a, b]))


def test_messages_group_consecutive_events_of_a_stream_and_send_comments_alone():
    s1 = [gift() for _ in range(5)]
    s2 = [gift().model_copy(update={"stream_id": "s2"}) for _ in range(2)]
    comment = factories.ev("comment", text="hi")
    msgs = eventlog.plan_messages([*s1[:3], comment, *s1[3:], *s2], max_events=2)
    assert [[e.event_id for e in m] for m in msgs] == [
        [s1[0].event_id, s1[1].event_id],
        [s1[2].event_id],
        [comment.event_id],
        [s1[3].event_id, s1[4].event_id],
        [s2[0].event_id, s2[1].event_id],
    ]


def test_a_record_id_depends_on_its_events_and_a_single_events_is_its_old_id():
    assert eventlog.record_id(["a"]) == eventlog.event_record_id("a")
    assert eventlog.record_id(["a", "b"]) == eventlog.record_id(["a", "b"])
    assert eventlog.record_id(["a", "b"]) != eventlog.record_id(["a", "b", "c"])
    assert eventlog.record_id(["a", "b"]) != eventlog.record_id(["a"])


def r(rid: str, ts: int | None, *ids: str) -> Stored:
    return Stored(rid, ts, tuple(ids))


def test_the_cursor_passes_complete_records_and_holds_recent_ones_ahead():
    complete, recent = eventlog.split_at_horizon([r("a", 1), r("b", 2), r("c", 5)], horizon=3)
    assert [x.id for x in complete] == ["a", "b"] and [x.id for x in recent] == ["c"]
    step = eventlog.advance(None, [], complete, recent)
    assert [x.id for x in step.to_apply] == ["a", "b", "c"]
    assert step.cursor == {"ts": 2, "id": "b"} and step.ahead == ["c"] and step.moves
    # Next read: "c" is complete now and was applied ahead: passed, not applied again.
    step = eventlog.advance(step.cursor, step.ahead, [r("c", 5), r("d", 6)], [])
    assert [x.id for x in step.to_apply] == ["d"]
    assert step.cursor == {"ts": 6, "id": "d"} and step.ahead == []


def test_an_event_held_by_a_record_applied_before_is_not_applied_again():
    cursor = {"ts": 5, "id": "m"}
    to_apply = [r("n", 7, "x", "y"), r("o", 8, "y", "z", "z")]
    holders = [
        r("k", 4, "x"),  # before the cursor: applied
        r("p", 9, "z"),  # after, not applied yet: "o" applies z now, "p" will skip it
        *to_apply,
    ]
    assert eventlog.events_to_apply(to_apply, holders, cursor, ahead=[]) == {
        "n": ["y"],
        "o": ["z"],
    }
    # A record applied ahead counts as applied, even one the cursor has not reached.
    assert eventlog.events_to_apply(to_apply, holders, cursor, ahead=["p"]) == {
        "n": ["y"],
        "o": [],
    }


def test_an_events_slot_is_a_function_of_the_event_so_every_record_holding_it_shares_it():
    a = gift(secs=0.5)
    resent = a.model_copy()  # the same upstream message, sent again in another batch
    assert eventlog.slot_of(a) == eventlog.slot_of(resent)
    later = gift(secs=eventlog.SLOT_S * 3)
    assert eventlog.slots_of([a, later, resent]) == sorted(
        {eventlog.slot_of(a), eventlog.slot_of(later)}
    )
