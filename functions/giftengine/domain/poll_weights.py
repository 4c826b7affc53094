"""Gift-weighted poll votes: what the stream's rollup adds to a poll for each settled gift. Pure.

A poll opened with gift weights (docs/engagement.md, "Gift-weighted votes") gets, besides its
one-vote-per-viewer `counts`, a `weights` list: the coins of gifts that named a choice. The
rollup already settles every gift exactly once (a streak's units once, whatever the
redeliveries); this module decides, for each settlement, whether and where its coins count:

- the poll is known to the rollup: it has applied the poll's `open` command (recorded in the
  stream's event log by the API, so it is ordered with the gifts around it, like a goal that
  counts from the rollup that first sees it), and it has not frozen the poll yet;
- the gift occurred in the poll's window `[opened_at, closes_at)`, by `occurred_at`;
- the gift names a choice: the poll maps its gift id to a choice (`gift_choices`), or else
  the gift's comment (the event's `text`) is a chat vote (`!2`, `!vote 2`, a choice's text).

A close by hand comes as a `close` command after the gifts of its last moments may already
have been applied: the contributions of the last `RECENT_S` seconds are kept with their
`occurred_at`, so the close takes back those that occurred at or after it. The poll freezes
at the first rollup at or after `closes_at + grace_s` (gifts that rollup applies count
first); its weights never change again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from giftengine.live.domain import MAX_CHOICES, parse_chat_vote

# Contributions kept for a later close by hand: those that occurred within this many seconds
# of the newest one, at most RECENT_CAP of them (older ones can no longer be taken back).
RECENT_S = 30.0
RECENT_CAP = 500


@dataclass
class WeightedPoll:
    poll_id: str
    opened_at: float
    closes_at: float | None  # None: until the close command
    grace_s: float
    choices: list[str]
    gift_choices: dict[str, int]  # gift id -> 0-based choice
    weights: list[int] = field(default_factory=list)
    gifts: int = 0  # settlements that added weight
    frozen: bool = False
    recent: list[list] = field(default_factory=list)  # [occurred_at, choice, coins]

    def __post_init__(self) -> None:
        if not self.weights:
            self.weights = [0] * len(self.choices)

    # ---- the rule ------------------------------------------------------------------------
    def choice_for(self, gift_id: str, text: str = "") -> int | None:
        """The choice a gift names: its mapping, else its comment; None when neither."""
        if gift_id in self.gift_choices:
            return self.gift_choices[gift_id]
        return parse_chat_vote(text, tuple(self.choices)) if text else None

    def in_window(self, occurred_at: float) -> bool:
        if occurred_at < self.opened_at:
            return False
        return self.closes_at is None or occurred_at < self.closes_at

    def add(self, gift_id: str, coins: int, occurred_at: float, text: str = "") -> int | None:
        """Counts one settlement of `coins`; returns the choice it weighted, or None."""
        if self.frozen or coins <= 0 or not self.in_window(occurred_at):
            return None
        choice = self.choice_for(gift_id, text)
        if choice is None:
            return None
        self.weights[choice] += coins
        self.gifts += 1
        if self.closes_at is None:  # a close by hand may still take it back
            self.recent.append([occurred_at, choice, coins])
            newest = max(r[0] for r in self.recent)
            self.recent = [r for r in self.recent if r[0] >= newest - RECENT_S][-RECENT_CAP:]
        return choice

    def close(self, closes_at: float) -> None:
        """The window ends at `closes_at` (only the first close counts)."""
        if self.frozen or self.closes_at is not None:
            return
        self.closes_at = max(closes_at, self.opened_at)
        for at, choice, coins in self.recent:
            if at >= self.closes_at:
                self.weights[choice] -= coins
                self.gifts -= 1
        self.recent = []

    def freeze_at(self) -> float | None:
        return None if self.closes_at is None else self.closes_at + self.grace_s

    def freeze_if_due(self, now: float) -> bool:
        """Freezes the poll once its time has come; True when this call froze it."""
        due = self.freeze_at()
        if self.frozen or due is None or now < due:
            return False
        self.frozen, self.recent = True, []
        return True

    # ---- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> WeightedPoll:
        return cls(**d)


def parse_gift_choices(mapping: dict[str, int], n_choices: int) -> dict[str, int]:
    """`{gift id: 1-based choice}` as given to the API -> 0-based; ValueError when a choice
    is out of range."""
    out = {}
    for gift_id, choice in mapping.items():
        if not isinstance(choice, int) or not 1 <= choice <= min(n_choices, MAX_CHOICES):
            raise ValueError(f"gift {gift_id!r}: choice must be 1..{n_choices}")
        out[gift_id] = choice - 1
    return out
