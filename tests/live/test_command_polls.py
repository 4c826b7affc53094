"""Polls a command gift starts (decision 077): the live polls open the request the stream's
rollup committed exactly once, as a creator's poll (its rules, its transaction), refuse it
while another poll is open, wait for a request not committed yet; and through the gift
pipeline on the in-memory store, every mapped gift asks once and one poll opens whatever
the batches, redeliveries, crashes and duplicated or reordered jobs."""

from __future__ import annotations

import pytest
from giftengine.domain import feature_registry
from giftengine.domain.access import StreamOwner
from giftengine.domain.commands import POLL_START, Commands, execution_id, poll_start_path
from giftengine.domain.tap_battles import TapBattle
from giftengine.live import service
from giftengine.live.domain import PollError
from giftengine.live.service import Deps
from giftengine.service import pipeline
from giftengine.service.docstore import MemoryStore
from giftengine.service.memory import MemoryEventStore
from giftengine.service.streams import MemoryOwnership
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.live.test_service import CREATOR, Clock, FakeScheduler, make, open_
from tests.unit.test_pipeline_service import Leading, drain, make_deps, play, scenarios

pytestmark = pytest.mark.unit

KEY = "cmd" + "a" * 29
POLL = {"question": "Next song?", "choices": ["Rock", "Pop"], "duration_s": 60}


def request(deps, creator=CREATOR.uid, key=KEY, **params):
    deps.store.set(
        poll_start_path("s1", key),
        {"execution_id": key, "stream_id": "s1", "creator_id": creator, "mapping_id": "m",
         **POLL, "changeable": False, **params, "status": "pending"},
    )  # fmt: skip


def polls(deps):
    return dict(deps.store.list("streams/s1/polls"))


def test_a_request_opens_one_poll_whatever_the_retries():
    deps = make()
    request(deps)
    for _ in range(3):  # the task, a duplicate, a retry
        got = service.start_from_command(deps, "s1", KEY, 1000.0)
        assert (got["status"], got["poll_id"]) == ("opened", KEY)
    assert list(polls(deps)) == [KEY]
    poll = polls(deps)[KEY]
    assert (poll["question"], poll["choices"], poll["closes_at"]) == (
        "Next song?",
        ["Rock", "Pop"],
        1060.0,
    )
    assert poll["creator_id"] == CREATOR.uid and poll["created_by"] == "command:m"
    assert service.active_poll(deps, "s1")["poll_id"] == KEY
    assert deps.scheduler.tasks[f"freeze-{KEY}"] == ("freeze", "s1", KEY, 1065.0)


def test_a_request_while_a_poll_is_open_is_refused_once_and_for_good():
    deps = make()
    open_(deps)  # the creator's poll0
    request(deps)
    got = service.start_from_command(deps, "s1", KEY, 1000.0)
    assert got["status"] == "refused" and "poll0 is still open" in got["reason"]
    assert list(polls(deps)) == ["poll0"]
    deps.clock.t += 70
    deps.scheduler.run_due(deps, deps.clock.t)  # poll0 froze: a retry still changes nothing
    assert service.start_from_command(deps, "s1", KEY, 1000.0)["status"] == "refused"
    assert list(polls(deps)) == ["poll0"]


def test_a_request_of_someone_who_may_not_run_the_streams_polls_is_refused():
    deps = make()
    request(deps, creator="someone")
    got = service.start_from_command(deps, "s1", KEY, 1000.0)
    assert got["status"] == "refused" and "creator" in got["reason"]
    assert not polls(deps)


def test_a_request_not_committed_yet_is_waited_for_then_given_up():
    deps = make()
    with pytest.raises(service.NotRecorded):
        service.start_from_command(deps, "s1", KEY, 1000.0)
    deps.clock.t = 1000.0 + service.COMMAND_GIVE_UP_S
    assert service.start_from_command(deps, "s1", KEY, 1000.0)["status"] == "missing"
    assert not polls(deps)


def test_a_task_time_in_the_future_is_refused_before_any_read():
    deps = make()
    request(deps)
    ahead = deps.clock() + service.COMMAND_AHEAD_S + 1
    with pytest.raises(PollError) as err:
        service.start_from_command(deps, "s1", KEY, ahead)
    assert err.value.status == 400 and "future" in err.value.reason
    assert deps.store.get(poll_start_path("s1", KEY))["status"] == "pending"
    assert service.start_from_command(deps, "s1", KEY, deps.clock())["status"] == "opened"


def test_a_commit_that_fails_opens_nothing_and_the_retry_opens_it():
    deps = make()
    request(deps)
    deps.store.fail_next_commit = RuntimeError("lost connection")
    with pytest.raises(RuntimeError):
        service.start_from_command(deps, "s1", KEY, 1000.0)
    assert not polls(deps)
    assert deps.store.get(poll_start_path("s1", KEY))["status"] == "pending"
    assert service.start_from_command(deps, "s1", KEY, 1000.0)["status"] == "opened"
    assert list(polls(deps)) == [KEY]


# ---- through the gift pipeline --------------------------------------------------------------
class Jobs:
    def __init__(self):
        self.asked: list[tuple[str, str, str, float]] = []

    def schedule_job(self, stream_id, job, at):
        self.asked.append((stream_id, job.kind, job.key, at))


@settings(max_examples=80, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_through_the_pipeline_each_mapped_gift_asks_once_and_one_poll_and_battle_start(
    scenario, rnd
):
    events, steps, lags, ticks = scenario
    mappings = [
        {"id": "poll", "trigger": {"gift_id": "rose"}, "action": "start_poll", "params": POLL},
        {"id": "tap", "trigger": {"gift_id": "rose"}, "action": "start_tap_battle",
         "params": {"duration_s": 120}},
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (TapBattle, Commands))
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
        store = MemoryEventStore(lag=2)
        store.creators["s1"] = {
            "features": {
                "commands": Commands.check_config(
                    {"mappings": mappings, "viewer_per_minute": 60, "stream_per_minute": 120}
                )
            }
        }
        store.lag_next = list(lags)
        deps = make_deps(store)
        deps.jobs = Jobs()
        real, leading = pipeline._leading, Leading()
        pipeline._leading = leading
        try:
            play(deps, leading, steps, ticks)
            drain(deps)
        finally:
            pipeline._leading = real
    gifts = [e.event_id for e in events if e.kind == "gift"]
    wanted = {execution_id("s1", g, "poll", 1) for g in gifts}
    requests = {p.rsplit("/", 1)[1] for p in store.docs if "/poll_starts/" in p}
    assert requests == wanted  # one request per mapped gift, whatever was redelivered
    asked = [a for a in deps.jobs.asked]
    assert {a[2] for a in asked} == wanted and {a[1] for a in asked} <= {POLL_START}
    # The live polls run the jobs as Cloud Tasks would: duplicated, in any order.
    owners = MemoryOwnership()
    owners.owners["s1"] = StreamOwner("s1", "s1")  # the creator the events name
    live = Deps(store=MemoryStore(), scheduler=FakeScheduler(), ownership=owners, clock=Clock())
    live.store.docs = store.docs  # one database, as in production
    if not gifts:
        return
    jobs = asked + [rnd.choice(asked) for _ in range(3)]
    rnd.shuffle(jobs)
    live.clock.t = max(a[3] for a in asked)  # tasks run at or after the times asked for
    outcomes = [service.start_from_command(live, s, key, at)["status"] for s, _, key, at in jobs]
    assert set(outcomes) <= {"opened", "refused"}
    opened = [k for k in requests if store.docs[poll_start_path("s1", k)]["status"] == "opened"]
    assert len(opened) == 1  # one poll at a time: the others were refused while it was open
    assert [p for p in store.docs if p.startswith("streams/s1/polls/")] == [
        f"streams/s1/polls/{opened[0]}"
    ]
    # And one tap battle: the first mapped gift applied starts it, the rest find it running.
    started = [
        a["tap_battle_id"]
        for batch in store._s("s1").alerts
        for a in batch["items"]
        if a["type"] == "tap_battle_started"
    ]
    assert len(started) == 1 and started[0] in {execution_id("s1", g, "tap", 1) for g in gifts}
