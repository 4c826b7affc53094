"""Command gifts through the local cloud and headless Chromium: a mapping with a forbidden
parameter is refused with its reason and never stored; a valid mapping runs once per unit
of a settled streak (duplicates and a resent final change nothing) and a chat command runs
its action once, played in order on the overlay."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests
from giftengine.adapters.clients import firestore_client

from tests.support import create_stream, id_token

pytestmark = [pytest.mark.e2e]


def ev(stream, creator, event_id, kind, at, user="fan", **fields):
    return {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream,
        "creator_id": creator,
        "kind": kind,
        "occurred_at": at.isoformat(),
        "user": {"id": user, "handle": f"@{user}", "name": user.title()},
        **fields,
    }


def test_mapped_gifts_and_commands_run_on_the_overlay(cloud, web, browser, artifacts, publish):
    n = uuid.uuid4().hex[:8]
    creator, stream = f"cr-{n}", f"s-cmd-{n}"
    create_stream(cloud, creator, stream)
    api = cloud["endpoints"]["api"]
    url = f"{api}/creators/{creator}/features/commands"
    headers = {"Authorization": f"Bearer {id_token(creator)}"}
    thanks = {
        "id": "thanks",
        "trigger": {"gift_id": "5655"},
        "action": "show_text",
        "params": {"text": "Rose power!", "duration_ms": 1000},
        "mode": "per_unit",
    }
    bad = {**thanks, "params": {"text": "<img src=x onerror=alert(1)>"}}
    r = requests.put(url, json={"mappings": [bad]}, headers=headers, timeout=30)
    assert r.status_code == 400 and "plain text" in r.json()["reason"], r.text
    db = firestore_client(cloud["project_id"])
    stored = (db.document(f"creators/{creator}").get().to_dict() or {}).get("features", {})
    assert "commands" not in stored  # refused: never reaches an overlay
    wave = {
        "id": "wave",
        "trigger": {"command": "!wave"},
        "action": "play_sound",
        "params": {"sound": "shipped:chime"},
    }
    body = {"mappings": [thanks, wave], "viewer_per_minute": 10}
    r = requests.put(url, json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text

    page = "commands"
    browser.open(page, f"{web['overlay']}?{urlencode({'stream': stream})}", width=1280, height=720)
    browser.wait_for(page, "() => document.getElementById('overlay').dataset.alertsReady === '1'")
    now = datetime.now().astimezone()
    rose = {"id": "5655", "name": "Rose", "coins": 1, "streakable": True}
    s = (stream, creator)
    publish(
        ev(*s, f"r2-{n}", "gift", now, gift=rose, repeat_count=2, repeat_end=False, group_id="g")
    )
    publish(
        ev(
            *s,
            f"r3-{n}",
            "gift",
            now + timedelta(seconds=1),
            gift=rose,
            repeat_count=3,
            group_id="g",
        )
    )
    publish(
        ev(
            *s,
            f"r3-{n}",
            "gift",
            now + timedelta(seconds=1),
            gift=rose,
            repeat_count=3,
            group_id="g",
        )
    )
    publish(
        ev(
            *s,
            f"r3b-{n}",
            "gift",
            now + timedelta(seconds=2),
            gift=rose,
            repeat_count=3,
            group_id="g",
        )
    )
    publish(ev(*s, f"w-{n}", "comment", now + timedelta(seconds=3), user="kid", text="!wave"))
    played = "() => (window.giftOverlay.actions || []).length >= 4"
    browser.wait_for(page, played, timeout=90)
    browser.screenshot(page, artifacts / "overlay-command-gift.png")
    got = browser.eval(page, "() => window.giftOverlay.actions.map(a => [a.mapping_id, a.n, a.ok])")
    assert sorted(got) == [
        ["thanks", 1, True],
        ["thanks", 2, True],
        ["thanks", 3, True],
        ["wave", 1, True],
    ]
    live = db.document(f"streams/{stream}").get().to_dict()
    assert live["features"]["commands"]["executed"] == 4
