"""The sign-server gate shared across worker instances, on the Firestore emulator."""

from __future__ import annotations

import time
import uuid

import pytest
from giftengine.ingest.backoff import SignGate
from giftengine.ingest.leases import SharedGate

pytestmark = pytest.mark.emulator


def test_the_shared_gate_only_rises_and_holds_other_instances(db):
    a = SharedGate(db, "inst-a")
    a.ref = db.collection("ingest_gates").document(f"sign-{uuid.uuid4().hex[:8]}")
    b = SharedGate(db, "inst-b")
    b.ref = a.ref
    now = time.time()
    assert a.until() == 0.0
    assert a.raise_to(now + 60) == pytest.approx(now + 60, abs=0.01)
    assert b.raise_to(now + 10) == pytest.approx(now + 60, abs=0.01)  # never lowered
    local_b = SignGate()
    local_b.hold_until_wall(b.until())
    assert 50 < local_b.wait_s() <= 60
