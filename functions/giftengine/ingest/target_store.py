"""Firestore adapter of the ingest targets, `ingest_targets/{creator_id}` (docs/ingest.md):
read and written by the `ingest_targets` function and by the ingest worker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

TARGETS = "ingest_targets"
FAILED = "failed"


class Contention(Exception):
    """Concurrent writes to one target outlasted the transaction's retries (409 + Retry-After;
    the caller retries)."""


class TargetRepo:
    def __init__(self, db: firestore.Client):
        self.db = db

    def _ref(self, creator_id: str):
        return self.db.collection(TARGETS).document(creator_id)

    def get(self, creator_id: str) -> dict[str, Any] | None:
        snap = self._ref(creator_id).get()
        return snap.to_dict() if snap.exists else None

    def put(
        self, creator_id: str, owner_uid: str, by: str, set_owner: bool = False
    ) -> tuple[dict[str, Any], bool]:
        """Create the target or re-enable it (a failed one is retried); `set_owner`: an
        existing target's owner becomes `owner_uid` too (an admin naming it). Returns (doc,
        created)."""
        ref = self._ref(creator_id)

        @firestore.transactional
        def txn_fn(txn) -> bool:
            snap = ref.get(transaction=txn)
            now = datetime.now(UTC)
            if snap.exists:
                change = {"status": "pending", "error": None, "updated_at": now}
                txn.update(ref, change | ({"owner_uid": owner_uid} if set_owner else {}))
                return False
            txn.set(
                ref,
                {
                    "creator_id": creator_id,
                    "owner_uid": owner_uid,
                    "created_by": by,
                    "created_at": now,
                    "updated_at": now,
                    "status": "pending",
                    "error": None,
                    "ingest": {},
                },
            )
            return True

        try:
            created = txn_fn(self.db.transaction())
        except (
            gexc.Aborted,
            gexc.Conflict,
            gexc.DeadlineExceeded,
            gexc.ServiceUnavailable,
            gexc.TooManyRequests,
        ) as exc:
            raise Contention(f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # google-cloud-firestore: "Failed to commit ... attempts"
            raise Contention(str(exc)) from None
        return self.get(creator_id) or {}, created

    def delete(self, creator_id: str) -> bool:
        ref = self._ref(creator_id)
        if not ref.get().exists:
            return False
        ref.delete()
        return True

    def active_ids(self) -> list[str]:
        """Targets a worker should follow: every one not marked failed."""
        return [
            s.id
            for s in self.db.collection(TARGETS).select(["status"]).stream()
            if (s.to_dict() or {}).get("status") != FAILED
        ]

    def status(self, creator_id: str) -> str | None:
        doc = self.get(creator_id)
        return doc.get("status") if doc else None
