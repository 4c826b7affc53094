"""Points redemptions on their way to the live stream's log (service/rewards.py on the
in-memory store; decision 095): the outbox entry is written in the redemption's commit only
when a mapping names the reward and the creator is live, published after the commit; a
failed publish is published by the retried request or the outbox job, with the same event
id; what each case reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import access
from giftengine.domain.commands import REDEEM, Commands, redemption_event_id
from giftengine.domain.events import EngagementEvent
from giftengine.domain.rewards import Rewards
from giftengine.service import rewards
from giftengine.service.docstore import MemoryStore
from giftengine.service.outbox import Outbox

from tests.unit.test_reward_triggers import HI, NOW, SONG, at, mapping, pointer

pytestmark = pytest.mark.unit


class Published(list):
    def __init__(self, fail: int = 0):
        super().__init__()
        self.fail = fail

    def __call__(self, event: EngagementEvent) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("pubsub down")
        self.append(event)


class CountingStore(MemoryStore):
    """Counts the documents the transactions read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def transact(self, fn):
        def counted(tx):
            get, get_all = tx.get, tx.get_all
            tx.get = lambda p: (self.reads.append(p), get(p))[1]
            tx.get_all = lambda ps: (self.reads.extend(ps), get_all(ps))[1]
            return fn(tx)

        return super().transact(counted)


def world(mapped: bool = True, live: str | None = "s1", fail: int = 0):
    store = CountingStore()
    store.set(
        "creators/c1",
        {
            "features": {
                "rewards": Rewards.check_config({"rewards": [SONG, HI]}),
                "commands": Commands.check_config({"mappings": [mapping()] if mapped else []}),
            }
        },
    )
    store.set("xp/u1/creators/c1", {"points_earned": 100})
    if live is not None:
        store.set("live_pointers/c1", pointer((live, NOW - 600)))
        store.set(f"streams/{live}", {"status": "live", "updated_at": at(NOW - 2)})
    published = Published(fail)
    outbox = Outbox(store, "reward_outbox", published, grace_s=60, clock=lambda: NOW)
    return store, outbox, published


def redeem(store, outbox, request_id="req-00001", reward="song", now=NOW):
    req = rewards.RedeemRequest(request_id=request_id)
    return rewards.redeem(store, access.Actor("u1"), "c1", reward, req, now, outbox, "Bea")


def outbox_entries(store) -> list[dict]:
    return [d for _, d in store.list("reward_outbox")]


def test_a_mapped_redemption_while_live_is_written_in_its_commit_and_published_after():
    store, outbox, published = world()
    entry, created = redeem(store, outbox)
    assert created
    [doc] = outbox_entries(store)
    eid = redemption_event_id("c1", entry["redemption_id"])
    assert doc["published"] is True and doc["stream_id"] == "s1"
    assert doc["redemption_id"] == entry["redemption_id"] and doc["creator_id"] == "c1"
    assert doc["expire_at"] == at(NOW) + timedelta(days=7)
    [ev] = published
    assert ev.event_id == eid and ev.stream_id == "s1" and ev.kind == "control"
    assert (ev.control.feature, ev.control.action) == ("commands", REDEEM)
    assert ev.control.params == {"reward_id": "song", "redemption_id": entry["redemption_id"]}
    assert (ev.user.id, ev.user.name, ev.creator_id) == ("u1", "Bea", "c1")
    assert ev.occurred_at == at(NOW) and ev.source == "app"
    # The redemption itself is as before: ledger, queue, points.
    assert store.get("xp/u1/creators/c1")["points_spent"] == 30
    assert store.get(f"creators/c1/reward_queue/{entry['redemption_id']}")["status"] == "queued"
    # Reads: the three of any redemption, the pointer and the live stream's document.
    assert store.reads == [
        "creators/c1",
        "xp/u1/creators/c1",
        f"xp/u1/creators/c1/redemptions/{entry['redemption_id']}",
        "live_pointers/c1",
        "streams/s1",
    ]


@pytest.mark.parametrize(
    "mapped, live, reward, reads",
    [
        (False, "s1", "song", 3),  # no mapping names the reward: nothing more is read
        (True, "s1", "hi", 3),  # a mapping names another reward
        (True, None, "song", 4),  # not live: the pointer is read, nothing else
    ],
)
def test_otherwise_the_redemption_only_queues(mapped, live, reward, reads):
    store, outbox, published = world(mapped=mapped, live=live)
    entry, created = redeem(store, outbox, reward=reward)
    assert created and outbox_entries(store) == [] and published == []
    assert store.get(f"creators/c1/reward_queue/{entry['redemption_id']}")["status"] == "queued"
    assert len(store.reads) == reads


def test_an_ended_stream_in_the_pointer_is_not_live():
    store, outbox, published = world()
    store.set("streams/s1", {"status": "ended"}, merge=True)
    redeem(store, outbox)
    assert outbox_entries(store) == [] and published == []


def test_a_retry_publishes_what_a_failed_publish_left_with_the_same_event_id():
    store, outbox, published = world(fail=1)
    entry, created = redeem(store, outbox)  # committed; the publish failed
    assert created and published == []
    [doc] = outbox_entries(store)
    assert doc["published"] is False
    again, created = redeem(store, outbox)  # the client's retry: same request id
    assert not created and again["redemption_id"] == entry["redemption_id"]
    [ev] = published
    assert ev.event_id == redemption_event_id("c1", entry["redemption_id"])
    assert outbox_entries(store)[0]["published"] is True
    redeem(store, outbox)  # once published, a retry publishes nothing more
    assert len(published) == 1
    assert store.get("xp/u1/creators/c1")["points_spent"] == 30


def test_the_outbox_job_publishes_an_entry_a_crash_left_and_the_id_stays_the_same():
    store, outbox, published = world(fail=1)
    entry, _ = redeem(store, outbox)
    assert outbox.flush() == {"republished": 0, "failed": 0}  # within the grace period
    late = Outbox(store, "reward_outbox", published, grace_s=60, clock=lambda: NOW + 61)
    assert late.flush() == {"republished": 1, "failed": 0}
    assert [e.event_id for e in published] == [redemption_event_id("c1", entry["redemption_id"])]


def test_a_second_redemption_is_a_second_event_and_other_creators_get_other_ids():
    store, outbox, published = world()
    redeem(store, outbox, "req-00001")
    redeem(store, outbox, "req-00002")
    assert len({e.event_id for e in published}) == 2
    rid = rewards.redemption_id("u1", "req-00001")
    assert redemption_event_id("c1", rid) != redemption_event_id("c2", rid)


def test_without_an_outbox_a_redemption_is_what_it_was():
    store, _, published = world()
    req = rewards.RedeemRequest(request_id="req-00001")
    entry, created = rewards.redeem(store, access.Actor("u1"), "c1", "song", req, NOW)
    assert created and outbox_entries(store) == [] and published == []
    assert len(store.reads) == 3
