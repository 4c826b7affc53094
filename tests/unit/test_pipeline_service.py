"""The pipeline's use cases on the in-memory event store (service/memory.py): every event
counted exactly once whatever the messages' batch boundaries, redeliveries, the same event
in several batches, crashes before and after commits, the order of deliveries and
rollups, commit times sorting before what a read returned, and quiet streams' fast path.

Likes and non-streakable gifts: their sums have no settled-streak memory that could hide
an event applied twice."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from datetime import timedelta

import pytest
from giftengine.config import load
from giftengine.domain import eventlog, feature_registry, rollup
from giftengine.service import pipeline
from giftengine.service.memory import Crash, MemoryEventStore
from giftengine_dev.bench.stats import max_rate_in_window
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories

pytestmark = pytest.mark.unit


class Tasks:
    def __init__(self):
        self.calls: list[tuple[str, float]] = []

    def schedule_rollup(self, stream_id, at, trailing=True):
        self.calls.append((stream_id, at))

    def schedule_followup(self, stream_id, at):
        self.calls.append((stream_id, at))


class DeadLetters:
    def __init__(self):
        self.published: list[dict] = []

    def publish(self, data, **attributes):
        self.published.append(attributes)
        return "id"


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class Leading:
    """Stands in for the per-process quiet/leading-edge memory: the test decides."""

    def __init__(self):
        self.next = True

    def quiet(self, *a):
        return self.next

    def claim(self, *a):
        return self.next


@pytest.fixture
def leading(monkeypatch) -> Leading:
    """The test's stand-in for the per-process quiet/leading-edge memory, put back after."""
    stand_in = Leading()
    monkeypatch.setattr(pipeline, "_leading", stand_in)
    return stand_in


def make_deps(store: MemoryEventStore) -> pipeline.Deps:
    clock = Clock()
    return pipeline.Deps(
        settings=dataclasses.replace(load(), inline_rollup=True, rollup_max_events=3),
        store=store,
        scheduler=Tasks(),
        dead_letters=DeadLetters(),
        clock=clock,
        sleep=clock.sleep,
    )


def deliver(deps, events, message_id="m"):
    return pipeline.record_engagement(eventlog.encode_message(events), message_id, {}, deps)


def totals(store, stream="s1") -> dict:
    return (store.live(stream) or {}).get("totals", {})


def drain(deps) -> None:
    """Rollups until nothing is left: past every commit's horizon, one interval apart."""
    for _ in range(30):
        deps.clock.t += 2
        deps.store.clock += deps.store.lag + 1
        pipeline.run_rollup("s1", deps)


def event(i: int, kind: str, amount: int, secs: float = 0):
    """Event `i`, `secs` after T0: its time slot (eventlog.SLOT_S) decides whether a rollup
    may skip the lookup of records holding it (eventlog.lookup_needed)."""
    if kind == "gift":
        return factories.gift(
            f"u{i % 3}",
            coins=amount,
            streakable=False,
            event_id=f"ev{i}",
            group=f"g{i}",
            secs=secs,
        )
    at = factories.T0 + timedelta(seconds=secs)
    return factories.ev("like", event_id=f"ev{i}", user=f"u{i % 3}", count=amount, at=at)


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 14))
    events = [
        event(
            i,
            draw(st.sampled_from(["gift", "like"])),
            draw(st.integers(1, 9)),
            draw(st.sampled_from([0, 1, 2.5, 4, 7])),  # slots 0-3, in any order
        )
        for i in range(n)
    ]
    messages: list[list] = []
    pos = 0
    while pos < n:  # the first sending: consecutive batches
        size = draw(st.integers(1, 5))
        messages.append(events[pos : pos + size])
        pos += size
    for _ in range(draw(st.integers(0, 4))):  # re-sent with other boundaries
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, min(n, start + 6)))
        messages.append(events[start:end])
    for _ in range(draw(st.integers(0, 3))):  # redeliveries of a message as it was
        messages.append(draw(st.sampled_from(messages)))
    order = draw(st.permutations(range(len(messages))))
    steps = []
    for k in order:
        steps.append(
            (
                "deliver",
                messages[k],
                draw(st.sampled_from([None, None, None, "before", "after"])),
                draw(st.booleans()),  # quiet: the fast path
            )
        )
        if draw(st.booleans()):
            steps.append(
                ("rollup", None, draw(st.sampled_from([None, None, "before", "after"])), 0)
            )
    lags = draw(st.lists(st.integers(0, 2), max_size=40))
    ticks = draw(
        # 0.8: a quiet message waits for the interval on the fast path (fast_path_wait_s)
        st.lists(
            st.sampled_from([0.0, 0.3, 0.8, 1.0, 1.5]), min_size=len(steps), max_size=len(steps)
        )
    )
    return events, steps, lags, ticks


def once(where: str | None):
    fired: list[bool] = []

    def crash(at: str) -> bool:
        if at == where and not fired:
            fired.append(True)
            return True
        return False

    return crash


def play(deps, leading, steps, ticks) -> None:
    """Run a drawn scenario's steps on stream s1: deliveries and rollups, each after its clock
    tick, with its crash and quiet flag; a delivery that crashed is delivered again later
    (Pub/Sub redelivers what was not acknowledged)."""
    store = deps.store
    pending, i = list(steps), 0
    while pending:
        what, msg, crash, quiet = pending.pop(0)
        deps.clock.t += ticks[i % len(ticks)]
        i += 1
        store.crash, leading.next = once(crash), quiet
        try:
            if what == "deliver":
                deliver(deps, msg)
            else:
                pipeline.run_rollup("s1", deps)
        except Crash:
            if what == "deliver":
                pending.append((what, msg, None, quiet))
    store.crash = once(None)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_every_event_counts_once_whatever_the_batches_redeliveries_and_crashes(scenario):
    events, steps, lags, ticks = scenario
    store = MemoryEventStore(lag=2)
    store.lag_next = list(lags)
    deps = make_deps(store)
    real_leading, leading = pipeline._leading, Leading()
    pipeline._leading = leading
    try:
        play(deps, leading, steps, ticks)
        drain(deps)
    finally:
        pipeline._leading = real_leading
    gifts = [e for e in events if e.kind == "gift"]
    got = totals(store)
    assert got.get("coins", 0) == sum(e.gift.coins for e in gifts)
    assert got.get("gifts", 0) == len(gifts)
    assert got.get("likes", 0) == sum(e.count for e in events if e.kind == "like")
    # The log's one reader yields each event once, whatever records hold it.
    assert sorted(e.event_id for e in store.stream_events("s1")) == sorted(
        e.event_id for e in events
    )


def test_a_batch_is_one_record_and_its_redelivery_changes_nothing(leading):
    store = MemoryEventStore()
    deps = make_deps(store)
    batch = [event(i, "gift", 2) for i in range(4)]
    leading.next = False
    assert deliver(deps, batch).outcome == "recorded"
    assert deliver(deps, batch).outcome == "duplicate"
    assert store.ops == {"write": 1}
    drain(deps)
    assert totals(store)["coins"] == 8 and totals(store)["gifts"] == 4


def test_a_quiet_streams_batch_is_recorded_and_applied_in_one_commit(monkeypatch, leading):
    # The pipeline's own writes; a stream feature's side writes (rewards: the viewers' XP
    # documents) come on top, in the same commit (tests/unit/test_rewards_pipeline.py).
    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    store = MemoryEventStore()
    deps = make_deps(store)
    assert deliver(deps, [event(0, "gift", 5), event(1, "like", 3)]).outcome == "recorded"
    assert totals(store)["coins"] == 5 and totals(store)["likes"] == 3
    assert store.ops["write"] == 4  # the record, the state, the live document, the alert


def test_a_quiet_streams_gifts_in_new_slots_skip_the_lookup_and_a_resent_one_does_not(leading):
    store = MemoryEventStore()
    deps = make_deps(store)
    for i, secs in enumerate([0, 2.5, 4.1]):  # three slots, each newer than the last
        deps.clock.t += 1.5
        assert deliver(deps, [event(i, "gift", 5, secs)]).outcome == "recorded"
    assert "lookup" not in store.ops
    deps.clock.t += 1.5  # the first gift again, in another message: an older slot
    deliver(deps, [event(0, "gift", 5, 0), event(9, "gift", 1, 4.5)])
    assert store.ops["lookup"] == 1
    drain(deps)
    assert totals(store)["coins"] == 16 and totals(store)["gifts"] == 4


def test_an_invalid_event_of_a_batch_is_dead_lettered_alone_and_the_rest_recorded(leading):
    store = MemoryEventStore()
    deps = make_deps(store)
    good = event(0, "gift", 4)
    bad = {"event_id": "bad", "kind": "gift"}
    data = json.dumps({"events": [json.loads(good.model_dump_json()), bad]}).encode()
    result = pipeline.record_engagement(data, "m7", {}, deps)
    assert result.outcome == "recorded" and result.events == [good]
    assert list(store.dead_letters) == ["m7#1"]
    assert deps.dead_letters.published[0]["message_id"] == "m7#1"
    assert totals(store)["coins"] == 4


def test_a_quiet_stream_asks_for_a_rollup_passing_its_records_once_enough_are_ahead(leading):
    store = MemoryEventStore()
    deps = make_deps(store)
    for i in range(eventlog.AHEAD_PASS):
        deps.clock.t += 2
        deliver(deps, [event(i, "like", 1)])
        ahead = store.streams["s1"].core["_ahead"]
        assert len(ahead) == i + 1 and store.streams["s1"].core["_cursor"] is None
    assert deps.scheduler.calls  # the last one asked for a rollup
    deps.clock.t += 2
    assert pipeline.run_rollup("s1", deps).applied == 0  # it passes 3 (rollup_max_events)
    assert len(store.streams["s1"].core["_ahead"]) == eventlog.AHEAD_PASS - 3
    drain(deps)
    assert store.streams["s1"].core["_ahead"] == [] and totals(store)["likes"] == 20


def test_a_gift_a_second_waits_for_the_interval_on_the_fast_path_or_leaves_it_to_a_follow_up(
    monkeypatch,
    leading,
):
    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    store = MemoryEventStore()
    deps = make_deps(store)

    def rollups_within_5s() -> list[float]:  # not the leaderboards' flushes (10 s, 300 s)
        return [at for _, at in deps.scheduler.calls if at < deps.clock.t + 5]

    interval = deps.settings.rollup_min_interval_s
    t0 = deps.clock.t
    assert deliver(deps, [event(0, "gift", 5)]).outcome == "recorded"
    assert store.ops["write"] == 4 and rollups_within_5s() == []
    # 0.6 s after the live write: the fast path may take the next turn a quarter interval
    # early (0.75 s); it waits 0.15 s and is applied in one commit, on the turn that began
    # at 1 s (`last_rollup_at`), so the writes stay at one per interval in the long run.
    deps.clock.t = t0 + 0.6
    assert deliver(deps, [event(1, "gift", 5, 1)], "m1").outcome == "recorded"
    assert store.ops["write"] == 8 and rollups_within_5s() == []
    assert t0 + 0.75 <= deps.clock.t < t0 + 0.8
    assert store.streams["s1"].core["last_rollup_at"] == t0 + interval
    # 0.3 s after it: its turn (1.75 s) is too long a wait; recorded unapplied with the
    # state marked waiting (two writes), its follow-up due at the turn after the one
    # taken (2 s), when it is applied once.
    deps.clock.t += 0.3
    assert deliver(deps, [event(2, "gift", 5, 2)], "m2").outcome == "recorded"
    assert store.ops["write"] == 10 and totals(store)["gifts"] == 2
    assert store.streams["s1"].core["_waiting"] is True
    assert rollups_within_5s() == [t0 + 2 * interval]
    t_live = t0 + interval
    deliver(deps, [event(2, "gift", 5, 2)], "m2")  # its redelivery
    deps.clock.t = t_live + deps.settings.rollup_min_interval_s
    assert pipeline.run_rollup("s1", deps).applied == 1
    drain(deps)
    assert totals(store)["gifts"] == 3 and totals(store)["coins"] == 15


def test_a_gift_a_second_with_jitter_takes_every_turn_on_arrival_at_one_write_per_interval(
    monkeypatch, leading
):
    """Gifts a second apart, each arriving up to 0.2 s late: the fast path takes the live
    documents' turn up to a quarter interval early, on a virtual schedule
    (`rollup.live_turn`), so no gift waits in the invocation or is held for a follow-up,
    and the documents are still written at most (W + 0.25) / interval + 1 times in any
    window of W seconds. Without the early turn, half of these gifts waited."""
    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    store = MemoryEventStore()
    deps = make_deps(store)
    interval = deps.settings.rollup_min_interval_s
    slept: list[float] = []
    deps.sleep = lambda s: (slept.append(s), deps.clock.sleep(s))
    rnd = random.Random(7)
    t0, writes = deps.clock.t, []
    for i in range(60):
        deps.clock.t = max(deps.clock.t, t0 + i * interval + rnd.uniform(0, 0.2))
        rev = (store.live("s1") or {}).get("rev")
        assert deliver(deps, [event(i, "gift", 1, i)], f"m{i}").outcome == "recorded"
        assert store.live("s1")["rev"] != rev  # applied by its own commit
        writes.append(deps.clock.t)
        deps.clock.t += 0.03  # the commit
    assert slept == [] and totals(store)["gifts"] == 60
    assert not store.streams["s1"].core.get("_waiting")  # none held for a follow-up
    for w in (1, 2, 10, 30):  # writes in any window of w seconds (the bench's count)
        most = round(max_rate_in_window(writes, w) * w)
        assert most <= (w + interval * rollup.LIVE_TOLERANCE_SHARE) / interval + 1
    assert all(
        b - a >= interval * (1 - rollup.LIVE_TOLERANCE_SHARE)
        for a, b in zip(writes, writes[1:], strict=False)
    )


def test_at_a_gift_a_second_a_held_gift_is_not_overtaken_turn_after_turn(monkeypatch, leading):
    """A gift recorded too soon waits for the follow-up at the next live turn. The next
    gift's fast path, waiting for that same turn, commits first (it is quicker than a task's
    rollup): without the waiting mark it took every turn and the held gift stayed unapplied
    as long as gifts kept coming a second apart (seen in the bench: log reads grew with
    every gift). With the mark the fast path yields the turn and the follow-up applies both."""
    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    store = MemoryEventStore()
    deps = make_deps(store)
    interval = deps.settings.rollup_min_interval_s
    assert deliver(deps, [event(0, "gift", 5)]).outcome == "recorded"
    t_live = deps.clock.t
    deps.clock.t = t_live + 0.2  # too soon and too long a wait (0.55 s): held
    assert deliver(deps, [event(1, "gift", 5, 1)], "m1").outcome == "recorded"
    assert totals(store)["gifts"] == 1
    for i in range(2, 8):
        # the next gift arrives 0.2 s before the turn and would wait for it ...
        deps.clock.t = t_live + interval - 0.2
        assert deliver(deps, [event(i, "gift", 5, i)], f"m{i}").outcome == "recorded"
        # ... and the follow-up asked for at the turn runs right after it
        deps.clock.t = max(deps.clock.t, t_live + interval) + 0.01
        pipeline.run_rollup("s1", deps, followup=True)
        assert totals(store)["gifts"] == i + 1  # every gift so far, each turn
        t_live = deps.clock.t
    assert totals(store)["coins"] == 40 and store.streams["s1"].core.get("_waiting") is None


def test_a_fast_path_gift_waits_for_the_live_documents_not_for_a_flush_due_sooner(
    monkeypatch, leading
):
    """The wait targets the end of the interval after the last live write: a session
    flush due before it is no time the gift could be applied at (it is flushed with it)."""
    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    store = MemoryEventStore()
    deps = make_deps(store)
    interval = deps.settings.rollup_min_interval_s
    t0 = deps.clock.t
    assert deliver(deps, [event(0, "gift", 5)]).outcome == "recorded"  # flushes u0's entry
    deps.clock.t = t0 + deps.settings.board_flush_interval_s - 0.4
    assert deliver(deps, [event(1, "gift", 5, 1)], "m1").outcome == "recorded"
    t_live = deps.clock.t  # u1's entry pending: its flush is due 0.4 s from now
    deps.clock.t = t_live + interval - 0.45  # the flush is due; the live write is not
    writes, calls = store.ops["write"], len(deps.scheduler.calls)
    assert deliver(deps, [event(2, "gift", 5, 2)], "m2").outcome == "recorded"
    # it waited for the live write's turn (on the fast path, a quarter interval early)
    assert deps.clock.t >= t_live + interval * (1 - rollup.LIVE_TOLERANCE_SHARE)
    # one commit (its record, the state, live document and alert; the flush with it)
    assert totals(store)["gifts"] == 3 and store.ops["write"] - writes == 4
    assert all(at > deps.clock.t + 5 for _, at in deps.scheduler.calls[calls:])


def test_a_rollup_with_more_alerts_than_a_document_holds_writes_consecutive_ones(leading):
    """Hundreds of gifts applied in one rollup: each gift's alert is kept, on consecutive
    alerts documents of at most ALERTS_PER_DOC items (one document of thousands of items
    passed Firestore's 1 MiB and stalled the stream)."""
    store = MemoryEventStore()
    deps = make_deps(store)
    deps.settings = dataclasses.replace(deps.settings, rollup_max_events=400)
    n = 2 * rollup.ALERTS_PER_DOC + 100
    batch = [event(i, "gift", 2) for i in range(n)]
    leading.next = False
    assert deliver(deps, batch[:1], "m0").outcome == "recorded"
    drain(deps)
    for k in range(1, n, 100):  # messages of 100 events, all applied by one rollup
        assert deliver(deps, batch[k : k + 100], f"m{k}").outcome == "recorded"
    drain(deps)
    docs = store._s("s1").alerts
    gifts = [a["event_id"] for d in docs for a in d["items"] if a["type"] == "gift"]
    assert sorted(gifts) == sorted(e.event_id for e in batch)  # every alert, once
    assert [d["seq"] for d in docs] == list(range(1, len(docs) + 1))  # consecutive
    assert max(len(d["items"]) for d in docs) == rollup.ALERTS_PER_DOC
    assert len(docs) >= 4  # the first gift's own, then the big rollup's three


def test_a_running_streak_at_a_gift_a_second_asks_for_one_follow_up_per_grid_step(
    monkeypatch, leading
):
    """Each message of a running streak moves its idle deadline by a second. Asked for
    exactly, every commit wanted its own follow-up task (a distinct name), each of which
    found the deadline passed by the next gift's rollup; on the grid the commits share one.
    The streak that then goes silent is still settled by that follow-up."""
    from giftengine.domain.stream import streak_deadline_slack

    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    store = MemoryEventStore()
    deps = make_deps(store)
    tick = deps.settings.followup_tick_s
    timeout = deps.settings.streak_idle_timeout_s
    flush_s = deps.settings.board_flush_interval_s
    grid = streak_deadline_slack(timeout)  # 4 s for the default 10 s timeout
    assert grid == 4.0
    t0 = deps.clock.t
    for n in range(1, 9):  # one streak, a message a second, no final
        deps.clock.t = t0 + n - 1
        g = factories.gift("u1", coins=2, count=n, end=False, group="s", secs=n - 1)
        assert deliver(deps, [g], f"m{n}").outcome == "recorded"
        assert totals(store)["gifts"] == 0  # open: counted at its settlement
    t_last = deps.clock.t
    asked = sorted({at for _, at in deps.scheduler.calls if at < t_last + flush_s})
    # the idle deadlines t0+10 ... t0+17 fall on 3 grid steps (not 8 distinct task names)
    assert len({math.floor(at / tick) for at in asked}) <= 8 / grid + 1
    assert all(at % grid == 0 for at in asked)
    # Silent from here: the last follow-up asked for comes after the streak's idle
    # deadline, within one grid step, and settles it at its highest count.
    last = max(at for _, at in deps.scheduler.calls if at >= t_last + timeout)
    assert t_last + timeout <= last < t_last + timeout + grid
    deps.clock.t = last
    pipeline.run_rollup("s1", deps, followup=True)
    assert totals(store)["gifts"] == 8 and totals(store)["coins"] == 16
