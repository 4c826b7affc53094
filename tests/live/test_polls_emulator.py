"""The poll use cases on the Firestore emulator: a vote's transaction (vote document plus
`Increment` on its shard through the wallet's Tx) leaves exact counts equal to the rules'
tally, for app and chat votes mixed, duplicates, changed votes and concurrent voters."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.docstore import FirestoreDocStore
from giftengine.domain.access import Actor, StreamOwner
from giftengine.live import domain, service
from giftengine.live.domain import PollError, Vote
from giftengine.live.service import Deps
from giftengine.service.streams import MemoryOwnership

pytestmark = pytest.mark.emulator
CREATOR = Actor("creator-1")
CHOICES = ["Red", "Blue", "Green"]


class NoScheduler:
    def schedule(self, job, stream_id, poll_id, at, name):
        pass


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def deps(cloud) -> tuple[Deps, str]:
    stream = "pe-" + uuid.uuid4().hex[:10]
    owners = MemoryOwnership()
    owners.owners[stream] = StreamOwner(stream, CREATOR.uid)
    d = Deps(
        store=FirestoreDocStore(firestore_client(cloud["project_id"])),
        scheduler=NoScheduler(),
        ownership=owners,
        clock=Clock(),
    )
    return d, stream


def _open(deps: Deps, stream: str, changeable: bool = False) -> tuple[str, float]:
    doc = service.open_poll(deps, CREATOR, stream, "Which?", CHOICES, 60, changeable)
    return doc["poll_id"], doc["opened_at"]


def _exact(deps: Deps, stream: str) -> list[int]:
    return service.state(deps.store, stream)["active_poll"]["exact_counts"]


def test_app_and_chat_votes_land_in_the_shards_as_the_rules_count(deps):
    deps, stream = deps
    pid, t0 = _open(deps, stream)
    votes = [
        Vote(t0 + 0.5, "e1a", "tiktok:v1", 1, "tiktok"),
        Vote(t0 + 2.0, "e1b", "tiktok:v1", 2, "tiktok"),  # later: the earlier vote counts
        Vote(t0 + 1.0, "e2", "tiktok:v2", 1, "tiktok"),
        Vote(t0 + 1.5, "e5", "tiktok:v5", 0, "tiktok"),
        Vote(t0 + 0.4, "app:u:k1", "app:plain", 2, "app"),
        Vote(t0 + 0.6, "app:l:k1", "tiktok:v5", 1, "app"),  # linked to v5: once
        Vote(t0 - 30, "e0", "tiktok:v3", 0, "tiktok"),  # before the open: refused
    ]
    delivered = [votes[1], votes[4], votes[2], votes[6], votes[5], votes[0], votes[3]]
    for v in delivered + delivered[:3]:
        try:
            service.cast(deps, stream, pid, v)
        except PollError as exc:
            assert v.vote_id == "e0" and exc.code == "poll_closed"
    rules = domain.Poll(pid, stream, "Which?", tuple(CHOICES), t0, t0 + 60)
    assert domain.tally(rules, votes) == [0, 3, 1]
    assert _exact(deps, stream) == [0, 3, 1]


def test_a_changed_vote_moves_its_count_within_one_shard(deps):
    deps, stream = deps
    pid, t0 = _open(deps, stream, changeable=True)
    for i, choice in enumerate([0, 2, 1, 2]):
        service.cast(deps, stream, pid, Vote(t0 + i, f"k{i}", "app:u", choice))
    service.cast(deps, stream, pid, Vote(t0 + 0.5, "old", "app:u", 0))  # older: ignored
    assert _exact(deps, stream) == [0, 0, 1]


def test_concurrent_voters_are_each_counted_once(deps):
    deps, stream = deps
    pid, t0 = _open(deps, stream)
    # 40 viewers, several per shard, each vote sent twice at the same time
    votes = [Vote(t0 + 1, f"e{i}", f"tiktok:{i}", i % 3, "tiktok") for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda v: service.cast(deps, stream, pid, v), votes + votes))
    rules = domain.Poll(pid, stream, "Which?", tuple(CHOICES), t0, t0 + 60)
    assert _exact(deps, stream) == domain.tally(rules, votes) == [14, 13, 13]
