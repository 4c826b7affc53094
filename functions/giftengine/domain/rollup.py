"""One rollup's decisions, as pure code: what to apply and write now, and when to come back.

The service hands `decide` the state and the events a repository read; the repository
commits exactly the `RollupOutput` it gets back (or nothing when `write` is False). The
spacing rule: the documents clients listen to (the live document, the alert feed) are
written at most once per interval; a rollup that changes none of them (a leaderboard
flush, the cursor passing records applied ahead) may run in between and does not delay
the next one (docs/decisions/001-event-log-and-rollup.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from giftengine.domain import challenges, feature_registry
from giftengine.domain.events import EngagementEvent
from giftengine.domain.features import Feature, Job, SideWrite
from giftengine.domain.stream import FlushItem, StreamState


@dataclass
class RollupInput:
    state: StreamState
    events: list[EngagementEvent]
    goals: list[dict]
    more: bool  # the read hit its limit, or the commit holds a fresh record: come back
    last_bucket: int  # the interval of the last live write
    cursor_moves: bool = False  # the cursor or the applied-ahead set changes
    fresh: bool = False  # the fast path: `events` are one message's, not yet recorded
    # The state says a rollup left recorded events for the next live turn (`hold`): the
    # fast path, which sees only its own message, yields that turn to the follow-up.
    waiting: bool = False


# Alert items per alerts document. A hot stream's rollup can raise thousands of alerts (one
# per settled gift) and a Firestore document holds at most 1 MiB: a rollup's alerts go on
# consecutive documents of at most this many items (an item stays under ~2 KB: names and
# handles are bounded), numbered by `StreamState.alert_seq`.
ALERTS_PER_DOC = 250


def alert_pages(alerts: list[dict], last_seq: int) -> list[tuple[int, list[dict]]]:
    """One rollup's alerts documents, `(seq, items)` in order, the last numbered `last_seq`
    (the state's `alert_seq` after `decide`)."""
    pages = [alerts[i : i + ALERTS_PER_DOC] for i in range(0, len(alerts), ALERTS_PER_DOC)]
    return [(last_seq - len(pages) + 1 + k, page) for k, page in enumerate(pages)]


@dataclass
class RollupOutput:
    write: bool  # False: nothing changed (or too soon), commit nothing
    alerts: list[dict]
    flush: list[FlushItem]
    live: dict | None
    bucket: int
    side_writes: list[SideWrite] = field(default_factory=list)  # domain/features.py
    jobs: list[Job] = field(default_factory=list)  # after the commit (domain/features.py)
    # Too soon to apply the events: commit only the mark that records wait for the next live
    # turn (and, on the fast path, the message's record, unapplied); the cursor stays.
    hold: bool = False


@dataclass(frozen=True)
class Cadence:
    interval: float  # rollup_min_interval_s
    top_n: int
    idle_timeout: float
    retention: float
    board_flush: float
    period_flush: float
    flush_max_users: int
    followup_tick: float


@dataclass
class Decision:
    out: RollupOutput
    skipped: bool  # left for later because too soon after a live write
    applied: int


def decide(
    inp: RollupInput,
    now: float,
    bucket: int,
    c: Cadence,
    config_of: Callable[[str], dict],
    registry: tuple[type[Feature], ...] | None = None,
    wait_s: float = 0.0,
) -> Decision:
    """`config_of(creator_id)`: the creator's settings document (`timezone`, `features`);
    `registry`: the stream features to run (default: domain/feature_registry.py); `wait_s`:
    on the fast path, how long before its live turn the caller would rather wait for it
    than hold the message for a follow-up."""
    st = inp.state
    registry = feature_registry.REGISTRY if registry is None else registry
    live_ok = live_turn(st, c, inp.fresh)
    # The fast path's turn is the live documents' rate (`live_turn`), not a calendar
    # second: a quiet stream's message goes out when it arrives.
    too_soon = now < live_ok if inp.fresh else inp.last_bucket >= bucket or now < live_ok
    nothing = RollupOutput(False, [], [], None, inp.last_bucket)
    hold = RollupOutput(True, [], [], None, inp.last_bucket, hold=True)
    if inp.fresh and inp.waiting:
        # Records wait for the next live turn and only a rollup reading the log applies
        # them: a fast path taking that turn first would leave them waiting again, turn
        # after turn, as long as gifts keep coming (seen at a gift a second).
        return Decision(hold, True, 0)
    if too_soon and inp.events:
        if inp.fresh and live_ok - now <= wait_s:
            return Decision(nothing, True, 0)  # the fast path waits for its turn, tries again
        # Marked once: the fast path yields the next turn to the follow-up.
        return Decision(hold if inp.fresh or not inp.waiting else nothing, True, 0)
    if not st.creator_id and inp.events:
        st.creator_id = inp.events[0].creator_id or st.stream_id
    config = config_of(st.creator_id) if st.creator_id else {}
    st.load_features(registry, config.get("features"))
    before = st.live_view(c.top_n)
    before_core = st.core_dict()
    if st.creator_id:
        st.timezone = config.get("timezone") or st.timezone
    st.set_goals(inp.goals)
    for ev in inp.events:
        st.apply(ev, now)
    applied = len(inp.events)
    st.expire(now, c.idle_timeout)
    st.prune(now, c.retention)
    ranks = st.finish_batch()
    st.alerts.extend(challenges.expire(st.goals.values(), now))  # goals with a deadline
    st.tick_features(now)
    alerts = list(st.alerts)
    side = list(st.side_writes)
    jobs = list(st.jobs)
    flush = []
    if st.pending_flush() and st.flush_due(now, c.board_flush):
        flush = st.take_flush(
            now, c.flush_max_users, periods=st.period_flush_due(now, c.period_flush)
        )
    if alerts:  # one number per alerts document (`alert_pages`)
        st.alert_seq += -(-len(alerts) // ALERTS_PER_DOC)
    live = st.live_view(c.top_n, ranks)
    live_changed = {**live, "rev": 0} != {**before, "rev": 0}
    changed = applied or alerts or flush or side or live_changed or inp.cursor_moves
    changed = changed or st.core_dict() != before_core
    if not changed:
        return Decision(nothing, False, applied)
    if not (alerts or live_changed):  # nothing clients listen to: spacing unchanged
        out = RollupOutput(True, [], flush, None, inp.last_bucket, side, jobs)
        return Decision(out, False, applied)
    if too_soon:  # e.g. an idle streak settling: it waits for its turn like an event
        return Decision(nothing, True, 0)
    st.last_rollup_at = max(now, st.last_rollup_at + c.interval)
    if live_changed:
        st.rev += 1
        live = st.live_view(c.top_n, ranks)
    return Decision(
        RollupOutput(True, alerts, flush, live if live_changed else None, bucket, side, jobs),
        False,
        applied,
    )


# How early a message on the fast path may take the live documents' next turn, as a share
# of the interval (decision 096). The turns are kept on a virtual schedule: a write taken
# early moves `last_rollup_at` to the time its turn began (`max(now, last + interval)`),
# so the documents are still written at most once per interval in the long run, and any
# window of W seconds holds at most (W + tolerance) / interval + 1 writes. A stream at about
# a gift a second, whose arrivals jitter around the second, then takes every turn when its
# gift arrives: no wait in the invocation, no gift held for a follow-up.
LIVE_TOLERANCE_SHARE = 0.25


def live_turn(st: StreamState, c: Cadence, fresh: bool = False) -> float:
    """When the live documents may be written again: one interval after the last write's
    turn, or (`fresh`: the fast path) up to LIVE_TOLERANCE_SHARE of it earlier."""
    early = c.interval * LIVE_TOLERANCE_SHARE if fresh else 0.0
    return st.last_rollup_at + c.interval - early


def next_run(st: StreamState, skipped: bool, more: bool, now: float, c: Cadence) -> float | None:
    """When the stream's follow-up rollup is due, or None. Work that writes the live
    documents runs one interval after the last such write; a leaderboard flush whenever
    it is due; never sooner than one follow-up tick from now (task names are per tick).
    A feature's deadline is asked for on its grid (`Feature.deadline_slack`): while events
    come, their rollups pass it first and the commits ask for one task, not one each."""
    live_ok = st.last_rollup_at + c.interval
    candidates = []
    if skipped:
        candidates.append(live_ok)
    elif more:
        candidates.append(now + c.interval)
    deadline = st.next_deadline(c.idle_timeout, slack=True)
    if deadline is not None:
        candidates.append(max(deadline, live_ok))
    flush_at = st.next_flush_at(c.board_flush, c.period_flush)
    if flush_at is not None:
        candidates.append(flush_at)
    return max(min(candidates), now + c.followup_tick) if candidates else None


# ---- the rollup lease (decision 018) -------------------------------------------------------
# The lease only keeps rollups of one stream from queueing on each other's locks; correctness
# never rests on it (the rollup's transaction checks the cursor it read). These are its rules;
# the repository reads the lease document and commits, with a precondition, what they say.
LEASE_SECONDS = 30.0


def lease_until(now: float, lease_s: float = LEASE_SECONDS) -> float:
    """When a lease taken now expires (a rollup that dies holding it blocks no one longer)."""
    return now + lease_s


def lease_held(until: float | None, now: float) -> bool:
    """Another rollup holds the lease while its `until` is in the future; a released lease
    (`until` 0) or an expired one is free."""
    return (until or 0) > now


@dataclass(frozen=True)
class Released:
    """A lease this process gave back: the lease document's version after the release, and
    the stream's cursor as this process's last rollup committed it."""

    version: object
    cursor: dict | None


class LeaseMemo:
    """Per process, per stream: the lease this process released last and the cursor it left.
    Taking the lease back on the condition that its document is still at `version` proves no
    other leased rollup took it since, so the cursor is most likely current and is not read
    again. Only a hint: the rollups that take no lease (the fast path, follow-ups without
    the lease: decision 044) and a holder whose lease expired under it may have moved the
    cursor meanwhile, and the rollup's transaction, which checks the cursor, then costs one
    retry. Bounded: past `size` streams it forgets everything, which only costs each stream
    one cursor read."""

    def __init__(self, size: int = 10_000):
        self._released: dict[str, Released] = {}
        self._size = size

    def released(self, stream_id: str, version: object, cursor: dict | None) -> None:
        """Remember a release after a rollup that committed (or found) `cursor`. After a
        failed rollup the cursor is not known: do not call this."""
        if len(self._released) >= self._size:
            self._released.clear()
        self._released[stream_id] = Released(version, cursor)

    def take(self, stream_id: str) -> Released | None:
        """The release to try to take the lease back from, once: a failed try (someone took
        the lease since) falls back to reading the lease and the cursor."""
        return self._released.pop(stream_id, None)

    def __len__(self) -> int:
        return len(self._released)
