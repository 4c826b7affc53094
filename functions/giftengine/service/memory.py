"""The pipeline's event store in memory: the same service code runs on it in tests.

It keeps the event log, the rollup state and the projections (live document, alerts,
leaderboard entries) as plain data and applies the same domain rules as the Firestore
adapter (`domain.eventlog` for which records and events a rollup applies,
`domain.rollup` through the service's `decide`). Commit times are a logical clock; a
record may commit up to `lag` ticks in the past, as Firestore's millisecond commit
times let a record sort before one a read already returned, and reads split at a
horizon `lag` ticks back, so the cursor rules are exercised too. `crash` injects a
failure before or after a commit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from giftengine.domain import eventlog, rollup
from giftengine.domain.events import EngagementEvent
from giftengine.domain.rollup import RollupInput, RollupOutput
from giftengine.domain.stream import StreamState


class Crash(Exception):
    """An injected failure (a process dying, a lost connection)."""


@dataclass
class _Record:
    stored: eventlog.Stored
    events: list[EngagementEvent]


@dataclass
class _Stream:
    records: list[_Record] = field(default_factory=list)
    core: dict | None = None  # the state document, with _cursor, _ahead, _bucket
    users: list[dict] = field(default_factory=list)
    live: dict | None = None
    alerts: list[dict] = field(default_factory=list)
    version: int = 0  # every commit of the state bumps it (Firestore's update time)


class MemoryEventStore:
    def __init__(self, lag: int = 0):
        self.lag = lag
        self.clock = 0
        self.streams: dict[str, _Stream] = {}
        self.boards: dict[str, dict[str, dict]] = {}  # board id -> user -> entry
        self.dead_letters: dict[str, str] = {}
        self.creators: dict[str, dict] = {}  # creator id -> settings document
        self.docs: dict[str, dict] = {}  # path -> document written by a side write
        self.bans: dict[str, dict[str, float]] = {}  # stream -> uid -> banned until
        self.lag_next: list[int] = []  # commit lags to use next (tests pick them)
        self.crash: Callable[[str], bool] = lambda where: False  # where: "before"/"after"
        self.ops: dict[str, int] = {}

    # ---- helpers ----------------------------------------------------------------------------
    def _s(self, stream_id: str) -> _Stream:
        return self.streams.setdefault(stream_id, _Stream())

    def _tick(self) -> int:
        self.clock += 1
        lag = self.lag_next.pop(0) if self.lag_next else 0
        return self.clock - max(0, min(lag, self.lag))

    def _count(self, op: str, n: int = 1) -> None:
        self.ops[op] = self.ops.get(op, 0) + n

    # ---- EventStore -------------------------------------------------------------------------
    def record_events(self, events: Sequence[EngagementEvent]) -> bool:
        s = self._s(events[0].stream_id)
        rid = eventlog.record_id([e.event_id for e in events])
        if any(r.stored.id == rid for r in s.records):
            return False
        if self.crash("before"):
            raise Crash("before the record's create")
        ts = self._tick()
        s.records.append(
            _Record(eventlog.Stored(rid, ts, tuple(e.event_id for e in events)), list(events))
        )
        self._count("write")
        if self.crash("after"):
            raise Crash("after the record's create")
        return True

    def record_dead_letter(self, message_id, reason, data, attributes) -> bool:
        if message_id in self.dead_letters:
            return False
        self.dead_letters[message_id] = reason
        return True

    def creator_config(self, creator_id: str) -> dict | None:
        return copy.deepcopy(self.creators.get(creator_id))

    def stream_bans(self, stream_id: str, now: float) -> list[str]:
        return [u for u, until in self.bans.get(stream_id, {}).items() if until > now]

    def rollup(self, stream_id: str, limit: int, decide, lease: bool = True) -> RollupOutput | None:
        # No lease here: every rollup is one atomic step (the Firestore adapter's unleased
        # follow-up is its conditional commit: tests/integration/test_pipeline_firestore.py).
        s = self._s(stream_id)
        self.clock += 1
        core = dict(s.core or {})
        cursor, ahead = core.get("_cursor"), core.get("_ahead") or []
        after = sorted(
            (r for r in s.records if not eventlog.at_or_before(r.stored, cursor)),
            key=lambda r: (r.stored.ts, r.stored.id),
        )[:limit]
        complete, recent = eventlog.split_at_horizon(
            [r.stored for r in after], self.clock - self.lag
        )
        return self._commit(
            s, stream_id, decide, cursor, ahead, complete, recent, len(after) >= limit
        )

    def record_with_rollup(self, events: Sequence[EngagementEvent], decide) -> RollupOutput | None:
        s = self._s(events[0].stream_id)
        rid = eventlog.record_id([e.event_id for e in events])
        if any(r.stored.id == rid for r in s.records):
            return None  # the record's create would fail the commit
        core = dict(s.core or {})
        fresh = _Record(eventlog.Stored(rid, None, tuple(e.event_id for e in events)), list(events))
        return self._commit(
            s, events[0].stream_id, decide, core.get("_cursor"), core.get("_ahead") or [],
            [], [fresh.stored], False, fresh=fresh,
        )  # fmt: skip

    def _commit(self, s, stream_id, decide, cursor, ahead, complete, recent, more, fresh=None):
        step = eventlog.advance(cursor, ahead, complete, recent)
        by_id = {r.stored.id: r for r in s.records}
        if fresh is not None:
            by_id[fresh.stored.id] = fresh
        ids = [e for r in step.to_apply for e in r.event_ids]
        memo = (s.core or {}).get("_slots") if s.core is not None else eventlog.EMPTY_MEMO
        candidates = [e for r in step.to_apply for e in by_id[r.id].events]
        holders = []
        if eventlog.lookup_needed(memo, candidates):  # as the Firestore adapter: by memo
            holders = [r.stored for r in s.records if set(r.stored.event_ids) & set(ids)]
            self._count("lookup")
        keep = eventlog.events_to_apply(step.to_apply, holders, cursor, ahead)
        events = []
        for r in step.to_apply:
            wanted = set(keep[r.id])
            for e in by_id[r.id].events:
                if e.event_id in wanted:
                    wanted.discard(e.event_id)
                    events.append(e)
        core = copy.deepcopy(s.core or {})
        last_bucket = int(core.pop("_bucket", -1))
        core.pop("_cursor", None)
        core.pop("_ahead", None)
        core.pop("_slots", None)
        waiting = bool(core.pop("_waiting", False))
        state = StreamState.from_dicts(stream_id, core or None, copy.deepcopy(s.users))
        if fresh is not None:
            more = more or len(step.ahead) >= eventlog.AHEAD_PASS
        out = decide(
            RollupInput(
                state, events, [], more=more, last_bucket=last_bucket,
                cursor_moves=step.moves, fresh=fresh is not None, waiting=waiting,
            )
        )  # fmt: skip
        if not out.write:
            return out if fresh is None else None
        if self.crash("before"):
            raise Crash("before the rollup's commit")
        if fresh is not None:
            fresh.stored = eventlog.Stored(fresh.stored.id, self._tick(), fresh.stored.event_ids)
            s.records.append(fresh)
            self._count("write")
        if out.hold:  # the fresh record stays unapplied; only the mark, the cursor stays
            if not waiting and s.core is not None:
                s.core = {**s.core, "_waiting": True}
                s.version += 1
                self._count("write")
            return out
        new_core = state.core_dict()
        new_core.update(
            _cursor=step.cursor,
            _ahead=step.ahead,
            _bucket=out.bucket,
            _slots=eventlog.remember(memo, candidates),
        )
        s.core = new_core
        s.users = [v.to_dict() for v in state.users.values()]
        s.version += 1
        self._count("write")
        if out.live is not None:
            s.live = copy.deepcopy(out.live)
            self._count("write")
        for seq, items in rollup.alert_pages(out.alerts, state.alert_seq):
            s.alerts.append({"seq": seq, "items": copy.deepcopy(items)})
            self._count("write")
        for it in out.flush:
            for board_id, (coins, units) in it.increments.items():
                e = self.boards.setdefault(board_id, {}).setdefault(
                    it.user_id, {"coins": 0, "gifts": 0}
                )
                e["coins"] += coins
                e["gifts"] += units
        for w in out.side_writes:
            self._side_write(w)
        if self.crash("after"):
            raise Crash("after the rollup's commit")
        return out

    def _side_write(self, w) -> None:
        """As the Firestore adapter commits it (set, merged or not, and increments). A merge
        merges nested maps field by field, as Firestore's `set(merge=True)` does: two streams
        writing `sides.{their id}` of one battle document keep each other's side."""
        doc = copy.deepcopy(self.docs.get(w.path, {})) if w.merge else {}
        _merge(doc, copy.deepcopy(w.set))
        for k, v in w.increments.items():
            doc[k] = doc.get(k, 0) + v
        self.docs[w.path] = doc
        self._count("write")

    # ---- reads ------------------------------------------------------------------------------
    def live(self, stream_id: str) -> dict | None:
        return self._s(stream_id).live

    def stream_events(self, stream_id: str) -> Iterator[EngagementEvent]:
        seen: set[str] = set()
        for r in sorted(self._s(stream_id).records, key=lambda r: (r.stored.ts, r.stored.id)):
            for e in r.events:
                if e.event_id not in seen:
                    seen.add(e.event_id)
                    yield e


def _merge(doc: dict, data: dict) -> None:
    for k, v in data.items():
        if isinstance(v, dict) and isinstance(doc.get(k), dict):
            _merge(doc[k], v)
        else:
            doc[k] = v
