"""Use cases of the creator's overlay customization (decision 062): replace the settings,
send a test alert, upload and serve the creator's sounds and images.

The settings live in `creators/{creator_id}.overlay` and the last test alert in
`creators/{creator_id}.overlay_test` (the overlay listens to that one document); uploads are
Storage objects `overlay_media/{creator_id}/<hash>.<ext>` in the manifest's `media` bucket.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from giftengine.domain import access
from giftengine.domain.overlay import (
    OverlaySettings,
    TestAlert,
    media_file,
    media_file_problem,
    media_path,
    test_alert_item,
)


class Forbidden(Exception):
    pass


class NotFound(Exception):
    pass


class Rejected(ValueError):
    """The request is well-formed but cannot be applied (a 400 with this reason)."""


class OverlayStore(Protocol):
    def put_overlay(self, creator_id: str, overlay: dict) -> None:
        """Replace `creators/{creator_id}.overlay` as a whole (no merge of its maps)."""

    def put_test_alert(self, creator_id: str, test: dict) -> None:
        """Replace `creators/{creator_id}.overlay_test` (with a server timestamp)."""


class MediaFiles(Protocol):
    def put_if_absent(self, path: str, data: bytes, content_type: str) -> bool:
        """Create the object unless it exists; True when this call created it."""

    def get(self, path: str) -> tuple[bytes, str] | None:
        """(bytes, content type) or None."""

    def exists(self, path: str) -> bool: ...


def _require_self(who, creator_id: str) -> None:
    try:
        access.require_self_or_admin(access.Actor.from_claims(who.uid, who.claims), creator_id)
    except access.Forbidden as exc:
        raise Forbidden(str(exc)) from None


def set_settings(
    creator_id: str, body: OverlaySettings, who, store: OverlayStore, files: MediaFiles
) -> dict:
    """Replace the creator's overlay settings (defaults filled in). Uploaded media the
    settings name must be the creator's own uploads."""
    _require_self(who, creator_id)
    missing = sorted(f for f in body.media_files() if not files.exists(media_path(creator_id, f)))
    if missing:
        raise Rejected(
            f"media not uploaded by {creator_id}: {', '.join(missing)} "
            f"(POST /creators/{creator_id}/overlay/media first)"
        )
    overlay = body.model_dump()
    store.put_overlay(creator_id, overlay)
    return {"creator_id": creator_id, "overlay": overlay}


def send_test_alert(creator_id: str, body: TestAlert, who, store: OverlayStore) -> dict:
    _require_self(who, creator_id)
    test = {
        "test_id": body.test_id or secrets.token_hex(8),
        "kind": body.kind,
        "item": test_alert_item(body),
    }
    store.put_test_alert(creator_id, test)
    return {"creator_id": creator_id, **test}


def upload_media(creator_id: str, data: bytes, content_type: str, who, files: MediaFiles) -> dict:
    """Store one sound or image under the creator's prefix, named by its content's hash:
    uploading the same bytes again is the same file (created once, precondition)."""
    _require_self(who, creator_id)
    try:
        file, ctype = media_file(data, content_type)
    except ValueError as exc:
        raise Rejected(str(exc)) from None
    created = files.put_if_absent(media_path(creator_id, file), data, ctype)
    return {
        "creator_id": creator_id,
        "file": file,
        "ref": f"media:{file}",
        "content_type": ctype,
        "bytes": len(data),
        "created": created,
        "path": f"/creators/{creator_id}/overlay/media/{file}",
    }


def read_media(creator_id: str, file: str, files: MediaFiles) -> tuple[bytes, str]:
    """Public (the overlay plays it signed out): only files of that creator's uploads."""
    problem = media_file_problem(file)
    if problem:
        raise Rejected(problem)
    got = files.get(media_path(creator_id, file))
    if got is None:
        raise NotFound(f"no uploaded file {file!r} for creator {creator_id!r}")
    return got


# ---- in-memory fakes for service tests ------------------------------------------------------
class MemoryOverlayStore:
    def __init__(self):
        self.creators: dict[str, dict] = {}

    def put_overlay(self, creator_id: str, overlay: dict) -> None:
        self.creators.setdefault(creator_id, {})["overlay"] = overlay

    def put_test_alert(self, creator_id: str, test: dict) -> None:
        self.creators.setdefault(creator_id, {})["overlay_test"] = test


class MemoryMediaFiles:
    def __init__(self):
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put_if_absent(self, path: str, data: bytes, content_type: str) -> bool:
        if path in self.objects:
            return False
        self.objects[path] = (data, content_type)
        return True

    def get(self, path: str) -> tuple[bytes, str] | None:
        return self.objects.get(path)

    def exists(self, path: str) -> bool:
        return path in self.objects
