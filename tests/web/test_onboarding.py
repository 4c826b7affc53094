"""A newcomer's whole path in headless Chromium, through the dashboard alone: sign up (Auth
emulator) -> link a TikTok handle and create an app stream -> the stream appears under "Your
streams" -> copy the overlay URL -> open it (idle, waiting) -> the stream goes live and its
alert shows on that URL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import requests

from tests.support import id_token
from tests.web.conftest import event
from tests.web.test_dashboard import PASSWORD

pytestmark = [pytest.mark.e2e]

DASH = "onboarding"
OVERLAY = "onboarding-overlay"


def test_a_new_account_reaches_its_overlay_and_sees_its_streams_alert(
    cloud, web, browser, publish, artifacts
):
    email = f"new.{uuid.uuid4().hex[:10]}@example.com"
    browser.open(DASH, web["dashboard"], width=1280, height=1000)
    browser.wait_for(DASH, "() => document.body.dataset.signedIn")  # auth state known
    if browser.eval(DASH, "() => document.body.dataset.signedIn") == "1":
        browser.click(DASH, "#signout")  # the browser's pages share one sign-in
        browser.wait_for(DASH, "() => document.body.dataset.signedIn === '0'")

    # 1. Sign up: a fresh Firebase user, nothing prepared for them.
    browser.fill(DASH, "#email", email)
    browser.fill(DASH, "#password", PASSWORD)
    browser.click(DASH, "#signup-btn")
    browser.wait_for(DASH, "() => document.body.dataset.signedIn === '1'")
    uid = browser.eval(DASH, "() => window.giftDashboard.user.uid")
    assert browser.eval(DASH, "() => !document.getElementById('streams-empty').hidden")

    # 2a. Link a TikTok handle (the ingest target; its LIVEs become this user's streams).
    # Nothing proves a fresh account holds the TikTok account, so it cannot claim the handle
    # (docs/security.md); the dashboard says why. An admin grants it (owner_uid), then the
    # creator starts it themselves.
    handle = f"new.{uuid.uuid4().hex[:8]}"
    browser.fill(DASH, "#ingest-handle", f"@{handle}")
    browser.click(DASH, "#ingest-start")
    refused = browser.wait_for(
        DASH, "() => document.querySelector('#ingest-status.error')?.textContent"
    )
    assert f"only @{handle} or an admin" in refused
    r = requests.put(
        f"{cloud['endpoints']['ingest_targets']}/{handle}",
        json={"owner_uid": uid},
        headers={"Authorization": f"Bearer {id_token('ops-admin', {'admin': True})}"},
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    browser.click(DASH, "#ingest-start")
    linked = browser.wait_for(
        DASH, "() => document.querySelector('#ingest-status.ok')?.textContent"
    )
    assert linked == f"@{handle}: pending"

    # 2b. Create an app stream; 3. it appears under "Your streams".
    browser.fill(DASH, "#new-stream-title", "First stream")
    browser.click(DASH, "#new-stream-btn")
    stream_id = browser.wait_for(
        DASH, "() => document.getElementById('new-stream-status').dataset.stream"
    )
    row = browser.wait_for(
        DASH,
        '(id) => document.querySelector(`#streams li[data-stream="${id}"]`)?.innerText',
        stream_id,
    )
    assert "First stream" in row
    assert browser.eval(
        DASH, "() => document.getElementById('streams-empty').classList.contains('hidden')"
    )

    # 4. Copy the overlay URL (the same text the Copy button puts on the clipboard).
    browser.click(DASH, "#overlay-copy")
    browser.wait_for(DASH, "() => document.getElementById('overlay-copy').textContent === 'Copied'")
    url = browser.eval(DASH, "() => document.getElementById('overlay-url').value")
    assert f"creator={uid}" in url and "stream" not in url.split("?", 1)[1]
    # The same form `giftengine overlay-url` prints (its widgets, theme and size).
    from urllib.parse import parse_qsl, urlsplit

    from giftengine_dev.cli.overlay_url import DASHBOARD_DEFAULTS

    query = dict(parse_qsl(urlsplit(url).query))
    assert query == {"creator": uid, **{k: str(v) for k, v in DASHBOARD_DEFAULTS.items()}}
    browser.screenshot(DASH, artifacts / "onboarding-dashboard.png", full_page=True)

    # 5. Open it: idle until the stream goes live, then the stream's alert.
    browser.open(OVERLAY, url, width=1280, height=720)
    browser.wait_for(OVERLAY, "() => window.giftOverlay.state === 'idle'")
    now = datetime.now(UTC).isoformat()
    base = {"source": "app", "stream_id": stream_id, "occurred_at": now}
    publish({**base, "event_id": f"{stream_id}:start", "kind": "stream_start"})
    gift = event(stream_id, f"{stream_id}:g1", "ana", name="Ana", coins=5)
    publish({**gift, "source": "app"})
    alert = browser.wait_for(
        OVERLAY, "() => document.querySelector('.alert[data-user=\"ana\"]')?.innerText", timeout=60
    )
    assert "Ana" in alert
    assert browser.eval(OVERLAY, "() => window.giftOverlay.stream") == stream_id
    browser.screenshot(OVERLAY, artifacts / "onboarding-overlay-alert.png")

    # Leave nothing running for the next tests: stop following the handle, close the pages.
    browser.click(DASH, "#ingest-stop")
    browser.wait_for(
        DASH, "() => document.getElementById('ingest-status')?.textContent.startsWith('Stopped')"
    )
    browser.call("close", page=OVERLAY)
    browser.call("close", page=DASH)
