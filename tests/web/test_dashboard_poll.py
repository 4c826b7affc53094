"""Dashboard poll controls in headless Chromium: the creator opens a poll from the dashboard,
sees votes arrive, closes it and sees the final result."""

from __future__ import annotations

import uuid

import pytest
import requests
from google.cloud import firestore

from tests.support import create_stream, id_token, wait_for_doc
from tests.web.conftest import event
from tests.web.test_dashboard import create_creator, sign_in

pytestmark = [pytest.mark.e2e]


def test_creator_runs_a_poll_from_the_dashboard(cloud, web, browser, publish, stream_id):
    uid = f"dash.{stream_id[2:14]}"
    email = f"{uid}@example.com"
    create_creator(uid, email)
    create_stream(cloud, uid, stream_id)
    publish(event(stream_id, "join-1", "ana", kind="join", creator=uid))  # the streams list
    wait_for_doc(
        firestore.Client(project=cloud["project_id"]).document(f"streams/{stream_id}"),
        lambda d: d.get("creator_id") == uid,
    )
    page = "dashboard-poll"
    sign_in(browser, page, web["dashboard"], email)
    browser.wait_for(
        page, '(id) => document.querySelector(`#streams li[data-stream="${id}"]`)', stream_id
    )
    browser.eval(
        page,
        '(id) => document.querySelector(`#streams li[data-stream="${id}"] button`).click()',
        stream_id,
    )
    browser.wait_for(page, "() => document.getElementById('poll-form')", timeout=30)
    browser.eval(
        page,
        """() => {
        document.getElementById('poll-question').value = 'Which map?';
        document.getElementById('poll-choices').value = 'Desert, Snow';
        document.getElementById('poll-form').requestSubmit(); }""",
    )
    poll_id = browser.wait_for(
        page,
        """() => {
        const c = document.getElementById('poll-current');
        return c.dataset.status === 'open' && c.dataset.poll; }""",
        timeout=60,
    )
    vote = requests.post(
        f"{cloud['endpoints']['api']}/streams/{stream_id}/polls/{poll_id}/votes",
        json={"choice": 2, "idempotency_key": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {id_token('dash-fan')}"},
        timeout=30,
    )
    assert vote.status_code == 201, vote.text
    browser.wait_for(
        page,
        """() => document.querySelector("#poll-current li[data-choice='2']")
        ?.dataset.count === '1'""",
        timeout=60,
    )
    browser.eval(page, "() => document.getElementById('poll-close').click()")
    browser.wait_for(
        page, "() => document.getElementById('poll-current').dataset.status === 'final'", timeout=60
    )
    assert "Snow: 1" in browser.eval(
        page, "() => document.getElementById('poll-current').innerText"
    )
