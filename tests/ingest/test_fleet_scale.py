"""`ingest_scale` on the local cloud: it counts the real `ingest_targets` collection through
the Firestore emulator and answers the fleet plan (the local cloud has no Cloud Run, so
nothing is applied)."""

from __future__ import annotations

import uuid

import pytest
import requests
from giftengine.adapters.clients import firestore_client

pytestmark = pytest.mark.emulator


def _scale(cloud) -> dict:
    r = requests.post(cloud["endpoints"]["ingest_scale"], json={}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_ingest_scale_counts_the_targets_and_plans_the_fleet(cloud):
    db = firestore_client(cloud["project_id"])
    before = _scale(cloud)
    ids = [f"fleet_{uuid.uuid4().hex[:10]}" for _ in range(3)]
    try:
        for i in ids:
            db.collection("ingest_targets").document(i).set({"status": "pending", "owner_uid": "x"})
        after = _scale(cloud)
        assert after["targets"] == before["targets"] + 3
        assert after["instances"] == max(1, min(10, -(-after["targets"] // 50)))
        assert (after["applied"], after["previous"]) == (False, None)
    finally:
        for i in ids:
            db.collection("ingest_targets").document(i).delete()
