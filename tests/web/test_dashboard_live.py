"""The dashboard's live-interaction controls in headless Chromium against the local cloud: the
creator opens and closes a poll, opens, locks and resolves a prediction (and cancels one),
approves, shows and answers a question, and sets a challenge; viewers act through the API
meanwhile. Every action goes through the API with the creator's ID token; the panel follows
the documents the API writes. Screenshot: artifacts/web/dashboard-live.png (the docs' copy:
docs/images/dashboard-live.png)."""

from __future__ import annotations

import pytest
import requests
from google.cloud import firestore

from tests.support import create_stream, id_token
from tests.web.test_dashboard import PAGE, create_creator, sign_in

pytestmark = [pytest.mark.e2e]


def attr(browser, selector: str, name: str):
    return browser.eval(
        PAGE, "([s, n]) => document.querySelector(s)?.dataset[n] ?? null", [selector, name]
    )


def test_creator_runs_polls_predictions_questions_and_challenges(
    cloud, web, browser, artifacts, stream_id
):
    creator = f"live.{stream_id[2:14]}"
    email = f"{creator}@example.com"
    create_creator(creator, email)
    api = cloud["endpoints"]["api"]
    # The api function's first request imports every route: on a loaded machine that alone
    # can take longer than create_stream's timeout, so wake it first.
    requests.get(f"{api}/streams/{stream_id}", timeout=180)
    create_stream(cloud, creator, stream_id)
    # Predictions stake the fans' loyalty points with the creator: their points counters as
    # the rollup's rewards write-out leaves them (tests/live/test_predictions_e2e.py earns
    # them through the pipeline).
    db = firestore.Client(project=cloud["project_id"])
    for uid in ("fan-1", "fan-2"):
        db.document(f"xp/{uid}/creators/{creator}").set({"xp": 100, "points_earned": 100})

    def fan(uid, path, body=None):
        r = requests.post(
            f"{api}/streams/{stream_id}/{path}",
            json=body,
            headers={"Authorization": f"Bearer {id_token(uid)}"},
            timeout=30,
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    sign_in(browser, PAGE, web["dashboard"], email)
    browser.wait_for(PAGE, "() => document.getElementById('live-card').dataset.ready === '1'")

    # Poll: open from the dashboard, a viewer votes in the app, a second open is refused
    # (the API's reason is shown), the creator closes it.
    browser.fill(PAGE, "#poll-question", "Next game?")
    browser.fill(PAGE, "#poll-choices", "Chess\nGo")
    browser.click(PAGE, "#poll-open")
    pid = browser.wait_for(
        PAGE,
        "() => document.getElementById('live-poll').dataset.poll"
        " || document.querySelector('#poll-status.error')?.textContent",
        timeout=90,
    )
    assert not browser.eval(PAGE, "() => document.querySelector('#poll-status.error')"), pid
    fan("fan-1", f"polls/{pid}/votes", {"choice": 2})
    browser.wait_for(
        PAGE,
        "() => document.querySelector('#live-poll li[data-choice=\"2\"]')?.dataset.count === '1'",
        timeout=60,
    )
    browser.click(PAGE, "#poll-open")
    refused = browser.wait_for(
        PAGE, "() => document.querySelector('#poll-status.error')?.textContent"
    )
    assert "poll_active" in refused
    browser.click(PAGE, "#poll-close")
    browser.wait_for(
        PAGE, "() => document.getElementById('live-poll').dataset.status !== 'open'", timeout=60
    )

    # Prediction: open, a viewer stakes, lock, resolve; the pool is paid out.
    browser.fill(PAGE, "#prediction-title", "Boss down?")
    browser.fill(PAGE, "#prediction-outcomes", "Yes\nNo")
    browser.click(PAGE, "#prediction-open")
    pred = browser.wait_for(
        PAGE, "() => document.getElementById('live-prediction').dataset.prediction"
    )
    fan(
        "fan-1",
        f"predictions/{pred}/stakes",
        {"outcome": 1, "points": 100, "idempotency_key": "stake-fan-1"},
    )
    fan(
        "fan-2",
        f"predictions/{pred}/stakes",
        {"outcome": 2, "points": 50, "idempotency_key": "stake-fan-2"},
    )
    browser.wait_for(
        PAGE,
        "() => document.querySelector('#live-prediction li[data-outcome=\"2\"]')"
        "?.dataset.pool === '50'",
        timeout=60,
    )
    browser.click(PAGE, "#prediction-lock")
    browser.wait_for(
        PAGE, "() => document.getElementById('live-prediction').dataset.status === 'locked'"
    )
    browser.select(PAGE, "#prediction-winner", "1")
    browser.click(PAGE, "#prediction-resolve")
    browser.wait_for(
        PAGE, "() => document.getElementById('live-prediction').dataset.status === 'resolved'"
    )
    assert "150 points paid" in browser.eval(
        PAGE, "() => document.getElementById('live-prediction').innerText"
    )

    # Q&A: a viewer asks; the creator approves, shows and answers it.
    q = fan(
        "fan-3", "questions", {"text": "<b>Best</b> run ever?", "idempotency_key": "question-fan-3"}
    )
    browser.click(PAGE, "#questions-refresh")
    browser.wait_for(PAGE, "() => document.querySelector('#questions-pending .q-approve')")
    browser.click(PAGE, "#questions-pending .q-approve")
    browser.wait_for(
        PAGE,
        '(id) => document.querySelector(`#questions-open li[data-question="${id}"]`)',
        q["question_id"],
    )
    browser.click(PAGE, "#questions-open .q-show")
    shown = browser.wait_for(
        PAGE,
        "() => { const t = document.getElementById('question-current').textContent;"
        " return t.startsWith('On screen') && t; }",
    )
    assert shown == "On screen: Best run ever?"

    # Challenge: a goal with a deadline, listed as running until then.
    browser.fill(PAGE, "#goal-title", "100 likes in 10 min")
    browser.select(PAGE, "#goal-metric", "likes")
    browser.fill(PAGE, "#goal-target", "100")
    browser.fill(PAGE, "#goal-id", "likes100")
    browser.fill(PAGE, "#goal-duration", "600")
    browser.click(PAGE, "#goal-submit")
    browser.wait_for(
        PAGE,
        "() => document.querySelector('#goals li[data-goal-id=\"likes100\"]')"
        "?.dataset.status === 'running'",
        timeout=60,
    )
    assert "null" not in browser.eval(PAGE, "() => document.getElementById('live-card').innerText")
    browser.eval(PAGE, "() => document.getElementById('live-card').scrollIntoView()")
    browser.screenshot(PAGE, artifacts / "dashboard-live.png")

    browser.click(PAGE, "#questions-open .q-answered")
    browser.wait_for(PAGE, "() => !document.querySelector('#questions-open li[data-question]')")
    assert browser.eval(PAGE, "() => document.getElementById('question-current').textContent") == (
        "No question on screen."
    )
    # A second prediction, canceled: everyone's points come back.
    browser.fill(PAGE, "#prediction-title", "Rematch?")
    browser.click(PAGE, "#prediction-open")
    browser.wait_for(
        PAGE,
        "(old) => { const b = document.getElementById('live-prediction');"
        " return b.dataset.prediction && b.dataset.prediction !== old; }",
        pred,
    )
    browser.click(PAGE, "#prediction-cancel")
    browser.wait_for(
        PAGE, "() => document.getElementById('live-prediction').dataset.status === 'canceled'"
    )
    # the browser's pages share one sign-in: leave it signed out for the next test
    browser.click(PAGE, "#signout")
    browser.wait_for(PAGE, "() => document.body.dataset.signedIn === '0'")
