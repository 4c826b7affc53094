"""The show widgets in headless Chromium against the local cloud: the creator sets the hype
train up and starts rounds from the dashboard (through the controls and feature-settings
routes), viewers gift, and the overlay shows the round's leaderboard and timer, the hype
train's level and countdown and the throne's holder, exactly as the rollup computed them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.support import create_stream
from tests.web.test_dashboard import create_creator, sign_in

pytestmark = [pytest.mark.e2e]


def gift(stream, event_id, user, coins):
    return {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream,
        "kind": "gift",
        "occurred_at": datetime.now(UTC).isoformat(),
        "user": {"id": user, "handle": f"@{user}", "name": user.title()},
        "gift": {"id": "g1", "name": "Rose", "coins": coins, "streakable": False},
    }


def data(browser, page, widget, key):
    return browser.eval(
        page, "([w, k]) => document.getElementById(w)?.dataset[k] ?? null", [widget, key]
    )


def test_dashboard_starts_rounds_and_the_overlay_shows_round_hype_and_throne(
    cloud, web, browser, artifacts, publish
):
    n = uuid.uuid4().hex[:8]
    creator, stream = f"show-{n}", f"s-show-{n}"
    create_creator(creator, f"{creator}@example.com")
    create_stream(cloud, creator, stream)

    dash = "show-dashboard"
    sign_in(browser, dash, web["dashboard"], f"{creator}@example.com")
    row = f'#streams li[data-stream="{stream}"]'
    browser.wait_for(dash, "(s) => document.querySelector(s)", row)
    browser.click(dash, row)
    browser.wait_for(dash, "() => document.getElementById('show-hype-save')")
    browser.fill(dash, "#show-hype-min_viewers", "2")
    browser.fill(dash, "#show-hype-countdown_s", "60")
    browser.fill(dash, "#show-hype-thresholds", "10,30")
    browser.click(dash, "#show-hype-save")
    saved = browser.wait_for(
        dash, "() => document.querySelector('#show-hype-status.ok')?.textContent"
    )
    assert "levels at 10, 30" in saved
    browser.fill(dash, "#show-round-length", "2")
    browser.click(dash, "#show-round-start")
    started = browser.wait_for(
        dash, "() => document.querySelector('#show-round-status.ok')?.textContent"
    )
    assert started == "rounds start: recorded"

    page = "show-overlay"
    url = f"{web['overlay']}?stream={stream}&widgets=round,hype,throne,alerts"
    browser.open(page, url, width=1280, height=720)
    browser.wait_for(page, "() => document.getElementById('w-round')?.dataset.round === '1'")
    publish(gift(stream, f"a1-{n}", "ann", 5), gift(stream, f"b1-{n}", "ben", 8))
    publish(gift(stream, f"a2-{n}", "ann", 10), gift(stream, f"a1-{n}", "ann", 5))  # a resend
    browser.wait_for(
        page, "() => document.getElementById('w-round')?.dataset.board === 'ann:15,ben:8'"
    )
    browser.wait_for(page, "() => document.getElementById('w-throne')?.dataset.holder === 'ann'")
    assert data(browser, page, "w-throne", "coins") == "15"
    # The hype train: two distinct gifters (the setting) start it; 23 coins pass level 2 at 10.
    browser.wait_for(page, "() => document.getElementById('w-hype')?.dataset.level === '2'")
    assert data(browser, page, "w-hype", "coins") == "23"
    assert data(browser, page, "w-hype", "active") == "true"
    rows = browser.eval(page, "() => document.getElementById('w-round').innerText")
    assert "null" not in rows and "Ann" in rows and "Round 1" in rows
    left = int(data(browser, page, "w-round", "left"))
    assert 0 < left <= 120
    assert 0 < int(data(browser, page, "w-hype", "left")) <= 60
    shown = browser.wait_for(
        page,
        "() => window.giftOverlay.shown.find(s => s.type === 'hype_level') && "
        "window.giftOverlay.shown.map(s => s.type)",
        timeout=60,
    )
    assert "throne_claimed" in shown and "hype_started" in shown
    # The train's start names nobody (the alert has no viewer): no "someone" in front of it.
    texts = browser.eval(
        page,
        "() => Object.fromEntries(window.giftOverlay.shown.map(s => [s.type, s.text]))",
    )
    assert texts["hype_started"] == "Hype train started!"
    browser.screenshot(page, artifacts / "overlay-show.png")
    live = browser.wait_for(
        dash,
        "() => (t => t.includes('hype train level 2') && t)"
        "(document.getElementById('show-live').textContent)",
    )
    assert "round 1" in live and "throne: @ann" in live
    browser.screenshot(dash, artifacts / "dashboard-show.png")
