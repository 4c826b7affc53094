"""Chat use cases against the real Firestore emulator, with a controllable clock."""

from __future__ import annotations

import random

import pytest
from giftengine.domain.events import parse_event
from giftengine.moderation import service
from giftengine.moderation.policy import Actor, Forbidden
from google.cloud.firestore import FieldFilter

pytestmark = pytest.mark.emulator

VIEWER = Actor("viewer-1")
MOD = Actor("mod-1", moderator=True)


def creator(stream: str) -> Actor:
    return Actor(f"creator-{stream}")


def send(deps, stream, text, actor=VIEWER, client_id=None):
    return service.send(deps, actor, stream, text, client_id, actor.uid)[0]


def audit_actions(db, stream):
    return sorted(d.to_dict()["action"] for d in db.collection("moderation_audit")
                  .where(filter=FieldFilter("stream_id", "==", stream)).stream())


def test_clean_message_is_visible_with_public_fields_only(make_deps, stream):
    deps = make_deps()
    out = send(deps, stream, "hello <b>everyone</b>")
    assert out["visible"] and out["action"] == "allow"
    feed = service.feed(deps, stream, include_held=True)
    assert [m["text"] for m in feed["messages"]] == ["hello <b>everyone</b>"]  # as sent
    assert "score" not in feed["messages"][0]
    assert feed["held"] == []


def test_warn_shows_the_message_and_notifies_the_sender(make_deps, stream, chat_db):
    deps = make_deps()
    out = send(deps, stream, "what the hell happened")
    assert out["visible"] and out["action"] == "warn" and "warning" in out["reason"]
    notices = [d.to_dict() for d in deps.repo.user(stream, VIEWER.uid)
               .collection("notices").stream()]
    assert [n["type"] for n in notices] == ["warning"]


def test_block_holds_bans_flags_and_escalates(make_deps, stream, clock, chat_db):
    deps = make_deps(ban_ladder_s=(60, 600))
    out = send(deps, stream, "you are a fucking idiot")
    assert not out["visible"] and out["action"] == "block"
    assert out["banned_until"].timestamp() == clock() + 60
    feed = service.feed(deps, stream, include_held=True)
    assert feed["messages"] == []
    assert feed["held"][0]["score"] >= 0.9 and feed["held"][0]["action"] == "block"
    flag = deps.repo.get_flag(feed["held"][0]["flag_id"])
    assert flag["status"] == "pending" and flag["reporter"] == "system"
    assert flag["target_uid"] == VIEWER.uid and flag["action"] == "block"
    assert audit_actions(chat_db, stream) == ["auto_block_and_ban"]

    with pytest.raises(service.Banned) as banned:
        send(deps, stream, "hello again")
    assert banned.value.until == clock() + 60
    clock.advance(60.5)  # the ban ends by time alone
    assert send(deps, stream, "hello again")["visible"]
    send(deps, stream, "f u c k you")  # leetspeak, second ban: the next ladder step
    with pytest.raises(service.Banned) as banned:
        send(deps, stream, "sorry")
    assert banned.value.until == clock() + 600


def test_keyword_filter_holds_without_a_ban(make_deps, stream):
    deps = make_deps()
    service.set_keywords(deps, creator(stream), stream, ["spoiler*", "rival stream"])
    out = send(deps, stream, "SPOILERS: he dies")
    assert not out["visible"] and out["action"] == "hold" and "keyword" in out["reason"]
    assert send(deps, stream, "go watch the r1val   stream")["action"] == "hold"
    assert send(deps, stream, "no spoil here")["visible"]  # not banned
    held = service.feed(deps, stream, include_held=True)["held"]
    assert {h["keyword"] for h in held} == {"spoiler*", "rival stream"}


def test_keyword_lists_are_the_creators_own(make_deps, stream):
    deps = make_deps()
    with pytest.raises(Forbidden):
        service.set_keywords(deps, VIEWER, stream, ["x"])
    with pytest.raises(Forbidden):
        service.set_keywords(deps, Actor("creator-of-another-stream"), stream, ["x"])
    entries = [f"word{i}" for i in range(250)]
    assert len(service.set_keywords(deps, MOD, stream, entries)["keywords"]) == 250
    assert service.get_keywords(deps, creator(stream), stream)["keywords"] == entries


def test_creator_powers_come_from_the_ownership_record(make_deps, stream, chat_db):
    """Issue 14, attack 1: the live state's creator_id (named by a stream's first event) grants
    nothing; the record does, and so do the moderators its creator appointed."""
    from giftengine.adapters.ownership import FirestoreOwnership
    from giftengine.service import streams

    deps = make_deps()
    chat_db.collection("streams").document(stream).set({"creator_id": VIEWER.uid}, merge=True)
    with pytest.raises(Forbidden):
        service.set_keywords(deps, VIEWER, stream, ["x"])
    unowned = stream + "-unowned"
    chat_db.collection("streams").document(unowned).set({"creator_id": VIEWER.uid})
    with pytest.raises(Forbidden):
        service.ban_user(deps, VIEWER, unowned, "someone", None, "")
    helper = Actor(f"helper-{stream}")
    owners = FirestoreOwnership(chat_db)
    streams.appoint_moderator(owners, creator(stream), creator(stream).uid, helper.uid)
    assert service.ban_user(deps, helper, stream, "troll", None, "spam")["uid"] == "troll"
    assert audit_actions(chat_db, stream) == ["ban"]
    with pytest.raises(Forbidden):  # only that creator's streams
        service.ban_user(deps, helper, unowned, "troll", None, "spam")


def test_user_bucket_throttles_one_user_not_another(make_deps, stream, clock):
    deps = make_deps(user_burst=3, user_rate=0.5)
    for i in range(3):
        send(deps, stream, f"msg {i}")
    with pytest.raises(service.RateLimited) as limited:
        send(deps, stream, "one too many")
    assert limited.value.scope == "user" and limited.value.retry_after_s == pytest.approx(2.0)
    assert send(deps, stream, "other user", actor=Actor("viewer-2"))["visible"]
    clock.advance(2.0)
    assert send(deps, stream, "after refill")["visible"]


def test_stream_flood_control(make_deps, stream):
    deps = make_deps(stream_rate=1.0, stream_burst=4, stream_shards=1)
    for i in range(4):
        send(deps, stream, f"hi {i}", actor=Actor(f"fan-{i}"))
    with pytest.raises(service.RateLimited) as limited:
        send(deps, stream, "hi", actor=Actor("fan-9"))
    assert limited.value.scope == "stream"


def test_stream_flood_control_tries_a_second_shard(make_deps, stream):
    deps = make_deps(stream_rate=2.0, stream_burst=2, stream_shards=2)  # 1 token per shard
    assert send(deps, stream, "a", actor=Actor("fan-a"))["visible"]  # shard 0
    assert send(deps, stream, "b", actor=Actor("fan-b"))["visible"]  # shard 0 empty -> 1
    with pytest.raises(service.RateLimited) as limited:
        send(deps, stream, "c", actor=Actor("fan-c"))
    assert limited.value.scope == "stream"


def test_client_id_makes_a_retry_idempotent(make_deps, stream):
    deps = make_deps()
    first, created = service.send(deps, VIEWER, stream, "hello", "c-1", "V")
    again, created_again = service.send(deps, VIEWER, stream, "hello", "c-1", "V")
    assert created and not created_again
    assert first["message_id"] == again["message_id"]
    assert len(service.feed(deps, stream, False)["messages"]) == 1


def test_report_review_override_and_audit(make_deps, stream, chat_db):
    deps = make_deps()
    msg = send(deps, stream, "you are so ugly", actor=Actor("troll"))
    report, created = service.report(deps, VIEWER, stream, "message", msg["message_id"],
                                     "rude")
    assert created
    assert service.report(deps, VIEWER, stream, "message", msg["message_id"], "rude")[1] is False
    with pytest.raises(Forbidden):
        service.list_flags(deps, VIEWER, "pending", stream, 50)
    with pytest.raises(Forbidden):
        service.resolve_flag(deps, Actor("creator-other"), report["flag_id"], "resolved", "")
    pending = service.list_flags(deps, creator(stream), "pending", stream, 50)
    assert [f["flag_id"] for f in pending] == [report["flag_id"]]
    assert pending[0]["reporter"] == VIEWER.uid and pending[0]["target_uid"] == "troll"

    service.override_flag(deps, creator(stream), report["flag_id"], "hide", None, "agreed")
    feed = service.feed(deps, stream, include_held=True)
    assert feed["messages"] == [] and feed["held"][0]["action"] == "hide"
    assert service.list_flags(deps, MOD, "pending", stream, 50) == []
    resolved = service.list_flags(deps, MOD, "resolved", stream, 50)
    assert resolved[0]["resolution"] == "override:hide"

    user_flag, _ = service.report(deps, VIEWER, stream, "user", "troll", "keeps at it")
    service.override_flag(deps, MOD, user_flag["flag_id"], "ban", 30, "")
    assert service.is_banned(deps, stream, "troll")
    service.resolve_flag(deps, MOD, user_flag["flag_id"], "reviewed", "looked")
    assert audit_actions(chat_db, stream) == [
        "flag_override_ban", "flag_override_hide", "flag_reviewed"]


def test_override_restores_a_blocked_message_and_lifts_the_ban(make_deps, stream):
    deps = make_deps()
    send(deps, stream, "fuck this")
    held = service.feed(deps, stream, include_held=True)["held"][0]
    service.override_flag(deps, MOD, held["flag_id"], "restore", None, "false positive")
    feed = service.feed(deps, stream, include_held=True)
    assert [m["text"] for m in feed["messages"]] == ["fuck this"] and feed["held"] == []
    assert "score" not in feed["messages"][0]
    service.override_flag(deps, MOD, held["flag_id"], "unban", None, "")
    assert service.is_banned(deps, stream, VIEWER.uid) is None
    with pytest.raises(service.Conflict):
        service.override_flag(deps, MOD, held["flag_id"], "restore", None, "")


def _comment(stream, event_id, text, kind="comment"):
    return parse_event({"event_id": event_id, "source": "tiktok", "stream_id": stream,
                        "kind": kind, "occurred_at": "2026-11-22T01:00:00Z",
                        "user": {"id": "tt-1", "handle": "@tt", "name": "TT"}, "text": text})


def test_tiktok_comments_are_scored_hidden_and_flagged_never_banned(make_deps, stream):
    deps = make_deps()
    assert service.ingest_comment(deps, _comment(stream, "c1", "love it <script>x</script>"))[
        "visible"]
    hidden = service.ingest_comment(deps, _comment(stream, "c2", "fuck you"))
    assert hidden == {"message_id": hidden["message_id"], "visible": False, "action": "hide"}
    service.ingest_comment(deps, _comment(stream, "c2", "fuck you"))  # redelivery: no-op
    assert service.ingest_comment(deps, _comment(stream, "c3", "", kind="like")) is None
    feed = service.feed(deps, stream, include_held=True)
    assert [m["text"] for m in feed["messages"]] == ["love it"]
    assert len(feed["held"]) == 1 and feed["held"][0]["source"] == "tiktok"
    assert deps.repo.get_flag(feed["held"][0]["flag_id"])["action"] == "hide"
    assert service.is_banned(deps, stream, "tiktok:tt-1") is None
    service.set_keywords(deps, MOD, stream, ["giveaway scam"])
    held_kw = service.ingest_comment(deps, _comment(stream, "c4", "GIVEAWAY   scam here"))
    assert held_kw["action"] == "hide"
    flag = deps.repo.get_flag("auto-" + held_kw["message_id"])
    assert flag["keyword"] == "giveaway scam" and flag["status"] == "pending"


def test_ip_limit_is_per_ip_and_stores_no_raw_ip(make_deps, chat_db):
    deps = make_deps(ip_requests=3, ip_window_s=900)
    ip = f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"
    for _ in range(3):
        service.check_ip(deps, ip)
    with pytest.raises(service.RateLimited) as limited:
        service.check_ip(deps, ip)
    assert limited.value.retry_after_s == pytest.approx(300.0)
    service.check_ip(deps, ip + "1")  # another address is not affected
    ids = [d.id for d in chat_db.collection("rate_limits").stream()]
    assert ids and not any(ip in i for i in ids)
