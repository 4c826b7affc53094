"""Cloud Storage sink of the report files (the manifest's `exports` bucket)."""

from __future__ import annotations


class StorageFiles:
    def __init__(self, client, bucket: str):
        self.bucket = client.bucket(bucket)

    def write(self, path: str, data: bytes, content_type: str) -> str:
        blob = self.bucket.blob(path)
        blob.upload_from_string(data, content_type=content_type)
        return f"gs://{self.bucket.name}/{path}"
