"""End to end on the local cloud: real ID tokens from the Auth emulator, chat_api under
functions-framework, Firestore emulator, Pub/Sub push to on_comment."""

from __future__ import annotations

import html.parser
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from google.cloud.firestore import FieldFilter

from tests.moderation.conftest import random_ip

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]


def wait_for(fn, timeout=30.0, every=0.1):
    """Poll until fn() is truthy (a wait with a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def feed(client, stream, held=False):
    r = client.call("GET", f"/streams/{stream}/messages", params={"held": "1"} if held else None)
    assert r.status_code == 200, r.text
    return r.json()


def test_clean_send_appears_in_the_feed_and_bad_requests_are_4xx(chat, stream, chat_db):
    viewer = chat("e2e-viewer")
    seen: dict[str, dict] = {}
    watch = chat_db.collection(f"streams/{stream}/chat").on_snapshot(
        lambda docs, changes, read_time: seen.update({d.id: d.to_dict() for d in docs})
    )
    r = viewer.send(stream, "hello everyone", client_id="c1")
    assert r.status_code == 201 and r.json()["visible"] is True
    message_id = r.json()["message_id"]
    assert wait_for(lambda: message_id in seen), "a listener on the chat feed sees the message"
    watch.unsubscribe()
    assert seen[message_id]["text"] == "hello everyone" and seen[message_id]["uid"] == "e2e-viewer"
    assert viewer.send(stream, "hello everyone", client_id="c1").status_code == 200  # retry
    assert [m["text"] for m in feed(viewer, stream)["messages"]] == ["hello everyone"]
    assert chat(None).send(stream, "hi").status_code == 401
    for body in ({"text": ""}, {"text": "x" * 301}, {"text": "\u200b\u202e"}, {"nope": 1}):
        r = viewer.call("POST", f"/streams/{stream}/messages", json=body)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", body
    r = viewer.call("POST", f"/streams/{stream}/messages", json=None)
    assert r.status_code == 400


def test_warn_is_visible_and_the_sender_gets_a_warning_event(chat, stream, chat_db):
    viewer = chat("e2e-warned")
    assert viewer.send(stream, "hell yeah").json()["action"] == "allow"  # never even warned
    r = viewer.send(stream, "what the fuck happened")
    assert r.status_code == 201
    assert r.json()["action"] == "warn" and r.json()["visible"] is True
    assert r.json()["category"] == "profanity"
    notices = chat_db.collection(f"streams/{stream}/chat_users/e2e-warned/notices").stream()
    assert [n.to_dict()["type"] for n in notices] == ["warning"]
    assert feed(viewer, stream)["messages"][0]["action"] == "warn"


def test_block_bans_and_moderators_see_the_held_message(chat, stream):
    troll = chat("e2e-troll")
    r = troll.send(stream, "shut the fuck up you b1tch")
    assert r.status_code == 201
    out = r.json()
    assert out["visible"] is False and out["action"] == "block" and out["category"] == "insult"
    assert "banned_until" not in out  # one harassing message is 2 strike points, not a ban
    out = troll.send(stream, "kys").json()  # 2 + 3 points: banned
    assert out["action"] == "block" and out["category"] == "threat" and out["banned_until"]
    r = troll.send(stream, "hello?")
    assert r.status_code == 403 and r.json()["error"] == "banned"
    assert int(r.headers["Retry-After"]) > 500  # the first ban lasts 600 s by default
    assert feed(troll, stream)["messages"] == []
    assert troll.call("GET", f"/streams/{stream}/messages", params={"held": "1"}).status_code == 403
    held = feed(chat("e2e-mod", moderator=True), stream, held=True)["held"]
    assert [h["category"] for h in held] == ["threat", "insult"]
    assert held[1]["action"] == "block" and held[1]["score"] >= 0.8 and held[1]["flag_id"]


def test_ban_expires_by_itself(chat, stream, chat_db):
    mod = chat("e2e-mod", moderator=True)
    viewer = chat("e2e-briefly-banned")
    r = mod.call(
        "POST",
        f"/streams/{stream}/bans",
        json={"uid": "e2e-briefly-banned", "duration_s": 2, "reason": "cool down"},
    )
    assert r.status_code == 201
    until = datetime.fromisoformat(r.json()["banned_until"]).timestamp()
    assert viewer.send(stream, "am I banned?").status_code == 403
    bans = mod.call("GET", f"/streams/{stream}/bans").json()["bans"]
    assert [b["uid"] for b in bans] == ["e2e-briefly-banned"]
    time.sleep(max(0.0, until - time.time()) + 0.5)
    assert viewer.send(stream, "back again").status_code == 201  # lifted by time alone
    assert mod.call("GET", f"/streams/{stream}/bans").json()["bans"] == []
    audit = [
        d.to_dict()
        for d in chat_db.collection("moderation_audit")
        .where(filter=FieldFilter("stream_id", "==", stream))
        .stream()
    ]
    assert [(a["action"], a["actor_uid"], a["actor_role"]) for a in audit] == [
        ("ban", "e2e-mod", "moderator")
    ]


def test_report_review_resolve(chat, stream, chat_db):
    rude = chat("e2e-rude")
    reporter = chat("e2e-reporter")
    creator = chat(f"creator-{stream}")
    msg = rude.send(stream, "you are so ugly").json()
    r = reporter.call(
        "POST",
        "/reports",
        json={
            "stream_id": stream,
            "target_type": "message",
            "target_id": msg["message_id"],
            "reason": "insulting",
        },
    )
    assert r.status_code == 201
    flag_id = r.json()["flag_id"]
    assert reporter.call("GET", "/flags", params={"stream_id": stream}).status_code == 403
    other_creator = chat("creator-of-some-other-stream")
    assert other_creator.call("GET", "/flags", params={"stream_id": stream}).status_code == 403
    queue = creator.call("GET", "/flags", params={"stream_id": stream, "status": "pending"})
    assert queue.status_code == 200
    [flag] = queue.json()["flags"]
    assert (flag["flag_id"], flag["reporter"], flag["target_type"], flag["status"]) == (
        flag_id,
        "e2e-reporter",
        "message",
        "pending",
    )
    assert flag["score"] is not None and flag["reason"] == "insulting"
    r = creator.call(
        "POST", f"/flags/{flag_id}/override", json={"action": "hide", "note": "agreed"}
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert feed(rude, stream)["messages"] == []
    assert (
        creator.call("GET", "/flags", params={"stream_id": stream, "status": "pending"}).json()[
            "flags"
        ]
        == []
    )
    admin = chat("e2e-admin", admin=True)
    r = admin.call(
        "POST", f"/flags/{flag_id}/resolve", json={"status": "resolved", "note": "checked"}
    )
    assert r.status_code == 200
    assert admin.call("POST", "/flags/nope/resolve", json={}).status_code == 404
    audit = sorted(
        (a.to_dict()["action"], a.to_dict()["actor_role"])
        for a in chat_db.collection("moderation_audit")
        .where(filter=FieldFilter("stream_id", "==", stream))
        .stream()
    )
    assert audit == [("flag_override_hide", "creator"), ("flag_resolved", "admin")]


def test_keyword_filters(chat, stream):
    creator = chat(f"creator-{stream}")
    viewer = chat("e2e-keyword-viewer")
    entries = [f"filler{i}" for i in range(240)] + ["spoiler*", "rival stream"]
    r = creator.call("PUT", f"/streams/{stream}/keywords", json={"keywords": entries})
    assert r.status_code == 200 and len(r.json()["keywords"]) == 242
    assert (
        viewer.call("PUT", f"/streams/{stream}/keywords", json={"keywords": ["x"]}).status_code
        == 403
    )
    assert (
        creator.call("PUT", f"/streams/{stream}/keywords", json={"keywords": ["*"]}).status_code
        == 400
    )
    out = viewer.send(stream, "SPOILERS ahead").json()
    assert out["visible"] is False and out["action"] == "hold" and "keyword" in out["reason"]
    assert viewer.send(stream, "filler199 is here").json()["action"] == "hold"
    assert viewer.send(stream, "the r1val  stream is better").json()["action"] == "hold"
    assert viewer.send(stream, "no spoil, no filler").json()["visible"] is True  # not banned


class _Elements(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_xss_payload_comes_out_inert(chat, stream, chat_db):
    viewer = chat("e2e-xss")
    payload = (
        '<img src=x onerror="alert(1)">Nice <scr<script>ipt>alert(2)</script> '
        '<a href="javascript:alert(3)">stream</a> <3'
    )
    r = viewer.send(stream, payload)
    assert r.status_code == 201 and r.json()["visible"] is True
    doc = next(iter(chat_db.collection(f"streams/{stream}/chat").stream())).to_dict()
    parser = _Elements()
    parser.feed(doc["html"])
    assert parser.tags == [], doc["html"]  # nothing an overlay could render as an element
    assert doc["text"] == payload  # stored as sent; clients render it as text
    assert "<" not in doc["html"]


def test_tiktok_comments_are_scored_hidden_and_flagged(cloud, stream, chat, chat_db):
    from giftengine.adapters.pubsub import EventPublisher
    from giftengine.domain.events import parse_event

    pub = EventPublisher(cloud["project_id"])
    base = {
        "source": "tiktok",
        "stream_id": stream,
        "kind": "comment",
        "occurred_at": "2026-11-22T01:00:00Z",
        "user": {"id": "tt-9", "handle": "@tt9", "name": "TT9"},
    }
    pub.publish_all(
        [
            parse_event({**base, "event_id": f"{stream}-c1", "text": "great stream"}),
            parse_event({**base, "event_id": f"{stream}-c2", "text": "fuck you"}),
        ]
    )
    mod = chat("e2e-mod", moderator=True)
    got = wait_for(lambda: (f := feed(mod, stream, held=True))["messages"] and f["held"] and f)
    assert [m["text"] for m in got["messages"]] == ["great stream"]
    assert [(h["text"], h["action"], h["source"]) for h in got["held"]] == [
        ("fuck you", "hide", "tiktok")
    ]
    flag = chat_db.document(f"moderation_flags/{got['held'][0]['flag_id']}").get().to_dict()
    assert flag["status"] == "pending" and flag["target_uid"] == "tiktok:tt-9"
    assert not chat_db.document(f"streams/{stream}/chat_users/tiktok:tt-9").get().exists
    pub.close()


def test_ip_rate_limit_answers_429_with_retry_after(chat, stream):
    viewer = chat("e2e-ip")
    ip = random_ip()
    # 100 per 15 minutes: a token comes back every 9 s, so on a slow machine a few more than
    # 100 requests pass before the first 429; how many follows from the elapsed time.
    start = time.monotonic()
    codes = []
    while 429 not in codes and len(codes) < 150:
        codes.append(viewer.call("GET", f"/streams/{stream}/messages", ip=ip).status_code)
    refills = (time.monotonic() - start) / 9.0
    assert set(codes[:100]) == {200} and codes[-1] == 429
    assert len(codes) - 1 <= 100 + int(refills) + 1, (len(codes), refills)
    last = viewer.call("GET", f"/streams/{stream}/messages", ip=ip)
    assert last.status_code == 429
    assert last.json()["error"] == "rate_limited" and int(last.headers["Retry-After"]) >= 1
    assert viewer.call("GET", f"/streams/{stream}/messages").status_code == 200  # other IP


def test_flood_from_one_user_is_held_by_its_bucket_and_others_still_get_through(chat, stream):
    flooder = chat("e2e-flooder")
    calm = chat("e2e-calm")
    ips = [random_ip() for _ in range(40)]  # enough addresses that the IP limit is not it
    start = time.monotonic()

    def flood(i):
        r = flooder.call(
            "POST", f"/streams/{stream}/messages", json={"text": f"spam {i}"}, ip=ips[i % len(ips)]
        )
        return r.status_code, r.headers.get("Retry-After"), r.json().get("error")

    with ThreadPoolExecutor(max_workers=8) as pool:
        flood_futures = [pool.submit(flood, i) for i in range(1000)]
        time.sleep(0.5)  # the flood is under way
        calm_results = [calm.send(stream, f"calm {i}") for i in range(5)]
        results = [f.result() for f in flood_futures]
    elapsed = time.monotonic() - start

    accepted = sum(code == 201 for code, _, _ in results)
    limited = [(ra, err) for code, ra, err in results if code == 429]
    assert accepted + len(limited) == 1000, {code for code, _, _ in results}
    # Defaults: a burst of 5, then 0.5 messages per second.
    assert 5 <= accepted <= 5 + 0.5 * elapsed + 1
    assert all(err == "rate_limited" and int(ra) >= 1 for ra, err in limited)
    assert [r.status_code for r in calm_results] == [201] * 5
    texts = {m["text"] for m in feed(calm, stream)["messages"] if m["uid"] == "e2e-calm"}
    assert texts == {f"calm {i}" for i in range(5)}
    print(json.dumps({"flood_elapsed_s": round(elapsed, 2), "flood_accepted": accepted}))


def test_cli_prints_the_feed_as_clients_read_it(chat, stream, capsys):
    from giftengine_dev.cli.main import main

    viewer = chat("e2e-cli")
    assert viewer.send(stream, "hello <i>cli</i>").status_code == 201
    assert chat("e2e-cli-troll").send(stream, "fuck off").json()["action"] == "block"
    capsys.readouterr()
    assert main(["chat", stream, "--json"]) == 0
    public = json.loads(capsys.readouterr().out)
    assert [m["text"] for m in public["messages"]] == ["hello <i>cli</i>"]  # stored as sent
    assert "held" not in public and "score" not in public["messages"][0]
    assert main(["chat", stream, "--json", "--held"]) == 0
    moderator_view = json.loads(capsys.readouterr().out)
    assert moderator_view["messages"] == public["messages"]
    [held] = moderator_view["held"]
    assert (held["text"], held["action"]) == ("fuck off", "block") and held["score"] >= 0.8
    assert held["category"] == "insult"


def test_chat_api_is_in_dev_status(cloud):
    assert cloud["endpoints"]["chat_api"].startswith("http://127.0.0.1:")
    assert "on_comment" in cloud["functions"]


def test_creator_sets_strictness_through_chat_api(chat, stream):
    creator = chat(f"creator-{stream}")
    viewer = chat("e2e-strict-viewer")
    path = f"/streams/{stream}/moderation"
    assert viewer.call("PUT", path, json={"level": "strict"}).status_code == 403
    assert creator.call("GET", path).json()["level"] == "standard"
    for bad in (
        {"level": "lax"},
        {"overrides": {"hate": "allow"}},
        {"overrides": {"weather": "block"}},
        {"level": "strict", "extra": 1},
    ):
        r = creator.call("PUT", path, json=bad)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", (bad, r.text)
    r = creator.call("PUT", path, json={"level": "strict", "overrides": {"spam": "allow"}})
    assert r.status_code == 200 and r.json()["level"] == "strict"
    assert creator.call("GET", path).json()["overrides"] == {"spam": "allow"}
    assert viewer.send(stream, "holy shit").json()["action"] == "hold"
    assert viewer.send(stream, "see www.example.com").json()["action"] == "allow"
