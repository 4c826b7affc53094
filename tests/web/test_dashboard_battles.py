"""Dashboard battle controls in headless Chromium against the local cloud: creator A invites
creator B from the dashboard, B accepts with the battle id, B's stream card shows the battle
(from the stream's live document once its rollup applied the start), and B starts a tap
battle through the controls route."""

from __future__ import annotations

import uuid

import pytest

from tests.support import create_stream
from tests.web.test_dashboard import create_creator, sign_in

pytestmark = [pytest.mark.e2e]

PAGE = "dashboard-battles"


def test_invite_accept_and_tap_battle_from_the_dashboard(cloud, web, browser, artifacts):
    n = uuid.uuid4().hex[:8]
    alice, bob = f"dal-{n}", f"dbo-{n}"
    sa, sb = f"s-dba-{n}", f"s-dbb-{n}"
    for uid, stream in ((alice, sa), (bob, sb)):
        create_creator(uid, f"{uid}@example.com")
        create_stream(cloud, uid, stream)

    sign_in(browser, PAGE, web["dashboard"], f"{alice}@example.com")
    browser.wait_for(
        PAGE, "(id) => document.querySelector('#stream-title')?.textContent === id", sa
    )
    browser.fill(PAGE, "#battle-opponent-creator", bob)
    browser.fill(PAGE, "#battle-opponent-stream", sb)
    browser.fill(PAGE, "#battle-duration", "60")
    browser.click(PAGE, "#battle-invite")
    sent = browser.wait_for(
        PAGE, "() => document.querySelector('#battle-status.ok')?.textContent", timeout=30
    )
    battle_id = browser.eval(PAGE, "() => document.getElementById('battle-id').value")
    assert battle_id.startswith("bt-") and battle_id in sent

    sign_in(browser, PAGE, web["dashboard"], f"{bob}@example.com")
    browser.wait_for(
        PAGE, "(id) => document.querySelector('#stream-title')?.textContent === id", sb
    )
    browser.fill(PAGE, "#battle-id", battle_id)
    browser.click(PAGE, "#battle-accept")
    accepted = browser.wait_for(
        PAGE, "() => document.querySelector('#battle-status.ok')?.textContent", timeout=30
    )
    assert f"Battle {battle_id} accepted" in accepted
    browser.wait_for(
        PAGE,
        "(id) => document.getElementById('battle-now').dataset.battle === id",
        battle_id,
        timeout=60,
    )
    assert sa in browser.eval(PAGE, "() => document.getElementById('battle-now').textContent")

    browser.fill(PAGE, "#tap-duration", "30")
    browser.click(PAGE, "#tap-start")
    browser.wait_for(
        PAGE,
        "() => document.getElementById('battle-now').textContent.includes('Tap battle')",
        timeout=60,
    )
    browser.screenshot(PAGE, artifacts / "dashboard-battles.png")
