"""Firestore side of the reports (layout: docs/reports.md).

- `reports/{stream_id}`: the report summary the dashboard reads (no per-gifter list);
- `reports/{stream_id}/parts/gifters`: the stream's gifter ids as one JSON text field
  (new gifters and retention need them; server-only);
- the stream's events come through `FirestoreStreamStore.stream_events`
  (adapters/firestore_store.py),
  the one reader of the event log (single-event records and batches alike).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from giftengine.adapters.firestore_store import FirestoreStreamStore
from giftengine.domain.events import EngagementEvent

# A document holds at most 1 MiB: ~30 bytes an id leaves room for this many gifters.
MAX_GIFTER_IDS = 25_000


class FirestoreEventLog:
    def __init__(self, store: FirestoreStreamStore):
        self.store = store

    def events(self, stream_id: str) -> Iterable[tuple[float | None, EngagementEvent]]:
        return self.store.stream_log(stream_id, page=1000)

    def last_recorded_at(self, stream_id: str) -> float | None:
        """When the stream's newest event record was committed (no event is read)."""
        q = (
            self.store.stream_ref(stream_id)
            .collection("events")
            .order_by("ingested_at", direction=firestore.Query.DESCENDING)
            .select(["ingested_at"])
            .limit(1)
        )
        snaps = list(q.stream())
        return snaps[0].get("ingested_at").timestamp() if snaps else None


class FirestoreReportStore:
    def __init__(self, client: firestore.Client):
        self.db = client

    def _report(self, stream_id: str):
        return self.db.collection("reports").document(stream_id)

    def live(self, stream_id: str) -> dict | None:
        snap = self.db.collection("streams").document(stream_id).get()
        return snap.to_dict() if snap.exists else None

    def moderation_summary(self, stream_id: str) -> dict:
        stream = self.db.collection("streams").document(stream_id)
        held = stream.collection("chat_held")

        def count(q) -> int:
            return int(q.count().get()[0][0].value)

        out = {
            action if action != "hold" else "held": count(
                held.where(filter=FieldFilter("action", "==", action))
            )
            for action in ("hold", "block", "hide")
        }
        out["blocked"] = out.pop("block")
        out["hidden"] = out.pop("hide")
        out["bans"] = count(
            stream.collection("chat_users").where(filter=FieldFilter("ban_count", ">", 0))
        )
        return out

    def get_report(self, stream_id: str) -> dict | None:
        snap = self._report(stream_id).get()
        return snap.to_dict() if snap.exists else None

    def previous_reports(self, creator_id: str, before: str, limit: int) -> list[dict]:
        q = (
            self.db.collection("reports")
            .where(filter=FieldFilter("creator_id", "==", creator_id))
            .where(filter=FieldFilter("started_at", "<", before))
            .order_by("started_at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [s.to_dict() for s in q.stream()]

    def creator_reports(self, creator_id: str, since: str) -> list[dict]:
        q = (
            self.db.collection("reports")
            .where(filter=FieldFilter("creator_id", "==", creator_id))
            .where(filter=FieldFilter("started_at", ">=", since))
            .order_by("started_at")
            .limit(1000)
        )
        return [s.to_dict() for s in q.stream()]

    def gifter_ids(self, stream_ids: list[str]) -> dict[str, list[str]]:
        refs = [self._report(s).collection("parts").document("gifters") for s in stream_ids]
        out = {s: [] for s in stream_ids}
        for snap in self.db.get_all(refs) if refs else []:
            if snap.exists:
                out[snap.reference.parent.parent.id] = json.loads(snap.get("ids") or "[]")
        return out

    def hype_trains(self, creator_id: str, stream_id: str) -> list[dict]:
        """The stream's hype train records (`creators/{c}/hype_trains/{stream}_{n}`, written
        by the rollup: domain/hype.py), at most 100."""
        from giftengine.domain.features import path_segment

        q = (
            self.db.collection("creators")
            .document(path_segment(creator_id))
            .collection("hype_trains")
            .where(filter=FieldFilter("stream_id", "==", stream_id))
            .limit(100)
        )
        return [d.to_dict() or {} for d in q.stream()]

    def save_report(self, summary: dict, gifter_ids: list[str]) -> None:
        """Both documents in one commit, overwritten whole: a retry writes the same."""
        ref = self._report(summary["stream_id"])
        batch = self.db.batch()
        batch.set(ref, {**summary, "updated_at": firestore.SERVER_TIMESTAMP})
        batch.set(
            ref.collection("parts").document("gifters"),
            {
                "ids": json.dumps(gifter_ids[:MAX_GIFTER_IDS], separators=(",", ":")),
                "truncated": len(gifter_ids) > MAX_GIFTER_IDS,
            },
        )
        batch.commit()
