"""Entry-point bodies of the reports' api routes: parse, call the use case, map errors.
`on_stream_end`'s body is reports/stream_end.py: it writes the files, these do not, so the
api ships without pyarrow (decision 083)."""

from __future__ import annotations

from giftengine.reports import service


def _valid_id(value: str, what: str) -> None:
    import re

    from giftengine.domain.events import ID_PATTERN
    from giftengine.entrypoints.http import ApiError

    if len(value) > 200 or not re.fullmatch(ID_PATTERN, value):
        raise ApiError(400, "invalid_request", f"{what} is not a valid id")


def report(request, stream_id: str, who) -> dict:
    """GET /reports/{stream_id}[?refresh=1]: the saved report, or computed now."""
    from giftengine.bootstrap import report_deps
    from giftengine.entrypoints.http import query_flag

    _valid_id(stream_id, "stream_id")
    refresh = query_flag(request, "refresh")
    return service.report_for(stream_id, _actor(who), report_deps(), refresh)


def analytics(request, creator_id: str, who) -> dict:
    """GET /creators/{creator_id}/analytics?days=7|30|90."""
    from giftengine.bootstrap import report_deps
    from giftengine.entrypoints.http import ApiError

    _valid_id(creator_id, "creator_id")
    raw = request.args.get("days") or "30"
    if not raw.isdigit() or int(raw) not in service.WINDOWS:
        raise ApiError(400, "invalid_request", f"days must be one of {service.WINDOWS}")
    return service.analytics_for(creator_id, _actor(who), report_deps(), int(raw))


def _actor(who):
    from giftengine.domain.access import Actor

    return Actor.from_claims(who.uid, who.claims)
