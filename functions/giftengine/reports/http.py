"""Entry-point bodies of the reports: parse, call the use case, map errors."""

from __future__ import annotations

import base64
import binascii

from pydantic import ValidationError

from giftengine.reports import service


def on_stream_end(cloud_event) -> None:
    """Pub/Sub push of a `stream_end` event. Raises while the live state catches up, so the
    platform redelivers; a malformed message is dropped (it was dead-lettered upstream)."""
    from giftengine.bootstrap import report_deps

    message = (cloud_event.data or {}).get("message") or {}
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
        service.on_stream_end(data, report_deps(), _published_at(message))
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


def _valid_id(value: str, what: str) -> None:
    import re

    from giftengine.domain.events import ID_PATTERN
    from giftengine.entrypoints.http import ApiError

    if len(value) > 200 or not re.fullmatch(ID_PATTERN, value):
        raise ApiError(400, "invalid_request", f"{what} is not a valid id")


def report(request, stream_id: str, who) -> dict:
    """GET /reports/{stream_id}[?refresh=1]: the saved report, or computed now."""
    from giftengine.bootstrap import report_deps

    _valid_id(stream_id, "stream_id")
    refresh = request.args.get("refresh") in ("1", "true")
    return service.report_for(stream_id, who.uid, who.is_admin, report_deps(), refresh)


def analytics(request, creator_id: str, who) -> dict:
    """GET /creators/{creator_id}/analytics?days=7|30|90."""
    from giftengine.bootstrap import report_deps
    from giftengine.entrypoints.http import ApiError

    _valid_id(creator_id, "creator_id")
    raw = request.args.get("days") or "30"
    if not raw.isdigit() or int(raw) not in service.WINDOWS:
        raise ApiError(400, "invalid_request", f"days must be one of {service.WINDOWS}")
    return service.analytics_for(creator_id, who.uid, who.is_admin, report_deps(), int(raw))
