"""Leases against the Firestore emulator: one holder, fencing tokens, expiry, fenced writes."""

from __future__ import annotations

import uuid

import pytest
from giftengine.ingest.leases import LeaseStore
from giftengine.ingest.target_store import TargetRepo

from tests.ingest.conftest import cleanup_targets

pytestmark = pytest.mark.emulator


def test_lease_lifecycle_and_fencing(db):
    cid = f"l{uuid.uuid4().hex[:8]}"
    now = [1_000_000.0]
    a = LeaseStore(db, "inst-a", ttl_s=30, clock=lambda: now[0])
    b = LeaseStore(db, "inst-b", ttl_s=30, clock=lambda: now[0])
    TargetRepo(db).put(cid, "u", "test")
    try:
        la = a.acquire(cid)
        assert la is not None and la.token == 1
        assert b.acquire(cid) is None  # held and not expired
        assert a.acquire(cid).token == 1  # re-acquiring our own lease keeps the token
        assert a.fenced_target_update(la, {"status": "live"}) == "ok"
        now[0] += 31  # a stops heartbeating (crash): the lease expires
        assert a.renew(la) is None
        lb = b.acquire(cid)
        assert lb is not None and lb.token == 2  # the fencing token moved on
        assert a.fenced_target_update(la, {"status": "stale"}) == "fenced"
        assert a.release(la) is False
        assert b.fenced_target_update(lb, {"status": "live"}) == "ok"
        doc = db.collection("ingest_targets").document(cid).get().to_dict()
        assert doc["status"] == "live" and doc["ingest"]["lease_token"] == 2
        assert b.renew(lb).expires_at == now[0] + 30
        assert b.release(lb) is True
        lc = a.acquire(cid)
        assert lc.token == 3  # released leases keep their token: tokens never repeat
        db.collection("ingest_targets").document(cid).delete()
        assert a.fenced_target_update(lc, {"status": "x"}) == "gone"
    finally:
        cleanup_targets(db, [cid])
