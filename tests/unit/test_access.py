"""Roles and stream ownership (domain/access.py) and the ownership use cases
(service/streams.py) on the in-memory repository."""

from __future__ import annotations

import pytest
from giftengine.domain import access
from giftengine.domain.access import Actor, StreamAccess, StreamOwner
from giftengine.service import streams

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("value", [True])
def test_a_role_holds_when_its_claim_is_true(value):
    assert Actor.from_claims("u", {"admin": value, "moderator": value}).roles() == [
        "admin",
        "moderator",
    ]


@pytest.mark.parametrize("value", ["true", 1, "yes", ["admin"], {"x": 1}, None, False])
def test_a_truthy_claim_that_is_not_true_grants_nothing(value):
    actor = Actor.from_claims("u", {"admin": value, "moderator": value})
    assert not actor.admin and not actor.moderator and actor.roles() == []
    with pytest.raises(access.Forbidden):
        access.require_stream_moderator(actor, StreamAccess("s", "creator"))


def test_stream_roles_come_from_the_record_and_the_creators_appointments():
    s = StreamAccess("s", "c1", frozenset({"helper"}))
    assert access.stream_role(Actor("c1"), s) == "creator"
    assert access.stream_role(Actor("helper"), s) == "creator_moderator"
    assert access.stream_role(Actor("m", moderator=True), s) == "moderator"
    assert access.stream_role(Actor("a", admin=True), StreamAccess("s", None)) == "admin"
    assert access.stream_role(Actor("v"), s) is None
    # no record: nobody but staff holds powers, whatever the uid
    assert (
        access.stream_role(Actor("helper"), StreamAccess("s", None, frozenset({"helper"}))) is None
    )
    with pytest.raises(access.Forbidden):  # goals: not for moderators the creator appointed
        access.require_stream_creator(Actor("helper"), s)
    assert access.require_stream_creator(Actor("c1"), s) == "creator"


def test_gift_recipient_is_the_recorded_owner():
    owner = StreamOwner("s", "c1")
    assert access.gift_recipient(owner, None) == "c1"
    assert access.gift_recipient(owner, "c1") == "c1"
    with pytest.raises(ValueError):
        access.gift_recipient(owner, "someone-else")
    with pytest.raises(LookupError):
        access.gift_recipient(None, "c1")


def test_create_stream_first_record_holds():
    repo = streams.MemoryOwnership()
    doc, created = streams.create_stream(repo, Actor("c1"), "my-stream", "Friday")
    assert created and doc["creator_id"] == "c1" and doc["source"] == "app"
    assert streams.create_stream(repo, Actor("c1"), "my-stream", "again") == (doc, False)
    with pytest.raises(streams.Conflict):
        streams.create_stream(repo, Actor("c2"), "my-stream", "")
    with pytest.raises(streams.Conflict):  # not even an admin takes a stream over
        streams.create_stream(repo, Actor("a", admin=True), "my-stream", "")
    with pytest.raises(access.Forbidden):  # the ingest worker's names
        streams.create_stream(repo, Actor("c2"), "tiktok-7300000000000000001", "")
    generated, created = streams.create_stream(repo, Actor("c2"), None, "")
    assert created and generated["stream_id"].startswith("s-")


def test_tiktok_streams_belong_to_the_linked_creator():
    repo = streams.MemoryOwnership()
    owner = streams.record_tiktok_stream(repo, "tiktok-1", "uid-ana", "ana.live")
    assert (owner.creator_id, owner.source, owner.tiktok_username) == (
        "uid-ana",
        "tiktok",
        "ana.live",
    )
    assert streams.record_tiktok_stream(repo, "tiktok-1", "uid-other", "x").creator_id == "uid-ana"


def test_creators_appoint_moderators_for_their_own_streams():
    repo = streams.MemoryOwnership()
    streams.create_stream(repo, Actor("c1"), "s1", "")
    streams.create_stream(repo, Actor("c2"), "s2", "")
    assert streams.appoint_moderator(repo, Actor("c1"), "c1", "helper")[1] is True
    assert streams.appoint_moderator(repo, Actor("c1"), "c1", "helper")[1] is False
    with pytest.raises(access.Forbidden):
        streams.appoint_moderator(repo, Actor("helper"), "c1", "friend")
    with pytest.raises(access.Forbidden):
        streams.appoint_moderator(repo, Actor("c2"), "c1", "friend")
    assert (
        access.stream_role(Actor("helper"), streams.stream_access(repo, "s1"))
        == "creator_moderator"
    )
    assert access.stream_role(Actor("helper"), streams.stream_access(repo, "s2")) is None
    assert [m["uid"] for m in streams.list_moderators(repo, Actor("c1"), "c1")] == ["helper"]
    streams.dismiss_moderator(repo, Actor("c1"), "c1", "helper")
    assert access.stream_role(Actor("helper"), streams.stream_access(repo, "s1")) is None
    with pytest.raises(streams.NotFound):
        streams.dismiss_moderator(repo, Actor("c1"), "c1", "helper")
