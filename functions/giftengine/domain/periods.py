"""Leaderboard boards and their period keys.

Calendar periods in the creator's time zone: days start at 00:00, weeks on Monday 00:00,
months on the 1st. Global boards use UTC. Keys are stable strings (docs/firestore.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Names the time zone database holds that name no place: the host's own zone, its rules
# file and tzdata's placeholder. A creator's setting must be an IANA zone like "Asia/Kathmandu".
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    if name in NOT_PLACES or name.startswith(("posix/", "right/")):
        raise ValueError(f"unknown time zone {name!r} (an IANA name like 'Asia/Kathmandu')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def day_key(at: datetime, tz: str) -> str:
    return at.astimezone(zone(tz)).strftime("%Y-%m-%d")


def week_key(at: datetime, tz: str) -> str:
    local = at.astimezone(zone(tz))
    monday = local.date() - timedelta(days=local.weekday())
    return monday.isoformat()


def month_key(at: datetime, tz: str) -> str:
    return at.astimezone(zone(tz)).strftime("%Y-%m")


@dataclass(frozen=True)
class Board:
    board_id: str
    scope: str  # "stream" | "creator" | "global"
    period: str  # "session" | "daily" | "weekly" | "monthly" | "alltime"
    period_key: str = ""
    creator_id: str | None = None
    stream_id: str | None = None


def session_board(stream_id: str) -> Board:
    return Board(f"stream.{stream_id}", "stream", "session", stream_id=stream_id)


def period_boards(creator_id: str, tz: str, at: datetime) -> list[Board]:
    """Every board (other than the stream session) that a gift at `at` counts on."""
    c = creator_id
    d, w, m = day_key(at, tz), week_key(at, tz), month_key(at, tz)
    gw = week_key(at, "UTC")
    return [
        Board(f"creator.{c}.daily.{d}", "creator", "daily", d, creator_id=c),
        Board(f"creator.{c}.weekly.{w}", "creator", "weekly", w, creator_id=c),
        Board(f"creator.{c}.monthly.{m}", "creator", "monthly", m, creator_id=c),
        Board(f"creator.{c}.alltime", "creator", "alltime", creator_id=c),
        Board(f"global.weekly.{gw}", "global", "weekly", gw),
        Board("global.alltime", "global", "alltime"),
    ]


def board_from_id(board_id: str) -> Board:
    """Inverse of the board ids above (creator ids may contain dots: parse from both ends)."""
    parts = board_id.split(".")
    if parts[0] == "stream" and len(parts) >= 2:
        sid = board_id[len("stream.") :]
        return Board(board_id, "stream", "session", stream_id=sid)
    if parts[0] == "global":
        if parts[1:] == ["alltime"]:
            return Board(board_id, "global", "alltime")
        if len(parts) == 3 and parts[1] == "weekly":
            return Board(board_id, "global", "weekly", parts[2])
    if parts[0] == "creator" and len(parts) >= 3:
        if parts[-1] == "alltime":
            return Board(board_id, "creator", "alltime", creator_id=".".join(parts[1:-1]))
        if len(parts) >= 4 and parts[-2] in ("daily", "weekly", "monthly"):
            return Board(
                board_id, "creator", parts[-2], parts[-1], creator_id=".".join(parts[1:-2])
            )
    raise ValueError(f"not a board id: {board_id!r}")
