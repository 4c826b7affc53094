"""Adapters of the overlay customization (service/overlay.py): the creator's document in
Firestore and the uploaded media in Cloud Storage."""

from __future__ import annotations

from google.cloud import firestore


class FirestoreOverlayStore:
    def __init__(self, client: firestore.Client):
        self.db = client

    def _set(self, creator_id: str, field: str, value: dict) -> None:
        # merge= with field paths replaces those fields whole: a gift mapping the creator
        # removed does not survive as it would under merge=True.
        self.db.collection("creators").document(creator_id).set(
            {"creator_id": creator_id, field: value, "updated_at": firestore.SERVER_TIMESTAMP},
            merge=["creator_id", field, "updated_at"],
        )

    def put_overlay(self, creator_id: str, overlay: dict) -> None:
        self._set(creator_id, "overlay", overlay)

    def put_test_alert(self, creator_id: str, test: dict) -> None:
        self._set(creator_id, "overlay_test", {**test, "at": firestore.SERVER_TIMESTAMP})


class StorageMedia:
    def __init__(self, client, bucket: str):
        self.bucket = client.bucket(bucket)

    def put_if_absent(self, path: str, data: bytes, content_type: str) -> bool:
        from google.api_core.exceptions import PreconditionFailed

        blob = self.bucket.blob(path)
        blob.cache_control = "public, max-age=31536000, immutable"  # named by content hash
        # The precondition makes "created" exact on Cloud Storage; gcp-storage-emulator ignores
        # it, so the existence check answers there (a race between two uploads of the same
        # bytes writes the same object: harmless).
        if blob.exists():
            return False
        try:
            blob.upload_from_string(data, content_type=content_type, if_generation_match=0)
        except PreconditionFailed:
            return False
        return True

    def get(self, path: str) -> tuple[bytes, str] | None:
        from google.api_core.exceptions import NotFound

        blob = self.bucket.blob(path)
        try:
            data = blob.download_as_bytes()
        except NotFound:
            return None
        return data, blob.content_type or "application/octet-stream"

    def exists(self, path: str) -> bool:
        return self.bucket.blob(path).exists()
