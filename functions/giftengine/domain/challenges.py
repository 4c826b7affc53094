"""Challenges: goals with a deadline (docs/engagement.md). Pure.

A challenge is a goal document with a `deadline` (epoch s): the rollup counts its progress
like any goal's (from the rollup that first sees it), a challenge reached in time raises the
goal's `goal_reached` alert, and one still short of its target at the first rollup at or
after its deadline fails, once, with a `challenge_failed` alert. The rollup calls `expire`
after it has applied its events, so events applied by that rollup still count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class _Goal(Protocol):
    goal_id: str
    metric: str
    target: int
    progress: int
    reached: bool
    title: str
    deadline: float | None
    failed: bool


def expire(goals: Iterable[Any], now: float) -> list[dict]:
    """Marks challenges past their deadline and not reached as failed; returns their alerts."""
    alerts = []
    for g in goals:
        if g.deadline is None or g.reached or g.failed or now < g.deadline:
            continue
        g.failed = True
        alerts.append(
            {
                "type": "challenge_failed",
                "goal_id": g.goal_id,
                "metric": g.metric,
                "target": g.target,
                "progress": g.progress,
                "title": g.title,
            }
        )
    return alerts
