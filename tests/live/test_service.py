"""Poll use cases on the in-memory store: authorization, votes from both sources, close,
once-a-second publishing, freeze, and replays with duplicates, reordering and late votes."""

from __future__ import annotations

import pytest
from giftengine.domain.access import Actor, StreamOwner
from giftengine.live import domain, service
from giftengine.live.domain import PollError, Vote
from giftengine.live.service import Deps
from giftengine.service.docstore import MemoryStore
from giftengine.service.streams import MemoryOwnership
from hypothesis import given, settings
from hypothesis import strategies as st

CREATOR = Actor("creator-1")


class FakeScheduler:
    def __init__(self):
        self.tasks: dict[str, tuple[str, str, str, float]] = {}

    def schedule(self, job, stream_id, poll_id, at, name):
        self.tasks.setdefault(name, (job, stream_id, poll_id, at))

    def run_due(self, deps, now):
        for name, (job, s, p, at) in sorted(self.tasks.items(), key=lambda kv: kv[1][3]):
            if at <= now:
                del self.tasks[name]
                if job == "flush":
                    service.flush(deps, s, p, int(at))
                else:
                    service.freeze(deps, s, p)


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def make(stream="s1"):
    owners = MemoryOwnership()
    owners.owners[stream] = StreamOwner(stream, CREATOR.uid)
    owners.mods[CREATOR.uid] = {"helper": {"uid": "helper"}}
    ids = iter(f"poll{i}" for i in range(100))
    deps = Deps(
        store=MemoryStore(),
        scheduler=FakeScheduler(),
        ownership=owners,
        clock=Clock(),
        new_id=lambda: next(ids),
    )
    return deps


def open_(deps, duration=60, changeable=False):
    return service.open_poll(
        deps, CREATOR, "s1", "Which?", ["Red", "Blue", "Green"], duration, changeable
    )


def test_only_the_creator_their_moderators_and_staff_run_polls():
    deps = make()
    with pytest.raises(service.Forbidden):
        service.open_poll(deps, Actor("someone"), "s1", "q", ["a", "b"], None, False)
    with pytest.raises(service.NotFound):
        service.open_poll(deps, Actor("someone"), "nostream", "q", ["a", "b"], None, False)
    with pytest.raises(service.NotFound):
        service.open_poll(deps, CREATOR, "nostream", "q", ["a", "b"], None, False)
    service.open_poll(deps, Actor("helper"), "s1", "q", ["a", "b"], None, False)  # appointed
    with pytest.raises(PollError) as err:
        open_(deps)
    assert err.value.code == "poll_active"
    with pytest.raises(service.Forbidden):
        service.close_poll(deps, Actor("someone"), "s1", "poll0")


def test_votes_from_app_and_chat_count_once_per_viewer():
    deps = make()
    open_(deps)
    t = deps.clock()
    assert service.chat_vote(deps, "s1", "!vote 2", "tiktok", "42", "e1", t + 1)["counted"]
    assert service.chat_vote(deps, "s1", "!2", "tiktok", "42", "e1", t + 1)["counted"]  # redelivery
    # same viewer through the app with a linked TikTok account: not counted again
    later = Vote(t + 2, "k1", domain.voter_key("app", "u", "42"), 0, "app")
    assert service.cast(deps, "s1", "poll0", later) == {"counted": False, "choice": 2}
    assert service.chat_vote(deps, "s1", "green", "tiktok", "7", "e2", t + 3)["counted"]
    assert service.chat_vote(deps, "s1", "hello", "tiktok", "8", "e3", t + 3) is None
    assert service.state(deps.store, "s1")["active_poll"]["exact_counts"] == [0, 1, 1]


def test_an_app_chat_vote_of_a_linked_viewer_counts_once_with_their_app_vote():
    deps = make()
    open_(deps)
    t = deps.clock()
    first = Vote(t + 1, "k1", domain.voter_key("app", "u", "42"), 0, "app")
    assert service.cast(deps, "s1", "poll0", first)["counted"]
    # their app chat comment names the uid and the linked account: the same viewer
    later = service.chat_vote(deps, "s1", "!vote 2", "app", "u", "chat:m1", t + 2, "42")
    assert later == {"counted": False, "choice": 1}
    # an unlinked app user's chat vote is theirs alone; a TikTok comment cannot claim a link
    assert service.chat_vote(deps, "s1", "!2", "app", "v", "chat:m2", t + 2)["counted"]
    assert service.chat_vote(deps, "s1", "!3", "tiktok", "9", "e9", t + 2, "42")["counted"]
    assert service.state(deps.store, "s1")["active_poll"]["exact_counts"] == [1, 1, 1]


def test_bad_votes_are_refused_and_nothing_is_applied():
    deps = make()
    open_(deps)
    with pytest.raises(service.NotFound):
        service.cast(deps, "s1", "nope", Vote(deps.clock(), "k", "app:u", 0))
    with pytest.raises(PollError) as err:
        service.cast(deps, "s1", "poll0", Vote(deps.clock(), "k", "app:u", 5))
    assert err.value.status == 400
    before = dict(deps.store.docs)
    deps.clock.t += 61
    with pytest.raises(PollError) as err:
        service.cast(deps, "s1", "poll0", Vote(deps.clock(), "k", "app:u", 0))
    assert err.value.code == "poll_closed"
    assert deps.store.docs == before


def test_tally_is_published_at_most_once_per_second_and_frozen_at_close():
    deps = make()
    open_(deps, duration=None)
    writes = []
    t0 = deps.clock()
    for i in range(50):  # 50 votes within one second
        deps.clock.t = t0 + i / 100
        service.chat_vote(deps, "s1", f"!{i % 3 + 1}", "tiktok", str(i), f"e{i}", deps.clock())
    flushes = [n for n in deps.scheduler.tasks if n.startswith("flush")]
    assert len(flushes) == 1
    deps.clock.t = t0 + 1
    deps.scheduler.run_due(deps, deps.clock())
    doc = deps.store.get("streams/s1/polls/poll0")
    writes.append(doc["tally_bucket"])
    assert doc["counts"] == [17, 17, 16] and not doc["frozen"]
    assert not service.flush(deps, "s1", "poll0", int(t0 + 1))  # same second: no second write
    closed = service.close_poll(deps, CREATOR, "s1", "poll0")
    assert closed["closes_at"] == t0 + 1
    # a vote that occurred before the close but arrives after it still counts until the freeze
    assert service.chat_vote(deps, "s1", "!1", "tiktok", "late-ok", "e-x", t0 + 0.9)["counted"]
    assert service.chat_vote(deps, "s1", "!1", "tiktok", "after", "e-y", t0 + 1.5) is None
    deps.clock.t = t0 + 1 + domain.DEFAULT_GRACE_S
    deps.scheduler.run_due(deps, deps.clock())
    final = deps.store.get("streams/s1/polls/poll0")
    assert final["frozen"] and final["counts"] == [18, 17, 16]
    with pytest.raises(PollError):
        service.cast(deps, "s1", "poll0", Vote(t0 + 0.5, "e-z", "tiktok:new", 0))
    assert service.state(deps.store, "s1") == {
        "active_poll": None,
        "last_poll": {**final, "exact_counts": [18, 17, 16]},
        "prediction": None,
        "active_prediction": None,
        "last_prediction": None,
        "current_question": None,
        "question_queue": [],
        "challenges": {"active": [], "ended": []},
    }


def test_freeze_before_its_time_is_retried_and_runs_once():
    deps = make()
    open_(deps, duration=30)
    with pytest.raises(service.NotDue):
        service.freeze(deps, "s1", "poll0")
    deps.clock.t += 36
    first = service.freeze(deps, "s1", "poll0")
    assert first["frozen"]
    assert service.freeze(deps, "s1", "poll0") == deps.store.get("streams/s1/polls/poll0")


chat = st.tuples(
    st.sampled_from(["1", "2", "3", "4"]),
    st.integers(-5, 70),
    st.sampled_from(["!vote {}", "!{}", "{}"]),
)


@settings(max_examples=100, deadline=None)
@given(
    ballots=st.lists(st.tuples(st.integers(0, 6), chat, st.booleans()), max_size=25),
    changeable=st.booleans(),
    data=st.data(),
)
def test_replay_with_duplicates_reordering_and_late_votes(ballots, changeable, data):
    deps = make()
    open_(deps, duration=60, changeable=changeable)
    t0 = deps.clock()
    events = []
    for i, (viewer, (n, offset, fmt), from_app) in enumerate(ballots):
        text = fmt.format(n) if fmt != "{}" else ["Red", "Blue", "Green", "Pink"][int(n) - 1]
        events.append((f"e{i}", viewer, text, t0 + offset, from_app))
    delivered = data.draw(st.permutations(events + events[: len(events) // 2]))
    for eid, viewer, text, at, from_app in delivered:
        if from_app:  # an app user linked to the same TikTok identity
            choice = domain.parse_chat_vote(text, ("Red", "Blue", "Green"))
            if choice is None:
                continue
            with __import__("contextlib").suppress(PollError):
                service.cast(deps, "s1", "poll0", Vote(at, eid, f"tiktok:{viewer}", choice))
        else:
            service.chat_vote(deps, "s1", text, "tiktok", str(viewer), eid, at)
    deps.clock.t = t0 + 60 + domain.DEFAULT_GRACE_S
    deps.scheduler.run_due(deps, deps.clock())
    p = service.poll_from(deps.store.get("streams/s1/polls/poll0"))
    expected_votes = []
    for eid, viewer, text, at, _ in events:
        choice = domain.parse_chat_vote(text, p.choices)
        if choice is not None:
            expected_votes.append(Vote(at, eid, f"tiktok:{viewer}", choice))
    assert p.frozen
    assert deps.store.get("streams/s1/polls/poll0")["counts"] == domain.tally(p, expected_votes)


def test_a_gift_weighted_poll_sends_its_commands_to_the_rollup():
    from giftengine.domain import poll_weights

    deps = make()
    with pytest.raises(PollError) as err:  # no publisher wired: refused, nothing applied
        service.open_poll(deps, CREATOR, "s1", "q", ["a", "b"], None, False, True)
    assert err.value.status == 400 and deps.store.docs == {}
    sent = []
    deps.publish = sent.append
    for bad in ({"rose": 3}, {"rose": 0}, {f"g{i}" * 20: 1 for i in range(12)}):
        with pytest.raises(PollError) as err:
            service.open_poll(deps, CREATOR, "s1", "q", ["a", "b"], None, False, True, bad)
        assert err.value.status == 400
    with pytest.raises(PollError):  # a mapping without weights
        service.open_poll(deps, CREATOR, "s1", "q", ["a", "b"], None, False, False, {"rose": 1})
    assert deps.store.docs == {} and sent == []
    doc = service.open_poll(deps, CREATOR, "s1", "q", ["a", "b"], 60, False, True, {"rose": 2})
    assert doc["weights"] == [0, 0] and doc["gift_choices"] == {"rose": 2}
    [opened] = sent
    assert (opened.event_id, opened.kind, opened.creator_id) == (
        "poll-poll0-open",
        "control",
        "creator-1",
    )
    assert opened.control.params["gifts"] == '{"rose":1}'  # 0-based for the rollup
    assert opened.control.params["closes_ms"] == round((doc["opened_at"] + 60) * 1000)
    deps.clock.t += 10
    service.close_poll(deps, CREATOR, "s1", doc["poll_id"])
    assert [e.event_id for e in sent] == ["poll-poll0-open", "poll-poll0-open", "poll-poll0-close"]
    assert sent[2].control.params == {"poll_id": "poll0", "closes_ms": round(deps.clock.t * 1000)}
    assert sent[2].control.feature == poll_weights.FEATURE
