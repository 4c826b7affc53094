"""The gift pipeline's use cases: record an engagement event, roll a stream up.

`record_engagement` runs once per Pub/Sub delivery; `run_rollup` runs at most once per
second per stream (Cloud Tasks, debounced), applies everything recorded since the last
rollup through the pure stream aggregate, and writes the live state.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from giftengine.adapters.firestore_store import RollupInput, RollupOutput
from giftengine.config import Settings
from giftengine.domain.events import EngagementEvent, parse_event

log = logging.getLogger("giftengine.pipeline")


class EventStore(Protocol):
    def record_event(self, event: EngagementEvent) -> bool: ...
    def record_dead_letter(
        self, message_id: str, reason: str, data: bytes, attributes: dict[str, str]
    ) -> bool: ...
    def rollup(self, stream_id: str, limit: int, decide) -> RollupOutput | None: ...
    def record_with_rollup(self, event: EngagementEvent, decide) -> RollupOutput | None: ...
    def creator_timezone(self, creator_id: str) -> str | None: ...


class RollupScheduler(Protocol):
    def schedule_rollup(self, stream_id: str, at: float, trailing: bool = True) -> None: ...
    def schedule_followup(self, stream_id: str, at: float) -> None: ...


class DeadLetterSink(Protocol):
    def publish(self, data: bytes, **attributes: str) -> str: ...


@dataclass
class Deps:
    settings: Settings
    store: EventStore
    scheduler: RollupScheduler
    dead_letters: DeadLetterSink
    clock: callable = time.time


@dataclass
class Recorded:
    outcome: str  # "recorded" | "duplicate" | "dead_letter"
    event: EngagementEvent | None = None
    reason: str = ""


def record_engagement(
    data: bytes, message_id: str, attributes: dict[str, str], deps: Deps
) -> Recorded:
    """Record one delivered message exactly once. A poison message is dead-lettered with its
    reason (and acknowledged); a transient failure raises so Pub/Sub redelivers."""
    try:
        event = parse_event(data)
    except (ValidationError, ValueError) as exc:
        reason = _reason(exc)
        if deps.store.record_dead_letter(message_id, reason, data, attributes):
            deps.dead_letters.publish(
                data,
                reason=reason[:1000],
                message_id=message_id,
                **{k: v for k, v in attributes.items() if k != "reason"},
            )
        log.warning("dead-lettered message %s: %s", message_id, reason)
        return Recorded("dead_letter", reason=reason)
    s = deps.settings
    now = deps.clock()
    bucket = math.floor(now / s.rollup_min_interval_s)
    quiet = _leading.quiet(event.stream_id, now, s.rollup_min_interval_s)
    leading = s.inline_rollup and _leading.claim(event.stream_id, bucket)
    if leading and quiet and _record_with_rollup(event, deps):
        return Recorded("recorded", event)
    created = deps.store.record_event(event)
    # Trigger even for a duplicate: the first delivery may have crashed before it did.
    _trigger_rollup(event.stream_id, deps, leading, bucket, now)
    return Recorded("recorded" if created else "duplicate", event)


def _record_with_rollup(event: EngagementEvent, deps: Deps) -> bool:
    """The first event of a stream quiet in this process for an interval: recorded and
    rolled up in one commit (the store's `record_with_rollup`). False when that did not
    happen (a redelivery, a busy stream, a failure): the caller records it the usual way."""
    try:
        return run_rollup(event.stream_id, deps, fresh=event).recorded
    except Exception:  # nothing was committed, or the record's create will say so
        log.exception("recording %s with its rollup failed", event.event_id)
        return False


class _LeadingEdge:
    """Which (stream, interval bucket) this process already rolled up inline, and when it
    last recorded an event of each stream."""

    def __init__(self, size: int = 10_000):
        self._last: dict[str, int] = {}
        self._seen: dict[str, float] = {}
        self._size = size

    def claim(self, stream_id: str, bucket: int) -> bool:
        if self._last.get(stream_id, -1) >= bucket:
            return False
        if len(self._last) >= self._size:
            self._last.clear()
        self._last[stream_id] = bucket
        return True

    def quiet(self, stream_id: str, now: float, gap: float) -> bool:
        """True when this process recorded nothing of the stream in the last `gap` s."""
        last = self._seen.get(stream_id)
        if len(self._seen) >= self._size:
            self._seen.clear()
        self._seen[stream_id] = now
        return last is None or now - last >= gap


_leading = _LeadingEdge()


def _trigger_rollup(stream_id: str, deps: Deps, leading: bool, bucket: int, now: float) -> None:
    """Leading edge inline, trailing edge by Cloud Tasks. The first event of a stream in an
    interval (`leading`: this delivery claimed the interval) is rolled up by the delivery
    that recorded it, so a quiet stream's alert does not wait for a task hop; later events
    of the interval leave it to a task at the start of the next one."""
    s = deps.settings
    if not s.inline_rollup:
        deps.scheduler.schedule_rollup(stream_id, now)
        return
    if not leading:
        deps.scheduler.schedule_rollup(
            stream_id, (bucket + 1) * s.rollup_min_interval_s, trailing=False
        )
        return
    try:
        run_rollup(stream_id, deps)
    except Exception:  # the event is recorded; a task will roll it up
        log.exception("inline rollup of %s failed; leaving it to Cloud Tasks", stream_id)
        deps.scheduler.schedule_rollup(stream_id, now)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        from giftengine.entrypoints.http import validation_reason

        return validation_reason(exc)
    return str(exc) or type(exc).__name__


@dataclass
class RollupResult:
    applied: int
    wrote: bool
    next_at: float | None
    recorded: bool = False  # `fresh` was recorded by this rollup's commit


class _TimezoneCache:
    def __init__(self, ttl: float = 60.0):
        self.ttl, self._cache = ttl, {}

    def get(self, store: EventStore, creator_id: str, default: str, now: float) -> str:
        hit = self._cache.get(creator_id)
        if hit and now - hit[1] < self.ttl:
            return hit[0]
        tz = store.creator_timezone(creator_id) or default
        self._cache[creator_id] = (tz, now)
        return tz


_tz_cache = _TimezoneCache()


def run_rollup(stream_id: str, deps: Deps, fresh: EngagementEvent | None = None) -> RollupResult:
    """Apply what the stream recorded since the last rollup and write the live state. With
    `fresh` (an event not recorded yet): record it and apply it alone, in one commit, or
    nothing (`recorded` False)."""
    s = deps.settings
    now = deps.clock()
    bucket = math.floor(now / s.rollup_min_interval_s)
    applied = 0
    holder: dict = {}

    def decide(inp: RollupInput) -> RollupOutput:
        nonlocal applied
        st = inp.state
        applied = 0
        # The documents clients listen to (live doc, alert feed) are written at most once
        # per interval: a rollup too soon after the last such write leaves the work to its
        # follow-up. A rollup that changes none of them (a leaderboard flush, the cursor
        # passing events applied ahead) may run in between and does not delay the next one.
        too_soon = inp.last_bucket >= bucket or now - st.last_rollup_at < s.rollup_min_interval_s
        if too_soon and inp.events:
            return skip(inp)
        holder["skipped"] = False
        before = st.live_view(s.top_n)
        before_core = st.core_dict()
        if not st.creator_id and inp.events:
            st.creator_id = inp.events[0].creator_id or stream_id
        if st.creator_id:
            st.timezone = _tz_cache.get(deps.store, st.creator_id, s.default_timezone, now)
        st.set_goals(inp.goals)
        for ev in inp.events:
            st.apply(ev, now)
        applied = len(inp.events)
        st.expire(now, s.streak_idle_timeout_s)
        st.prune(now, s.settled_streak_retention_s)
        ranks = st.finish_batch()
        alerts = list(st.alerts)
        flush = []
        if st.pending_flush() and st.flush_due(now, s.board_flush_interval_s):
            flush = st.take_flush(
                now, s.flush_max_users, periods=st.period_flush_due(now, s.period_flush_interval_s)
            )
        if alerts:
            st.alert_seq += 1
        live = st.live_view(s.top_n, ranks)
        live_changed = {**live, "rev": 0} != {**before, "rev": 0}
        changed = (
            applied
            or alerts
            or flush
            or live_changed
            or inp.cursor_moves
            or st.core_dict() != before_core
        )
        if not changed:
            return RollupOutput(False, [], [], None, inp.last_bucket)
        if not (alerts or live_changed):  # nothing clients listen to: spacing unchanged
            return RollupOutput(True, [], flush, None, inp.last_bucket)
        if too_soon:  # e.g. an idle streak settling: it waits for its turn like an event
            return skip(inp)
        st.last_rollup_at = now
        if live_changed:
            st.rev += 1
            live = st.live_view(s.top_n, ranks)
        return RollupOutput(True, alerts, flush, live if live_changed else None, bucket)

    def skip(inp: RollupInput) -> RollupOutput:
        holder["skipped"] = True
        return RollupOutput(False, [], [], None, inp.last_bucket)

    def decide_and_keep(inp: RollupInput) -> RollupOutput:
        out = decide(inp)
        holder["state"], holder["more"] = inp.state, inp.more
        return out

    interval = s.rollup_min_interval_s
    if fresh is not None:
        out = deps.store.record_with_rollup(fresh, decide_and_keep)
        if out is None:  # not recorded: the caller records it and rolls up the usual way
            return RollupResult(0, False, None)
    else:
        out = deps.store.rollup(stream_id, s.rollup_max_events, decide_and_keep)
    if out is None:  # another rollup of this stream is running: come back next interval
        next_at = (bucket + 1) * interval
        deps.scheduler.schedule_followup(stream_id, next_at)
        return RollupResult(0, False, next_at)
    st, more = holder["state"], holder["more"]
    # Work that writes the live documents can run one interval after the last such write;
    # a leaderboard flush whenever it is due.
    live_ok = st.last_rollup_at + interval
    candidates = []
    if holder["skipped"]:
        candidates.append(live_ok)
    elif more:
        candidates.append(now + interval)
    deadline = st.next_deadline(s.streak_idle_timeout_s)
    if deadline is not None:
        candidates.append(max(deadline, live_ok))
    flush_at = st.next_flush_at(s.board_flush_interval_s, s.period_flush_interval_s)
    if flush_at is not None:
        candidates.append(flush_at)
    next_at = max(min(candidates), now + s.followup_tick_s) if candidates else None
    if next_at is not None:
        deps.scheduler.schedule_followup(stream_id, next_at)
    return RollupResult(applied, out.write, next_at, recorded=fresh is not None)
