"""The ingest_targets HTTPS function, served by functions-framework in the local cloud, with
real Auth emulator ID tokens: who may follow which creator, and what the document holds."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support import id_token

pytestmark = pytest.mark.emulator


@pytest.fixture
def url(gcp):
    base = gcp["endpoints"].get("ingest_targets")
    if base is None:
        pytest.fail("the local cloud has no ingest_targets endpoint (manifest out of date?)")
    return f"{base}/ingest_targets"


def call(method, url, token=None, headers=None, **kw):
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, url, headers={**auth, **(headers or {})}, timeout=30, **kw)


def test_creator_follows_reads_and_unfollows_themself(url, db):
    cid = f"ana.{uuid.uuid4().hex[:8]}"
    token = id_token(f"uid-{cid}", {"creator_id": cid})
    r = call("PUT", f"{url}/@{cid.upper()}", token)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["creator_id"] == cid and body["status"] == "pending"
    assert body["owner_uid"] == f"uid-{cid}" and body["error"] is None
    doc = db.collection("ingest_targets").document(cid).get().to_dict()
    assert doc["creator_id"] == cid and doc["created_by"] == f"uid-{cid}"
    # a failed target is re-enabled by putting it again
    db.collection("ingest_targets").document(cid).update(
        {"status": "failed", "error": {"code": "user_not_found", "reason": "x"}}
    )
    r = call("PUT", f"{url}/{cid}", token)
    assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["error"] is None
    r = call("GET", f"{url}/{cid}", token)
    assert r.status_code == 200 and r.json()["creator_id"] == cid
    r = call("DELETE", f"{url}/{cid}", token)
    assert r.status_code == 200 and r.json() == {"creator_id": cid, "deleted": True}
    assert not db.collection("ingest_targets").document(cid).get().exists
    assert call("DELETE", f"{url}/{cid}", token).status_code == 404


def test_others_are_refused_and_admins_allowed(url, db):
    cid = f"bo.{uuid.uuid4().hex[:8]}"
    stranger = id_token(f"stranger-{uuid.uuid4().hex[:6]}", {"creator_id": "someone.else"})
    admin = id_token(f"admin-{uuid.uuid4().hex[:6]}", {"admin": True})
    r = call("PUT", f"{url}/{cid}", stranger)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = call("PUT", f"{url}/{cid}", stranger, json={"owner_uid": "x"})
    assert r.status_code == 403
    r = call("PUT", f"{url}/{cid}", admin, json={"owner_uid": "creator-uid"})
    assert r.status_code == 201 and r.json()["owner_uid"] == "creator-uid"
    assert call("GET", f"{url}/{cid}", stranger).status_code == 403
    owner = id_token("creator-uid")  # the owner recorded by the admin may manage it
    assert call("GET", f"{url}/{cid}", owner).status_code == 200
    # An admin naming another owner of an existing target changes it (it was kept before).
    r = call("PUT", f"{url}/{cid}", admin, json={"owner_uid": "new-owner-uid"})
    assert r.status_code == 200 and r.json()["owner_uid"] == "new-owner-uid"
    assert call("GET", f"{url}/{cid}", id_token("new-owner-uid")).status_code == 200
    assert call("GET", f"{url}/{cid}", owner).status_code == 403
    r = call("PUT", f"{url}/{cid}", admin)  # re-enabled without naming one: the owner stays
    assert r.status_code == 200 and r.json()["owner_uid"] == "new-owner-uid"
    assert call("DELETE", f"{url}/{cid}", admin).status_code == 200


def test_bad_requests_are_clear_4xx(url):
    token = id_token(f"u-{uuid.uuid4().hex[:6]}", {"admin": True})
    r = call("PUT", f"{url}/ana.live")
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    r = call("PUT", f"{url}/not%20a%20name!", token)
    assert r.status_code == 400 and "TikTok username" in r.json()["reason"]
    r = call(
        "PUT",
        f"{url}/ana.live",
        token,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = call("PUT", f"{url}/ana.live", token, json={"unknown": 1})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert call("POST", f"{url}/ana.live", token).status_code == 405
    assert call("GET", f"{url}/missing.{uuid.uuid4().hex[:6]}", token).status_code == 404
