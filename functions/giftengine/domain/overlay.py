"""A creator's overlay settings: the alert queue's rule per kind of alert.

Stored as `creators/{creator_id}.overlay` (docs/firestore.md), read live by the overlay
(web/overlay/alerts.js applies them; its DEFAULT_RULES are the defaults below).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["show", "condense", "hide"]


class AlertRule(BaseModel):
    """show: alone; condense: merged with the other waiting alerts of its kind when the queue
    would keep one waiting longer than its bound; hide: never shown. Gifts worth less than
    `min_coins` are hidden; for big gifts `min_coins` is also where "big" starts."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode
    min_coins: int = Field(default=0, ge=0, le=1_000_000_000)
    display_ms: int = Field(ge=500, le=60_000)


def _rule(mode: Mode, display_ms: int, min_coins: int = 0):
    return Field(
        default_factory=lambda: AlertRule(mode=mode, min_coins=min_coins, display_ms=display_ms)
    )


class AlertRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gift: AlertRule = _rule("condense", 4000)
    big_gift: AlertRule = _rule("show", 6000, 100)
    follow: AlertRule = _rule("condense", 3000)
    share: AlertRule = _rule("condense", 3000)
    goal_reached: AlertRule = _rule("show", 6000)
    challenge_failed: AlertRule = _rule("show", 6000)
    badge: AlertRule = _rule("show", 5000)  # a viewer earned a badge (domain/badges.py)


class OverlaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alerts: AlertRules = Field(default_factory=AlertRules)
