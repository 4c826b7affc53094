"""The mood layer through the local cloud and headless Chromium: the creator maps a gift to a
mood through the API (a bad setting is a 400 with its reason and is not stored), reactions
published to the pipeline turn the overlay's mood (data-mood, badge) and the live document
holds the vector the rules define."""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlencode

import pytest
import requests
from giftengine.adapters.clients import firestore_client

from tests.support import create_stream, id_token

pytestmark = [pytest.mark.e2e]


def ev(stream, creator, event_id, kind, at, **fields):
    return {
        "creator_id": creator,  # whose settings (creators/{id}.features) the rollup reads
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream,
        "kind": kind,
        "occurred_at": at.isoformat(),
        "user": {"id": f"u-{event_id}", "handle": "@fan", "name": "Fan"},
        **fields,
    }


def mood_of(browser, page) -> str:
    return browser.eval(page, "() => document.getElementById('overlay').dataset.mood || ''")


def test_reactions_turn_the_overlays_mood(cloud, web, browser, artifacts, publish):
    n = uuid.uuid4().hex[:8]
    creator, stream = f"cr-{n}", f"s-mood-{n}"
    create_stream(cloud, creator, stream)
    api = cloud["endpoints"]["api"]
    url = f"{api}/creators/{creator}/features/mood"
    headers = {"Authorization": f"Bearer {id_token(creator)}"}
    bad = requests.put(url, json={"gift_moods": {"rose": "angry"}}, headers=headers, timeout=30)
    assert bad.status_code == 400 and "one of" in bad.json()["reason"], bad.text
    other = {"Authorization": f"Bearer {id_token(f'other-{n}')}"}
    assert requests.put(url, json={}, headers=other, timeout=30).status_code == 403
    ok = requests.put(
        url, json={"gift_moods": {"heart": "love"}, "half_life_s": 300}, headers=headers, timeout=30
    )
    assert ok.status_code == 200, ok.text

    page = "mood"
    query = urlencode({"stream": stream, "widgets": "alerts,mood"})
    browser.open(page, f"{web['overlay']}?{query}", width=1280, height=720)
    now = datetime.now().astimezone()
    publish(*(ev(stream, creator, f"c{i}-{n}", "comment", now, text="lol 😂") for i in range(8)))
    browser.wait_for(
        page, "() => document.getElementById('overlay').dataset.mood === 'laugh'", timeout=60
    )
    badge = browser.eval(page, "() => document.getElementById('w-mood').textContent")
    assert badge.startswith("😂 Laugh")
    browser.screenshot(page, artifacts / "overlay-mood-laugh.png")
    gift = {"id": "heart", "name": "Heart", "coins": 500, "streakable": False}
    publish(ev(stream, creator, f"g-{n}", "gift", now, gift=gift))  # 5 + 100 to love (mapped)
    browser.wait_for(
        page, "() => document.getElementById('overlay').dataset.mood === 'love'", timeout=60
    )
    live = firestore_client(cloud["project_id"]).document(f"streams/{stream}").get().to_dict()
    view = live["features"]["mood"]
    assert view["mood"] == "love"
    # 8 comments of 5 to laugh, then 105 to love, decayed (half-life 300 s) by the seconds
    # between their time and the rollups' clock on this machine.
    assert 90 <= view["scores"]["love"] <= 105 and 30 <= view["scores"]["laugh"] <= 40
    # The badge decays the view's score (as of `at`) by the half-life between events.
    assert view["half_life_s"] == 300 and view["at"].endswith("Z")
    shown = int(browser.eval(page, "() => document.getElementById('w-mood').dataset.score"))
    assert 0.9 * view["scores"]["love"] <= shown <= view["scores"]["love"], (shown, view)
