"""The pipeline's exactly-once guarantees against the real Firestore emulator, with crashes
injected at each step and rollups racing each other. Only the Cloud Tasks scheduler is
replaced (by a recorder); everything else is the production code path."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time

import pytest
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.firestore_store import FirestoreStreamStore
from giftengine.config import load
from giftengine.domain import eventlog, feature_registry
from giftengine.service import pipeline

from tests.unit import factories
from tests.unit.factories import gift

pytestmark = pytest.mark.emulator


class Recorder:
    def __init__(self, fail_times: int = 0):
        self.calls: list[tuple[str, float]] = []
        self.fail_times = fail_times

    def schedule_rollup(self, stream_id, at, trailing=True):
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("tasks unavailable")
        self.calls.append((stream_id, at))

    def schedule_followup(self, stream_id, at):
        self.schedule_rollup(stream_id, at)


class NoDeadLetters:
    def publish(self, data, **attributes):
        raise AssertionError("no dead letters expected")


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Crash(Exception):
    pass


@pytest.fixture
def deps(cloud):
    settings = dataclasses.replace(load(), project_id=cloud["project_id"], inline_rollup=False)
    store = FirestoreStreamStore(
        firestore_client(cloud["project_id"]), shards=4, visibility_margin_ms=0
    )
    return pipeline.Deps(
        settings=settings,
        store=store,
        scheduler=Recorder(),
        dead_letters=NoDeadLetters(),
        clock=Clock(),
    )


def deliver(deps, event):
    return pipeline.record_engagement(event.model_dump_json().encode(), "m", {}, deps)


def ev(stream_id, **kw):
    return gift(**kw).model_copy(update={"stream_id": stream_id})


def coins(deps, stream_id):
    return (deps.store.live(stream_id) or {}).get("totals", {}).get("coins", 0)


def test_crash_after_recording_then_redelivery_counts_once(deps, stream_id):
    e = ev(stream_id, coins=7, streakable=False)
    deps.scheduler.fail_times = 1
    with pytest.raises(ConnectionError):
        deliver(deps, e)  # recorded, then the function died before scheduling
    assert deliver(deps, e).outcome == "duplicate"  # Pub/Sub redelivers
    assert deps.scheduler.calls, "the redelivery must schedule the rollup"
    deps.clock.t += 1
    pipeline.run_rollup(stream_id, deps)
    deps.clock.t += 1
    pipeline.run_rollup(stream_id, deps)
    assert coins(deps, stream_id) == 7


def test_crash_inside_rollup_before_commit_applies_nothing_then_once(deps, stream_id, monkeypatch):
    for _i in range(5):
        deliver(deps, ev(stream_id, coins=3, streakable=False))
    real = deps.store._write_rollup

    def crash(*a, **kw):
        raise Crash("died mid-commit")

    monkeypatch.setattr(deps.store, "_write_rollup", crash)
    deps.clock.t += 1
    with pytest.raises(Crash):
        pipeline.run_rollup(stream_id, deps)
    assert deps.store.live(stream_id) is None
    monkeypatch.setattr(deps.store, "_write_rollup", real)
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 5
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 0
    assert coins(deps, stream_id) == 15


def test_crash_after_commit_before_follow_up_is_harmless(deps, stream_id):
    deliver(deps, ev(stream_id, coins=2, count=4, end=False, group="x"))
    deps.scheduler.fail_times = 1
    deps.clock.t += 1
    with pytest.raises(ConnectionError):  # committed, then scheduling the timeout failed
        pipeline.run_rollup(stream_id, deps)
    deps.clock.t += 1  # Cloud Tasks retries the task
    assert pipeline.run_rollup(stream_id, deps).applied == 0
    deps.clock.t += deps.settings.streak_idle_timeout_s
    pipeline.run_rollup(stream_id, deps)
    assert coins(deps, stream_id) == 8


def test_same_interval_rollups_write_once(deps, stream_id):
    deliver(deps, ev(stream_id, coins=1, streakable=False))
    deps.clock.t += 1
    first = pipeline.run_rollup(stream_id, deps)
    deliver(deps, ev(stream_id, coins=1, streakable=False))
    second = pipeline.run_rollup(stream_id, deps)  # same bucket: refuses, reschedules
    assert first.wrote and not second.wrote and second.next_at is not None
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 1
    assert coins(deps, stream_id) == 2


def test_a_rollup_writing_nothing_clients_listen_to_does_not_delay_the_next_alert(deps, stream_id):
    deliver(deps, ev(stream_id, coins=1, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).wrote  # first gift; its board entry flushed
    deliver(deps, ev(stream_id, coins=2, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).wrote  # live write; board entry pending
    live_before = deps.store.live(stream_id)
    deps.clock.t += deps.settings.board_flush_interval_s
    flush = pipeline.run_rollup(stream_id, deps)  # the board flush alone
    assert flush.wrote and flush.applied == 0
    assert deps.store.live(stream_id)["rev"] == live_before["rev"]  # live doc untouched
    board = deps.store.db.document(f"leaderboards/stream.{stream_id}/entries/u1").get()
    assert board.get("coins") == 3
    deliver(deps, ev(stream_id, coins=4, streakable=False))
    deps.clock.t += 0.2  # well inside one interval of the flush, not of the last live write
    assert pipeline.run_rollup(stream_id, deps).applied == 1
    assert coins(deps, stream_id) == 7


def test_a_rollup_too_soon_after_a_live_write_leaves_the_events_to_its_follow_up(deps, stream_id):
    deliver(deps, ev(stream_id, coins=1, streakable=False))
    deps.clock.t += 1
    first = pipeline.run_rollup(stream_id, deps)
    deliver(deps, ev(stream_id, coins=2, streakable=False))
    deps.clock.t += 0.5
    second = pipeline.run_rollup(stream_id, deps)
    assert first.wrote and (second.applied, second.wrote) == (0, False)
    assert second.next_at == pytest.approx(deps.clock.t + 0.5)  # exactly one interval after
    deps.clock.t = second.next_at
    assert pipeline.run_rollup(stream_id, deps).applied == 1
    assert coins(deps, stream_id) == 3


@pytest.mark.parametrize("viewers_in", ["state", "shards"])
def test_racing_rollups_and_writers_count_every_gift_exactly_once(
    cloud, stream_id, monkeypatch, viewers_in
):
    if viewers_in == "shards":  # viewers kept in the user shards from the start
        monkeypatch.setattr(FirestoreStreamStore, "INLINE_USERS_MAX", -1)
    settings = dataclasses.replace(
        load(),
        project_id=cloud["project_id"],
        rollup_min_interval_s=0.001,
        rollup_max_events=40,
        inline_rollup=False,
    )
    store = FirestoreStreamStore(firestore_client(cloud["project_id"]), shards=4)
    deps = pipeline.Deps(
        settings=settings, store=store, scheduler=Recorder(), dead_letters=NoDeadLetters()
    )
    rnd = random.Random(5)
    # Likes too: the domain remembers settled gifts, so only a count that adds up without
    # such memory shows an event applied twice.
    events = [
        ev(stream_id, user=f"u{rnd.randrange(30)}", coins=rnd.choice([1, 5, 30]), streakable=False)
        if rnd.random() < 0.7
        else factories.ev("like", stream_id, user=f"u{rnd.randrange(9)}", count=rnd.randrange(1, 9))
        for _ in range(400)
    ]
    expected = sum(e.gift.coins for e in events if e.gift)
    likes = sum(e.count for e in events if e.kind == "like")
    stop = threading.Event()
    errors: list[BaseException] = []

    # One writer is a function instance that records each event together with its rollup
    # (as if every stream were quiet), racing the other writers and the rollers; a failed
    # attempt falls back to the usual record and rollup.
    class AlwaysQuiet:
        def quiet(self, *a):
            return True

        def claim(self, *a):
            return True

    monkeypatch.setattr(pipeline, "_leading", AlwaysQuiet())

    def writer(chunk, fast: bool):
        mine = deps
        if fast:
            inline = dataclasses.replace(settings, inline_rollup=True)
            mine = dataclasses.replace(
                deps, settings=inline, store=FirestoreStreamStore(store.db, shards=4)
            )
        try:
            for e in chunk:
                deliver(mine, e)
                if rnd.random() < 0.2:
                    deliver(mine, e)  # redelivery
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def roller(followup: bool):
        mine = dataclasses.replace(deps, store=FirestoreStreamStore(store.db, shards=4))
        while not stop.is_set():
            try:
                # a follow-up tries without the lease first (a conditional commit)
                pipeline.run_rollup(stream_id, mine, followup=followup)
                time.sleep(0.001)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    writers = [threading.Thread(target=writer, args=(events[i::4], i == 0)) for i in range(4)]
    rollers = [threading.Thread(target=roller, args=(f,)) for f in (False, True, True)]
    for t in writers + rollers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in rollers:
        t.join()
    assert not errors, errors
    time.sleep(0.2)  # past the visibility margin: every recorded event is now complete
    while pipeline.run_rollup(stream_id, deps).applied:
        pass
    assert coins(deps, stream_id) == expected
    totals = deps.store.live(stream_id)["totals"]
    assert (totals["gifts"], totals["likes"]) == (sum(1 for e in events if e.gift), likes)


def lease_exists(deps, stream_id) -> bool:
    return deps.store.stream_ref(stream_id).collection("rollup").document("lease").get().exists


def test_a_follow_up_of_a_quiet_stream_takes_no_lease_and_one_overtaken_takes_it(
    deps, stream_id, monkeypatch
):
    deliver(deps, ev(stream_id, coins=2, streakable=False))
    deliver(deps, ev(stream_id, coins=3, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps, followup=True).applied == 2
    assert coins(deps, stream_id) == 5 and not lease_exists(deps, stream_id)
    # Another rollup commits between the follow-up's reads and its commit: the follow-up's
    # commit is refused, and it goes the leased way, which finds the gift applied.
    deliver(deps, ev(stream_id, coins=4, streakable=False))
    deps.clock.t += 1
    other = dataclasses.replace(
        deps, store=FirestoreStreamStore(deps.store.db, shards=4, visibility_margin_ms=0)
    )
    goals, overtaken = deps.store._goals_as_of, []

    def goals_then_another_rollup(sid, snap):
        if not overtaken:
            overtaken.append(pipeline.run_rollup(stream_id, other).applied)
        return goals(sid, snap)

    monkeypatch.setattr(deps.store, "_goals_as_of", goals_then_another_rollup)
    result = pipeline.run_rollup(stream_id, deps, followup=True)
    assert overtaken == [1] and result.applied == 0 and lease_exists(deps, stream_id)
    assert coins(deps, stream_id) == 9


def test_a_follow_up_finding_a_busy_log_takes_the_lease(deps, stream_id, monkeypatch):
    monkeypatch.setattr(FirestoreStreamStore, "UNLEASED_RECORDS", 2)
    for c in (1, 2, 3):
        deliver(deps, ev(stream_id, coins=c, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps, followup=True).applied == 3
    assert lease_exists(deps, stream_id) and coins(deps, stream_id) == 6


def test_a_follow_up_passes_a_quiet_streams_long_applied_ahead_set_without_the_lease(
    deps, stream_id, monkeypatch
):
    # no stream features: the hype train's watermark moves with the clock (a state write)
    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    # A quiet stream's fast path leaves its records ahead of the cursor until AHEAD_PASS of
    # them ask for a rollup that passes them: that follow-up finds that many records after
    # the cursor, and more, and is still no busy stream's (here: recorded, not applied).
    n = eventlog.AHEAD_PASS + 2
    for c in range(1, n + 1):
        assert deps.store.record_events([ev(stream_id, coins=c, streakable=False)])
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps, followup=True).applied == n
    assert coins(deps, stream_id) == n * (n + 1) // 2 and not lease_exists(deps, stream_id)
    # The next may still move the cursor past records that were newer than its horizon;
    # after it, nothing is left to do, and a follow-up commits nothing at all.
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps, followup=True).applied == 0
    state = deps.store.stream_ref(stream_id).collection("rollup").document("state")
    before = state.get().update_time
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps, followup=True).wrote is False
    assert state.get().update_time == before and not lease_exists(deps, stream_id)


def test_leading_edge_is_rolled_up_inline_and_the_rest_by_a_trailing_task(deps, stream_id):
    deps.settings = dataclasses.replace(deps.settings, inline_rollup=True)
    deliver(deps, ev(stream_id, coins=4, streakable=False))
    assert coins(deps, stream_id) == 4  # no task needed for the first gift of the interval
    interval = deps.settings.rollup_min_interval_s
    next_interval = (deps.clock.t // interval + 1) * interval
    # Applied with its record, its session entry flushed: only the period boards' flush is
    # left for a task, one period flush interval later (decisions 004, 042).
    period_flush = deps.clock.t + deps.settings.period_flush_interval_s
    assert deps.scheduler.calls == [(stream_id, pytest.approx(period_flush))]
    deps.scheduler.calls.clear()
    deliver(deps, ev(stream_id, coins=6, streakable=False))  # same interval
    assert deps.scheduler.calls == [(stream_id, next_interval)]
    assert coins(deps, stream_id) == 4
    deps.clock.t += interval  # the trailing task fires at the next interval
    time.sleep(0.1)
    pipeline.run_rollup(stream_id, deps)
    assert coins(deps, stream_id) == 10


def state_doc(deps, stream_id) -> dict:
    return deps.store._state_refs(stream_id)[0].get().to_dict()


def test_a_quiet_streams_gift_is_applied_alone_and_a_later_rollup_passes_the_cursor(
    deps, stream_id, monkeypatch
):
    deps.settings = dataclasses.replace(deps.settings, inline_rollup=True)
    queries: list = []
    real = deps.store._events_after
    monkeypatch.setattr(deps.store, "_events_after", lambda *a: queries.append(a) or real(*a))
    first = ev(stream_id, coins=4, streakable=False)
    deliver(deps, first)
    assert coins(deps, stream_id) == 4 and queries == []  # no range query on the way
    state = state_doc(deps, stream_id)
    assert state["_cursor"] is None and len(state["_ahead"]) == 1
    interval = deps.settings.rollup_min_interval_s
    # No follow-up per quiet gift (decision 004): only the period boards' flush, once per
    # period flush interval (decision 042).
    period_flush = deps.clock.t + deps.settings.period_flush_interval_s
    assert deps.scheduler.calls == [(stream_id, pytest.approx(period_flush))]
    deps.clock.t += interval
    assert pipeline.run_rollup(stream_id, deps).applied == 0  # the cursor passes it
    state = state_doc(deps, stream_id)
    assert state["_ahead"] == [] and state["_cursor"] is not None
    assert coins(deps, stream_id) == 4


def test_held_records_wait_for_the_follow_up_and_the_fast_path_yields_it_the_turn(deps, stream_id):
    """A gift too soon after a live write is recorded unapplied and the state marked waiting;
    the next gift's fast path, seeing the mark, records its gift unapplied too instead of
    taking the turn; the follow-up at the turn applies both and clears the mark. A leased
    rollup too soon with events marks the state the same way (rollup.decide: `hold`)."""
    interval = deps.settings.rollup_min_interval_s
    g = [ev(stream_id, coins=c, streakable=False) for c in (1, 2, 4, 8, 16)]
    assert pipeline.run_rollup(stream_id, deps, fresh=g[0]).applied == 1
    t_live = deps.clock.t
    deps.clock.t = t_live + 0.3
    held = pipeline.run_rollup(stream_id, deps, fresh=g[1])
    assert (held.recorded, held.applied) == (True, 0) and coins(deps, stream_id) == 1
    assert state_doc(deps, stream_id)["_waiting"] is True
    version = deps.store._state_refs(stream_id)[0].get().update_time
    deps.clock.t = t_live + interval + 0.2  # its turn has come, but the follow-up's it is
    yielded = pipeline.run_rollup(stream_id, deps, fresh=g[2], wait_s=0.5)
    assert (yielded.recorded, yielded.applied) == (True, 0) and coins(deps, stream_id) == 1
    assert deps.store._state_refs(stream_id)[0].get().update_time == version  # no write
    deps.clock.t += 0.01
    assert pipeline.run_rollup(stream_id, deps, followup=True).applied == 2
    assert coins(deps, stream_id) == 7 and state_doc(deps, stream_id)["_waiting"] is False
    t_live = deps.clock.t
    deliver(deps, g[3])  # inline rollups are off in this fixture: recorded only
    deps.clock.t = t_live + 0.2
    assert pipeline.run_rollup(stream_id, deps).applied == 0  # too soon: marks waiting
    assert state_doc(deps, stream_id)["_waiting"] is True
    deps.clock.t = t_live + 0.5
    assert pipeline.run_rollup(stream_id, deps, fresh=g[4], wait_s=0.5).applied == 0
    deps.clock.t = t_live + interval + 0.01
    assert pipeline.run_rollup(stream_id, deps).applied == 2
    assert coins(deps, stream_id) == 31 and state_doc(deps, stream_id)["_waiting"] is False


def test_quiet_rollups_read_the_goals_again_only_when_a_goal_changed(deps, stream_id, monkeypatch):
    """The goals query is skipped while the state's goals version is the one this process
    read them at; writing or deleting a goal bumps it in the same commit, so the next
    fast-path gift counts toward the new goal and stops showing the deleted one."""
    from giftengine.adapters.firestore_store import SettingsStore

    queries: list[str] = []
    real = deps.store._goals
    monkeypatch.setattr(deps.store, "_goals", lambda s: queries.append(s) or real(s))
    settings = SettingsStore(deps.store.db)
    interval = deps.settings.rollup_min_interval_s

    def fast(c):
        deps.clock.t += 2 * interval
        assert (
            pipeline.run_rollup(
                stream_id, deps, fresh=ev(stream_id, coins=c, streakable=False)
            ).applied
            == 1
        )

    fast(1)
    fast(2)
    assert len(queries) == 1  # the second gift's rollup found the version unchanged
    goal = {"goal_id": "g1", "metric": "coins", "target": 100, "title": "t", "deadline": None}
    settings.put_goal(stream_id, goal, "creator")
    fast(4)
    assert len(queries) == 2
    # it counts from the rollup that first sees it (domain/stream.py `set_goals`)
    assert deps.store.live(stream_id)["goals"]["g1"]["progress"] == 4
    fast(8)
    assert len(queries) == 2 and deps.store.live(stream_id)["goals"]["g1"]["progress"] == 12
    assert settings.delete_goal(stream_id, "g1")
    fast(16)
    assert len(queries) == 3 and "g1" not in (deps.store.live(stream_id).get("goals") or {})
    assert coins(deps, stream_id) == 31


def likes(deps, stream_id):
    return (deps.store.live(stream_id) or {}).get("totals", {}).get("likes", 0)


def test_the_fast_path_commits_nothing_for_an_event_recorded_before(deps, stream_id):
    """Likes: a count applied twice shows (the domain's settled-streak memory would hide a
    gift applied twice)."""
    old, new = (factories.ev("like", stream_id, count=c) for c in (5, 7))
    deliver(deps, old)  # inline rollups are off in this fixture: recorded only
    for applied in (1, 0):  # recorded and not applied yet, then applied (the cursor passed)
        deps.clock.t += 1
        assert not pipeline.run_rollup(stream_id, deps, fresh=old).recorded
        assert pipeline.run_rollup(stream_id, deps).applied == applied
    assert likes(deps, stream_id) == 5
    deps.clock.t += 1
    result = pipeline.run_rollup(stream_id, deps, fresh=new)
    assert (result.recorded, result.applied) == (True, 1)
    deps.clock.t += 1
    assert not pipeline.run_rollup(stream_id, deps, fresh=new).recorded  # a redelivery
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 0  # applied ahead already
    assert likes(deps, stream_id) == 12 and state_doc(deps, stream_id)["_ahead"] == []


def test_a_fast_path_rollup_overtaken_by_another_commit_reads_again_and_counts_once(
    deps, stream_id, monkeypatch
):
    """The fast path holds no lock: another instance's rollup commits between its read and
    its commit. The state write's precondition refuses the commit (without it the stale
    state would overwrite the other's and lose `first`), and the fast path reads again.
    Likes: they write no alert, whose create would refuse the commit by itself."""
    before, first, fresh = (factories.ev("like", stream_id, count=c) for c in (1, 3, 5))
    deliver(deps, before)
    pipeline.run_rollup(stream_id, deps)  # the state document exists
    deliver(deps, first)
    # The other rollup runs one interval after the first and one before the fast path, so
    # neither is refused as too soon after a live write.
    interval = deps.settings.rollup_min_interval_s
    other = dataclasses.replace(
        deps,
        store=FirestoreStreamStore(deps.store.db, shards=4, visibility_margin_ms=0),
        clock=Clock(deps.clock.t + interval),
    )
    real_plan, overtaken = deps.store._plan, []

    def plan_then_overtaken(*a, **kw):
        plan = real_plan(*a, **kw)
        if kw.get("fresh") is not None and not overtaken:
            overtaken.append(pipeline.run_rollup(stream_id, other).applied)
        return plan

    monkeypatch.setattr(deps.store, "_plan", plan_then_overtaken)
    deps.clock.t += 2 * interval
    assert pipeline.run_rollup(stream_id, deps, fresh=fresh).recorded
    assert overtaken == [1]
    assert likes(deps, stream_id) == 9
    deps.clock.t += 1
    pipeline.run_rollup(stream_id, deps)
    assert likes(deps, stream_id) == 9
    assert state_doc(deps, stream_id)["_ahead"] == []


def test_a_rollup_finding_the_lease_taken_does_nothing_and_comes_back(deps, stream_id):
    deliver(deps, ev(stream_id, coins=5, streakable=False))
    lease = deps.store._acquire_lease(stream_id)
    assert lease is not None and deps.store._acquire_lease(stream_id) is None
    deps.clock.t += 1
    result = pipeline.run_rollup(stream_id, deps)
    assert (result.applied, result.wrote) == (0, False)
    assert deps.scheduler.calls[-1][1] == result.next_at
    deps.store._release_lease(lease)
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 1
    assert coins(deps, stream_id) == 5


def test_events_newer_than_the_horizon_are_applied_ahead_once(deps, stream_id):
    deps.store.visibility_margin_ms = 1500  # everything just recorded is "recent"
    for c in (2, 3, 4):
        deliver(deps, ev(stream_id, coins=c, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 3  # applied ahead of the cursor
    assert coins(deps, stream_id) == 9
    state_ref = deps.store._state_refs(stream_id)[0]
    assert len(state_ref.get().get("_ahead")) == 3 and state_ref.get().get("_cursor") is None
    deliver(deps, ev(stream_id, coins=10, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 1  # only the new one
    time.sleep(1.6)  # all four are complete now: the cursor passes them, nothing reapplied
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 0
    assert coins(deps, stream_id) == 19
    assert state_ref.get().get("_ahead") == [] and state_ref.get().get("_cursor") is not None


def _doc_reads(monkeypatch) -> list[str]:
    """Paths of the single-document reads made from now on (every store in the process)."""
    from google.cloud.firestore_v1.document import DocumentReference

    reads: list[str] = []
    real = DocumentReference.get

    def get(self, *a, **kw):
        reads.append(self.path)
        return real(self, *a, **kw)

    monkeypatch.setattr(DocumentReference, "get", get)
    return reads


def test_the_next_rollup_of_the_lease_holder_reads_neither_lease_nor_cursor(
    deps, stream_id, monkeypatch
):
    deliver(deps, ev(stream_id, coins=3, streakable=False))
    deps.clock.t += 1
    pipeline.run_rollup(stream_id, deps)
    reads = _doc_reads(monkeypatch)
    deliver(deps, ev(stream_id, coins=4, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 1
    rollup_docs = f"streams/{stream_id}/rollup/"
    assert [p for p in reads if p.startswith(rollup_docs)] == []
    assert coins(deps, stream_id) == 7


def test_rollups_alternating_between_processes_and_a_stale_cursor_memo_count_once(deps, stream_id):
    """Two stores are two function instances: each remembers the lease it released; the
    other's rollups make that memory stale, and a memo that is wrong anyway (its cursor
    behind the stream's) costs a retry, never an event applied twice."""
    other = FirestoreStreamStore(
        firestore_client(deps.settings.project_id), shards=4, visibility_margin_ms=0
    )
    deps_b = dataclasses.replace(deps, store=other)
    expected = 0
    for i in range(6):
        for c in (1, 2):
            deliver(deps, ev(stream_id, coins=c + i, streakable=False))
            expected += c + i
        deps.clock.t += 1
        pipeline.run_rollup(stream_id, deps if i % 3 else deps_b)  # A, B, A, A, B, A...
        assert coins(deps, stream_id) == expected
    # A memo with the current lease but an old cursor (None: before every event).
    lease = deps.store.stream_ref(stream_id).collection("rollup").document("lease").get()
    deps.store._memo.released(stream_id, lease.update_time, None)
    deliver(deps, ev(stream_id, coins=100, streakable=False))
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 1
    assert coins(deps, stream_id) == expected + 100


def deliver_batch(deps, events, message_id="m"):
    from giftengine.domain import eventlog

    data = eventlog.encode_message(events)
    return pipeline.record_engagement(data, message_id, {}, deps)


def test_batches_resent_with_other_boundaries_count_each_event_once(deps, stream_id):
    """A publisher restarts and re-sends events in other batches; one event travels in
    three messages; a batch is redelivered as it was. One record per message, each event
    applied once. Likes, whose sum has no settled-streak memory to hide a double count."""
    likes_ = [
        factories.ev("like", stream_id, event_id=f"{stream_id}-l{i}", count=i + 1) for i in range(8)
    ]
    first = [likes_[0:3], likes_[3:6]]
    resent = [likes_[2:5], likes_[4:8], likes_[4:5]]
    for batch in first:
        assert deliver_batch(deps, batch).outcome == "recorded"
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 6
    for batch in resent:
        assert deliver_batch(deps, batch).outcome == "recorded"  # new records
    assert deliver_batch(deps, first[1]).outcome == "duplicate"  # a redelivery
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 2  # only l6 and l7 are new
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 0
    assert likes(deps, stream_id) == sum(range(1, 9))
    assert [e.event_id for e in deps.store.stream_events(stream_id)] == [e.event_id for e in likes_]


def test_the_fast_path_skips_an_event_another_batch_applied_and_applies_the_rest(deps, stream_id):
    a, b, c = (factories.ev("like", stream_id, count=n) for n in (1, 10, 100))
    deliver_batch(deps, [a, b])
    deps.clock.t += 1
    pipeline.run_rollup(stream_id, deps)
    deps.clock.t += 1
    result = pipeline.run_rollup(stream_id, deps, fresh=[b, c])  # b again, with c
    assert (result.recorded, result.applied) == (True, 1)
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 0
    assert likes(deps, stream_id) == 111


def test_quiet_gifts_in_newer_slots_skip_the_lookup_and_an_older_event_is_looked_up(
    deps, stream_id, monkeypatch
):
    """The state's slot memo (decision 042): a gift newer than everything applied cannot
    be held by an applied record, so the fast path commits without the lookup query; an
    event of an older slot (here one applied already, sent again in a new batch) is
    looked up and applied once."""
    lookups: list = []
    real = deps.store._holders
    monkeypatch.setattr(deps.store, "_holders", lambda *a: lookups.append(a) or real(*a))
    gifts = [ev(stream_id, coins=n, streakable=False, secs=3 * n) for n in (1, 2, 3)]
    for g in gifts:
        deps.clock.t += 1
        assert pipeline.run_rollup(stream_id, deps, fresh=[g]).recorded
    assert lookups == [] and coins(deps, stream_id) == 6
    assert state_doc(deps, stream_id)["_slots"]["ids"] == [gifts[-1].event_id]
    deps.clock.t += 1
    late = ev(stream_id, coins=10, streakable=False, secs=10)
    assert pipeline.run_rollup(stream_id, deps, fresh=[gifts[0], late]).recorded
    assert len(lookups) == 1 and coins(deps, stream_id) == 16


def test_viewers_outgrowing_the_state_document_move_to_shards_and_keep_counting(
    deps, stream_id, monkeypatch
):
    """A quiet stream keeps its viewers in the state document; past INLINE_USERS_MAX they
    move to the user shards (the fast path and the transaction path both read them)."""
    deps.settings = dataclasses.replace(deps.settings, inline_rollup=True)
    monkeypatch.setattr(deps.store, "INLINE_USERS_MAX", 700)  # about two viewers
    expected = 0
    for i in range(6):
        deliver(deps, ev(stream_id, user=f"u{i}", coins=i + 1, streakable=False))
        expected += i + 1
        deps.clock.t += deps.settings.rollup_min_interval_s
        if i == 0:
            assert "_users" in state_doc(deps, stream_id)
    pipeline.run_rollup(stream_id, deps)
    state = state_doc(deps, stream_id)
    assert "_users" not in state
    shards = deps.store._state_refs(stream_id)[1]
    snaps = [ref.get() for ref in shards]
    held = [u for snap in snaps if snap.exists for u in json.loads(snap.get("users"))]
    assert sorted(held) == [f"u{i}" for i in range(6)]
    assert coins(deps, stream_id) == expected
    assert [g["user_id"] for g in deps.store.live(stream_id)["top_gifters"][:2]] == ["u5", "u4"]


def test_a_features_side_writes_commit_with_the_rollup_once(deps, stream_id, monkeypatch):
    """domain/features.py: a feature's increments outside the stream land in the rollup's
    transaction, so a rollup that dies before its commit leaves none and the retry one."""
    from giftengine.domain import feature_registry

    from tests.unit.test_stream_features import Tally

    monkeypatch.setattr(feature_registry, "REGISTRY", (Tally,))
    db = deps.store.db
    db.collection("creators").document(stream_id).set({"features": {"tally": {"multiplier": 2}}})
    monkeypatch.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
    for _i in range(3):
        deliver(deps, ev(stream_id, coins=5, streakable=False))
    real = deps.store._write_rollup

    def crash(*a, **kw):
        real(*a, **kw)  # the writes are added to the transaction, which then fails
        raise Crash("died before the commit")

    monkeypatch.setattr(deps.store, "_write_rollup", crash)
    deps.clock.t += 1
    with pytest.raises(Crash):
        pipeline.run_rollup(stream_id, deps)
    assert not db.document(f"tallies/{stream_id}").get().exists
    monkeypatch.setattr(deps.store, "_write_rollup", real)
    for _ in range(3):
        deps.clock.t += 1
        pipeline.run_rollup(stream_id, deps)
    assert db.document(f"tallies/{stream_id}").get().to_dict() == {"coins": 30}
    assert deps.store.live(stream_id)["features"]["tally"]["coins"] == 30


def test_xp_increments_and_days_attended_land_once_across_two_streams(deps, stream_id, monkeypatch):
    """domain/rewards.py on Firestore: two streams of one creator add to the same viewer's
    XP documents (increments), the days map merges, a crashed rollup adds nothing, and a
    viewer the stream's chat bans (moderation's chat_users record) earns nothing."""
    from datetime import UTC, datetime

    monkeypatch.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
    monkeypatch.setattr(pipeline, "_ban_cache", pipeline._BanCache())
    db = deps.store.db
    creator, other = f"c-{stream_id}", f"{stream_id}-b"
    viewer, banned = f"v-{stream_id}", f"b-{stream_id}"
    db.document(f"streams/{other}/chat_users/{banned}").set(
        {"banned_until": datetime.fromtimestamp(deps.clock.t + 3600, UTC)}
    )
    for sid in (stream_id, other):
        for who in (viewer, banned):
            e = gift(user=who, coins=7, streakable=False).model_copy(
                update={"stream_id": sid, "creator_id": creator}
            )
            deliver(deps, e)
    real = deps.store._write_rollup

    def crash(*a, **kw):
        real(*a, **kw)
        raise Crash("died before the commit")

    monkeypatch.setattr(deps.store, "_write_rollup", crash)
    deps.clock.t += 1
    with pytest.raises(Crash):
        pipeline.run_rollup(stream_id, deps)
    monkeypatch.setattr(deps.store, "_write_rollup", real)
    for _ in range(3):
        deps.clock.t += 40  # past the write-out round
        pipeline.run_rollup(stream_id, deps)
        pipeline.run_rollup(other, deps)
    glob = db.document(f"xp/tiktok:{viewer}").get().to_dict()
    assert (glob["xp"], glob["xp_gifts"], glob["coins"], glob["gifts"]) == (16, 14, 14, 2)
    per = db.document(f"xp/tiktok:{viewer}/creators/{creator}").get().to_dict()
    assert per["points_earned"] == 16 and per["days"] == {"2026-11-22": True}
    # the banned viewer earned in the stream that does not ban them only
    assert db.document(f"xp/tiktok:{banned}").get().to_dict()["xp"] == 8
    assert db.document(f"xp/{creator}").get().to_dict()["creator_xp"] == 16 + 8


def test_a_rollup_of_many_gifts_writes_its_alerts_on_consecutive_documents(deps, stream_id):
    """600 gifts applied by one rollup: every gift's alert lands, on consecutive alerts
    documents of at most ALERTS_PER_DOC items, each well under Firestore's 1 MiB (one
    document holding them all is what stalled a hot stream)."""
    from giftengine.domain import rollup

    gifts = [
        ev(stream_id, user=f"u{i % 40}", coins=1, streakable=False, event_id=f"{stream_id}-g{i}")
        for i in range(600)
    ]
    for k in range(0, 600, 100):
        assert deliver_batch(deps, gifts[k : k + 100], f"m{k}").outcome == "recorded"
    deps.clock.t += 1
    assert pipeline.run_rollup(stream_id, deps).applied == 600
    snaps = list(deps.store.stream_ref(stream_id).collection("alerts").order_by("seq").stream())
    docs = [s.to_dict() for s in snaps]
    assert [d["seq"] for d in docs] == [1, 2, 3]
    # 600 gift alerts and the few the features add (a throne claim, ...), in order
    assert [len(d["items"]) for d in docs][:2] == [rollup.ALERTS_PER_DOC] * 2
    ids = [a["event_id"] for d in docs for a in d["items"] if a["type"] == "gift"]
    assert sorted(ids) == sorted(g.event_id for g in gifts)
    assert max(len(json.dumps(d, default=str)) for d in docs) < 1_000_000


def test_the_features_state_is_kept_as_json_text_and_an_older_map_is_replaced(
    deps, stream_id, monkeypatch
):
    """The rollup state keeps its features' state as one JSON string (`_features`), not a
    map of a few hundred values to encode on every commit; a state written before that, with
    a `features` map, is read as it was and the next update leaves the string only."""
    interval = deps.settings.rollup_min_interval_s

    def fast(c):
        deps.clock.t += 2 * interval
        gift_ = ev(stream_id, coins=c, streakable=False)
        assert pipeline.run_rollup(stream_id, deps, fresh=gift_).recorded

    fast(5)
    fast(7)
    ref = deps.store._state_refs(stream_id)[0]
    doc = ref.get().to_dict()
    assert "features" not in doc and isinstance(doc["_features"], str)
    features = json.loads(doc["_features"])
    assert features  # the registered features keep state for these gifts (mood, rewards)
    # an older state: the features as a map
    old = {k: v for k, v in doc.items() if k != "_features"} | {"features": features}
    ref.set(old)
    fast(11)
    doc = ref.get().to_dict()
    assert "features" not in doc and set(json.loads(doc["_features"])) >= set(features)
    assert coins(deps, stream_id) == 23
