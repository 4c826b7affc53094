"""The dashboard's reward queue in headless Chromium against the local cloud: viewers redeem
points rewards through the API; the creator's panel shows them live (Firestore listener,
queued first, oldest first, the viewer's note); Fulfil and Reject call the API, the panel
follows, and the rejected viewer's points come back once; a moderator the creator appointed
works the same queue from their own dashboard, and another creator's queue is refused.
Screenshot:
artifacts/web/dashboard-reward-queue.png (the docs' copy: docs/img/web/)."""

from __future__ import annotations

import uuid

import pytest
import requests
from google.cloud import firestore

from tests.support import id_token, poll
from tests.web.test_dashboard import PAGE, create_creator, sign_in

pytestmark = [pytest.mark.e2e]


ORDER = (
    "() => [...document.querySelectorAll('#reward-queue li')].map((li) => li.dataset.redemption)"
)
STATUS_IS = '([id, s]) => document.querySelector(`[data-redemption="${id}"]`)?.dataset.status === s'


def _status(browser, rid: str):
    return browser.eval(
        PAGE,
        '(id) => document.querySelector(`#reward-queue li[data-redemption="${id}"]`)'
        "?.dataset.status ?? null",
        rid,
    )


def test_creator_fulfils_and_rejects_redemptions_from_the_live_queue(
    cloud, web, browser, artifacts
):
    n = uuid.uuid4().hex[:8]
    creator, fans = f"rq.{n}", [f"fan-a-{n}", f"fan-b-{n}"]
    email = f"{creator}@example.com"
    create_creator(creator, email)
    api = cloud["endpoints"]["api"]
    cfg = {
        "rewards": [
            {"id": "song", "title": "Choose the next song", "cost": 40, "needs_note": True},
            {"id": "hi", "title": "Shout-out", "cost": 10},
        ]
    }
    r = requests.put(
        f"{api}/creators/{creator}/features/rewards",
        json=cfg,
        headers={"Authorization": f"Bearer {id_token(creator)}"},
        timeout=180,
    )
    assert r.status_code == 200, r.text
    db = firestore.Client(project=cloud["project_id"])
    for fan in fans:
        db.document(f"xp/{fan}/creators/{creator}").set({"uid": fan, "points_earned": 100})

    def redeem(fan: str, k: int, reward: str, note: str = "") -> str:
        r = requests.post(
            f"{api}/creators/{creator}/rewards/{reward}/redeem",
            json={"request_id": f"dash-{k}-{n}", "note": note},
            headers={"Authorization": f"Bearer {id_token(fan)}"},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        return r.json()["redemption_id"]

    first = redeem(fans[0], 1, "song", "Bohemian Rhapsody (Queen)")
    sign_in(browser, PAGE, web["dashboard"], email)
    browser.wait_for(
        PAGE, "() => document.getElementById('reward-queue-body').dataset.ready === '1'", timeout=90
    )
    browser.wait_for(PAGE, '(id) => document.querySelector(`[data-redemption="${id}"]`)', first)
    # Redemptions made while the panel is open arrive by themselves (the listener).
    second = redeem(fans[1], 2, "hi")
    third = redeem(fans[1], 3, "song", "Song 3")
    browser.wait_for(
        PAGE, "() => document.getElementById('reward-queue-body').dataset.waiting === '3'"
    )
    order = browser.eval(PAGE, ORDER)
    assert order == [first, second, third]
    note = browser.eval(
        PAGE,
        '(id) => document.querySelector(`[data-redemption="${id}"] .flag-text`).textContent',
        first,
    )
    assert note == "Bohemian Rhapsody (Queen)"

    browser.click(PAGE, f'#reward-queue li[data-redemption="{first}"] .rq-fulfil')
    browser.wait_for(PAGE, STATUS_IS, [first, "fulfilled"])
    browser.click(PAGE, f'#reward-queue li[data-redemption="{second}"] .rq-reject')
    browser.wait_for(PAGE, STATUS_IS, [second, "rejected"])
    said = browser.wait_for(
        PAGE, "() => document.querySelector('#reward-queue-status.ok')?.textContent"
    )
    assert "10 points refunded" in said, said
    # Handled entries move below the waiting one; they have no buttons any more.
    order = browser.eval(PAGE, ORDER)
    assert order == [third, first, second]
    assert browser.eval(PAGE, "() => document.querySelectorAll('#reward-queue button').length") == 2

    def points(fan: str) -> dict:
        r = requests.get(
            f"{api}/viewers/{fan}/creators/{creator}",
            headers={"Authorization": f"Bearer {id_token(fan)}"},
            timeout=30,
        )
        return r.json()["points"]

    assert poll(lambda: points(fans[1])["refunded"] == 10)
    assert points(fans[1])["balance"] == 100 - 10 - 40 + 10
    assert points(fans[0])["balance"] == 60 and points(fans[0])["refunded"] == 0
    assert _status(browser, third) == "queued"
    browser.eval(PAGE, "() => document.getElementById('reward-queue-card').scrollIntoView()")
    browser.screenshot(PAGE, artifacts / "dashboard-reward-queue.png")

    # A moderator the creator appointed opens the creator's queue and fulfils the last one;
    # a signed-in user the creator did not appoint is refused by the rules.
    mod, mod_email = f"rq-mod.{n}", f"rq-mod.{n}@example.com"
    create_creator(mod, mod_email)
    r = requests.put(
        f"{api}/creators/{creator}/moderators/{mod}",
        json={},
        headers={"Authorization": f"Bearer {id_token(creator)}"},
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    sign_in(browser, PAGE, web["dashboard"], mod_email)
    browser.wait_for(
        PAGE, "() => document.getElementById('reward-queue-body').dataset.ready === '1'"
    )
    browser.fill(PAGE, "#reward-queue-creator", creator)
    browser.click(PAGE, "#reward-queue-show")
    browser.wait_for(PAGE, STATUS_IS, [third, "queued"])
    browser.click(PAGE, f'#reward-queue li[data-redemption="{third}"] .rq-fulfil')
    browser.wait_for(PAGE, STATUS_IS, [third, "fulfilled"])
    assert points(fans[1])["balance"] == 60  # fulfilled: nothing comes back
    browser.fill(PAGE, "#reward-queue-creator", f"someone-else-{n}")
    browser.click(PAGE, "#reward-queue-show")
    refused = browser.wait_for(
        PAGE, "() => document.querySelector('#reward-queue-status.error')?.textContent"
    )
    assert "permission" in refused, refused
