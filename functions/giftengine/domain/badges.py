"""Badges: which a viewer holds with a creator, and the creator's own badge rules. Pure.

Two kinds (docs/engagement.md, "Badges"):
- **Milestones**, a function of the viewer's counters in `xp/{viewer}/creators/{creator}`
  (written by the rollup, decision 058): evaluated when read, so each is held once, by
  definition, however often the events behind it were delivered. Built in: `first_gift`
  (a gift), `supporter` (1,000 coins), `regular` (10 days attended), `streak_100` (100
  consecutive days attended, in the creator's time zone), `level_10`; plus the creator's
  own rules (`Rule`: a metric from a small vocabulary and a threshold).
- **Moments**, awarded by the rollup when the stream's features announce them (a battle's
  MVP, a throne claim, top 3 of a stream when it ends, a hype train's top contributor, a
  timed round's winner when the round's reward names `round_winner`): counted in the same
  document (`award_<badge>`), shown in the alert feed as a `badge` alert when earned.
- **Round rewards** (`reward_badge` of the timed rounds' settings, decision 093): the built-in
  `round_winner` or one of the creator's own badges, awarded once per round won; a creator's
  own badge is held by its rule or by being awarded (`award_<id>` >= 1, its count shown).
- **Top 3 of a week** (`top3_week`): the first three of the creator's weekly leaderboard
  (`creator.{creator}.weekly.{Monday}`, weeks from Monday 00:00 in the creator's time zone;
  the one ranking rule: coins, then the smaller user id) when the week is judged: at the
  first read of a viewer's rewards with the creator from `TOP3_WEEK_GRACE_S` after the
  week's end (service/rewards.py; decision 091). Counted once per (viewer, creator, week)
  in the same `award_top3_week` counter shape as the moments.
- `og_tier`: the wallet's active OG tier (wallets/{uid}.tier), read with the rest.

A refund takes back the counters it gave (decision 059), so a milestone that only the
refunded coins reached is no longer held.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from giftengine.domain import periods, ranking, xp

MOMENTS = ("battle_mvp", "throne", "top3_stream", "hype_conductor", "top3_week", "round_winner")
# A week is judged this long after its end: more than a running stream's period-board flush
# (300 s), an idle streak's settlement and Pub/Sub's longest redelivery backoff (600 s).
TOP3_WEEK_GRACE_S = 3600
METRICS = ("xp", "level", "coins", "gifts", "days", "streak", "points_earned", *MOMENTS)
Metric = Literal[
    "xp",
    "level",
    "coins",
    "gifts",
    "days",
    "streak",
    "points_earned",
    "battle_mvp",
    "throne",
    "top3_stream",
    "hype_conductor",
    "top3_week",
    "round_winner",
]
# Shown in chat and overlays: plain text only (no markup characters).
TEXT_PATTERN = r"^[^<>&\"'`\x00-\x1f]{1,40}$"


class Rule(BaseModel):
    """A creator's badge: held by a viewer whose `metric` with the creator is >= `at_least`."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    name: str = Field(pattern=TEXT_PATTERN)
    metric: Metric
    at_least: int = Field(ge=1, le=1_000_000_000)


BUILT_IN = (
    Rule(id="first_gift", name="First gift", metric="gifts", at_least=1),
    Rule(id="supporter", name="Supporter", metric="coins", at_least=1_000),
    Rule(id="regular", name="Regular", metric="days", at_least=10),
    Rule(id="streak_100", name="100-day streak", metric="streak", at_least=100),
    Rule(id="level_10", name="Level 10", metric="level", at_least=10),
    Rule(id="battle_mvp", name="Battle MVP", metric="battle_mvp", at_least=1),
    Rule(id="throne", name="Took the throne", metric="throne", at_least=1),
    Rule(id="top3_stream", name="Top 3 of a stream", metric="top3_stream", at_least=1),
    Rule(id="hype_conductor", name="Hype train conductor", metric="hype_conductor", at_least=1),
    Rule(id="top3_week", name="Top 3 of a week", metric="top3_week", at_least=1),
    Rule(id="round_winner", name="Round winner", metric="round_winner", at_least=1),
)
ROUND_BADGE = "round_winner"  # the built-in badge a timed round's reward may name


def award_field(badge_id: str) -> str:
    """The counter of a moment badge, or of a creator's badge a round's reward gave."""
    return f"award_{badge_id}"


def reward_badge_problem(badge_id: str, own_ids: Iterable[str]) -> str | None:
    """Why a timed round's `reward_badge` cannot be awarded, or None: it must name the
    built-in `round_winner` or one of the creator's own badges (their ids)."""
    own = sorted(set(own_ids))
    if badge_id == ROUND_BADGE or badge_id in own:
        return None
    mine = ", ".join(own) or "none defined"
    return (
        f"reward_badge {badge_id!r} is neither {ROUND_BADGE!r} nor one of your badges "
        f"(features.rewards.badges: {mine})"
    )


def badge_name(badge_id: str, rules: tuple[Rule, ...] | list[Rule] = ()) -> str:
    rule = next((r for r in (*BUILT_IN, *rules) if r.id == badge_id), None)
    return rule.name if rule is not None else badge_id


def streak(days: dict | None, today: date) -> int:
    """Consecutive days attended ending today or yesterday (a streak survives until the end
    of the day after the last one)."""
    have = {d for d, v in (days or {}).items() if v}
    day = today if today.isoformat() in have else today - timedelta(days=1)
    n = 0
    while day.isoformat() in have:
        n += 1
        day -= timedelta(days=1)
    return n


def metrics(doc: dict | None, today: date) -> dict[str, int]:
    d = doc or {}
    x = int(d.get("xp", 0))
    out = {
        "xp": x,
        "level": xp.level(x),
        "coins": int(d.get("coins", 0)),
        "gifts": int(d.get("gifts", 0)),
        "days": sum(1 for v in (d.get("days") or {}).values() if v),
        "streak": streak(d.get("days"), today),
        "points_earned": int(d.get("points_earned", 0)),
    }
    for m in MOMENTS:
        out[m] = int(d.get(f"award_{m}", 0))
    return out


def held(doc: dict | None, today: date, rules: tuple[Rule, ...] = ()) -> list[dict]:
    """The badges a viewer holds with a creator: built in, then the creator's own."""
    m = metrics(doc, today)
    out = []
    for r in (*BUILT_IN, *rules):
        custom = r not in BUILT_IN
        awarded = int((doc or {}).get(award_field(r.id), 0)) if custom else 0
        if m[r.metric] >= r.at_least or awarded > 0:
            count = m[r.metric] if r.metric in MOMENTS else None
            if awarded > 0:  # given by timed rounds' rewards: how many times
                count = awarded
            out.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "custom": custom,
                    **({"count": count} if count is not None else {}),
                }
            )
    return out


def _zone(tz: str):
    try:
        return periods.zone(tz or "UTC")
    except ValueError:
        return periods.zone("UTC")


def week_end(week: str, tz: str) -> datetime:
    """When the week starting on Monday `week` (YYYY-MM-DD) ends: the next Monday 00:00 in
    the creator's time zone."""
    monday = date.fromisoformat(week)
    return datetime.combine(monday + timedelta(days=7), time(0), tzinfo=_zone(tz))


def last_judged_week(tz: str, now: datetime) -> str:
    """The newest week that may be judged at `now`: the week before the one that holds
    `now - TOP3_WEEK_GRACE_S` in the creator's time zone."""
    local = (now - timedelta(seconds=TOP3_WEEK_GRACE_S)).astimezone(_zone(tz))
    monday = local.date() - timedelta(days=local.weekday())
    return (monday - timedelta(days=7)).isoformat()


def may_judge(week: str, tz: str, now: datetime) -> bool:
    return week_end(week, tz) + timedelta(seconds=TOP3_WEEK_GRACE_S) <= now


def week_top3(entries: list[dict]) -> list[dict]:
    """The top 3 of a board's entries by the one ranking rule (domain/ranking.py: more coins
    first, equal coins by the smaller user id); entries without coins place nowhere."""
    ranked = sorted(
        (e for e in entries if int(e.get("coins", 0)) > 0),
        key=lambda e: ranking.sort_key(int(e["coins"]), str(e["user_id"])),
    )
    return [
        {"rank": i, "user_id": str(e["user_id"]), "coins": int(e["coins"])}
        for i, e in enumerate(ranked[:3], 1)
    ]
