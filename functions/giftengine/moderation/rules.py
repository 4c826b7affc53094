"""From what a message is to what happens to it (pure): strictness levels, the creator's
category overrides, and the action and strike each finding earns.

Actions: `allow` (shown), `warn` (shown; the sender gets a warning), `hold` (hidden until a
moderator restores it; no strike), `block` (hidden, flagged for review, and a strike against
the sender; strikes.py turns strikes into bans). A creator keyword hit holds the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from giftengine.moderation.classify import CATEGORIES, Finding, classify

Action = Literal["allow", "warn", "hold", "block"]
ACTIONS: tuple[Action, ...] = ("allow", "warn", "hold", "block")
LEVELS = ("relaxed", "standard", "strict")
DEFAULT_LEVEL = "standard"

# level -> category -> action by severity (0 exclamation, 1 mild, 2 severe)
_TABLE: dict[str, dict[str, tuple[Action, Action, Action]]] = {
    "relaxed": {
        "profanity": ("allow", "allow", "allow"),
        "insult": ("allow", "allow", "block"),
        "hate": ("block", "block", "block"),
        "threat": ("block", "block", "block"),
        "sexual": ("allow", "allow", "block"),
        "spam": ("hold", "hold", "hold"),
        "personal": ("hold", "hold", "hold"),
    },
    "standard": {
        "profanity": ("allow", "warn", "warn"),
        "insult": ("warn", "warn", "block"),
        "hate": ("block", "block", "block"),
        "threat": ("block", "block", "block"),
        "sexual": ("warn", "warn", "block"),
        "spam": ("block", "block", "block"),
        "personal": ("hold", "hold", "hold"),
    },
    "strict": {
        "profanity": ("warn", "hold", "hold"),
        "insult": ("block", "block", "block"),
        "hate": ("block", "block", "block"),
        "threat": ("block", "block", "block"),
        "sexual": ("hold", "block", "block"),
        "spam": ("block", "block", "block"),
        "personal": ("hold", "hold", "hold"),
    },
}
# Hate and threats are never shown, whatever the overrides say.
_FLOOR: dict[str, Action] = {"hate": "hold", "threat": "hold"}
# Strike points a *blocked* finding adds (strikes.py): profanity alone never bans, a first
# mild insult or spam message does not either; hate, threats and solicitation ban at once.
_STRIKE = {
    ("profanity", 0): 0,
    ("profanity", 1): 0,
    ("profanity", 2): 0,
    ("insult", 0): 1,
    ("insult", 1): 1,
    ("insult", 2): 2,
    ("spam", 1): 1,
    ("spam", 2): 2,
    ("personal", 2): 0,
    ("sexual", 1): 1,
    ("sexual", 2): 3,
    ("hate", 2): 3,
    ("threat", 2): 3,
}

_REASONS = {
    "profanity": "profanity",
    "insult": "insults or harassment",
    "hate": "hate or slurs",
    "threat": "threats or self-harm incitement",
    "sexual": "sexual content or solicitation",
    "spam": "spam, links or scams",
    "personal": "personal information",
}


class InvalidConfig(ValueError):
    """A moderation config that cannot be stored; maps to 400."""


@dataclass(frozen=True)
class ModerationConfig:
    """What a creator chose for one stream."""

    level: str = DEFAULT_LEVEL
    overrides: Mapping[str, Action] = field(default_factory=dict)

    @classmethod
    def parse(cls, level: str | None, overrides: Mapping[str, str] | None) -> ModerationConfig:
        level = level or DEFAULT_LEVEL
        if level not in LEVELS:
            raise InvalidConfig(f"level must be one of {', '.join(LEVELS)}")
        clean: dict[str, Action] = {}
        for cat, action in (overrides or {}).items():
            if cat not in CATEGORIES:
                raise InvalidConfig(f"unknown category {cat!r}; one of {', '.join(CATEGORIES)}")
            if action not in ACTIONS:
                raise InvalidConfig(f"{cat}: action must be one of {', '.join(ACTIONS)}")
            floor = _FLOOR.get(cat)
            if floor and ACTIONS.index(action) < ACTIONS.index(floor):
                raise InvalidConfig(f"{cat} is never shown: the mildest action is {floor}")
            clean[cat] = action  # type: ignore[assignment]
        return cls(level, clean)

    @classmethod
    def from_doc(cls, doc: Mapping | None) -> ModerationConfig:
        """A stored config; anything unreadable falls back to the default level."""
        try:
            return cls.parse((doc or {}).get("level"), (doc or {}).get("overrides"))
        except (InvalidConfig, AttributeError):
            return cls()

    def to_doc(self) -> dict:
        return {"level": self.level, "overrides": dict(self.overrides)}

    def action_for(self, f: Finding) -> Action:
        if f.severity >= 1 and f.category in self.overrides:
            return self.overrides[f.category]
        return _TABLE[self.level][f.category][f.severity]


@dataclass(frozen=True)
class Verdict:
    action: Action
    category: str | None  # the finding that decided, None when allowed or a keyword hit
    score: float  # its confidence (0 when allowed)
    reason: str  # "" when allowed; shown to the sender otherwise
    keyword: str | None = None
    strike: int = 0  # points against the sender (strikes.py), only on block
    term: str | None = None  # what matched, for moderators

    @property
    def visible(self) -> bool:
        return self.action in ("allow", "warn")


def _reason(action: Action, category: str) -> str:
    what = _REASONS[category]
    return {
        "warn": f"warning: please keep the chat friendly ({what})",
        "hold": f"message held for review: {what}",
        "block": f"message blocked: {what}",
    }[action]


def decide(found: Iterable[Finding], keyword: str | None, config: ModerationConfig) -> Verdict:
    """The strictest action any finding earns under the stream's config; a creator keyword
    hit holds a message that would otherwise be shown."""
    best: tuple[int, float, Finding] | None = None
    for f in found:
        rank = ACTIONS.index(config.action_for(f))
        if rank and (best is None or (rank, f.score) > best[:2]):
            best = (rank, f.score, f)
    action: Action = ACTIONS[best[0]] if best else "allow"
    if keyword is not None and action in ("allow", "warn"):
        return Verdict(
            "hold",
            None,
            best[2].score if best else 0.0,
            "message held: it matches this stream's keyword filter",
            keyword,
        )
    if best is None:
        return Verdict("allow", None, 0.0, "")
    f = best[2]
    strike = _STRIKE.get((f.category, f.severity), 1) if action == "block" else 0
    return Verdict(
        action, f.category, f.score, _reason(action, f.category), keyword, strike, f.term
    )


def shown_by_default(text: str) -> bool:
    """Whether the chat's built-in classifier at the standard level, with no keyword list,
    would show `text` (its first 600 characters); blank text is not shown."""
    if not text.strip():
        return False
    return decide(classify(text[:600]), None, ModerationConfig()).visible
