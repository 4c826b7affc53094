"""App reaction buttons (moderation/reactions.py, decision 094): what a request may say, the
key -> event id rule, and the use case: one `like` event per key whatever the retries, a
conflict for a key reused with another body, bans, the viewer's bucket, a failed publish.
The rules pure; the use case on the in-memory store and on the Firestore adapter against
the emulator (the `chat_store` fixture)."""

from __future__ import annotations

import dataclasses

import pytest
from giftengine.domain.events import EngagementEvent, parse_event
from giftengine.moderation import reactions, service
from giftengine.moderation.policy import Actor
from giftengine.moderation.reactions import ReactionRequest
from pydantic import ValidationError

from tests.moderation.conftest import random_ip
from tests.wallet.helpers import Published

VIEWER = Actor("viewer-1")


# ---- the rules ---------------------------------------------------------------------------------
@pytest.mark.unit
def test_the_event_id_is_the_same_for_the_same_stream_viewer_and_key_and_differs_otherwise():
    a = reactions.event_id("s1", "u1", "k1")
    assert a == reactions.event_id("s1", "u1", "k1")
    assert a.startswith("react:") and len(a) == len("react:") + 40
    others = {
        reactions.event_id("s2", "u1", "k1"),
        reactions.event_id("s1", "u2", "k1"),
        reactions.event_id("s1", "u1", "k2"),
        # no separator inside an id makes two triples one
        reactions.event_id("s1|u1", "k1", ""),
        reactions.event_id("s1", "u1|k1", ""),
    }
    assert a not in others and len(others) == 5


@pytest.mark.unit
@pytest.mark.parametrize(
    "body",
    [
        {"key": "k1", "reaction": "laugh", "count": 3},
        {"key": "a" * 64, "reaction": "like"},  # count defaults to 1
        {"key": "tap:2026-12-04T16.00_1-x", "reaction": "hype", "count": 100},
    ],
)
def test_valid_requests(body):
    r = ReactionRequest.model_validate(body)
    assert r.count == body.get("count", 1)


@pytest.mark.unit
@pytest.mark.parametrize(
    "body",
    [
        {"key": "", "reaction": "like"},
        {"key": "a" * 65, "reaction": "like"},
        {"key": "a/b", "reaction": "like"},
        {"key": "a b", "reaction": "like"},
        {"key": "é", "reaction": "like"},
        {"key": ".", "reaction": "like"},  # not a document id (domain/ids.py)
        {"key": "..", "reaction": "like"},
        {"key": "__x__", "reaction": "like"},
        {"key": 7, "reaction": "like"},
        {"key": "k", "reaction": "wow"},
        {"key": "k", "reaction": None},
        {"key": "k"},
        {"key": "k", "reaction": "like", "count": 0},
        {"key": "k", "reaction": "like", "count": 101},
        {"key": "k", "reaction": "like", "count": True},
        {"key": "k", "reaction": "like", "count": "3"},
        {"key": "k", "reaction": "like", "name": "someone else"},  # unknown field
    ],
)
def test_invalid_requests_are_refused_before_any_io(body):
    with pytest.raises(ValidationError):
        ReactionRequest.model_validate(body)


@pytest.mark.unit
def test_the_like_event_names_the_viewer_the_reaction_and_the_streams_owner():
    req = ReactionRequest(key="k1", reaction="laugh", count=7)
    ev = reactions.like_event("s1", "u1", "Bea", "creator-1", req, 1_800_000_000.0)
    assert ev.event_id == reactions.event_id("s1", "u1", "k1")
    assert (ev.kind, ev.source, ev.count, ev.reaction) == ("like", "app", 7, "laugh")
    assert (ev.user.id, ev.user.name, ev.creator_id) == ("u1", "Bea", "creator-1")
    assert ev.occurred_ts == 1_800_000_000.0
    # through JSON (Pub/Sub) and back unchanged
    assert parse_event(ev.model_dump_json(exclude_none=True)) == ev


@pytest.mark.unit
def test_only_a_like_carries_a_reaction_and_tiktok_likes_have_none():
    base = {
        "event_id": "e1",
        "source": "tiktok",
        "stream_id": "s1",
        "occurred_at": "2026-12-04T16:00:00Z",
        "user": {"id": "u1"},
    }
    assert parse_event({**base, "kind": "like", "count": 5}).reaction is None
    with pytest.raises(ValidationError, match="only kind 'like'"):
        parse_event({**base, "kind": "comment", "text": "hi", "reaction": "laugh"})
    with pytest.raises(ValidationError):
        parse_event({**base, "kind": "like", "reaction": "wow"})


@pytest.mark.unit
def test_a_retry_repeats_the_request_and_another_body_does_not():
    req = ReactionRequest(key="k1", reaction="love", count=4)
    record = reactions.key_record(
        reactions.like_event("s1", "u1", "Bea", None, req, 1_800_000_000.0), "k1", 1_800_000_000.0
    )
    assert reactions.same_request(record, req)
    assert not reactions.same_request(record, req.model_copy(update={"count": 5}))
    assert not reactions.same_request(record, req.model_copy(update={"reaction": "hype"}))
    assert record["expire_at"].timestamp() == 1_800_000_000.0 + reactions.KEY_RETENTION_S


# ---- the use case ------------------------------------------------------------------------------
@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
def deps(make_deps, published):
    return dataclasses.replace(make_deps(), publish=published)


def react(deps, stream, key, reaction="like", count=1, actor=VIEWER):
    return service.react(
        deps, actor, stream, ReactionRequest(key=key, reaction=reaction, count=count), "Bea"
    )


def test_a_reaction_is_one_like_event_and_a_retry_publishes_the_same_event(
    deps, store_stream, published, clock
):
    out, created = react(deps, store_stream, "k1", "laugh", 12)
    assert created and not out["duplicate"]
    assert out["event_id"] == reactions.event_id(store_stream, VIEWER.uid, "k1")
    first = published.events[-1]
    assert isinstance(first, EngagementEvent)
    assert (first.kind, first.reaction, first.count, first.user.id) == (
        "like",
        "laugh",
        12,
        VIEWER.uid,
    )
    assert first.creator_id == f"creator-{store_stream}"
    clock.advance(3)
    again, created = react(deps, store_stream, "k1", "laugh", 12)  # the same request again
    assert not created and again == {**out, "duplicate": True}
    assert published.events[-1] == first  # the first event again, its time unchanged
    other, created = react(deps, store_stream, "k2", "laugh", 12)
    assert created and other["event_id"] != out["event_id"]
    assert len({e.event_id for e in published.events}) == 2


def test_the_same_key_with_another_body_is_a_conflict_and_publishes_nothing(
    deps, store_stream, published
):
    react(deps, store_stream, "k1", "hype", 3)
    for reaction, count in (("hype", 4), ("love", 3)):
        with pytest.raises(service.Conflict):
            react(deps, store_stream, "k1", reaction, count)
    assert len(published.events) == 1
    # another viewer's key of the same name is theirs
    _, created = react(deps, store_stream, "k1", "love", 3, actor=Actor("viewer-2"))
    assert created


def test_an_unknown_stream_is_not_found(deps, published):
    with pytest.raises(service.NotFound):
        react(deps, "no-such-stream", "k1")
    assert published.events == []


def test_a_banned_viewer_is_refused(deps, store_stream, published):
    service.ban_user(deps, Actor(f"creator-{store_stream}"), store_stream, VIEWER.uid, 600, "spam")
    with pytest.raises(service.Banned):
        react(deps, store_stream, "k1")
    assert published.events == []
    _, created = react(deps, store_stream, "k1", actor=Actor("viewer-2"))
    assert created


def test_the_viewers_bucket_limits_requests_and_leaves_the_chats_alone(
    make_deps, store_stream, published, clock
):
    deps = dataclasses.replace(make_deps(reaction_burst=3, reaction_rate=2.0), publish=published)
    for i in range(3):
        react(deps, store_stream, f"k{i}")
    with pytest.raises(service.RateLimited) as exc:
        react(deps, store_stream, "k3")
    assert exc.value.retry_after_s == pytest.approx(0.5)
    assert len(published.events) == 3
    # the chat's own bucket is untouched: a message still goes through
    assert service.send(deps, VIEWER, store_stream, "hello", None, "Bea")[0]["visible"]
    clock.advance(0.5)
    react(deps, store_stream, "k3")
    assert len(published.events) == 4


def test_a_failed_publish_is_unavailable_and_the_retry_with_the_same_key_publishes_it(
    deps, store_stream, published
):
    published.fail = True
    with pytest.raises(service.Unavailable):
        react(deps, store_stream, "k1", "love", 2)
    published.fail = False
    out, created = react(deps, store_stream, "k1", "love", 2)
    assert not created and out["duplicate"]  # the key was recorded by the first attempt
    assert [(e.event_id, e.count) for e in published.events] == [(out["event_id"], 2)]


def test_the_ip_limiter_keeps_a_separate_budget_for_reactions(make_deps):
    deps, ip = make_deps(ip_requests=1, reaction_ip_requests=2), random_ip()
    service.check_ip(deps, ip)
    with pytest.raises(service.RateLimited):
        service.check_ip(deps, ip)
    service.check_ip(deps, ip, reactions=True)  # the chat's budget is spent, not theirs
    service.check_ip(deps, ip, reactions=True)
    with pytest.raises(service.RateLimited):
        service.check_ip(deps, ip, reactions=True)


# ---- the route ---------------------------------------------------------------------------------
@pytest.mark.unit
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"key": "..", "reaction": "like"}',
        b'{"key": "k1", "reaction": "wow", "count": 1}',
        b'{"key": "k1", "reaction": "like", "count": 101}',
    ],
)
def test_the_route_refuses_a_bad_body_with_a_400_before_any_io(monkeypatch, body):
    """No limiter, no token check, no read: `deps()` (every I/O goes through it) is never
    built for a request whose body is bad."""
    from flask import Request
    from giftengine.moderation import http
    from werkzeug.test import EnvironBuilder

    def no_io():
        raise AssertionError("I/O for a bad request")

    monkeypatch.setattr(http, "deps", no_io)
    environ = EnvironBuilder(
        method="POST",
        path="/chat_api/streams/s1/reactions",
        data=body,
        content_type="application/json",
        headers={"Authorization": "Bearer not-checked-yet"},
    ).get_environ()
    r = http.chat_api(Request(environ))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request", r.get_json()


@pytest.mark.unit
def test_a_route_may_run_the_routers_before_step_itself():
    from flask import Request
    from giftengine.entrypoints.http import Router
    from werkzeug.test import EnvironBuilder

    seen: list[str] = []
    router = Router("fn", before=lambda request: seen.append(request.path))

    @router.route("POST", "/a")
    def a(request):
        return {}

    @router.route("POST", "/b", before=False)
    def b(request):
        return {}

    for path in ("/fn/a", "/fn/b"):
        assert router.dispatch(Request(EnvironBuilder(method="POST", path=path).get_environ()))
    assert seen == ["/fn/a"]
