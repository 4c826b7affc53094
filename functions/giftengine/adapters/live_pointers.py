"""Writes to `live_pointers/{creator_id}` (domain/live_pointer.py, decision 060): a merge on
one map field, no read, added to the caller's batch or transaction."""

from __future__ import annotations

from google.cloud import firestore

from giftengine.domain.live_pointer import PointerChange

COLLECTION = "live_pointers"
OWNERS = "stream_owners"


def owner_uid(db: firestore.Client, stream_id: str) -> str | None:
    snap = db.collection(OWNERS).document(stream_id).get(["creator_id"])
    return (snap.to_dict() or {}).get("creator_id") if snap.exists else None


def live_entry(creator_id: str, stream_id: str, source: str = "tiktok") -> PointerChange:
    entry = {"stream_id": stream_id, "source": source, "started_at": None}
    return PointerChange(creator_id, stream_id, entry)


def write(writer, db: firestore.Client, change: PointerChange) -> str:
    """Add (with `since`, the server time; it orders streams without a start event) or
    remove the stream in the creator's pointer. `writer`: a batch or a transaction, or None
    for a write of its own."""
    ref = db.collection(COLLECTION).document(change.creator_id)
    if change.entry is None:
        value = firestore.DELETE_FIELD
    else:
        value = {**change.entry, "since": firestore.SERVER_TIMESTAMP}
    doc = {"creator_id": change.creator_id, "streams": {change.stream_id: value}}
    data = {**doc, "updated_at": firestore.SERVER_TIMESTAMP}
    if writer is None:
        ref.set(data, merge=True)
    else:
        writer.set(ref, data, merge=True)
    return ref.path
