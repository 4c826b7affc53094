"""Gift-weighted votes through the gift pipeline's service on the in-memory store: the
poll's `open` (and `close`) commands and the gifts recorded as the pipeline records them,
with re-sent batches, redeliveries, reordering and crashes around commits (the pipeline
property test's scenarios). The weights written on the poll document and shown in the live
view equal the rule's: the coins of each gift, counted once, that occurred in the window and
named a choice."""

from __future__ import annotations

import contextlib

import pytest
from giftengine.domain import poll_weights
from giftengine.domain.poll_weights import PollWeightsFeature, WeightedPoll
from giftengine.service import pipeline
from giftengine.service.memory import Crash, MemoryEventStore
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories
from tests.unit.test_pipeline_service import Leading, deliver, drain, make_deps, once

pytestmark = pytest.mark.unit
T0 = factories.T0.timestamp()
CHOICES = ["Red", "Blue", "Green"]
GIFTS = {"rose": 0, "lion": 2}  # mapped; "tea" is not: its comment decides


def weighted_poll(manual: bool) -> WeightedPoll:
    return WeightedPoll("p1", T0, None if manual else T0 + 60, 5.0, list(CHOICES), dict(GIFTS))


def command(action: str, params: dict, event_id: str):
    return factories.ev(
        "control",
        event_id=event_id,
        user=None,
        control={"feature": poll_weights.FEATURE, "action": action, "params": params},
    )


@st.composite
def gift_events(draw):
    n = draw(st.integers(1, 12))
    out = []
    for i in range(n):
        gid = draw(st.sampled_from(["rose", "lion", "tea"]))
        streak = draw(st.booleans())
        out.append(
            factories.gift(
                f"u{i % 3}",
                gift_id=gid,
                coins=draw(st.integers(1, 500)),
                streakable=streak,
                count=draw(st.integers(1, 4)) if streak else 1,
                group=f"g{i}",
                secs=draw(st.sampled_from([-5.0, 0.0, 10.0, 59.5, 60.0, 75.0])),
                event_id=f"ev{i}",
                text=draw(st.sampled_from(["", "!1", "!vote 2", "green", "hello"])),
            )
        )
    return out


def expected(gifts, closes_at: float) -> list[int]:
    rule = weighted_poll(manual=False)
    out = [0, 0, 0]
    for g in gifts:
        at = g.occurred_at.timestamp()
        choice = rule.choice_for(g.gift.id, g.text)
        if choice is not None and T0 <= at < closes_at:
            out[choice] += g.gift.coins * g.repeat_count
    return out


@pytest.fixture
def registry(monkeypatch):
    from giftengine.domain import feature_registry

    monkeypatch.setattr(feature_registry, "REGISTRY", (PollWeightsFeature,))


@settings(max_examples=120, deadline=None)
@given(gifts=gift_events(), manual=st.booleans(), data=st.data())
def test_weights_count_each_gift_once_whatever_the_delivery(gifts, manual, data):
    poll = weighted_poll(manual)
    store = MemoryEventStore(lag=2)
    deps = make_deps(store)
    real, leading = pipeline._leading, Leading()
    pipeline._leading = leading
    try:
        deliver(deps, [command("open", poll_weights.open_params(poll), "open-p1")], "m-open")
        messages = [[g] for g in gifts] + data.draw(
            st.lists(st.sampled_from([[g] for g in gifts]), max_size=4)  # re-sent
        )
        messages = data.draw(st.permutations(messages))
        if manual:  # the close command lands anywhere among the gifts
            close = [command("close", {"poll_id": "p1", "closes_ms": round((T0 + 60) * 1000)},
                             "close-p1")]  # fmt: skip
            messages.insert(data.draw(st.integers(0, len(messages))), close)
        for k, msg in enumerate(messages):
            crash = data.draw(st.sampled_from([None, None, "before", "after"]))
            store.crash, leading.next = once(crash), data.draw(st.booleans())
            try:
                deliver(deps, msg, f"m{k}")
            except Crash:
                store.crash = once(None)
                deliver(deps, msg, f"m{k}")  # Pub/Sub redelivers it
            if data.draw(st.booleans()):
                # A crash the delivery did not spend (its record existed) may hit the rollup;
                # its Cloud Task runs it again: the drain below.
                with contextlib.suppress(Crash):
                    pipeline.run_rollup("s1", deps)
        store.crash = once(None)
        drain(deps)
        deps.clock.t = T0 + 66  # past the freeze: the next rollup makes the weights final
        drain(deps)
    finally:
        pipeline._leading = real
    want = expected(gifts, T0 + 60)
    doc = store.docs["streams/s1/polls/p1"]
    assert doc["weights"] == want and doc["weights_final"] is True
    assert store.live("s1")["features"]["poll_weights"] == {
        "poll_id": "p1",
        "weights": want,
        "frozen": True,
    }
    # a gift that occurred in the window but is recorded after the freeze changes nothing
    late = factories.gift("u9", gift_id="rose", coins=7, streakable=False, secs=1, group="z")
    deliver(deps, [late], "m-late")
    drain(deps)
    assert store.docs["streams/s1/polls/p1"]["weights"] == want


def test_a_stream_without_a_weighted_poll_stores_nothing_for_it(registry):
    store = MemoryEventStore()
    deps = make_deps(store)
    deliver(deps, [factories.gift("u1", coins=5, streakable=False, event_id="g1")])
    drain(deps)
    assert "features" not in store.live("s1") and "features" not in store._s("s1").core
    assert store.docs == {}


def test_a_new_poll_freezes_the_previous_ones_weights(registry):
    store = MemoryEventStore()
    deps = make_deps(store)
    first = weighted_poll(manual=True)
    deliver(deps, [command("open", poll_weights.open_params(first), "open-p1")], "m1")
    deliver(deps, [factories.gift("u1", gift_id="rose", coins=5, streakable=False)], "m2")
    second = WeightedPoll("p2", T0 + 30, T0 + 90, 5.0, ["A", "B"], {"lion": 1})
    deliver(deps, [command("open", poll_weights.open_params(second), "open-p2")], "m3")
    gift = factories.gift("u2", gift_id="lion", coins=9, streakable=False, secs=31, group="x")
    deliver(deps, [gift], "m4")
    drain(deps)
    assert store.docs["streams/s1/polls/p1"] == {
        "weights": [5, 0, 0],
        "weighted_gifts": 1,
        "weights_final": True,
    }
    assert store.docs["streams/s1/polls/p2"]["weights"] == [0, 9]
    assert not store.docs["streams/s1/polls/p2"]["weights_final"]


def test_a_malformed_command_is_ignored(registry):
    store = MemoryEventStore()
    deps = make_deps(store)
    deliver(deps, [command("open", {"poll_id": "p1", "choices": 3}, "bad")], "m1")
    deliver(deps, [factories.gift("u1", gift_id="rose", coins=5, streakable=False)], "m2")
    drain(deps)
    assert store.docs == {} and "features" not in store.live("s1")


def test_at_deadline_a_rollup_is_asked_for(registry):
    store = MemoryEventStore()
    deps = make_deps(store)
    poll = weighted_poll(manual=False)
    deliver(deps, [command("open", poll_weights.open_params(poll), "open-p1")], "m1")
    drain(deps)
    assert any(at == T0 + 65 for _, at in deps.scheduler.calls)


def test_cost_per_gift_is_no_write_and_one_poll_write_per_changing_rollup(registry, capsys):
    """200 gifts in 40 messages, a rollup after each: the same store writes with or without
    a weighted poll, except the open command's record and one poll-document write per rollup
    that changed the weights (printed: the figures docs/engagement.md quotes)."""

    def run(weighted: bool) -> tuple[dict, int]:
        store = MemoryEventStore()
        deps = make_deps(store)
        pipeline._leading = Leading()  # both runs take the same paths
        if weighted:
            poll = weighted_poll(manual=True)
            deliver(deps, [command("open", poll_weights.open_params(poll), "open-p1")], "m-o")
            drain(deps)
        before = dict(store.ops)
        for m in range(40):
            batch = [
                factories.gift(f"u{i % 7}", gift_id="rose", coins=3, streakable=False,
                               secs=1, group=f"g{m}-{i}", event_id=f"e{m}-{i}")
                for i in range(5)
            ]  # fmt: skip
            deliver(deps, batch, f"m{m}")
            deps.clock.t += 2
            pipeline.run_rollup("s1", deps)
        drain(deps)
        delta = {k: v - before.get(k, 0) for k, v in store.ops.items()}
        side = store.docs.get("streams/s1/polls/p1", {})
        assert not weighted or side["weights"] == [600, 0, 0]
        return delta, len(store.docs)

    real = pipeline._leading
    try:
        plain, _ = run(False)
        weighted, docs = run(True)
    finally:
        pipeline._leading = real
    extra = weighted["write"] - plain["write"]
    print(f"200 gifts: writes {plain['write']} -> {weighted['write']} (+{extra}, poll docs {docs})")
    assert extra == 40  # the poll document once per rollup that applied gifts; none per gift
