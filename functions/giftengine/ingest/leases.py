"""Leases on creators, in Firestore: at most one worker instance ingests a creator at a time.

`ingest_leases/{creator_id}` = {creator_id, holder, token, expires_at, renewed_at}.
- acquire: in a transaction, take the lease if it is free, expired, or already ours; a new
  holder gets `token + 1` (the fencing token, never reused: released leases are kept, expired).
- renew (heartbeat): in a transaction, extend only if holder and token are still ours.
- release: expire it now (keeping the token) if still ours.
- fenced writes: an instance writes a creator's status only in a transaction that re-reads the
  lease and finds its own token, so a paused instance that lost its lease cannot overwrite the
  new holder's status.
A crashed instance stops renewing; its leases expire after `ttl` and another instance's next
scan takes them: the takeover bound is ttl + scan interval.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore

LEASES = "ingest_leases"
TARGETS = "ingest_targets"


@dataclass(frozen=True)
class Lease:
    creator_id: str
    holder: str
    token: int
    expires_at: float


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value or 0)


class LeaseStore:
    def __init__(self, db: firestore.Client, instance_id: str, ttl_s: float, clock=time.time):
        self.db, self.instance_id, self.ttl_s, self._clock = db, instance_id, ttl_s, clock

    def _ref(self, creator_id: str):
        return self.db.collection(LEASES).document(creator_id)

    def acquire(self, creator_id: str) -> Lease | None:
        ref, me, now = self._ref(creator_id), self.instance_id, self._clock()

        @firestore.transactional
        def txn_fn(txn) -> Lease | None:
            snap = ref.get(transaction=txn)
            cur = snap.to_dict() if snap.exists else {}
            token = int(cur.get("token", 0))
            mine = cur.get("holder") == me and _seconds(cur.get("expires_at")) > now
            if not mine and cur.get("holder") and _seconds(cur.get("expires_at")) > now:
                return None  # held by a live instance
            if not mine:
                token += 1
            expires = now + self.ttl_s
            txn.set(ref, {"creator_id": creator_id, "holder": me, "token": token,
                          "expires_at": _ts(expires), "renewed_at": _ts(now)})
            return Lease(creator_id, me, token, expires)

        return txn_fn(self.db.transaction())

    def renew(self, lease: Lease) -> Lease | None:
        """The extended lease, or None if it is no longer ours (stop ingesting at once)."""
        ref, now = self._ref(lease.creator_id), self._clock()

        @firestore.transactional
        def txn_fn(txn) -> Lease | None:
            snap = ref.get(transaction=txn)
            cur = snap.to_dict() if snap.exists else {}
            if (cur.get("holder") != lease.holder or int(cur.get("token", -1)) != lease.token
                    or _seconds(cur.get("expires_at")) <= now):
                return None
            expires = now + self.ttl_s
            txn.update(ref, {"expires_at": _ts(expires), "renewed_at": _ts(now)})
            return Lease(lease.creator_id, lease.holder, lease.token, expires)

        return txn_fn(self.db.transaction())

    def release(self, lease: Lease) -> bool:
        ref = self._ref(lease.creator_id)

        @firestore.transactional
        def txn_fn(txn) -> bool:
            snap = ref.get(transaction=txn)
            cur = snap.to_dict() if snap.exists else {}
            if cur.get("holder") != lease.holder or int(cur.get("token", -1)) != lease.token:
                return False
            txn.update(ref, {"holder": "", "expires_at": _ts(0), "renewed_at": _ts(self._clock())})
            return True

        return txn_fn(self.db.transaction())

    def fenced_target_update(self, lease: Lease, fields: dict[str, Any]) -> str:
        """Merge `fields` into the creator's ingest-target document if our lease still holds.
        Returns "ok", "fenced" (lease lost) or "gone" (the target was deleted)."""
        lref = self._ref(lease.creator_id)
        tref = self.db.collection(TARGETS).document(lease.creator_id)

        @firestore.transactional
        def txn_fn(txn) -> str:
            lsnap = lref.get(transaction=txn)
            tsnap = tref.get(transaction=txn)
            cur = lsnap.to_dict() if lsnap.exists else {}
            if cur.get("holder") != lease.holder or int(cur.get("token", -1)) != lease.token:
                return "fenced"
            if not tsnap.exists:
                return "gone"
            txn.update(tref, {**fields, "ingest.instance": lease.holder,
                              "ingest.lease_token": lease.token,
                              "ingest.updated_at": firestore.SERVER_TIMESTAMP})
            return "ok"

        return txn_fn(self.db.transaction())
