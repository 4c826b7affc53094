"""Leases on creators, in Firestore: at most one worker instance ingests a creator at a time.

`ingest_leases/{creator_id}` = {creator_id, holder, token, expires_at, renewed_at}.
- acquire: take the lease if it is free, expired, or already ours; a new holder gets
  `token + 1` (the fencing token, never reused: released leases are kept, expired).
- renew (heartbeat): extend only if holder and token are still ours.
- release: expire it now (keeping the token) if still ours.
- fenced writes: an instance writes a creator's status only in a batch conditioned on the
  lease document it read (its own token), so a paused instance that lost its lease cannot
  overwrite the new holder's status.
Each write is a compare-and-set on the lease document (create, or update with a
last-update-time precondition); no transaction locks are held.
A crashed instance stops renewing; its leases expire after `ttl` and another instance's next
scan takes them: the takeover bound is ttl + scan interval.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from google.api_core.exceptions import Aborted, AlreadyExists, FailedPrecondition, NotFound
from google.cloud import firestore

from giftengine.ingest.model import Lease

LEASES = "ingest_leases"
TARGETS = "ingest_targets"


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value or 0)


class LeaseStore:
    """Every write is a compare-and-set on the lease document's update time (or a create), not
    a read-write transaction: a transaction holds locks on the lease, and an instance killed
    in the middle of one would leave them held (until the lock times out), delaying the very
    takeover the lease exists for. A CAS that loses simply means someone else moved first."""

    def __init__(self, db: firestore.Client, instance_id: str, ttl_s: float, clock=time.time):
        self.db, self.instance_id, self.ttl_s, self._clock = db, instance_id, ttl_s, clock

    def _ref(self, creator_id: str):
        return self.db.collection(LEASES).document(creator_id)

    def _after(self, snap) -> Any:
        return self.db.write_option(last_update_time=snap.update_time)

    @staticmethod
    def _ours(cur: dict[str, Any], lease: Lease) -> bool:
        return cur.get("holder") == lease.holder and int(cur.get("token", -1)) == lease.token

    def acquire(self, creator_id: str) -> Lease | None:
        ref, me, now = self._ref(creator_id), self.instance_id, self._clock()
        snap = ref.get()
        cur = snap.to_dict() if snap.exists else {}
        token = int(cur.get("token", 0))
        live = _seconds(cur.get("expires_at")) > now
        mine = cur.get("holder") == me and live
        if cur.get("holder") and live and not mine:
            return None  # held by a live instance
        if not mine:
            token += 1
        expires = now + self.ttl_s
        data = {
            "creator_id": creator_id,
            "holder": me,
            "token": token,
            "expires_at": _ts(expires),
            "renewed_at": _ts(now),
        }
        try:
            if snap.exists:
                ref.update(data, option=self._after(snap))
            else:
                ref.create(data)
        except (FailedPrecondition, AlreadyExists, Aborted):
            return None  # another instance moved first
        return Lease(creator_id, me, token, expires)

    def renew(self, lease: Lease) -> Lease | None:
        """The extended lease, or None if it is no longer ours (stop ingesting at once)."""
        ref, now = self._ref(lease.creator_id), self._clock()
        snap = ref.get()
        cur = snap.to_dict() if snap.exists else {}
        if not self._ours(cur, lease) or _seconds(cur.get("expires_at")) <= now:
            return None
        expires = now + self.ttl_s
        try:
            ref.update(
                {"expires_at": _ts(expires), "renewed_at": _ts(now)}, option=self._after(snap)
            )
        except (FailedPrecondition, NotFound, Aborted):
            return None
        return Lease(lease.creator_id, lease.holder, lease.token, expires)

    def release(self, lease: Lease) -> bool:
        ref = self._ref(lease.creator_id)
        snap = ref.get()
        if not snap.exists or not self._ours(snap.to_dict() or {}, lease):
            return False
        try:
            ref.update(
                {"holder": "", "expires_at": _ts(0), "renewed_at": _ts(self._clock())},
                option=self._after(snap),
            )
        except (FailedPrecondition, NotFound, Aborted):
            return False
        return True

    def fenced_target_update(self, lease: Lease, fields: dict[str, Any]) -> str:
        """Merge `fields` into the creator's ingest-target document if our lease still holds.
        Returns "ok", "fenced" (lease lost) or "gone" (the target was deleted).

        One atomic batch: a touch of the lease conditioned on its update time, plus the target
        update; if the lease changed since we read it (a new holder), neither is written."""
        lref = self._ref(lease.creator_id)
        tref = self.db.collection(TARGETS).document(lease.creator_id)
        lsnap = lref.get()
        if not lsnap.exists or not self._ours(lsnap.to_dict() or {}, lease):
            return "fenced"
        if not tref.get().exists:
            return "gone"
        batch = self.db.batch()
        batch.update(lref, {"renewed_at": _ts(self._clock())}, option=self._after(lsnap))
        batch.update(
            tref,
            {
                **fields,
                "ingest.instance": lease.holder,
                "ingest.lease_token": lease.token,
                "ingest.updated_at": firestore.SERVER_TIMESTAMP,
            },
        )
        try:
            batch.commit()
        except (FailedPrecondition, Aborted):
            return "fenced"
        except NotFound:
            return "gone"
        return "ok"


GATES = "ingest_gates"


class SharedGate:
    """The sign-server gate shared by every worker instance: `ingest_gates/sign` =
    {until (timestamp), by (instance), rate_limited (count)}. An instance that gets a 429
    raises `until` (never lowers it); every instance reads it on its heartbeat and holds its
    own creators until then (docs/ingest.md)."""

    def __init__(self, db: firestore.Client, instance: str):
        self.db, self.instance = db, instance
        self.ref = db.collection(GATES).document("sign")

    def until(self) -> float:
        snap = self.ref.get()
        at = (snap.to_dict() or {}).get("until") if snap.exists else None
        return at.timestamp() if at else 0.0

    def raise_to(self, until: float) -> float:
        """Set `until` to at least `until`; returns the stored value."""

        @firestore.transactional
        def txn_fn(txn) -> float:
            snap = self.ref.get(transaction=txn)
            d = snap.to_dict() or {} if snap.exists else {}
            current = d["until"].timestamp() if d.get("until") else 0.0
            if until <= current:
                return current
            txn.set(
                self.ref,
                {
                    "until": _ts(until),
                    "by": self.instance,
                    "rate_limited": int(d.get("rate_limited", 0)) + 1,
                },
            )
            return until

        return txn_fn(self.db.transaction())
