"""Firestore adapter of `service.streams.OwnershipRepo`.

`stream_owners/{stream_id}`: {stream_id, creator_id, source, tiktok_username, title,
created_by, created_at}; created once (create precondition), never reassigned.
`creators/{creator_id}/moderators/{uid}`: {uid, appointed_by, appointed_at}.
Layout and rules: docs/firestore.md, firestore.rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from giftengine.domain.access import MAX_CREATOR_MODERATORS, StreamOwner

OWNERS = "stream_owners"


def _owner(d: dict[str, Any]) -> StreamOwner:
    return StreamOwner(
        d["stream_id"],
        d["creator_id"],
        d.get("source", "app"),
        d.get("tiktok_username"),
        d.get("title") or "",
    )


class FirestoreOwnership:
    def __init__(self, db: firestore.Client):
        self.db = db

    def get(self, stream_id: str) -> StreamOwner | None:
        snap = self.db.collection(OWNERS).document(stream_id).get()
        return _owner(snap.to_dict() or {}) if snap.exists else None

    def create(self, owner: StreamOwner, by: str, at: datetime) -> tuple[StreamOwner, bool]:
        ref = self.db.collection(OWNERS).document(owner.stream_id)
        try:
            ref.create(
                {
                    "stream_id": owner.stream_id,
                    "creator_id": owner.creator_id,
                    "source": owner.source,
                    "tiktok_username": owner.tiktok_username,
                    "title": owner.title,
                    "created_by": by,
                    "created_at": at,
                }
            )
        except gexc.AlreadyExists:
            found = self.get(owner.stream_id)
            if found is None:  # deleted in between (only an operator deletes records)
                raise
            return found, False
        return owner, True

    def _mods(self, creator_id: str):
        return self.db.collection("creators").document(creator_id).collection("moderators")

    def moderators(self, creator_id: str) -> list[dict[str, Any]]:
        docs = self._mods(creator_id).limit(MAX_CREATOR_MODERATORS + 1).stream()
        return sorted((d.to_dict() or {} for d in docs), key=lambda m: m.get("uid", ""))

    def appoint(self, creator_id: str, uid: str, by: str, at: datetime) -> bool:
        try:
            self._mods(creator_id).document(uid).create(
                {"uid": uid, "creator_id": creator_id, "appointed_by": by, "appointed_at": at}
            )
        except gexc.AlreadyExists:
            return False
        return True

    def dismiss(self, creator_id: str, uid: str) -> bool:
        ref = self._mods(creator_id).document(uid)
        if not ref.get().exists:
            return False
        ref.delete()
        return True
