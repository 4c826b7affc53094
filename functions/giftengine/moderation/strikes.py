"""Strikes and bans (pure): what a user's standing in one stream becomes after a blocked
message, a moderator's ban or an unban.

Strike points decay (halving every `half_life_s`), so an old offence weighs less; when the
decayed points reach `ban_at` the user is banned and the points start over. Bans escalate:
the n-th ban in a stream lasts `ban_ladder_s[n-1]` (the last step repeats), and the ladder
restarts after `forgive_after_s` without a ban. A ban never shortens a longer one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class StrikePolicy:
    ban_at: float = 3.0
    half_life_s: float = 3600.0
    ban_ladder_s: tuple[int, ...] = (600, 3600, 86400)
    forgive_after_s: float = 30 * 86400.0

    def __post_init__(self) -> None:
        if self.ban_at <= 0 or self.half_life_s <= 0 or self.forgive_after_s <= 0:
            raise ValueError("ban_at, half_life_s and forgive_after_s must be positive")
        if not self.ban_ladder_s or min(self.ban_ladder_s) <= 0:
            raise ValueError("ban_ladder_s needs positive durations")


@dataclass(frozen=True)
class Standing:
    """A user's record in one stream (stored on streams/{s}/chat_users/{uid})."""

    points: float = 0.0
    points_at: float = 0.0  # epoch seconds of `points`
    ban_count: int = 0  # bans on the current ladder
    banned_until: float | None = None
    last_ban_at: float | None = None

    def banned(self, now: float) -> bool:
        return self.banned_until is not None and self.banned_until > now


def points_now(s: Standing, now: float, p: StrikePolicy) -> float:
    elapsed = max(0.0, now - s.points_at)  # a clock step backwards never adds points
    return s.points * 0.5 ** (elapsed / p.half_life_s)


def _ladder_step(s: Standing, now: float, p: StrikePolicy) -> int:
    """How many earlier bans count for the next ban's length."""
    if s.last_ban_at is not None and now - s.last_ban_at >= p.forgive_after_s:
        return 0
    return s.ban_count


def ban_duration_s(s: Standing, now: float, p: StrikePolicy) -> int:
    step = _ladder_step(s, now, p)
    return p.ban_ladder_s[min(step, len(p.ban_ladder_s) - 1)]


def ban(s: Standing, now: float, p: StrikePolicy, duration_s: int | None = None) -> Standing:
    """Ban from `now` for `duration_s` (a moderator's choice) or the ladder's next step."""
    length = duration_s if duration_s is not None else ban_duration_s(s, now, p)
    until = max(now + length, s.banned_until or 0.0)
    return replace(
        s,
        points=0.0,
        points_at=now,
        ban_count=_ladder_step(s, now, p) + 1,
        banned_until=until,
        last_ban_at=now,
    )


def strike(s: Standing, points: int, now: float, p: StrikePolicy) -> tuple[Standing, float | None]:
    """Add a blocked message's points. Returns the new standing and the end of the ban it
    triggered (None when it did not)."""
    if points <= 0:
        return s, None
    # Points are kept to 6 decimals; the ban decision uses the value that would be stored,
    # so a stored standing never holds `ban_at` points without a ban.
    total = round(points_now(s, now, p) + points, 6)
    if total >= p.ban_at:
        after = ban(s, now, p)
        return after, after.banned_until
    return replace(s, points=total, points_at=now), None


def unban(s: Standing, now: float) -> tuple[Standing, bool]:
    """Lift an active ban (the ban still counts on the ladder)."""
    if not s.banned(now):
        return s, False
    return replace(s, banned_until=None), True
