"""Firestore persistence of the gift pipeline (layout: docs/firestore.md).

- `record_events`: one create per Pub/Sub message (one event or a batch of one stream's
  events), keyed by the message's events (`eventlog.record_id`). The create precondition
  is the dedupe of redeliveries: a redelivered message finds its record and changes nothing.
- `rollup`: one transaction per stream batch. It reads the rollup state, the records
  after the state's cursor (ordered by commit timestamp, then id), and the goal settings;
  the pure rules of `domain.eventlog` say which records and events to apply (an event held
  by two records is applied once), the caller's pure decision mutates the state; then the
  state, the live document, one alerts document and the due leaderboard entries are
  written in the same commit, with the cursor advanced past exactly the records applied.
  A crash before the commit changes nothing; a retry after it finds them behind the cursor.
- `stream_events`: a stream's recorded events in log order, each once (for readers of the
  event log other than the rollup).

Why the cursor is safe: `ingested_at` is the server timestamp of the event's create
(its commit time), and a Firestore read at time T sees every commit with time <= T, so an
event not yet visible to a rollup commits with a later timestamp than any it has seen
(docs/decisions/001-event-log-and-rollup.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath
from pydantic import TypeAdapter

from giftengine.adapters import live_pointers
from giftengine.adapters.writelog import WriteLog
from giftengine.domain import eventlog, periods, rollup
from giftengine.domain.events import EngagementEvent
from giftengine.domain.live_pointer import PointerChange, pointer_changes, status_changed
from giftengine.domain.rollup import (
    LeaseMemo,
    RollupInput,
    RollupOutput,
    lease_held,
    lease_until,
)
from giftengine.domain.stream import FlushItem, StreamState

log = logging.getLogger("giftengine.firestore")


def event_doc_id(event_id: str) -> str:
    return eventlog.event_record_id(event_id)


_EVENTS = TypeAdapter(list[EngagementEvent])


# array-contains-any takes at most 30 values per query (the record lookup's slots).
_CONTAINS_MAX = 30


def shard_of(user_id: str, shards: int) -> int:
    return int(hashlib.blake2b(user_id.encode(), digest_size=4).hexdigest(), 16) % shards


def _shard_users(snap) -> dict:
    """A user shard's viewers. They are stored as one JSON text field: a map of a few
    hundred viewers costs the client library a protobuf message per value to encode and
    decode, which was most of a hot stream's rollup CPU (docs/decisions/)."""
    if snap is None or not snap.exists:
        return {}
    return json.loads(snap.get("users") or "{}")


@dataclass
class _InHand:
    """A record the rollup's own commit creates: its id, and its events."""

    id: str
    events: list[EngagementEvent]


def _events_of(snap) -> list[EngagementEvent]:
    """A record's events: one event's JSON object, or a batch's JSON array."""
    if isinstance(snap, _InHand):
        return snap.events
    text = snap.get("json")
    if text.startswith("["):
        return _EVENTS.validate_json(text)
    return [EngagementEvent.model_validate_json(text)]


def _slots_of(snap) -> list[int]:
    if isinstance(snap, _InHand):
        return eventlog.slots_of(snap.events)
    return list(snap.get("slots") or [])


def _state_core(snap) -> dict:
    """The state document's fields with the features' state decoded (`_features`, JSON
    text; states written before it keep a `features` map, read as it is)."""
    core = dict(snap.to_dict() or {}) if snap is not None and snap.exists else {}
    text = core.pop("_features", None)
    if isinstance(text, str):
        core["features"] = json.loads(text)
    return core


def _stored(snap) -> eventlog.Stored:
    if isinstance(snap, _InHand):
        return eventlog.Stored(snap.id, None, tuple(e.event_id for e in snap.events))
    d = snap.to_dict() or {}
    ids = d.get("event_ids") or [d.get("event_id")]
    return eventlog.Stored(snap.id, d.get("ingested_at"), tuple(ids))


_UNKNOWN = object()  # "not known": a cursor may legitimately be None (no event applied yet)
_BUSY = object()  # `_rollup_unleased`: take the lease instead


@dataclass
class _Lease:
    stream_id: str
    ref: Any
    update_time: Any
    cursor: Any = _UNKNOWN  # the stream's cursor when this process can vouch for it


@dataclass
class _Plan:
    """One rollup decided and ready to write."""

    out: RollupOutput
    state: StreamState
    before_shards: list[dict]
    inline: bool  # the viewers were read from the state document (`_users`), not shards
    cursor: dict | None  # the stream's cursor after it
    ahead: list[str]
    slots: dict | None  # the applied events' slot memo after it (eventlog.remember)
    pointers: tuple[PointerChange, ...] = ()  # creators' live pointers (domain/live_pointer.py)
    # `out.hold`: whether the state must be marked waiting (it was not already)
    mark: bool = False
    goals_v: int | None = None  # the state's `_goals_v` as read, written back unchanged


class FirestoreStreamStore:
    def __init__(
        self,
        client: firestore.Client,
        shards: int = 8,
        write_log: str = "",
        visibility_margin_ms: int = 50,
        event_retention_days: int = 7,
    ):
        self.db = client
        self.shards = shards
        self.visibility_margin_ms = visibility_margin_ms
        self.event_retention_days = event_retention_days
        self.writes = WriteLog(write_log)
        # the leases this process released and the cursors it left (domain/rollup.py)
        self._memo = LeaseMemo()
        # per stream: the goals as of the state's `_goals_v` (`_goals_as_of`)
        self._goals_seen: dict[str, tuple[int, list[dict]]] = {}

    # ---- refs ---------------------------------------------------------------------------
    def stream_ref(self, stream_id: str):
        return self.db.collection("streams").document(stream_id)

    def _state_refs(self, stream_id: str):
        rollup = self.stream_ref(stream_id).collection("rollup")
        return rollup.document("state"), [rollup.document(f"users-{k}") for k in range(self.shards)]

    # ---- the event log ---------------------------------------------------------------------
    def record_events(self, events: Sequence[EngagementEvent]) -> bool:
        """Create the record of one message's events (one stream); False if it already
        existed (a redelivery of the message)."""
        ref = self._record_ref(events)
        try:
            ref.create(self._event_record(events))
        except gexc.AlreadyExists:
            self.writes.count("write_refused")
            return False
        self.writes.record([ref.path], "event")
        return True

    def record_event(self, event: EngagementEvent) -> bool:
        return self.record_events([event])

    def _record_ref(self, events: Sequence[EngagementEvent]):
        rid = eventlog.record_id([e.event_id for e in events])
        return self.stream_ref(events[0].stream_id).collection("events").document(rid)

    def _event_record(self, events: Sequence[EngagementEvent]) -> dict:
        one = len(events) == 1
        return {
            "event_ids": [e.event_id for e in events],  # eventlog.events_to_apply
            "slots": eventlog.slots_of(events),  # how a rollup finds the records (_holders)
            "n": len(events),
            "kind": events[0].kind if one else "batch",
            # The events as JSON text (an object, or an array for a batch): one field to
            # encode and decode instead of nested maps, most of a rollup's CPU otherwise.
            "json": (
                events[0].model_dump_json(exclude_none=True)
                if one
                else _EVENTS.dump_json(list(events), exclude_none=True).decode()
            ),
            "ingested_at": firestore.SERVER_TIMESTAMP,
            # TTL (firestore.indexes.json): the record is the dedupe key for redeliveries,
            # kept well past any Pub/Sub retry or replay horizon.
            "expire_at": datetime.now(UTC) + timedelta(days=self.event_retention_days),
        } | ({"event_id": events[0].event_id} if one else {})

    def stream_events(self, stream_id: str, page: int = 200) -> Iterator[EngagementEvent]:
        """Every event the stream recorded, in log order (`stream_log` without the times)."""
        return (e for _, e in self.stream_log(stream_id, page))

    def stream_log(
        self, stream_id: str, page: int = 200
    ) -> Iterator[tuple[float, EngagementEvent]]:
        """Every event the stream recorded, with its record's commit time (`ingested_at`,
        epoch seconds), in log order (commit time, record id), each once however many
        records hold it: the one way to read the event log (single-event records and
        batches alike). Records newer than a read may still commit before its last one, so
        a reader following a live stream re-reads from a horizon, as the rollup does; read
        after the fact, the order is final."""
        events = self.stream_ref(stream_id).collection("events")
        q = events.order_by("ingested_at").order_by(FieldPath.document_id()).limit(page)
        seen: set[str] = set()
        last = None
        while True:
            page_q = q
            if last is not None:
                doc_id = FieldPath.document_id()
                at = {"ingested_at": last.get("ingested_at"), doc_id: last.reference}
                page_q = q.start_after(at)
            snaps = list(page_q.stream())
            self.writes.read("log_reader", max(1, len(snaps)))
            for snap in snaps:
                at = snap.get("ingested_at").timestamp()
                for e in _events_of(snap):
                    if e.event_id not in seen:
                        seen.add(e.event_id)
                        yield at, e
            if len(snaps) < page:
                return
            last = snaps[-1]

    def _holders(self, stream_id: str, records: Sequence) -> list[eventlog.Stored]:
        """Every record of the stream that may hold an event of `records` (snapshots or
        `_InHand`): the records sharing one of their events' time slots (the automatic
        index of the `slots` array, 30 values per query). A superset of the records
        holding those events: `eventlog.events_to_apply` compares event ids."""
        events = self.stream_ref(stream_id).collection("events")
        slots = sorted({x for r in records for x in _slots_of(r)})
        found: dict[str, eventlog.Stored] = {}
        t0 = time.perf_counter()
        for i in range(0, len(slots), _CONTAINS_MAX):
            chunk = slots[i : i + _CONTAINS_MAX]
            q = events.where(filter=FieldFilter("slots", "array_contains_any", chunk))
            snaps = list(q.select(["ingested_at", "event_ids"]).stream())
            self.writes.read("lookup", max(1, len(snaps)))
            found.update({snap.id: _stored(snap) for snap in snaps})
        self.writes.count("lookup_s", time.perf_counter() - t0)  # dev/bench: its cost
        return list(found.values())

    def record_dead_letter(
        self, message_id: str, reason: str, data: bytes, attributes: dict[str, str]
    ) -> bool:
        ref = self.db.collection("dead_letters").document(event_doc_id(message_id or reason))
        batch = self.db.batch()
        batch.create(
            ref,
            {
                "message_id": message_id,
                "reason": reason[:2000],
                "data": data[:10_000].decode("utf-8", "replace"),
                "attributes": attributes,
                "at": firestore.SERVER_TIMESTAMP,
            },
        )
        batch.set(
            self.db.collection("ops").document("dead_letters"),
            {"count": firestore.Increment(1), "updated_at": firestore.SERVER_TIMESTAMP},
            merge=True,
        )
        try:
            batch.commit()
        except gexc.AlreadyExists:
            return False
        return True

    # ---- settings read by the rollup ------------------------------------------------------
    def creator_config(self, creator_id: str) -> dict | None:
        snap = self.db.collection("creators").document(creator_id).get()
        self.writes.read("creator")
        return snap.to_dict() if snap.exists else None

    def stream_bans(self, stream_id: str, now: float, limit: int = 500) -> list[str]:
        """The chat's active bans (moderation writes `streams/{s}/chat_users/{uid}`)."""
        q = (
            self.stream_ref(stream_id)
            .collection("chat_users")
            .where(filter=FieldFilter("banned_until", ">", datetime.fromtimestamp(now, UTC)))
            .limit(limit)
        )
        snaps = list(q.stream())
        self.writes.count("read", max(1, len(snaps)))
        return [s.id for s in snaps]

    # ---- the rollup transaction -------------------------------------------------------------
    def _events_after(self, stream_id: str, cursor: dict | None, limit: int):
        """The events after the cursor, split at the visibility horizon (read time minus a
        margin). `ingested_at` has millisecond precision and many events share one, so an
        event committing after this read may sort at or before an event just read: the
        cursor therefore only moves through events older than the horizon ("complete"),
        and newer ones ("recent") are applied ahead of it and remembered by id until the
        cursor passes them. Returns (complete, recent, limit_reached)."""
        events = self.stream_ref(stream_id).collection("events")
        q = events.order_by("ingested_at").order_by(FieldPath.document_id())
        if cursor:
            q = q.start_after(
                {
                    "ingested_at": cursor["ts"],
                    FieldPath.document_id(): events.document(cursor["id"]),
                }
            )
        snaps = list(q.limit(limit).stream())
        self.writes.read("log", max(1, len(snaps)))
        if not snaps:
            return [], [], False
        horizon = snaps[0].read_time - timedelta(milliseconds=self.visibility_margin_ms)
        stored = [_stored(s) for s in snaps]
        complete, _ = eventlog.split_at_horizon(stored, horizon)
        return snaps[: len(complete)], snaps[len(complete) :], len(snaps) >= limit

    def rollup(
        self,
        stream_id: str,
        limit: int,
        decide: Callable[[RollupInput], RollupOutput],
        lease: bool = True,
    ) -> RollupOutput | None:
        """Run one rollup, or return None when another rollup of the stream holds the lease.

        Events are immutable once recorded, so they are read outside the transaction (a
        transactional range read would lock out concurrent event creates); the transaction
        reads the state and proceeds only if the cursor is still where the events were read
        from, so no event is applied twice or skipped. The lease only keeps rollups of one
        stream from queueing on each other's locks; correctness never rests on it.

        `lease` False (a follow-up: `_rollup_unleased`): first without the lease and without
        a transaction; the leased path only when that finds a busy stream or loses a race."""
        if not lease:
            out = self._rollup_unleased(stream_id, decide)
            if out is not _BUSY:
                return out
        held = self._acquire_lease(stream_id)
        if held is None:
            return None
        cursor = _UNKNOWN
        try:
            out, cursor = self._rollup_attempts(stream_id, limit, decide, held.cursor)
            return out
        finally:
            self._release_lease(held, cursor)

    # Tries of `record_with_rollup` before it gives up. A commit in between is most often the
    # previous event's follow-up rollup, finished by the time of the next read.
    FRESH_ATTEMPTS = 3

    def record_with_rollup(
        self, events: Sequence[EngagementEvent], decide: Callable[[RollupInput], RollupOutput]
    ) -> RollupOutput | None:
        """Record a message's events and apply them alone, in one commit: the record's
        create, and the rollup's writes with the state write conditional on the state
        document being as read. Every rollup commit writes that document, so the condition
        covers the shards, the alert sequence, the cursor and the applied-ahead set; the
        create covers redeliveries (a recorded message fails the whole commit), and the
        lookup of records holding the same events (after the state read) an event that
        came before in another message. One batch read, one lookup and one commit: no range
        query over the log, no lease, no transaction. The record joins the applied-ahead
        set; a later rollup moves the cursor past it (the input says `more` once that set
        is long: `eventlog.AHEAD_PASS`).

        Returns None, having committed nothing, when the record existed, when the state
        kept changing underneath, or when `decide` writes nothing now: the caller then
        records the events and rolls up the usual way."""
        if isinstance(events, EngagementEvent):
            events = [events]
        stream_id = events[0].stream_id
        state_ref, shard_refs = self._state_refs(stream_id)
        ref = self._record_ref(events)
        for _ in range(self.FRESH_ATTEMPTS):
            snaps = self._read_state(self.db.get_all, stream_id)
            goals = self._goals_as_of(stream_id, snaps.get(state_ref.path))
            plan = self._plan(stream_id, snaps, goals, False, decide, fresh=(ref.id, list(events)))
            if not plan.out.write:
                return None
            batch = self.db.batch()
            batch.create(ref, self._event_record(events))
            written = self._write_rollup(batch, stream_id, plan, if_unchanged=snaps[state_ref.path])
            try:
                batch.commit()
            except gexc.AlreadyExists:  # the record (a redelivery) or, in a race, the alert
                self.writes.count("write_refused")
                return None
            except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
                self.writes.count("write_refused")
                continue  # another rollup committed since the read
            self.writes.record([ref.path], "event")
            self.writes.record(written, "rollup")
            return plan.out
        return None

    # Records after the cursor that a rollup without the lease takes on; more is a busy
    # stream, left to the leased path (its lock-free range read is the cheaper one there).
    # Above AHEAD_PASS: the follow-up a quiet stream's long applied-ahead set asks for
    # (eventlog.AHEAD_PASS records after the cursor, and a few more) stays unleased.
    UNLEASED_RECORDS = eventlog.AHEAD_PASS + 10

    def _rollup_unleased(self, stream_id: str, decide: Callable[[RollupInput], RollupOutput]):
        """A follow-up rollup of a quiet stream (a leaderboard flush, a feature's deadline,
        a message recorded too soon after a live write) the way the fast path commits: a
        read of the state document, the log after its cursor, the user shards if the state
        keeps its viewers there, the goals, and one commit whose
        state write requires the state document unchanged since that read. Every rollup
        commit writes that document, so the condition covers the cursor, the applied-ahead
        set, the shards and the alert sequence: no other rollup committed in between, so the
        records read after the cursor are exactly those it has not passed (records are
        immutable; the horizon split is the leased path's). No lease taken or released: two
        writes fewer per rollup, none at all when there is nothing to write. Returns the
        output, or `_BUSY` when the log holds UNLEASED_RECORDS records or more after the
        cursor or another commit came first (nothing committed: the caller takes the lease)."""
        state_ref, _ = self._state_refs(stream_id)
        snaps = self._read_state(self.db.get_all, stream_id, shards=False)
        state = snaps.get(state_ref.path)
        if state is None:  # get_all answers a missing document too; without it, no condition
            return _BUSY
        cursor = (state.to_dict() or {}).get("_cursor") if state.exists else None
        complete, recent, more = self._events_after(stream_id, cursor, self.UNLEASED_RECORDS)
        if more:
            return _BUSY
        # The shards after the log (a busy stream reads none of them here): they change
        # only in a commit that changes the state document too, which the commit's
        # condition refuses.
        self._read_shards(self.db.get_all, stream_id, snaps)
        goals = self._goals_as_of(stream_id, state)
        plan = self._plan(
            stream_id, snaps, goals, False, decide, cursor=cursor, complete=complete,
            recent=recent,
        )  # fmt: skip
        if plan is None:  # cannot happen: the cursor is the one just read
            return _BUSY
        if not plan.out.write:
            return plan.out
        batch = self.db.batch()
        written = self._write_rollup(batch, stream_id, plan, if_unchanged=state)
        if not written:
            return plan.out
        try:
            batch.commit()
        except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted, gexc.AlreadyExists):
            self.writes.count("write_refused")
            return _BUSY  # another rollup committed since the read
        self.writes.record(written, "rollup")
        return plan.out

    def _acquire_lease(self, stream_id: str) -> _Lease | None:
        """Take the stream's lease. When this process released it last and nobody has taken
        it since (the lease document is unchanged: one conditional update), the cursor this
        process committed is taken as current and the cursor read is skipped too: a hint,
        which rollups without the lease may have outdated (domain/rollup.py `LeaseMemo`;
        the transaction checks the cursor and retries)."""
        ref = self.stream_ref(stream_id).collection("rollup").document("lease")
        now = time.time()
        body = {"until": lease_until(now)}
        memo = self._memo.take(stream_id)
        if memo is not None:
            try:
                result = ref.update(
                    body, option=self.db.write_option(last_update_time=memo.version)
                )
                self.writes.record([ref.path], "lease")
                return _Lease(stream_id, ref, result.update_time, memo.cursor)
            except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
                pass  # another rollup took it since: the full path below
        snap = ref.get()
        self.writes.read("lease")
        if snap.exists and lease_held(snap.get("until"), now):
            return None
        try:
            if snap.exists:
                result = ref.update(
                    body, option=self.db.write_option(last_update_time=snap.update_time)
                )
            else:
                result = ref.create(body)
        except (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.NotFound, gexc.Aborted):
            return None
        self.writes.record([ref.path], "lease")
        return _Lease(stream_id, ref, result.update_time)

    def _release_lease(self, lease: _Lease, cursor: Any = _UNKNOWN) -> None:
        """Give the lease back; with the cursor the rollup left (`_UNKNOWN` after a failure)
        remembered for this process's next rollup of the stream."""
        # Only our own lease: if it expired and another rollup took it, leave theirs alone.
        try:
            result = lease.ref.update(
                {"until": 0}, option=self.db.write_option(last_update_time=lease.update_time)
            )
        except (gexc.FailedPrecondition, gexc.NotFound):
            return
        self.writes.record([lease.ref.path], "lease")
        if cursor is not _UNKNOWN:
            self._memo.released(lease.stream_id, result.update_time, cursor)

    def _rollup_attempts(self, stream_id: str, limit: int, decide, cursor_hint=_UNKNOWN):
        """Returns (output, the stream's cursor after it)."""
        state_ref, _ = self._state_refs(stream_id)
        for _ in range(20):
            if cursor_hint is _UNKNOWN:
                snap = state_ref.get(["_cursor"])
                self.writes.read("cursor")
                cursor = (snap.to_dict() or {}).get("_cursor") if snap.exists else None
            else:
                cursor, cursor_hint = cursor_hint, _UNKNOWN  # a stale hint costs one retry
            complete, recent, more = self._events_after(stream_id, cursor, limit)
            goals = self._goals(stream_id)
            result = self._rollup_tx(stream_id, cursor, complete, recent, goals, more, decide)
            if result is not None:
                return result
        raise RuntimeError(f"rollup of {stream_id}: cursor kept moving; giving up this run")

    def _goals(self, stream_id: str) -> list[dict]:
        snaps = list(self.stream_ref(stream_id).collection("goals").limit(50).stream())
        self.writes.read("goals", max(1, len(snaps)))
        return [g.to_dict() | {"goal_id": g.id} for g in snaps]

    def _goals_as_of(self, stream_id: str, state_snap) -> list[dict]:
        """The stream's goals for a rollup that read the state document `state_snap`: read
        again only when the state's `_goals_v` differs from the version this process read
        them at. `SettingsStore` bumps it in the commit that writes or deletes a goal, so
        goals read after seeing version v hold every change up to v (a quiet stream's
        rollups then skip the goals query: one read per rollup; the leased path, a busy
        stream's, still reads them every time)."""
        d = (state_snap.to_dict() or {}) if state_snap is not None and state_snap.exists else {}
        version = int(d.get("_goals_v") or 0)
        seen = self._goals_seen.get(stream_id)
        if seen is not None and seen[0] == version:
            return [dict(g) for g in seen[1]]
        goals = self._goals(stream_id)
        if len(self._goals_seen) >= 10_000:
            self._goals_seen.clear()
        self._goals_seen[stream_id] = (version, [dict(g) for g in goals])
        return goals

    def _rollup_tx(self, stream_id, cursor, complete, recent, goals, more, decide):
        """Returns (output, cursor after it), or None if the stream's cursor is no longer
        `cursor`, where `complete` and `recent` were read from."""
        state_ref, shard_refs = self._state_refs(stream_id)
        holder: dict[str, Any] = {}

        @firestore.transactional
        def run(tx):
            holder.clear()
            snaps = self._read_state(tx.get_all, stream_id)
            plan = self._plan(
                stream_id, snaps, goals, more, decide, cursor=cursor, complete=complete,
                recent=recent,
            )  # fmt: skip
            holder["plan"] = plan
            if plan is not None and plan.out.write:
                holder["written"] = self._write_rollup(tx, stream_id, plan)

        t0 = time.perf_counter()
        run(self.db.transaction(max_attempts=20))
        self.writes.count("transaction_s", time.perf_counter() - t0)  # dev/bench
        plan = holder["plan"]
        if plan is None:
            return None
        if holder.get("written"):
            self.writes.record(holder["written"], "rollup")
        return plan.out, plan.cursor

    # A stream's viewers stay in the state document itself (`_users`, JSON text) while
    # they take at most this much: a quiet stream's rollup then reads and writes one
    # document, not nine. Past it they move to `users-{k}` shards, and stay there.
    INLINE_USERS_MAX = 64_000

    def _read_state(self, get_all, stream_id: str, shards: bool = True) -> dict:
        """The state document, and its user shards when it keeps its viewers there
        (`shards` False: not yet; `_read_shards` reads them)."""
        state_ref, _ = self._state_refs(stream_id)
        snaps = {s.reference.path: s for s in get_all([state_ref])}
        self.writes.read("state")
        return self._read_shards(get_all, stream_id, snaps) if shards else snaps

    def _read_shards(self, get_all, stream_id: str, snaps: dict) -> dict:
        """`snaps` (the state document read) with the user shards added when the state
        keeps its viewers there."""
        state_ref, shard_refs = self._state_refs(stream_id)
        state = snaps.get(state_ref.path)
        if state is not None and state.exists and (state.to_dict() or {}).get("_users") is None:
            snaps.update({s.reference.path: s for s in get_all(shard_refs)})
            self.writes.read("shards", len(shard_refs))
        return snaps

    def _plan(
        self, stream_id, snaps, goals, more, decide, *, cursor=_UNKNOWN, complete=(), recent=(),
        fresh=None,
    ) -> _Plan | None:  # fmt: skip
        """Decide one rollup from the snapshots read (state and user shards). Records
        `complete` (the cursor passes them) and `recent` (applied ahead of it) were read
        from `cursor`; None if the stream's cursor has moved since. `fresh`: (record id,
        events) of a record the same commit creates, applied ahead of the state's cursor.

        Which events to apply is `domain.eventlog`'s rule; the records holding them are
        looked up here, after the state was read (in a transaction, under its lock; on
        the fast path, before a commit conditional on the state), so every record applied
        as of that state is seen."""
        state_ref, shard_refs = self._state_refs(stream_id)
        core_snap = snaps.get(state_ref.path)
        core = _state_core(core_snap)
        if fresh is not None:
            cursor = core.get("_cursor")
            recent = [_InHand(*fresh)]
        elif core.get("_cursor") != cursor:
            return None  # another rollup moved on: re-read the events
        goals_v = core.pop("_goals_v", None)  # SettingsStore's; kept as it is
        memo = core.pop("_slots", None) if core else eventlog.EMPTY_MEMO
        waiting = bool(core.pop("_waiting", False))
        core.pop("_cursor", None)
        last_bucket = int(core.pop("_bucket", -1))
        ahead = core.pop("_ahead", None) or []
        by_id = {s.id: s for s in [*complete, *recent]}
        step = eventlog.advance(
            cursor, ahead, [_stored(s) for s in complete], [_stored(s) for s in recent]
        )
        events: list[EngagementEvent] = []
        if step.to_apply:
            held = {r.id: _events_of(by_id[r.id]) for r in step.to_apply}
            candidates = [e for evs in held.values() for e in evs]
            holders: list[eventlog.Stored] = []
            if eventlog.lookup_needed(memo, candidates):
                holders = self._holders(stream_id, [by_id[r.id] for r in step.to_apply])
            keep = eventlog.events_to_apply(step.to_apply, holders, cursor, ahead)
            for r in step.to_apply:
                wanted = set(keep[r.id])
                for e in held[r.id]:
                    if e.event_id in wanted:
                        wanted.discard(e.event_id)
                        events.append(e)
            memo = eventlog.remember(memo, candidates)
        inline_users = core.pop("_users", None)
        inline = inline_users is not None or not core  # a new stream starts inline
        if inline:
            before_shards = [{} for _ in shard_refs]
            users = list(json.loads(inline_users or "{}").values())
        else:
            before_shards = [_shard_users(snaps.get(ref.path)) for ref in shard_refs]
            users = [u for shard in before_shards for u in shard.values()]
        state = StreamState.from_dicts(stream_id, core or None, users)
        if fresh is not None:  # a long applied-ahead set asks for a rollup that passes it
            more = more or len(step.ahead) >= eventlog.AHEAD_PASS
        out = decide(
            RollupInput(
                state, events, goals, more=more, last_bucket=last_bucket,
                cursor_moves=step.moves, fresh=fresh is not None, waiting=waiting,
            )
        )  # fmt: skip
        if not out.write or out.hold:  # nothing applied; a hold writes only its mark
            return _Plan(
                out, state, before_shards, inline, cursor, sorted(ahead), memo,
                mark=out.hold and not waiting, goals_v=goals_v,
            )  # fmt: skip
        before = core.get("status") if core else None
        changed = status_changed(before, state)  # read the owner only then: twice per stream
        owner = live_pointers.owner_uid(self.db, stream_id) if changed else None
        if changed:
            self.writes.read("owner")
        pointers = tuple(pointer_changes(before, state, owner))
        return _Plan(
            out, state, before_shards, inline, step.cursor, step.ahead, memo, pointers,
            goals_v=goals_v,
        )  # fmt: skip

    def _write_rollup(self, writer, stream_id: str, plan: _Plan, if_unchanged=None) -> list[str]:
        """Add the plan's writes to `writer` (a transaction or a batch). `if_unchanged`: the
        state snapshot the plan was made from; the state write then requires it unchanged."""
        written: list[str] = []
        state, out = plan.state, plan.out
        state_ref, shard_refs = self._state_refs(stream_id)
        if out.hold:  # only the mark, if the state lacks it; nothing else changes
            if plan.mark and (if_unchanged is None or if_unchanged.exists):
                when = (
                    {"option": self.db.write_option(last_update_time=if_unchanged.update_time)}
                    if if_unchanged is not None
                    else {}
                )
                writer.update(state_ref, {"_waiting": True}, **when)
                written.append(state_ref.path)
            return written
        users = {uid: v.to_dict() for uid, v in state.users.items()}
        core = state.core_dict()
        text = json.dumps(users, separators=(",", ":")) if plan.inline else None
        if text is not None and len(text) <= self.INLINE_USERS_MAX:
            core["_users"] = text
        else:  # sharded, or outgrowing the state document now
            if plan.inline:
                core["_users"] = firestore.DELETE_FIELD
            new_shards: list[dict] = [{} for _ in range(self.shards)]
            for uid, u in users.items():
                new_shards[shard_of(uid, self.shards)][uid] = u
            for k, ref in enumerate(shard_refs):
                if new_shards[k] != plan.before_shards[k]:
                    writer.set(ref, {"users": json.dumps(new_shards[k], separators=(",", ":"))})
                    written.append(ref.path)
        core["_cursor"] = plan.cursor
        core["_ahead"] = plan.ahead
        core["_bucket"] = out.bucket
        core["_slots"] = plan.slots
        core["_waiting"] = False  # every commit that is no hold read past what waited
        if plan.goals_v is not None:
            core["_goals_v"] = plan.goals_v  # a whole-document set keeps it
        # The features' state as JSON text, as the viewers' (`_state_core` reads it back):
        # one string instead of a few hundred nested values to encode on every commit. An
        # update must name every field it replaces, so it deletes what it does not write,
        # and the map older states kept under `features`.
        features = core.pop("features", None)
        updating = if_unchanged is not None and if_unchanged.exists
        if features:
            core["_features"] = json.dumps(features, separators=(",", ":"))
        elif updating:
            core["_features"] = firestore.DELETE_FIELD
        if updating:
            core["features"] = firestore.DELETE_FIELD
        if core.get("_users") is firestore.DELETE_FIELD and not updating:
            del core["_users"]  # a set or create replaces the whole document anyway
        if if_unchanged is None:
            writer.set(state_ref, core)
        elif updating:  # every field of the document is in `core`
            when = self.db.write_option(last_update_time=if_unchanged.update_time)
            writer.update(state_ref, core, option=when)
        else:
            writer.create(state_ref, core)
        written.append(state_ref.path)
        stream_ref = self.stream_ref(stream_id)
        if out.live is not None:
            writer.set(stream_ref, {**out.live, "updated_at": firestore.SERVER_TIMESTAMP})
            written.append(stream_ref.path)
        for seq, items in rollup.alert_pages(out.alerts, state.alert_seq):
            ref = stream_ref.collection("alerts").document(f"{seq:012d}")
            writer.create(
                ref, {"seq": seq, "items": items, "created_at": firestore.SERVER_TIMESTAMP}
            )
            written.append(ref.path)
        written += self._write_flush(writer, stream_id, out.flush)
        for w in out.side_writes:  # domain/features.py: no rule here, only the write
            ref = self.db.document(w.path)
            data = {**w.set, **{k: firestore.Increment(v) for k, v in w.increments.items()}}
            writer.set(ref, data, merge=w.merge)
            written.append(ref.path)
        for change in plan.pointers:
            written.append(live_pointers.write(writer, self.db, change))
        return written

    def _write_flush(self, tx, stream_id: str, items: list[FlushItem]) -> list[str]:
        written: list[str] = []
        boards = self.db.collection("leaderboards")
        session = periods.session_board(stream_id)
        touched: dict[str, periods.Board] = {}
        for it in items:
            who = {
                "user_id": it.user_id,
                "handle": it.handle,
                "name": it.name,
                "updated_at": firestore.SERVER_TIMESTAMP,
            }
            ref = boards.document(session.board_id).collection("entries").document(it.user_id)
            tx.set(ref, {**who, "coins": it.session_coins, "gifts": it.session_gifts})
            written.append(ref.path)
            for board_id, (coins, units) in it.increments.items():
                ref = boards.document(board_id).collection("entries").document(it.user_id)
                tx.set(
                    ref,
                    {
                        **who,
                        "coins": firestore.Increment(coins),
                        "gifts": firestore.Increment(units),
                    },
                    merge=True,
                )
                written.append(ref.path)
            for board_id in it.new_boards:  # its document: once per stream (stream.py)
                touched.setdefault(board_id, periods.board_from_id(board_id))
        for board_id, b in touched.items():
            ref = boards.document(board_id)
            tx.set(
                ref,
                {
                    "board_id": board_id,
                    "scope": b.scope,
                    "period": b.period,
                    "period_key": b.period_key,
                    "creator_id": b.creator_id,
                    "stream_id": b.stream_id,
                    "updated_at": firestore.SERVER_TIMESTAMP,
                },
                merge=True,
            )
            written.append(ref.path)
        return written

    # ---- reads for CLI / tests ----------------------------------------------------------------
    def live(self, stream_id: str) -> dict | None:
        snap = self.stream_ref(stream_id).get()
        return snap.to_dict() if snap.exists else None

    def leaderboard(self, board_id: str, limit: int | None = None, start_after=None) -> list[dict]:
        q = (
            self.db.collection("leaderboards")
            .document(board_id)
            .collection("entries")
            .order_by("coins", direction=firestore.Query.DESCENDING)
            .order_by("user_id")
        )
        if start_after is not None:
            q = q.start_after(start_after)
        if limit:
            q = q.limit(limit)
        return [s.to_dict() for s in q.stream()]

    def alerts(self, stream_id: str, limit: int = 20) -> list[dict]:
        q = (
            self.stream_ref(stream_id)
            .collection("alerts")
            .order_by("seq", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [s.to_dict() for s in q.stream()]


class SettingsStore:
    """Creator-owned settings written through the API: goals and creator preferences."""

    def __init__(self, client: firestore.Client):
        self.db = client

    def stream_creator(self, stream_id: str) -> str | None:
        """The creator in the stream's ownership record (never the live state's creator_id,
        which the first event names)."""
        from giftengine.adapters.ownership import FirestoreOwnership

        owner = FirestoreOwnership(self.db).get(stream_id)
        return owner.creator_id if owner else None

    def put_goal(self, stream_id: str, goal: dict, uid: str) -> dict:
        ref = (
            self.db.collection("streams")
            .document(stream_id)
            .collection("goals")
            .document(goal["goal_id"])
        )
        doc = {
            **goal,
            "stream_id": stream_id,
            "created_by": uid,
            "created_at": firestore.SERVER_TIMESTAMP,
        }
        batch = self.db.batch()
        batch.set(ref, doc)
        self._goals_changed(batch, stream_id)
        batch.commit()
        return {k: v for k, v in doc.items() if k != "created_at"}

    def _goals_changed(self, batch, stream_id: str) -> None:
        """Bump the stream's goals version in the commit that changes a goal: rollups that
        saw the old version read the goals again (`FirestoreStreamStore._goals_as_of`)."""
        state = self.db.collection("streams").document(stream_id).collection("rollup")
        batch.set(state.document("state"), {"_goals_v": firestore.Increment(1)}, merge=True)

    def delete_goal(self, stream_id: str, goal_id: str) -> bool:
        ref = (
            self.db.collection("streams").document(stream_id).collection("goals").document(goal_id)
        )
        if not ref.get().exists:
            return False
        batch = self.db.batch()
        batch.delete(ref)
        self._goals_changed(batch, stream_id)
        batch.commit()
        return True

    def feature_settings(self, creator_id: str) -> dict:
        snap = self.db.collection("creators").document(creator_id).get(field_paths=["features"])
        return dict((snap.to_dict() or {}).get("features") or {}) if snap.exists else {}

    def put_feature_settings(self, creator_id: str, feature: str, config: dict) -> dict:
        """Replace `features.{feature}` of the creator's settings (other fields kept)."""
        doc = {"creator_id": creator_id, "features": {feature: config}}
        self.db.collection("creators").document(creator_id).set(
            {**doc, "updated_at": firestore.SERVER_TIMESTAMP},
            merge=["creator_id", f"features.{feature}", "updated_at"],
        )
        return doc

    def put_creator_settings(self, creator_id: str, settings: dict) -> dict:
        doc = {"creator_id": creator_id, **settings}
        self.db.collection("creators").document(creator_id).set(
            {**doc, "updated_at": firestore.SERVER_TIMESTAMP}, merge=True
        )
        return doc
