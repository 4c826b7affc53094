"""The Firestore adapter of battles (adapters/battles.py) on the emulator: the use cases of
service/battles.py over it, the accept's transaction (rules fixed once, the streams' locks),
and concurrent accepts of two battles sharing a stream: exactly one wins."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from giftengine.adapters.battles import FirestoreBattles
from giftengine.adapters.clients import firestore_client
from giftengine.domain.access import Actor, StreamOwner
from giftengine.service import battles, streams

pytestmark = pytest.mark.emulator

CFG = battles.BattleSettings(grace_s=15, start_delay_s=3)
NOW = 2_000_000_000.0


def test_accept_is_one_transaction_and_one_battle_per_stream(cloud):
    repo = FirestoreBattles(firestore_client(cloud["project_id"]))
    n = uuid.uuid4().hex[:8]
    owners = streams.MemoryOwnership()
    for who in ("a", "b", "c"):
        owners.owners[f"s{who}-{n}"] = StreamOwner(f"s{who}-{n}", f"{who}-{n}")
    recorded: list[str] = []

    def invite(who: str, request_id: str) -> str:
        body = {
            "stream_id": f"sa-{n}",
            "opponent_creator_id": f"{who}-{n}",
            "opponent_stream_id": f"s{who}-{n}",
            "request_id": request_id,
        }
        doc, created = battles.invite(body, Actor(f"a-{n}"), repo, owners, NOW)
        assert created
        return doc["battle_id"]

    def accept(who: str, bid: str):
        try:
            return battles.accept(
                bid,
                Actor(f"{who}-{n}"),
                repo,
                owners,
                lambda evs: recorded.extend(e.event_id for e in evs) or True,
                NOW,
                CFG,
            )
        except battles.Conflict as exc:
            return exc

    b1, b2 = invite("b", "r1"), invite("c", "r2")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(accept, ("b", "c"), (b1, b2)))
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, battles.Conflict)]
    assert len(won) == 1 and len(lost) == 1 and "is in battle" in str(lost[0])
    doc = won[0]
    assert doc["status"] == "accepted" and doc["grace_s"] == 15
    assert doc["start"] == "2033-05-18T03:33:23Z" and doc["end"] == "2033-05-18T03:38:23Z"
    assert sorted(recorded) == sorted(
        battles.start_event_id(doc["battle_id"], s) for s in doc["streams"]
    )
    # A retried accept: the same document, the same start events again.
    again = accept("b" if doc["battle_id"] == b1 else "c", doc["battle_id"])
    assert again["start"] == doc["start"] and len(recorded) == 4
    other = b2 if doc["battle_id"] == b1 else b1
    who = "c" if other == b2 else "b"
    assert battles.decline(other, Actor(f"{who}-{n}"), repo, owners, NOW)["status"] == "declined"
    assert repo.get(other)["declined_by"] == f"{who}-{n}"
