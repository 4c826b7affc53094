"""App chat in the stream's event log, on the local cloud (issue 21, decision 092): an app
viewer chats through `chat_api` with a real Auth emulator token: a message, the same request
again (same client id), `!vote 2` while a poll is open, a chat command the creator mapped,
and a message the moderation blocks. Each shown message goes through Pub/Sub to
`on_engagement` and the rollup (comment XP by the formula, the command's action) and to
`on_comment` (the poll vote); the blocked one earns nothing and never reaches the log; no
app message comes back into the chat as a second, TikTok-scored copy."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from giftengine.domain import xp
from giftengine.domain.eventlog import event_record_id
from google.cloud import firestore

from tests.moderation.conftest import random_ip
from tests.support import bearer, cli_viewer, create_stream, poll

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]


def test_app_chat_earns_xp_votes_and_runs_commands_and_a_blocked_message_earns_nothing(cloud):
    n = uuid.uuid4().hex[:8]
    creator, viewer, stream = f"cr-{n}", f"fan-{n}", f"s-chat-{n}"
    api, chat = cloud["endpoints"]["api"], cloud["endpoints"]["chat_api"]
    db = firestore.Client(project=cloud["project_id"])
    create_stream(cloud, creator, stream)
    confetti = {
        "id": "confetti",
        "trigger": {"command": "!confetti"},
        "action": "show_text",
        "params": {"text": "Confetti!"},
    }
    r = requests.put(
        f"{api}/creators/{creator}/features/commands",
        json={"mappings": [confetti]},
        headers=bearer(creator),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    r = requests.post(
        f"{api}/streams/{stream}/polls",
        json={"question": "Which?", "choices": ["Red", "Blue", "Green"], "duration_s": 600},
        headers=bearer(creator),
        timeout=30,
    )
    assert r.status_code == 201, r.text

    headers = {**bearer(viewer), "X-Forwarded-For": random_ip()}

    def send(text: str, client_id: str) -> requests.Response:
        return requests.post(
            f"{chat}/streams/{stream}/messages",
            json={"text": text, "client_id": client_id},
            headers=headers,
            timeout=30,
        )

    first = send("hello everyone", "c-1")
    assert first.status_code == 201 and first.json()["visible"], first.text
    again = send("hello everyone", "c-1")  # the same request again: no second message
    assert again.status_code == 200 and again.json()["message_id"] == first.json()["message_id"]
    vote = send("!vote 2", "c-2")
    command = send("!confetti", "c-3")
    blocked = send("shut the fuck up you b1tch", "c-4")
    assert vote.status_code == command.status_code == blocked.status_code == 201
    assert blocked.json()["action"] == "block" and not blocked.json()["visible"]
    shown = [m.json()["message_id"] for m in (first, vote, command)]

    # The poll: the chat vote counted once, as the app viewer.
    def tally():
        r = requests.get(f"{api}/streams/{stream}/interactions", timeout=30)
        counts = (r.json().get("active_poll") or {}).get("exact_counts")
        return counts if counts and sum(counts) else None

    assert poll(tally, timeout=60) == [0, 1, 0]

    # The command ran once, as the creator's mapping says.
    live = poll(
        lambda: (
            (d := db.document(f"streams/{stream}").get().to_dict() or {})
            .get("features", {})
            .get("commands", {})
            .get("executed")
            and d
        ),
        timeout=60,
    )
    commands = live["features"]["commands"]
    assert commands["executed"] == 1
    assert [(c["action"], c["mapping_id"]) for c in commands["recent"]] == [
        ("show_text", "confetti")
    ]

    # Comment XP: three shown messages, 2 XP each (the cap, 10 a minute, is not reached); the
    # duplicate request and the blocked message earn nothing.
    view_url = f"{api}/viewers/{viewer}/creators/{creator}"

    def view() -> dict | None:
        r = requests.get(view_url, headers=bearer(viewer), timeout=30)
        assert r.status_code == 200, r.text
        v = r.json()
        return v if v["global"]["by_source"]["comments"] >= 3 * xp.XP_PER_COMMENT else None

    v = poll(view, timeout=90)
    by_source = v["global"]["by_source"]
    assert by_source["comments"] == 3 * xp.XP_PER_COMMENT
    assert by_source["presence"] in (1, 2)  # one minute with activity, two if it straddled
    assert v["creator"]["xp"] == by_source["comments"] + by_source["presence"]
    assert cli_viewer(viewer, creator)["creator"]["xp"] == v["creator"]["xp"]

    # The log holds the shown messages' events and not the blocked one's.
    def recorded(message_id: str) -> bool:
        record = event_record_id(f"chat:{message_id}")
        return db.document(f"streams/{stream}/events/{record}").get().exists

    assert all(recorded(m) for m in shown)
    assert not recorded(blocked.json()["message_id"])
    # No loop: on_comment saw the app comments (the vote counted) and wrote no TikTok-scored
    # copy of them into the chat.
    feed = requests.get(f"{chat}/streams/{stream}/messages", headers=headers, timeout=30).json()
    assert sorted(m["message_id"] for m in feed["messages"]) == sorted(shown)
    assert {m["source"] for m in feed["messages"]} == {"app"}


def test_the_outbox_job_publishes_a_chat_event_a_crash_left_behind(cloud):
    """`chat_api` committed a shown message and its outbox entry, then died before the
    publish: the outbox job (`POST /wallet_jobs/outbox`, the wallet-outbox schedule) publishes
    it through the real publisher, and the pipeline records it in the stream's log."""
    from giftengine.moderation import chat_log
    from giftengine.service import outbox

    n = uuid.uuid4().hex[:8]
    creator, stream, message_id = f"cr-{n}", f"s-chatjob-{n}", f"m-{n}"
    db = firestore.Client(project=cloud["project_id"])
    create_stream(cloud, creator, stream)
    sent = time.time() - 120  # older than the job's grace (60 s)
    message = {
        "message_id": message_id,
        "stream_id": stream,
        "uid": f"fan-{n}",
        "name": "Fan",
        "text": "back after the crash",
        "created_at": sent,
    }
    event = chat_log.comment_event(message, creator)
    db.document(f"chat_outbox/{message_id}").set(outbox.entry(event, sent, stream_id=stream))
    r = requests.post(f"{cloud['endpoints']['wallet_jobs']}/wallet_jobs/outbox", timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["chat_outbox"]["republished"] >= 1
    assert db.document(f"chat_outbox/{message_id}").get().to_dict()["published"] is True
    record = db.document(f"streams/{stream}/events/{event_record_id(event.event_id)}")
    assert poll(lambda: record.get().exists, timeout=60)
    assert json.loads(record.get().to_dict()["json"])["text"] == "back after the crash"


def test_a_linked_viewer_votes_once_through_the_api_and_app_chat(cloud):
    """An app user who linked their TikTok account (the `tiktok_id` claim) votes through the
    API, then writes `!vote 2` in app chat: one viewer, one vote (the first: the poll is not
    changeable). An unlinked viewer's app chat vote counts as theirs."""
    from tests.support import id_token

    n = uuid.uuid4().hex[:8]
    creator, stream = f"cr-{n}", f"s-link-{n}"
    api, chat = cloud["endpoints"]["api"], cloud["endpoints"]["chat_api"]
    create_stream(cloud, creator, stream)
    r = requests.post(
        f"{api}/streams/{stream}/polls",
        json={"question": "Which?", "choices": ["Red", "Blue"], "duration_s": 600},
        headers=bearer(creator),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    linked = {"Authorization": f"Bearer {id_token(f'fan-{n}', {'tiktok_id': '7001'})}"}
    v = requests.post(
        f"{api}/streams/{stream}/polls/{r.json()['poll_id']}/votes",
        json={"choice": 1},
        headers=linked,
        timeout=30,
    )
    assert v.status_code == 201 and v.json()["counted"], v.text
    for headers, client_id in ((linked, "l-1"), (bearer(f"other-{n}"), "o-1")):
        m = requests.post(
            f"{chat}/streams/{stream}/messages",
            json={"text": "!vote 2", "client_id": client_id},
            headers={**headers, "X-Forwarded-For": random_ip()},
            timeout=30,
        )
        assert m.status_code == 201 and m.json()["visible"], m.text

    def tally():
        r = requests.get(f"{api}/streams/{stream}/interactions", timeout=30)
        counts = (r.json().get("active_poll") or {}).get("exact_counts")
        return counts if counts and sum(counts) >= 2 else None

    assert poll(tally, timeout=60) == [1, 1]
    time.sleep(3)  # both chat events have been through on_comment by now: still one each
    assert tally() == [1, 1]
