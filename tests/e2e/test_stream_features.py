"""Stream features on the local cloud (issue 20): commands through
`POST /api/streams/{id}/controls` and settings through `PUT /api/creators/{id}/features/{f}`
with Auth emulator tokens, the events they record, and the features' live views."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support import create_stream, id_token

pytestmark = pytest.mark.e2e


def auth(uid: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid, claims or None)}"}


def control(cloud, stream: str, uid: str | None, body: dict, **claims) -> requests.Response:
    headers = auth(uid, **claims) if uid else {}
    return requests.post(
        f"{cloud['endpoints']['api']}/streams/{stream}/controls",
        json=body,
        headers=headers,
        timeout=30,
    )


def test_commands_are_refused_with_a_clear_4xx(cloud):
    n = uuid.uuid4().hex[:8]
    creator, viewer = f"cr-{n}", f"v-{n}"
    stream = f"s-ctl-{n}"
    create_stream(cloud, creator, stream)
    body = {"feature": "nope", "action": "start", "params": {}, "request_id": f"r-{n}"}
    r = control(cloud, stream, None, body)
    assert r.status_code == 401, r.text
    r = control(cloud, stream, creator, body)
    assert r.status_code == 400 and "unknown feature 'nope'" in r.json()["reason"], r.text
    r = control(cloud, stream, creator, {**body, "feature": "Bad Name"})
    assert r.status_code == 400 and "feature" in r.json()["reason"], r.text
    r = control(cloud, stream, creator, {**body, "params": {"a": [1]}})
    assert r.status_code == 400, r.text
    r = control(cloud, stream, creator, {**body, "request_id": ".."})
    assert r.status_code == 400, r.text
    r = control(cloud, stream, creator, {k: v for k, v in body.items() if k != "request_id"})
    assert r.status_code == 400 and "request_id" in r.json()["reason"], r.text

    r = requests.put(
        f"{cloud['endpoints']['api']}/creators/{creator}/features/nope",
        json={},
        headers=auth(creator),
        timeout=30,
    )
    assert r.status_code == 400 and "unknown feature" in r.json()["reason"], r.text
    r = requests.put(
        f"{cloud['endpoints']['api']}/creators/{creator}/features/nope",
        data=b"not json",
        headers=auth(viewer),
        timeout=30,
    )
    assert r.status_code == 400, r.text
