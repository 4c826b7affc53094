"""Firestore adapter of `service.battles.BattleRepo`: `battles/{id}` (top-level fields; the
streams' rollups write `sides`) and `battle_streams/{stream_id}` locks. No rule here."""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from giftengine.service.battles import Step


class FirestoreBattles:
    def __init__(self, db: firestore.Client):
        self.db = db

    def _ref(self, battle_id: str):
        return self.db.collection("battles").document(battle_id)

    def create(self, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        ref = self._ref(doc["battle_id"])
        try:
            ref.create(doc)
        except gexc.AlreadyExists:
            return ref.get().to_dict() or {}, False
        return doc, True

    def get(self, battle_id: str) -> dict[str, Any] | None:
        snap = self._ref(battle_id).get()
        return snap.to_dict() if snap.exists else None

    def transact(self, battle_id: str, step: Step) -> dict[str, Any]:
        ref = self._ref(battle_id)
        locks_col = self.db.collection("battle_streams")

        @firestore.transactional
        def run(tx) -> dict[str, Any]:
            snap = ref.get(transaction=tx)
            doc = snap.to_dict() if snap.exists else {}
            lock_refs = {s: locks_col.document(s) for s in doc.get("streams") or []}
            locks = {}
            for s, lref in lock_refs.items():
                ls = lref.get(transaction=tx)
                locks[s] = ls.to_dict() if ls.exists else None
            change = step(dict(doc), locks)
            if change.battle:
                tx.set(ref, change.battle, merge=True)
            for s, lock in change.locks.items():
                tx.set(lock_refs[s], lock)
            return {**doc, **change.battle}

        return run(self.db.transaction())
