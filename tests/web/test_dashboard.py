"""The creator dashboard in headless Chromium: sign in against the Auth emulator, see the
stream, set a goal through the API (proxied same-origin, with the user's ID token) that the
overlay then shows, start and stop TikTok ingest, see the wallet."""

from __future__ import annotations

import os

import pytest
from google.cloud import firestore

from tests.support import id_token, wait_for_doc
from tests.web.conftest import event

pytestmark = [pytest.mark.e2e]

PAGE = "dashboard"
PASSWORD = "correct-horse-42"


def create_creator(uid: str, email: str) -> None:
    """An email/password user in the Auth emulator whose uid is the stream's creator_id."""
    from firebase_admin import auth
    from giftengine.devcloud.tokens import admin_app

    id_token(uid)  # creates the user in the Auth emulator
    app = admin_app(os.environ["GIFTENGINE_PROJECT"])
    auth.update_user(uid, email=email, password=PASSWORD, app=app)


def text(browser, selector: str) -> str:
    return browser.eval(PAGE, "(s) => document.querySelector(s)?.innerText ?? null", selector)


def test_creator_signs_in_sets_a_goal_and_the_overlay_shows_it(
    cloud, web, browser, artifacts, publish, stream_id
):
    creator = f"dash.{stream_id[2:14]}"  # also a valid TikTok handle, for the ingest card
    email = f"{creator}@example.com"
    create_creator(creator, email)
    publish(event(stream_id, "join-1", "ana", kind="join", creator=creator))
    db = firestore.Client(project=cloud["project_id"])
    wait_for_doc(db.collection("streams").document(stream_id),
                 lambda d: d.get("creator_id") == creator)

    browser.open(PAGE, web["dashboard"], width=1280, height=1000)
    browser.wait_for(PAGE, "() => document.body.dataset.ready === '1'")
    browser.fill(PAGE, "#email", email)
    browser.fill(PAGE, "#password", "wrong-password")
    browser.click(PAGE, "#signin-btn")
    failed = browser.wait_for(
        PAGE, "() => document.querySelector('#signin-status.error')?.textContent"
    )
    assert "Sign-in failed" in failed
    browser.fill(PAGE, "#password", PASSWORD)
    browser.click(PAGE, "#signin-btn")
    browser.wait_for(PAGE, "() => document.body.dataset.signedIn === '1'")
    browser.wait_for(
        PAGE, "(id) => document.querySelector(`#streams li[data-stream=\"${id}\"]`)", stream_id
    )
    browser.wait_for(PAGE, "() => document.querySelector('#stream-title')?.textContent")
    assert text(browser, "#stream-title") == stream_id
    assert browser.eval(PAGE, "() => document.getElementById('review-card').className").count(
        "hidden"
    ) == 1  # not a moderator

    # Set a goal from the form: POST /goals through the page's server with the ID token.
    browser.fill(PAGE, "#goal-title", "Ring light <script>")
    browser.select(PAGE, "#goal-metric", "coins")
    browser.fill(PAGE, "#goal-target", 300)
    browser.fill(PAGE, "#goal-id", "light")
    browser.click(PAGE, "#goal-submit")
    ok = browser.wait_for(PAGE, "() => document.querySelector('#goal-status.ok')?.textContent")
    assert "light" in ok
    browser.wait_for(PAGE, "() => document.querySelector('#goals li[data-goal-id=\"light\"]')")

    # The overlay URL the creator copies shows that goal.
    url = browser.eval(PAGE, "() => document.getElementById('overlay-url').value")
    assert url.startswith(web["overlay"]) and f"stream={stream_id}" in url
    browser.open("overlay", url, width=1280, height=720)
    goal = browser.wait_for(
        "overlay",
        """() => { const g = document.querySelector('.goal[data-goal-id="light"]');
                   return g && {text: g.innerText, target: g.dataset.target}; }""",
    )
    assert "Ring light <script>" in goal["text"] and goal["target"] == "300"
    publish(event(stream_id, "gift-1", "bo", coins=30))
    browser.wait_for(
        "overlay",
        "() => document.querySelector('.goal[data-goal-id=\"light\"]')?.dataset.progress === '30'",
    )
    browser.screenshot("overlay", artifacts / "dashboard-goal-in-overlay.png")

    # Live totals and the session leaderboard (entries flush on the rollup's board interval).
    browser.wait_for(
        PAGE, "() => document.querySelector('#totals [data-k=\"coins\"] dd')?.textContent === '30'"
    )
    browser.wait_for(PAGE, "() => document.querySelector('#board tr[data-user=\"bo\"]')",
                     timeout=60)

    # TikTok ingest: start (201 pending), then stop, through ingest_targets.
    browser.fill(PAGE, "#ingest-handle", f"@{creator}")
    browser.click(PAGE, "#ingest-start")
    started = browser.wait_for(
        PAGE, "() => document.querySelector('#ingest-status.ok')?.textContent"
    )
    assert started == f"@{creator}: pending"
    browser.click(PAGE, "#ingest-stop")
    browser.wait_for(
        PAGE, "() => document.querySelector('#ingest-status')?.textContent.startsWith('Stopped')"
    )
    wallet = browser.wait_for(
        PAGE, "() => document.querySelector('#wallet-body')?.innerText || null"
    )
    assert "balance" in wallet.lower() or "not available" in wallet
    browser.screenshot(PAGE, artifacts / "dashboard-signed-in.png", full_page=True)
