"""The creator's live pointer (live_pointers/{creator_id}) as the rollup writes it, against
the Firestore emulator: added with the stream's first rollup, removed by the rollup that ends
it, right whatever order two streams of one creator start and end in."""

from __future__ import annotations

import dataclasses

import pytest
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.firestore_store import FirestoreStore
from giftengine.config import load
from giftengine.service import pipeline

from tests.integration.test_pipeline_firestore import Clock, NoDeadLetters, Recorder
from tests.unit import factories

pytestmark = pytest.mark.emulator


@pytest.fixture
def deps(cloud):
    settings = dataclasses.replace(load(), project_id=cloud["project_id"], inline_rollup=False)
    store = FirestoreStore(firestore_client(cloud["project_id"]), shards=4, visibility_margin_ms=0)
    return pipeline.Deps(
        settings=settings,
        store=store,
        scheduler=Recorder(),
        dead_letters=NoDeadLetters(),
        clock=Clock(),
    )


def deliver(deps, *events):
    for e in events:
        pipeline.record_engagement(e.model_dump_json().encode(), "m", {}, deps)
    for _ in range(3):
        deps.clock.t += 2
        for s in {e.stream_id for e in events}:
            pipeline.run_rollup(s, deps)


def pointer(deps, creator) -> dict:
    snap = deps.store.db.collection("live_pointers").document(creator).get()
    return snap.to_dict() or {}


def start(stream, creator):
    return factories.ev("stream_start", stream, user=None, creator_id=creator)


def end(stream, creator):
    return factories.ev("stream_end", stream, user=None, creator_id=creator)


def gift(stream, creator, user="u1"):
    return factories.gift(user, streakable=False, creator_id=creator).model_copy(
        update={"stream_id": stream, "event_id": f"{stream}-{user}"}
    )


def test_two_streams_of_one_creator_overlapping_in_any_order(deps, stream_id):
    creator = f"c-{stream_id}"
    a, b = f"{stream_id}-a", f"{stream_id}-b"
    deliver(deps, start(a, creator), gift(a, creator))
    p = pointer(deps, creator)
    assert p["creator_id"] == creator and list(p["streams"]) == [a]
    assert p["streams"][a]["stream_id"] == a and p["streams"][a]["since"] is not None
    # The second stream starts before the first one's end arrives.
    deliver(deps, gift(b, creator))  # picked up mid-stream: no stream_start at all
    assert sorted(pointer(deps, creator)["streams"]) == [a, b]
    deliver(deps, end(a, creator))
    assert list(pointer(deps, creator)["streams"]) == [b]
    deliver(deps, end(b, creator))
    assert pointer(deps, creator)["streams"] == {}


def test_gifts_after_the_start_do_not_write_the_pointer_again(deps, stream_id):
    creator = f"c-{stream_id}"
    deliver(deps, start(stream_id, creator))
    ref = deps.store.db.collection("live_pointers").document(creator)
    first = ref.get().update_time
    deliver(deps, gift(stream_id, creator, "u1"), gift(stream_id, creator, "u2"))
    assert ref.get().update_time == first


def test_a_stream_with_an_ownership_record_is_pointed_to_under_its_owner(deps, stream_id):
    from datetime import UTC, datetime

    from giftengine.adapters.ownership import FirestoreOwnership
    from giftengine.domain.access import StreamOwner

    owner, named = f"uid-{stream_id}", f"handle-{stream_id}"
    FirestoreOwnership(deps.store.db).create(
        StreamOwner(stream_id, owner, "tiktok", named), "ingest", datetime.now(UTC)
    )
    deliver(deps, start(stream_id, named))
    assert list(pointer(deps, owner)["streams"]) == [stream_id]
    assert pointer(deps, named) == {}  # the events' creator_id is not the key then
    deliver(deps, end(stream_id, named))
    assert pointer(deps, owner)["streams"] == {}
