"""The OBS overlay in headless Chromium against the local cloud: gifts published as
EngagementEvents travel Pub/Sub -> on_engagement -> rollup -> Firestore -> the overlay's
listeners, and the overlay's DOM is asserted (screenshots in artifacts/web/)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from google.cloud import firestore

from tests.support import create_stream, id_token, wait_for_doc
from tests.web.conftest import event

pytestmark = [pytest.mark.e2e]

PAGE = "overlay"


@pytest.fixture
def db(cloud):
    return firestore.Client(project=cloud["project_id"])


def open_overlay(browser, web, stream_id, **params) -> None:
    query = {"stream": stream_id, "alert_ms": 2500, **params}
    browser.open(PAGE, f"{web['overlay']}?{urlencode(query)}", width=1280, height=720)
    # Listeners attached and the alert baseline taken: what is published next is "new".
    browser.wait_for(PAGE, "() => document.getElementById('overlay').dataset.alertsReady === '1'")


def alert_of(browser, user: str, timeout=30.0) -> dict:
    return browser.wait_for(
        PAGE,
        """(user) => {
          const a = document.querySelector(`.alert[data-user="${user}"]`);
          return a && {text: a.innerText, fx: a.dataset.fx || null,
                       big: a.classList.contains('big'), coins: a.dataset.coins};
        }""",
        user,
        timeout=timeout,
    )


def top_order(browser) -> list[str]:
    return browser.eval(
        PAGE, "() => [...document.querySelectorAll('#w-top li')].map(li => li.dataset.user)"
    )


def test_overlay_shows_alerts_combo_leaderboard_and_goal(
    cloud, web, browser, artifacts, publish, db, stream_id
):
    creator = f"creator-{stream_id}"
    create_stream(cloud, creator, stream_id)
    publish(event(stream_id, "join", "ana", kind="join", creator=creator))
    ref = db.collection("streams").document(stream_id)
    wait_for_doc(ref, lambda d: d.get("creator_id") == creator)
    auth = {"Authorization": f"Bearer {id_token(creator)}"}
    goal = {
        "stream_id": stream_id,
        "goal_id": "mic",
        "metric": "coins",
        "target": 1000,
        "title": "New mic",
    }
    r = requests.post(f"{cloud['endpoints']['api']}/goals", json=goal, headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    # A title of 200 characters without a space: it wraps, the progress stays in the box.
    long = {**goal, "goal_id": "long", "title": "Mic" * 66 + "!!"}
    r = requests.post(f"{cloud['endpoints']['api']}/goals", json=long, headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    # One the first gifts reach: its alert names it.
    small = {**goal, "goal_id": "small", "title": "First 60 coins", "target": 60}
    r = requests.post(f"{cloud['endpoints']['api']}/goals", json=small, headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    wait_for_doc(ref, lambda d: {"mic", "long", "small"} <= set(d.get("goals", {})))

    open_overlay(browser, web, stream_id)
    assert browser.wait_for(
        PAGE,
        """() => { const g = document.querySelector('.goal[data-goal-id="long"]');
                   const v = g && g.querySelector('.value');
                   if (!v || !v.textContent) return null;
                   const b = g.getBoundingClientRect(), r = v.getBoundingClientRect();
                   return r.width > 0 && r.left >= b.left - 1 && r.right <= b.right + 1; }""",
    )
    publish(
        event(stream_id, "g-ana", "ana", coins=50),
        event(stream_id, "g-bo", "bo", coins=20),
    )
    ana = alert_of(browser, "ana")
    assert "Ana" in ana["text"] and "sent Rose" in ana["text"] and ana["big"] is False
    browser.wait_for(PAGE, "() => document.querySelectorAll('#w-top li').length === 2")
    assert top_order(browser) == ["ana", "bo"]
    browser.screenshot(PAGE, artifacts / "overlay-1-first-alert.png")

    # A streak in progress: the meter counts up live, then the streak settles (the test stack's
    # idle timeout, 2 s) and the meter shows the settled total.
    publish(
        *[
            event(
                stream_id, f"c{i}", "cy", coins=2, count=i, end=False, group="k1", streakable=True
            )
            for i in (1, 2, 4)
        ]
    )
    live = browser.wait_for(
        PAGE,
        """() => { const c = document.querySelector('.combo[data-user="cy"]');
                   return c && c.dataset.count === '4' && !c.classList.contains('settled')
                     && {shown: c.dataset.shown, text: c.innerText}; }""",
    )
    assert "Cy" in live["text"]
    browser.screenshot(PAGE, artifacts / "overlay-2-combo-live.png")
    settled = browser.wait_for(
        PAGE,
        """() => { const c = document.querySelector('.combo.settled[data-user="cy"]');
                   return c && c.dataset.shown === c.dataset.settledUnits
                     && {units: c.dataset.settledUnits, coins: c.dataset.settledCoins,
                         text: c.innerText}; }""",
    )
    assert settled["units"] == "4" and settled["coins"] == "8" and "x4" in settled["text"]
    browser.screenshot(PAGE, artifacts / "overlay-3-combo-settled.png")

    # A big gift: the 3D effect (WebGL works in headless Chromium here) and bo overtakes ana.
    publish(event(stream_id, "g-bo-lion", "bo", gift_id="lion", gift_name="Lion", coins=500))
    big = browser.wait_for(
        PAGE,
        """() => { const a = document.querySelector('.alert.big[data-user="bo"]');
                   return a && a.dataset.fx && {fx: a.dataset.fx, text: a.innerText}; }""",
    )
    browser.screenshot(PAGE, artifacts / "overlay-4-big-gift-3d.png")
    assert big["fx"] == "3d" and "Lion" in big["text"]
    assert browser.eval(PAGE, "() => document.querySelector('#fx')?.tagName") == "CANVAS"
    browser.wait_for(
        PAGE,
        "() => [...document.querySelectorAll('#w-top li')].map(li => li.dataset.user).join()"
        " === 'bo,ana,cy'",
    )
    ranks = browser.eval(
        PAGE,
        "() => [...document.querySelectorAll('#w-top li')].map(li => [li.dataset.user,"
        " li.dataset.rank, li.dataset.coins])",
    )
    assert ranks == [["bo", "1", "520"], ["ana", "2", "50"], ["cy", "3", "8"]]

    # Goal progress counts every coin since the goal was set: 50 + 20 + 8 + 500.
    g = browser.wait_for(
        PAGE,
        """() => { const g = document.querySelector('.goal[data-goal-id="mic"]');
                   return g && g.dataset.progress === '578' && {
                     text: g.innerText, width: g.querySelector('.fill').style.width}; }""",
    )
    assert g["width"] == "57.8%" and "New mic" in g["text"] and "578 / 1,000" in g["text"]
    reached = browser.wait_for(
        PAGE,
        "() => window.giftOverlay.shown.find(s => s.type === 'goal_reached')?.text",
        timeout=60,
    )
    assert reached.startswith("Goal reached: First 60 coins")
    browser.screenshot(PAGE, artifacts / "overlay-5-final.png")
    # The page stays transparent for OBS.
    assert browser.eval(PAGE, "() => getComputedStyle(document.body).backgroundColor") in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    )


def test_big_gift_falls_back_to_2d_without_webgl(web, browser, publish, stream_id, artifacts):
    open_overlay(browser, web, stream_id, fx="2d", widgets="alerts")
    publish(event(stream_id, "g-big", "dee", gift_name="Universe", coins=3000))
    a = browser.wait_for(
        PAGE,
        """() => { const a = document.querySelector('.alert.big[data-user="dee"]');
                   return a && a.dataset.fx && {fx: a.dataset.fx,
                     burst: !!document.querySelector('.burst2d')}; }""",
    )
    assert a == {"fx": "2d", "burst": True}
    browser.screenshot(PAGE, artifacts / "overlay-6-big-gift-2d.png")


def test_user_text_with_markup_renders_as_text(web, browser, publish, stream_id, artifacts):
    name = '<img src=x onerror="window.__xss=1"><b>Eve</b>'
    open_overlay(browser, web, stream_id)
    publish(event(stream_id, "g-eve", "eve", name=name, gift_name="<i>Rose</i>", coins=5))
    a = alert_of(browser, "eve")
    assert name in a["text"] and "<i>Rose</i>" in a["text"]
    row = browser.wait_for(
        PAGE, "() => document.querySelector('#w-top li[data-user=\"eve\"] .name')?.textContent"
    )
    assert row == name
    injected = browser.eval(
        PAGE,
        "() => ({tags: document.querySelectorAll('#overlay img, #overlay b, #overlay i').length,"
        " xss: window.__xss ?? null})",
    )
    assert injected == {"tags": 0, "xss": None}
    browser.screenshot(PAGE, artifacts / "overlay-7-markup-as-text.png")


def test_missing_stream_parameter_is_explained_on_the_page(web, browser):
    browser.open(PAGE, web["overlay"])
    text = browser.wait_for(PAGE, "() => document.querySelector('.error')?.textContent")
    assert "stream" in text


@pytest.mark.parametrize(
    "query, says",
    [
        ("stream=s1&theme=pink", 'theme must be one of dark, light, neon, not "pink"'),
        ("stream=s1&top=50", 'top must be a whole number from 1 to 10, not "50"'),
        ("stream=s1&width=abc", 'width must be a whole number of at least 1, not "abc"'),
        ("stream=s1&fx=4d", 'fx must be one of auto, 3d, 2d, not "4d"'),
        ("stream=s1&stale=-3", 'stale must be a whole number of at least 1, not "-3"'),
        ("creator=x&stream=y", "give creator or stream, not both"),
    ],
)
def test_a_malformed_url_parameter_is_explained_on_the_page(web, browser, query, says):
    """docs/web-clients.md: a malformed parameter is an error on the page, not the default
    in silence (seen from outside: theme=pink, top=50, width=abc rendered as if absent)."""
    browser.open(PAGE, f"{web['overlay']}?{query}")
    text = browser.wait_for(PAGE, "() => document.querySelector('.error')?.textContent")
    assert says in text
    assert browser.eval(PAGE, "() => window.giftOverlay.state") == "error"


def test_a_failed_challenge_is_announced_and_its_bar_marked_failed(
    cloud, web, browser, artifacts, publish, db, stream_id
):
    creator = f"creator-{stream_id}"
    create_stream(cloud, creator, stream_id)
    publish(event(stream_id, "join", "ana", kind="join", creator=creator))
    ref = db.collection("streams").document(stream_id)
    wait_for_doc(ref, lambda d: d.get("creator_id") == creator)
    open_overlay(browser, web, stream_id)
    challenge = {
        "stream_id": stream_id,
        "goal_id": "roses",
        "metric": "coins",
        "target": 1000,
        "title": "1000 coins in 15 s",
        "duration_s": 15,
    }
    auth = {"Authorization": f"Bearer {id_token(creator)}"}
    r = requests.post(
        f"{cloud['endpoints']['api']}/goals", json=challenge, headers=auth, timeout=10
    )
    assert r.status_code == 201, r.text
    wait_for_doc(ref, lambda d: "roses" in d.get("goals", {}))
    publish(event(stream_id, "g-ana", "ana", coins=10))
    # The rollup scheduled at the deadline fails the challenge: one alert, text not a kind name
    shown = browser.wait_for(
        PAGE,
        """() => window.giftOverlay.shown.find(s => s.type === 'challenge_failed')""",
        timeout=90,
    )
    assert shown["text"] == "Challenge failed: 1000 coins in 15 s 10 / 1,000 coins"
    assert not shown["condensed"]
    goal = browser.wait_for(
        PAGE,
        """() => { const g = document.querySelector('.goal[data-goal-id="roses"]');
                   return g && g.dataset.status === 'failed' && g.innerText; }""",
    )
    assert "10 / 1,000 · failed" in goal
    browser.screenshot(PAGE, artifacts / "overlay-challenge-failed.png")


def test_a_badge_earned_in_the_stream_is_announced(web, browser, publish, db, stream_id, artifacts):
    """Rewards (docs/engagement.md, "Badges"): when the stream ends, its top gifters earn
    the `top3_stream` badge; the rollup's `badge` alert reaches the overlay's queue."""
    open_overlay(browser, web, stream_id, widgets="alerts")
    publish(event(stream_id, "g-bea", "bea", name="Bea", coins=40))
    alert_of(browser, "bea")  # the gift's own alert first
    end = event(stream_id, "end", "bea", kind="stream_end")
    del end["user"]
    publish(end)
    badge = browser.wait_for(  # her first gift took the throne: that badge shows first
        PAGE,
        """() => { const a = document.querySelector('.alert[data-type="badge"][data-user="bea"]');
                   return a && a.innerText.includes('Top 3') && a.innerText; }""",
        timeout=60,
    )
    assert "Bea" in badge and "earned the Top 3 of a stream badge" in badge
    per = wait_for_doc(
        db.document(f"xp/tiktok:bea/creators/{stream_id}"),
        lambda d: d.get("award_top3_stream") == 1,
    )
    assert per["xp_gifts"] == 40
    browser.screenshot(PAGE, artifacts / "overlay-9-badge.png")
