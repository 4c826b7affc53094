"""The creator dashboard in headless Chromium: sign in against the Auth emulator, see the
stream, set a goal through the API (proxied same-origin, with the user's ID token) that the
overlay then shows, start and stop TikTok ingest, see the wallet; a moderator works the
review queue (chat_api flags)."""

from __future__ import annotations

import os
import uuid

import pytest
import requests
from google.cloud import firestore

from tests.support import create_stream, id_token, wait_for_doc
from tests.web.conftest import event

pytestmark = [pytest.mark.e2e]

PAGE = "dashboard"
PASSWORD = "correct-horse-42"


def create_creator(uid: str, email: str, claims: dict | None = None) -> None:
    """An email/password user in the Auth emulator (uid = a stream's creator_id, or a
    moderator with `claims`)."""
    from firebase_admin import auth
    from giftengine_dev.devcloud.tokens import admin_app

    id_token(uid, claims)  # creates the user in the Auth emulator
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
    create_stream(cloud, creator, stream_id)
    publish(event(stream_id, "join-1", "ana", kind="join", creator=creator))
    db = firestore.Client(project=cloud["project_id"])
    wait_for_doc(
        db.collection("streams").document(stream_id), lambda d: d.get("creator_id") == creator
    )

    browser.open(PAGE, web["dashboard"], width=1280, height=1000)
    browser.wait_for(PAGE, "() => document.body.dataset.ready === '1'")
    browser.fill(PAGE, "#email", email)
    browser.fill(PAGE, "#password", "wrong-password")
    browser.click(PAGE, "#signin-btn")
    failed = browser.wait_for(
        PAGE, "() => document.querySelector('#signin-status.error')?.textContent"
    )
    assert "Sign-in failed" in failed and "auth/" not in failed  # in words, not Firebase's code
    browser.fill(PAGE, "#password", PASSWORD)
    browser.click(PAGE, "#signin-btn")
    browser.wait_for(PAGE, "() => document.body.dataset.signedIn === '1'")
    browser.wait_for(
        PAGE, '(id) => document.querySelector(`#streams li[data-stream="${id}"]`)', stream_id
    )
    browser.wait_for(PAGE, "() => document.querySelector('#stream-title')?.textContent")
    assert text(browser, "#stream-title") == stream_id
    # Not a moderator: the review queue is there for the creator's own stream only.
    scope = browser.wait_for(PAGE, "() => document.getElementById('review-scope')?.textContent")
    assert scope == f"stream {stream_id}"

    # Chat moderation: the creator makes the stream strict and allows links.
    browser.wait_for(PAGE, "() => document.querySelector('#moderation-level')?.value")
    assert browser.eval(PAGE, "() => document.getElementById('moderation-level').value") == (
        "standard"
    )
    browser.select(PAGE, "#moderation-level", "strict")
    browser.select(PAGE, '.moderation-override[data-category="spam"]', "allow")
    browser.click(PAGE, "#moderation-save")
    saved = browser.wait_for(
        PAGE, "() => document.querySelector('#moderation-status.ok')?.textContent"
    )
    assert saved == "Saved: strict with spam allow"
    cfg = (
        db.collection("streams")
        .document(stream_id)
        .collection("chat_config")
        .document("moderation")
        .get()
        .to_dict()
    )
    assert cfg["level"] == "strict" and cfg["overrides"] == {"spam": "allow"}
    assert cfg["updated_by"] == creator

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
    # One permanent URL per creator, no stream id: it follows the creator's live stream.
    assert url.startswith(web["overlay"]) and f"creator={creator}" in url and "stream" not in url
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
    browser.wait_for(
        PAGE, "() => document.querySelector('#board tr[data-user=\"bo\"]')", timeout=60
    )

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


def sign_in(browser, page: str, url: str, email: str) -> None:
    """Open the dashboard as `email` (the browser's pages share one sign-in)."""
    browser.open(page, url, width=1280, height=1000)
    browser.wait_for(page, "() => document.body.dataset.signedIn")
    if browser.eval(page, "() => document.body.dataset.signedIn") == "1":
        browser.click(page, "#signout")
        browser.wait_for(page, "() => document.body.dataset.signedIn === '0'")
    browser.fill(page, "#email", email)
    browser.fill(page, "#password", PASSWORD)
    browser.click(page, "#signin-btn")
    browser.wait_for(page, "() => document.body.dataset.signedIn === '1'")


def test_moderator_restores_a_blocked_message_from_the_review_queue(
    cloud, web, browser, artifacts, stream_id
):
    # A viewer's message is blocked as harassment: held and flagged with category and score.
    chat_api = cloud["endpoints"]["chat_api"]
    troll = f"troll-{uuid.uuid4().hex[:8]}"
    r = requests.post(
        f"{chat_api}/streams/{stream_id}/messages",
        json={"text": "shut the fuck up you b1tch"},
        headers={
            "Authorization": f"Bearer {id_token(troll)}",
            "X-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}",
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    blocked = r.json()
    assert blocked["visible"] is False and blocked["action"] == "block"
    flag_id = f"auto-{blocked['message_id']}"
    db = firestore.Client(project=cloud["project_id"])
    chat = db.collection("streams").document(stream_id).collection("chat")
    assert not chat.document(blocked["message_id"]).get().exists

    mod = f"mod-{uuid.uuid4().hex[:8]}"
    create_creator(mod, f"{mod}@example.com", {"moderator": True})
    sign_in(browser, "review", web["dashboard"], f"{mod}@example.com")
    # A moderator with no streams sees none (nor a stream of whoever signed in before).
    browser.wait_for("review", "() => !document.querySelector('#streams-empty.hidden')")
    assert "hidden" in browser.eval(
        "review", "() => document.getElementById('stream-card').className"
    )
    row = f'#review-list li[data-flag-id="{flag_id}"]'
    browser.wait_for("review", "(s) => document.querySelector(s)", row)
    shown = browser.eval("review", "(s) => document.querySelector(s).innerText", row)
    assert "shut the fuck up you b1tch" in shown and troll in shown
    assert "insult" in shown and "score 0." in shown
    assert (
        browser.eval(
            "review", "(s) => document.querySelector(s + ' .category').dataset.category", row
        )
        == "insult"
    )
    buttons = browser.eval(
        "review",
        "(s) => [...document.querySelectorAll(s + ' button')].map((b) => b.dataset.action)",
        row,
    )
    assert buttons == ["resolve", "restore", "ban", "unban"]
    browser.screenshot("review", artifacts / "dashboard-review-queue.png", full_page=True)

    # Restore: the message becomes visible in the chat feed, the flag leaves the pending list.
    browser.click("review", f"{row} button[data-action=restore]")
    done = browser.wait_for(
        "review", "() => document.querySelector('#review-status.ok')?.textContent"
    )
    assert flag_id in done
    browser.wait_for("review", "(s) => !document.querySelector(s)", row)
    restored = wait_for_doc(chat.document(blocked["message_id"]), lambda d: True)
    assert restored["text"] == "shut the fuck up you b1tch" and restored["action"] == "allow"
    flag = db.collection("moderation_flags").document(flag_id).get().to_dict()
    assert flag["status"] == "resolved" and flag["resolution"] == "override:restore"
    assert flag["resolved_by"] == mod

    # The resolved list shows it without actions; restoring twice is not offered.
    browser.select("review", "#review-filter", "resolved")
    browser.wait_for("review", "(s) => document.querySelector(s)", row)
    assert (
        browser.eval("review", "(s) => document.querySelectorAll(s + ' button').length", row) == 0
    )
