"""The event log's rules, as pure code: batch messages, record ids, and which recorded
events a rollup applies (docs/decisions/004-batches-through-the-pipeline.md).

A Pub/Sub message carries one event (the original contract) or a batch of up to
`MAX_MESSAGE_EVENTS` events of one stream, `{"events": [...]}`. `on_engagement` stores each
message as one *record* (`streams/{s}/events/{record_id}`) in one create: a redelivery of
the message has the same record id and changes nothing. The same event may still reach
the log in two records (a batch re-sent with other boundaries after a publisher restart,
an event in two batches), so the rollup decides per event: an event is applied by the
first record that holds it, and never again by another (`events_to_apply`).

The rollup reads records after its cursor, a position (commit time, record id) in the
log. Records committing after a read may sort at or before records that read returned
(commit times share milliseconds), so the cursor only passes records older than the
read's horizon ("complete"); newer ones are applied ahead of it and remembered by id until
the cursor passes them (`advance`). The set of records applied is therefore always
"at or before the cursor, or ahead".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from giftengine.domain.events import EngagementEvent, validation_reason

# A message's events: Pub/Sub's 10 MB limit is far away (an event is ~0.5 KB); the cap keeps
# one delivery's work (parse, one record of ~250 KB at most) well inside a function's limits.
MAX_MESSAGE_EVENTS = 500


# ---- messages -------------------------------------------------------------------------------
def batchable(event: EngagementEvent) -> bool:
    """Comments travel alone: `on_comment`'s subscription filters on the `kind` attribute,
    which a message of several kinds cannot carry."""
    return event.kind != "comment"


def plan_messages(
    events: Iterable[EngagementEvent], max_events: int
) -> list[list[EngagementEvent]]:
    """Group events into messages: consecutive events of one stream, up to `max_events`
    each, in the order given (so each stream's order is kept); a comment alone."""
    out: list[list[EngagementEvent]] = []
    current: list[EngagementEvent] = []
    for e in events:
        if not batchable(e):
            if current:
                out.append(current)
                current = []
            out.append([e])
            continue
        if current and (current[0].stream_id != e.stream_id or len(current) >= max_events):
            out.append(current)
            current = []
        current.append(e)
    if current:
        out.append(current)
    return out


def send_after(queued: int, since_last: float | None, max_events: int, linger_s: float) -> float:
    """Seconds a publisher waits before sending the `queued` events of a stream (0: now).
    A full message goes at once, and so does the first event after a quiet spell (more
    than `linger_s` since the stream's last message: a quiet stream's gift is not held
    back); otherwise events gather until `linger_s` after the last message."""
    if queued >= max_events or since_last is None or since_last >= linger_s:
        return 0.0
    return linger_s - since_last


def encode_message(events: Sequence[EngagementEvent]) -> bytes:
    """One event: its JSON (the original contract). More: `{"events": [...]}`."""
    if len(events) == 1:
        return events[0].model_dump_json(exclude_none=True).encode()
    body = ",".join(e.model_dump_json(exclude_none=True) for e in events)
    return ('{"events":[' + body + "]}").encode()


def message_attributes(events: Sequence[EngagementEvent]) -> dict[str, str]:
    first = events[0]
    if len(events) == 1:
        return {"event_id": first.event_id, "stream_id": first.stream_id, "kind": first.kind}
    return {"stream_id": first.stream_id, "kind": "batch", "count": str(len(events))}


@dataclass
class Rejected:
    """An element of a batch that is not a valid event: dead-lettered alone."""

    index: int
    reason: str
    data: bytes


def parse_message(data: bytes | str) -> tuple[list[EngagementEvent], list[Rejected]]:
    """The events of one message, and the batch elements that are not valid events.

    Raises ValidationError or ValueError when the message as a whole is unusable (not
    JSON, an invalid single event, an empty or oversized batch, several streams)."""
    raw = json.loads(data)
    if not (isinstance(raw, dict) and "events" in raw and "event_id" not in raw):
        return [EngagementEvent.model_validate(raw)], []
    items = raw["events"]
    if not isinstance(items, list) or not items:
        raise ValueError("events: a batch must be a non-empty list of events")
    if len(items) > MAX_MESSAGE_EVENTS:
        raise ValueError(f"events: at most {MAX_MESSAGE_EVENTS} events per message")
    events: list[EngagementEvent] = []
    rejected: list[Rejected] = []
    for i, item in enumerate(items):
        try:
            events.append(EngagementEvent.model_validate(item))
        except ValidationError as exc:
            text = json.dumps(item)[:10_000].encode()
            rejected.append(Rejected(i, f"events.{i}: {validation_reason(exc)}", text))
    if len({e.stream_id for e in events}) > 1:
        raise ValueError("events: a batch carries the events of one stream")
    return events, rejected


# ---- records --------------------------------------------------------------------------------
# The log is searched for the records holding an event by its time slot: an event's slot
# is a function of the event (its `occurred_at`), so every record holding it carries it,
# and a rollup finds them all with one query per 30 slots instead of one per 30 events.
SLOT_S = 2


def slot_of(event: EngagementEvent) -> int:
    return int(event.occurred_at.timestamp() // SLOT_S)


def slots_of(events: Iterable[EngagementEvent]) -> list[int]:
    return sorted({slot_of(e) for e in events})


def event_record_id(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()[:40]


def record_id(event_ids: Sequence[str]) -> str:
    """The record of a message, from its events: a redelivered message lands on the same
    record. A one-event record keeps the id single events always had."""
    if len(event_ids) == 1:
        return event_record_id(event_ids[0])
    return "b" + hashlib.sha256("\n".join(event_ids).encode()).hexdigest()[:39]


@dataclass(frozen=True)
class Stored:
    """A record as the rollup sees it: where it sits in the log and which events it holds.
    `ts` is its commit time (None for a record the rollup's own commit creates)."""

    id: str
    ts: Any
    event_ids: tuple[str, ...]


Cursor = dict  # {"ts": commit time, "id": record id} of the last record passed, or None

# Records applied ahead of the cursor (a quiet stream's fast path adds one per message)
# before a rollup that passes them is asked for: no follow-up per quiet gift (an
# invocation, a task and a state write each), and the state document stays small.
AHEAD_PASS = 20


def at_or_before(r: Stored, cursor: Cursor | None) -> bool:
    return cursor is not None and r.ts is not None and (r.ts, r.id) <= (cursor["ts"], cursor["id"])


def split_at_horizon(records: Sequence[Stored], horizon: Any) -> tuple[list[Stored], list[Stored]]:
    """Records read in log order, split into those older than the horizon (the cursor may
    pass them: nothing can commit before them any more) and the newer rest."""
    complete = [r for r in records if r.ts < horizon]  # a prefix: the records are sorted
    return complete, list(records[len(complete) :])


@dataclass
class Advance:
    to_apply: list[Stored]  # records not applied before, in log order
    cursor: Cursor | None  # after this rollup
    ahead: list[str]  # records applied ahead of that cursor
    moves: bool  # the cursor or the ahead set changes


def advance(
    cursor: Cursor | None,
    ahead: Iterable[str],
    complete: Sequence[Stored],
    recent: Sequence[Stored],
) -> Advance:
    """A rollup's step through the log: it applies every record read that it has not
    applied ahead before, passes the complete ones and holds the recent ones ahead."""
    before = set(ahead)
    to_apply = [r for r in [*complete, *recent] if r.id not in before]
    new_ahead = sorted((before - {r.id for r in complete}) | {r.id for r in recent})
    new_cursor = {"ts": complete[-1].ts, "id": complete[-1].id} if complete else cursor
    return Advance(
        to_apply, new_cursor, new_ahead, new_cursor != cursor or new_ahead != sorted(before)
    )


def events_to_apply(
    to_apply: Sequence[Stored],
    holders: Iterable[Stored],
    cursor: Cursor | None,
    ahead: Iterable[str],
) -> dict[str, list[str]]:
    """Per record to apply, the event ids it applies. `holders`: every record of the log
    holding any of their events (found by event id), as of a read made after the state
    (cursor, ahead) was read. An event another record applied already (at or before the
    cursor, or ahead) is skipped, and so is an event seen earlier in this rollup."""
    ahead = set(ahead)
    mine = {r.id for r in to_apply}
    taken: set[str] = set()
    for h in holders:
        if h.id not in mine and (h.id in ahead or at_or_before(h, cursor)):
            taken.update(h.event_ids)
    out: dict[str, list[str]] = {}
    for r in to_apply:
        ids: list[str] = []
        for e in r.event_ids:
            if e not in taken:
                taken.add(e)
                ids.append(e)
        out[r.id] = ids
    return out


# ---- the lookup, skipped when no applied record can hold the events -------------------------
# The state remembers the highest slot of any event it has applied (`top`) and the ids of
# the events applied in that slot (`ids`; None once more than SLOT_MEMO_MAX, and the whole
# memo None when unknown). An applied record holding an event carries the event's slot, so
# an event above `top`, or in `top` and not among `ids`, is held by no applied record, and
# a rollup whose events are all such needs no lookup: a quiet stream's gift, whose slot is
# newer than anything before it, is applied without that query. The memo is part of the
# state, so it is exactly as current as the cursor and the applied-ahead set it goes with.
SLOT_MEMO_MAX = 200
EMPTY_MEMO: dict = {"top": -1, "ids": []}  # a stream that has applied nothing yet


def lookup_needed(memo: dict | None, events: Iterable[EngagementEvent]) -> bool:
    """Whether an applied record may hold one of `events` (then `events_to_apply` needs
    the holders looked up)."""
    if memo is None:
        return True
    top, ids = memo["top"], memo["ids"]
    known = set(ids) if ids is not None else None
    for e in events:
        s = slot_of(e)
        if s < top or (s == top and (known is None or e.event_id in known)):
            return True
    return False


def remember(memo: dict | None, events: Iterable[EngagementEvent]) -> dict | None:
    """The memo after the records holding `events` are applied (all their events, those
    skipped as already applied too)."""
    if memo is None:
        return None
    top, ids = memo["top"], memo["ids"]
    new_ids = list(ids) if ids is not None else None
    for e in events:
        s = slot_of(e)
        if s > top:
            top, new_ids = s, [e.event_id]
        elif s == top and new_ids is not None and e.event_id not in new_ids:
            new_ids.append(e.event_id)
            if len(new_ids) > SLOT_MEMO_MAX:
                new_ids = None
    return {"top": top, "ids": new_ids}
