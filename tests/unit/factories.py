"""Builders of EngagementEvents for tests (the same JSON shape sources publish)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from giftengine.domain.events import EngagementEvent

T0 = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
_seq = count()


def ev(
    kind: str,
    stream: str = "s1",
    *,
    event_id: str | None = None,
    user: str | None = "u1",
    at: datetime | None = None,
    **fields,
) -> EngagementEvent:
    data = {
        "event_id": event_id or f"e{next(_seq)}",
        "source": "tiktok",
        "stream_id": stream,
        "kind": kind,
        "occurred_at": (at or T0).isoformat(),
        **fields,
    }
    if user is not None:
        data["user"] = {"id": user, "handle": f"@{user}", "name": user.upper()}
    return EngagementEvent.model_validate(data)


def gift(
    user: str = "u1",
    gift_id: str = "rose",
    coins: int = 1,
    *,
    streakable: bool = True,
    count: int = 1,
    end: bool = True,
    group: str = "g1",
    secs: float = 0,
    **kw,
):
    return ev(
        "gift",
        user=user,
        at=T0 + timedelta(seconds=secs),
        gift={"id": gift_id, "name": gift_id.title(), "coins": coins, "streakable": streakable},
        repeat_count=count,
        repeat_end=end,
        group_id=group,
        **kw,
    )
