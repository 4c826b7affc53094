"""The gift pipeline's use cases: record a message's engagement events, roll a stream up.

`record_engagement` runs once per Pub/Sub delivery (one event, or a batch of one stream's
events: domain/eventlog.py); `run_rollup` runs at most once per second per stream (Cloud
Tasks, debounced), applies everything recorded since the last rollup through the pure
stream aggregate, and writes the live state. This module depends on the repositories
below (Protocols) and the domain only; `bootstrap` wires the Firestore and Cloud Tasks
adapters, `memory.MemoryEventStore` runs the same code in memory for tests.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import ValidationError

from giftengine.config import Settings
from giftengine.domain import rollup
from giftengine.domain.eventlog import parse_message
from giftengine.domain.events import EngagementEvent, validation_reason
from giftengine.domain.features import Job
from giftengine.domain.rewards import Rewards

log = logging.getLogger("giftengine.pipeline")

Decide = Callable[[rollup.RollupInput], rollup.RollupOutput]
JOB_DELAY_S = 1.0  # a job runs this long after its rollup decided: after the commit, mostly


class EventStore(Protocol):
    def record_events(self, events: Sequence[EngagementEvent]) -> bool:
        """Store one message's events as one record; False if that record exists."""

    def record_dead_letter(
        self, message_id: str, reason: str, data: bytes, attributes: dict[str, str]
    ) -> bool: ...

    def rollup(
        self, stream_id: str, limit: int, decide: Decide, lease: bool = True
    ) -> rollup.RollupOutput | None:
        """Read the records after the cursor (at most `limit`), decide, commit; None when
        another rollup of the stream holds its lease. `lease` False: a follow-up, tried
        first without the lease when the stream is quiet (a commit conditional on the
        state, as the fast path's)."""

    def record_with_rollup(
        self, events: Sequence[EngagementEvent], decide: Decide
    ) -> rollup.RollupOutput | None:
        """Record the events and apply them in one commit; None, committing nothing, when
        the record exists or the state kept changing."""

    def creator_config(self, creator_id: str) -> dict | None:
        """The creator's settings document (`timezone`, `features`), None if unset."""

    def stream_bans(self, stream_id: str, now: float) -> list[str]:
        """The uids the stream's chat bans at `now` (at most a few hundred)."""


class RollupScheduler(Protocol):
    def schedule_rollup(self, stream_id: str, at: float, trailing: bool = True) -> None: ...
    def schedule_followup(self, stream_id: str, at: float) -> None: ...


class JobScheduler(Protocol):
    def schedule_job(self, stream_id: str, job: Job, at: float) -> None:
        """Have the job's consumer run it at `at` or later; scheduling the same job again is
        harmless (the consumer applies a job once: domain/features.py `Job`)."""


class DeadLetterSink(Protocol):
    def publish(self, data: bytes, **attributes: str) -> str: ...


@dataclass
class Deps:
    settings: Settings
    store: EventStore
    scheduler: RollupScheduler
    dead_letters: DeadLetterSink
    clock: Callable[[], float] = time.time
    # Consumers of the jobs features ask for (a command gift's poll start); None: none run.
    jobs: JobScheduler | None = None
    # How the fast path waits for the interval (`fast_path_wait_s`); tests pass their clock's.
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Recorded:
    outcome: str  # "recorded" | "duplicate" | "dead_letter"
    event: EngagementEvent | None = None  # the first of `events`
    reason: str = ""
    events: list[EngagementEvent] = field(default_factory=list)


def record_engagement(
    data: bytes, message_id: str, attributes: dict[str, str], deps: Deps
) -> Recorded:
    """Record one delivered message exactly once. A poison message is dead-lettered with its
    reason (and acknowledged), and so is each invalid element of a batch, alone; a
    transient failure raises so Pub/Sub redelivers."""
    try:
        events, rejected = parse_message(data)
    except (ValidationError, ValueError) as exc:
        reason = _reason(exc)
        _dead_letter(deps, message_id, reason, data, attributes)
        return Recorded("dead_letter", reason=reason)
    for r in rejected:
        _dead_letter(deps, f"{message_id}#{r.index}", r.reason, r.data, attributes)
    if not events:
        return Recorded("dead_letter", reason="; ".join(r.reason for r in rejected))
    created = record_events(events, deps)
    return Recorded("recorded" if created else "duplicate", events[0], events=events)


def record_events(events: list[EngagementEvent], deps: Deps) -> bool:
    """Record valid events of one stream as one record, exactly once, and trigger the
    stream's rollup: a delivered message's events, or events the API built itself (a
    creator's command: service/controls.py). False when that record existed already (a
    redelivery, a retried request)."""
    stream_id = events[0].stream_id
    s = deps.settings
    now = deps.clock()
    bucket = math.floor(now / s.rollup_min_interval_s)
    quiet = _leading.quiet(stream_id, now, s.rollup_min_interval_s * QUIET_SHARE)
    leading = s.inline_rollup and _leading.claim(stream_id, bucket)
    if s.inline_rollup and quiet:
        fast = _record_with_rollup(events, deps)
        if fast.recorded:
            return True
        if fast.followup_at is not None:  # the live documents' turn has not come yet
            created = deps.store.record_events(events)
            deps.scheduler.schedule_followup(stream_id, fast.followup_at)
            return created
    created = deps.store.record_events(events)
    # Trigger even for a duplicate: the first delivery may have crashed before it did.
    _trigger_rollup(stream_id, deps, leading, bucket, now)
    return created


def _dead_letter(deps: Deps, message_id: str, reason: str, data: bytes, attributes) -> None:
    if deps.store.record_dead_letter(message_id, reason, data, attributes):
        deps.dead_letters.publish(
            data,
            reason=reason[:1000],
            message_id=message_id,
            **{k: v for k, v in attributes.items() if k not in ("reason", "message_id")},
        )
    log.warning("dead-lettered message %s: %s", message_id, reason)


# A stream is quiet in a process when it recorded nothing of it for this share of the rollup
# interval: its message tries the fast path. A stream at about one message an interval has
# gaps on both sides of the interval (jitter); one of its messages arriving less than an
# interval after the last live write waits for it on the fast path (`fast_path_wait_s`).
QUIET_SHARE = 0.5
# Slept past the interval's end, so the retry's clock is past it (float sums, a sleep that
# wakes a little early).
FAST_PATH_MARGIN_S = 0.002


def _record_with_rollup(events: list[EngagementEvent], deps: Deps) -> RollupResult:
    """A message of a stream quiet in this process: recorded and rolled up in one commit
    (the store's `record_with_rollup`). When the stream's live documents were written less
    than an interval ago, it waits for the interval's end if that is at most
    `fast_path_wait_s` away and tries once more: a gift every second or so then stays one
    commit, instead of a record, a task and a follow-up rollup (an invocation, its reads and
    its lease). Not `recorded` when that did not happen (a redelivery, a busy stream, a
    failure; `due_at` set: still too soon): the caller records the message the usual way."""
    s = deps.settings
    try:
        result = run_rollup(events[0].stream_id, deps, fresh=events, wait_s=s.fast_path_wait_s)
        wait = result.due_at - deps.clock() if result.due_at is not None else None
        if wait is not None and wait <= s.fast_path_wait_s:
            deps.sleep(max(0.0, wait) + FAST_PATH_MARGIN_S)
            result = run_rollup(events[0].stream_id, deps, fresh=events)
        return result
    except Exception:  # nothing was committed, or the record's create will say so
        log.exception("recording %s with its rollup failed", events[0].event_id)
        return RollupResult(0, False, None)


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
        return validation_reason(exc)
    return str(exc) or type(exc).__name__


@dataclass
class RollupResult:
    applied: int
    wrote: bool  # the live documents or the boards (not a hold's mark alone)
    next_at: float | None
    recorded: bool = False  # `fresh` was recorded by this rollup's commit
    # `fresh` not recorded because the live documents' turn has not come: when the fast
    # path may take it (`rollup.live_turn`, fresh), and when a follow-up may
    due_at: float | None = None
    followup_at: float | None = None


class _CreatorConfigCache:
    """A creator's settings, read at most once a minute per process: a setting change
    (time zone, a feature's configuration) reaches the rollup within `ttl` seconds."""

    def __init__(self, ttl: float = 60.0, size: int = 10_000):
        self.ttl, self.size, self._cache = ttl, size, {}

    def get(self, store: EventStore, creator_id: str, default_tz: str, now: float) -> dict:
        hit = self._cache.get(creator_id)
        if hit and now - hit[1] < self.ttl:
            return hit[0]
        config = dict(store.creator_config(creator_id) or {})
        config["timezone"] = config.get("timezone") or default_tz
        if len(self._cache) >= self.size:
            self._cache.clear()
        self._cache[creator_id] = (config, now)
        return config


_config_cache = _CreatorConfigCache()


class _BanCache:
    """A stream's active chat bans, read at most once a minute per process (one query per
    stream per minute): a ban stops a viewer's rewards within `ttl` seconds."""

    def __init__(self, ttl: float = 60.0, size: int = 10_000):
        self.ttl, self.size, self._cache = ttl, size, {}

    def get(self, store: EventStore, stream_id: str, now: float) -> list[str]:
        hit = self._cache.get(stream_id)
        if hit and now - hit[1] < self.ttl:
            return hit[0]
        bans = sorted(store.stream_bans(stream_id, now))
        if len(self._cache) >= self.size:
            self._cache.clear()
        self._cache[stream_id] = (bans, now)
        return bans


_ban_cache = _BanCache()


def _with_bans(config: dict, bans: list[str]) -> dict:
    """The creator's settings with the stream's bans in the rewards feature's section."""
    if not bans:
        return config
    features = dict(config.get("features") or {})
    features[Rewards.name] = {**(features.get(Rewards.name) or {}), "banned": bans}
    return {**config, "features": features}


def _comment_passes(text: str) -> bool:
    """A comment earns XP only if the chat's built-in classifier would show it (the
    stream's own keyword list is not read here: docs/engagement.md, "XP")."""
    from giftengine.moderation.rules import shown_by_default

    return shown_by_default(text)


Rewards.comment_ok = staticmethod(_comment_passes)


def cadence(s: Settings) -> rollup.Cadence:
    return rollup.Cadence(
        interval=s.rollup_min_interval_s,
        top_n=s.top_n,
        idle_timeout=s.streak_idle_timeout_s,
        retention=s.settled_streak_retention_s,
        board_flush=s.board_flush_interval_s,
        period_flush=s.period_flush_interval_s,
        flush_max_users=s.flush_max_users,
        followup_tick=s.followup_tick_s,
    )


def run_rollup(
    stream_id: str,
    deps: Deps,
    fresh: Sequence[EngagementEvent] | EngagementEvent | None = None,
    followup: bool = False,
    wait_s: float = 0.0,
) -> RollupResult:
    """Apply what the stream recorded since the last rollup and write the live state. With
    `fresh` (the events of one message, not recorded yet): record them and apply them
    alone, in one commit, or nothing (`recorded` False). `followup`: a rollup a previous
    one asked for (`schedule_followup`), tried without the lease first (decision 044).
    `wait_s` (with `fresh`): when its live turn is at most this far, commit nothing and say
    when it is (`due_at`) so the caller may wait for it; otherwise, too soon, the message is
    recorded unapplied and the stream marked waiting for a follow-up (`rollup.decide`)."""
    s = deps.settings
    c = cadence(s)
    now = deps.clock()
    bucket = math.floor(now / s.rollup_min_interval_s)
    holder: dict = {}

    def config_of(creator_id: str) -> dict:
        config = _config_cache.get(deps.store, creator_id, s.default_timezone, now)
        return _with_bans(config, _ban_cache.get(deps.store, stream_id, now))

    def decide(inp: rollup.RollupInput) -> rollup.RollupOutput:
        d = rollup.decide(inp, now, bucket, c, config_of, wait_s=wait_s)
        holder.update(state=inp.state, more=inp.more, skipped=d.skipped, applied=d.applied)
        if d.out.write and deps.jobs is not None:
            # Before the commit, so a crash right after it loses no job; a job whose
            # document this commit does not make waits for it, then gives up (decision 077).
            for job in d.out.jobs:
                deps.jobs.schedule_job(stream_id, job, now + JOB_DELAY_S)
        return d.out

    if fresh is not None:
        events = [fresh] if isinstance(fresh, EngagementEvent) else list(fresh)
        out = deps.store.record_with_rollup(events, decide)
        if out is None:  # not recorded: the caller records it and rolls up the usual way
            if not holder.get("skipped"):
                return RollupResult(0, False, None)
            # When the live documents may be written again: the fast path waits for that
            # time, and a follow-up then applies the events (with any flush due before it).
            # Not `next_run`: a flush due sooner is no time the events could be applied at.
            st, soonest = holder["state"], now + c.followup_tick
            return RollupResult(
                0, False, None,
                due_at=max(rollup.live_turn(st, c, fresh=True), now),
                followup_at=max(rollup.live_turn(st, c), soonest),
            )  # fmt: skip
    else:
        out = deps.store.rollup(stream_id, s.rollup_max_events, decide, lease=not followup)
    if out is None:  # another rollup of this stream is running: come back next interval
        next_at = (bucket + 1) * s.rollup_min_interval_s
        deps.scheduler.schedule_followup(stream_id, next_at)
        return RollupResult(0, False, next_at)
    next_at = rollup.next_run(holder["state"], holder["skipped"], holder["more"], now, c)
    if next_at is not None:
        deps.scheduler.schedule_followup(stream_id, next_at)
    wrote = out.write and not out.hold  # a hold writes its mark (and record) only
    return RollupResult(holder["applied"], wrote, next_at, recorded=fresh is not None)
