"""The overlay's poll widget in headless Chromium against the local cloud: a poll opened
through the api, votes from the app and from TikTok chat (Pub/Sub -> on_comment), bars
updated from the published tally, then the frozen final result."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import requests

from tests.support import create_stream, id_token

pytestmark = [pytest.mark.e2e]

PAGE = "overlay-poll"


def bars(browser) -> list:
    return browser.eval(
        PAGE,
        """() => [...document.querySelectorAll('#w-poll .bar')]
        .map(b => [b.querySelector('.label').textContent, Number(b.dataset.count)])""",
    )


def test_poll_bars_follow_app_and_chat_votes_then_show_the_final_result(
    cloud, web, browser, artifacts, publish, stream_id
):
    creator = f"creator-{stream_id}"
    create_stream(cloud, creator, stream_id)
    api = cloud["endpoints"]["api"]
    r = requests.post(
        f"{api}/streams/{stream_id}/polls",
        json={"question": "Next game?", "choices": ["Chess", "<b>Go</b>"]},
        headers={"Authorization": f"Bearer {id_token(creator)}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    poll = r.json()
    browser.open(
        PAGE,
        f"{web['overlay']}?{urlencode({'stream': stream_id, 'widgets': 'poll'})}",
        width=1280,
        height=720,
    )
    browser.wait_for(PAGE, "() => document.querySelectorAll('#w-poll .bar').length === 2")
    assert bars(browser) == [["1. Chess", 0], ["2. <b>Go</b>", 0]]  # text, never markup

    for uid, choice in (("fan-1", 2), ("fan-2", 2)):
        v = requests.post(
            f"{api}/streams/{stream_id}/polls/{poll['poll_id']}/votes",
            json={"choice": choice},
            headers={"Authorization": f"Bearer {id_token(uid)}"},
            timeout=30,
        )
        assert v.status_code == 201, v.text
    at = datetime.fromtimestamp(poll["opened_at"] + 0.5, UTC).isoformat()
    publish(
        {
            "event_id": f"{stream_id}-c1",
            "source": "tiktok",
            "stream_id": stream_id,
            "kind": "comment",
            "occurred_at": at,
            "user": {"id": "tt-1"},
            "text": "!vote 1",
        }
    )
    browser.wait_for(
        PAGE,
        """() => [...document.querySelectorAll('#w-poll .bar')]
        .map(b => b.dataset.count).join() === '1,2'""",
        timeout=60,
    )
    browser.screenshot(PAGE, artifacts / "overlay-poll-1-live.png")

    r = requests.post(
        f"{api}/streams/{stream_id}/polls/{poll['poll_id']}/close",
        headers={"Authorization": f"Bearer {id_token(creator)}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    browser.wait_for(
        PAGE, "() => document.getElementById('w-poll').dataset.status === 'final'", timeout=60
    )
    assert bars(browser) == [["1. Chess", 1], ["2. <b>Go</b>", 2]]
    browser.screenshot(PAGE, artifacts / "overlay-poll-2-final.png")


def test_prediction_odds_and_current_question_widgets(cloud, web, browser, stream_id):
    from google.cloud import firestore

    creator = f"creator-{stream_id}"
    create_stream(cloud, creator, stream_id)
    api = cloud["endpoints"]["api"]
    # Predictions stake the fans' loyalty points with the creator: their points counters as
    # the rollup's rewards write-out leaves them (tests/live/test_predictions_e2e.py earns
    # them through the pipeline).
    db = firestore.Client(project=cloud["project_id"])
    for fan, earned in (("fan-a", 300), ("fan-b", 100)):
        db.document(f"xp/{fan}/creators/{creator}").set({"xp": earned, "points_earned": earned})

    def post(uid, path, body=None):
        r = requests.post(
            f"{api}/streams/{stream_id}/{path}",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {id_token(uid)}"},
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    page = "overlay-interactions"
    query = urlencode({"stream": stream_id, "widgets": "prediction,question"})
    browser.open(page, f"{web['overlay']}?{query}", width=1280, height=720)
    pred = post(
        creator, "predictions", {"title": "Boss down?", "outcomes": ["Yes", "No"], "window_s": 60}
    )
    post(
        "fan-a",
        f"predictions/{pred['prediction_id']}/stakes",
        {"outcome": 1, "points": 300, "idempotency_key": "fan-a-0001"},
    )
    post(
        "fan-b",
        f"predictions/{pred['prediction_id']}/stakes",
        {"outcome": 2, "points": 100, "idempotency_key": "fan-b-0001"},
    )
    browser.wait_for(page, "() => document.querySelector('#w-prediction .bar')", timeout=60)
    odds = browser.wait_for(
        page,
        """() => {
        const v = [...document.querySelectorAll('#w-prediction .bar .value')]
          .map(e => e.textContent);
        return v.length === 2 && v[0].includes('300') && v[1].includes('100') && v; }""",
        timeout=60,
    )
    assert "1:1.33" in odds[0] and "1:4.00" in odds[1]

    q = post(
        "fan-a",
        "questions",
        {"text": "<img src=x onerror=alert(1)>Best run ever?", "idempotency_key": "question-0001"},
    )
    post(creator, f"questions/{q['question_id']}/approve")
    post(creator, f"questions/{q['question_id']}/show")
    text = browser.wait_for(
        page,
        """() => {
        const t = document.querySelector('#w-question .text');
        return t && t.textContent; }""",
        timeout=60,
    )
    assert text == "Best run ever?"
    assert browser.eval(page, "() => document.querySelectorAll('#w-question img').length") == 0
    post(creator, f"questions/{q['question_id']}/answered")
    browser.wait_for(page, "() => !document.querySelector('#w-question .text')", timeout=60)
