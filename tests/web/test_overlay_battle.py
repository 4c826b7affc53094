"""The overlay's battle bar in headless Chromium against the local cloud: two creators'
overlays of one battle (each its own stream on the left) show the same scores live and the
same result once both sides froze; the tap-battle bars follow likes and gifts of one stream."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests

from tests.support import create_stream, id_token, invite_battle

pytestmark = [pytest.mark.e2e]


def auth(uid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid)}"}


def gift(stream, event_id, user, coins, at):
    return {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream,
        "kind": "gift",
        "occurred_at": at.isoformat(),
        "user": {"id": user, "handle": f"@{user}", "name": user.title()},
        "gift": {"id": "g1", "name": "Rose", "coins": coins, "streakable": False},
    }


def scores(browser, page) -> str:
    return browser.eval(page, "() => document.getElementById('w-battle').dataset.scores || ''")


def test_two_overlays_of_a_battle_show_the_same_score_and_result(
    cloud, web, browser, artifacts, publish
):
    b = invite_battle(cloud, "wb", 20, [{"from_s": 10, "to_s": 20, "x": 2}])
    bob, sa, sb, bid = b["bob"], b["sa"], b["sb"], b["battle_id"]
    n = b["n"]
    api = cloud["endpoints"]["api"]
    for page, stream in (("battle-a", sa), ("battle-b", sb)):
        query = urlencode({"stream": stream, "widgets": "battle"})
        browser.open(page, f"{web['overlay']}?{query}", width=1280, height=720)
    r = requests.post(f"{api}/battles/{bid}/accept", headers=auth(bob), timeout=30)
    assert r.status_code == 200, r.text
    start = datetime.fromisoformat(r.json()["start"].replace("Z", "+00:00"))
    publish(
        gift(sa, f"a1-{n}", "ann", 30, start + timedelta(seconds=1)),
        gift(sb, f"b1-{n}", "ben", 25, start + timedelta(seconds=2)),
    )
    live = """() => document.getElementById('w-battle').dataset.scores === '%s'"""
    browser.wait_for("battle-a", live % "30:25", timeout=60)
    browser.wait_for("battle-b", live % "25:30", timeout=60)
    browser.screenshot("battle-a", artifacts / "overlay-battle-1-live-a.png")
    browser.screenshot("battle-b", artifacts / "overlay-battle-1-live-b.png")
    publish(gift(sb, f"b2-{n}", "bea", 5, start + timedelta(seconds=12)))  # x2: 35
    final = "() => document.getElementById('w-battle').dataset.status === 'final'"
    browser.wait_for("battle-a", final, timeout=90)
    browser.wait_for("battle-b", final, timeout=90)
    assert scores(browser, "battle-a") == "30:35" and scores(browser, "battle-b") == "35:30"
    for page in ("battle-a", "battle-b"):
        got = browser.eval(page, "() => document.getElementById('w-battle').dataset.result")
        assert got == sb
    mvps = browser.eval(
        "battle-a", "() => [...document.querySelectorAll('#w-battle .mvp')].map(m => m.textContent)"
    )
    assert mvps == ["MVP Ann · 30", "MVP Ben · 25"]  # ben 25 beats bea's 5 x2 = 10
    browser.screenshot("battle-a", artifacts / "overlay-battle-2-final-a.png")
    browser.screenshot("battle-b", artifacts / "overlay-battle-2-final-b.png")


def test_tap_battle_bars_follow_likes_and_gifts(cloud, web, browser, artifacts, publish):
    n = uuid.uuid4().hex[:8]
    creator, stream = f"cr-{n}", f"s-wtb-{n}"
    create_stream(cloud, creator, stream)
    api = cloud["endpoints"]["api"]
    page = "tap-battle"
    query = urlencode({"stream": stream, "widgets": "tap_battle"})
    browser.open(page, f"{web['overlay']}?{query}", width=1280, height=720)
    r = requests.post(
        f"{api}/streams/{stream}/controls",
        json={
            "feature": "tap_battle",
            "action": "start",
            "params": {"tap_battle_id": f"t-{n}", "duration_s": 15, "starts_in_s": 0},
            "request_id": f"r-{n}",
        },
        headers=auth(creator),
        timeout=30,
    )
    assert r.status_code == 202, r.text
    from giftengine.domain.tap_battles import hashed_team

    users = [f"fan{i}" for i in range(6)]
    red = [u for u in users if hashed_team(f"t-{n}", u) == "red"]
    blue = [u for u in users if hashed_team(f"t-{n}", u) == "blue"]
    now = datetime.now().astimezone()
    likes = [
        {
            "event_id": f"l-{u}-{n}",
            "source": "tiktok",
            "stream_id": stream,
            "kind": "like",
            "occurred_at": (now + timedelta(seconds=1)).isoformat(),
            "user": {"id": u},
            "count": 3,
        }
        for u in users
    ]
    publish(*likes, gift(stream, f"g-{n}", users[0], 10, now + timedelta(seconds=1)))
    want_red = 3 * len(red) + (10 if users[0] in red else 0)
    want_blue = 3 * len(blue) + (10 if users[0] in blue else 0)
    browser.wait_for(
        page,
        "() => document.getElementById('w-tap_battle').dataset.scores"
        f" === '{want_red}:{want_blue}'",
        timeout=60,
    )
    browser.wait_for(
        page, "() => document.getElementById('w-tap_battle').dataset.status === 'final'", timeout=90
    )
    winner = "draw" if want_red == want_blue else ("red" if want_red > want_blue else "blue")
    got = browser.eval(page, "() => document.getElementById('w-tap_battle').dataset.winner")
    assert got == winner
    browser.screenshot(page, artifacts / "overlay-tap-battle-final.png")
