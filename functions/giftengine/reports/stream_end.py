"""Entry-point body of `on_stream_end` (Pub/Sub push of a `stream_end` event): parse, call
the use case. Apart from reports/http.py (the api's routes) because it writes the report's
files: this module reaches pyarrow, the api's modules do not (decision 083)."""

from __future__ import annotations

import base64
import binascii

from pydantic import ValidationError

from giftengine.reports import service


def on_stream_end(cloud_event) -> None:
    """Raises while the live state catches up, so the platform redelivers; a malformed
    message is dropped (it was dead-lettered upstream)."""
    from giftengine.bootstrap import export_deps

    message = (cloud_event.data or {}).get("message") or {}
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
        service.on_stream_end(data, export_deps(), _published_at(message))
    except (binascii.Error, ValidationError):
        return


def _published_at(message: dict) -> float | None:
    """The message's publish time (epoch s), None when absent or unreadable."""
    from datetime import datetime

    raw = message.get("publishTime") or message.get("publish_time")
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
