"""App chat into the stream's event log (moderation/chat_log.py, decision 092): which messages
become `comment` events, and that each is published once in effect whatever the retries,
crashes and repeated restores. The rules pure; the use cases on the in-memory store and on
the Firestore adapter against the emulator (the `chat_store` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from giftengine.domain.events import parse_event
from giftengine.moderation import chat_log, service
from giftengine.moderation.policy import Actor
from giftengine.service.outbox import Outbox

from tests.wallet.helpers import Published

VIEWER = Actor("viewer-1")
MOD = Actor("mod-1", moderator=True)
SENT = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


# ---- the rules ---------------------------------------------------------------------------------
def _message(**over) -> dict:
    return {
        "message_id": "m1",
        "stream_id": "s1",
        "uid": "u1",
        "name": "Bea",
        "text": "!vote 2",
        "source": "app",
        "action": "allow",
        "created_at": SENT,
        **over,
    }


@pytest.mark.unit
@pytest.mark.parametrize(
    ("over", "visible", "enters"),
    [
        ({}, True, True),
        ({"action": "warn"}, True, True),
        ({"action": "hold"}, False, False),
        ({"action": "block"}, False, False),
        ({"action": "allow"}, False, False),  # not where the public feed is
        ({"source": "tiktok"}, True, False),  # TikTok comments are in the log already
        ({"source": "tiktok", "action": "hide"}, False, False),
    ],
)
def test_only_shown_app_messages_enter_the_log(over, visible, enters):
    assert chat_log.enters_log(_message(**over), visible) is enters


@pytest.mark.unit
def test_the_comment_event_is_keyed_by_the_message_and_dated_when_it_was_sent():
    e = chat_log.comment_event(_message(), "creator-1")
    assert (e.event_id, e.source, e.kind, e.stream_id, e.creator_id) == (
        "chat:m1",
        "app",
        "comment",
        "s1",
        "creator-1",
    )
    assert (e.user.id, e.user.name, e.text, e.occurred_at) == ("u1", "Bea", "!vote 2", SENT)
    assert chat_log.comment_event(_message(created_at=SENT.timestamp()), None).occurred_at == SENT
    assert chat_log.comment_event(_message(), None).creator_id is None
    assert e.user.linked_tiktok_id is None
    linked = chat_log.comment_event(_message(linked_tiktok_id="6891"), None)
    assert linked.user.linked_tiktok_id == "6891"  # a linked sender votes as that viewer


@pytest.mark.unit
def test_moderation_scores_only_tiktok_comments_from_the_log():
    app = chat_log.comment_event(_message(), None)
    assert not chat_log.moderate_from_log(app)
    assert chat_log.moderate_from_log(app.model_copy(update={"source": "tiktok"}))
    assert not chat_log.moderate_from_log(app.model_copy(update={"kind": "like"}))


# ---- the use cases ----------------------------------------------------------------------------
@pytest.fixture
def stream(store_stream) -> str:
    return store_stream


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
def outbox_store(chat_store):
    """The outbox's documents: the memory store itself, or the shared document store on the
    same emulator database (as bootstrap wires it)."""
    if hasattr(chat_store, "db"):
        from giftengine.adapters.docstore import FirestoreDocStore

        return FirestoreDocStore(chat_store.db)
    return chat_store


@pytest.fixture
def deps(make_deps, outbox_store, published, clock):
    d = make_deps()
    d.outbox = Outbox(outbox_store, "chat_outbox", published, grace_s=60, clock=clock)
    return d


def send(deps, stream, text, client_id=None, actor=VIEWER):
    return service.send(deps, actor, stream, text, client_id, "Bea")


def entry(deps, message_id):
    return deps.outbox.store.get(f"chat_outbox/{message_id}")


def test_a_shown_message_is_published_once_as_a_comment_of_its_stream(deps, stream, published):
    out, created = send(deps, stream, "gg what a play", client_id="c1")
    assert created and out["visible"]
    [event] = published.events
    assert (event.event_id, event.kind, event.source, event.stream_id) == (
        f"chat:{out['message_id']}",
        "comment",
        "app",
        stream,
    )
    assert event.creator_id == f"creator-{stream}"  # the ownership record's creator
    assert (event.user.id, event.text) == (VIEWER.uid, "gg what a play")
    assert entry(deps, out["message_id"])["published"] is True
    again, created = send(deps, stream, "gg what a play", client_id="c1")  # a retried send
    assert not created and again["message_id"] == out["message_id"]
    assert len(published.events) == 1


def test_a_warned_message_is_shown_and_published(deps, stream, published):
    out, _ = send(deps, stream, "what the fuck was that")
    assert out["action"] == "warn" and [e.text for e in published.events] == [
        "what the fuck was that"
    ]


def test_blocked_and_held_messages_never_enter_the_log(deps, stream, published):
    blocked, _ = send(deps, stream, "shut the fuck up you b1tch")
    held, _ = send(deps, stream, "call me 9841234567")
    assert (blocked["action"], held["action"]) == ("block", "hold")
    assert published.events == []
    assert entry(deps, blocked["message_id"]) is None and entry(deps, held["message_id"]) is None


def test_a_crash_before_the_publish_is_finished_by_the_retry(deps, stream, published):
    published.fail = True  # the commit holds the message and its entry; the publish fails
    out, created = send(deps, stream, "first!", client_id="c-crash")
    assert created and out["visible"] and published.events == []
    assert entry(deps, out["message_id"])["published"] is False
    published.fail = False
    send(deps, stream, "first!", client_id="c-crash")  # the client's retry publishes it
    assert [e.event_id for e in published.events] == [f"chat:{out['message_id']}"]
    send(deps, stream, "first!", client_id="c-crash")
    assert len(published.events) == 1


def test_the_outbox_job_publishes_what_nobody_retried(deps, stream, published, clock):
    published.fail = True
    out, _ = send(deps, stream, "anyone here?")
    published.fail = False
    assert deps.outbox.flush() == {"republished": 0, "failed": 0}  # within the grace period
    clock.advance(61)
    assert deps.outbox.flush() == {"republished": 1, "failed": 0}
    assert [e.event_id for e in published.events] == [f"chat:{out['message_id']}"]
    assert deps.outbox.flush()["republished"] == 0


def test_a_restored_message_is_published_once_dated_when_it_was_sent(
    deps, stream, published, clock
):
    sent_at = clock()
    out, _ = send(deps, stream, "shut the fuck up you b1tch")
    held = service.feed(deps, stream, include_held=True)["held"][0]
    clock.advance(300)
    service.override_flag(deps, MOD, held["flag_id"], "restore", None, "banter")
    [event] = published.events
    assert event.event_id == f"chat:{out['message_id']}"
    assert event.occurred_at.timestamp() == sent_at
    with pytest.raises(service.Conflict):  # a repeated approve changes nothing
        service.override_flag(deps, MOD, held["flag_id"], "restore", None, "banter")
    assert len(published.events) == 1


def test_a_restored_tiktok_comment_publishes_nothing(deps, stream, published):
    hidden = service.ingest_comment(deps, _tiktok(stream, "tt-1", "fuck you"))
    flag_id = service.feed(deps, stream, include_held=True)["held"][0]["flag_id"]
    service.override_flag(deps, MOD, flag_id, "restore", None, "")
    assert service.feed(deps, stream, False)["messages"][0]["message_id"] == hidden["message_id"]
    assert published.events == []  # it is in the log already: the ingest published it


def test_an_app_comment_coming_back_from_the_log_is_not_scored_again(deps, stream, published):
    out, _ = send(deps, stream, "hello from the app")
    [event] = published.events
    assert service.ingest_comment(deps, event) is None
    assert [m["message_id"] for m in service.feed(deps, stream, True)["messages"]] == [
        out["message_id"]
    ]
    assert service.feed(deps, stream, True)["held"] == []


def _tiktok(stream, event_id, text):
    return parse_event(
        {
            "event_id": event_id,
            "source": "tiktok",
            "stream_id": stream,
            "kind": "comment",
            "occurred_at": "2027-01-15T08:00:00Z",
            "user": {"id": "tt-1", "handle": "@tt", "name": "TT"},
            "text": text,
        }
    )
