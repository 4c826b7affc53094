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

A close by hand (of a poll without a duration, or before its duration ends) comes as a
`close` command after the gifts of its last moments may already have been applied: the
contributions of the last `RECENT_S` seconds are kept with their `occurred_at`, so the close
takes back those that occurred at or after it. The poll freezes
at the first rollup at or after `closes_at + grace_s` (gifts that rollup applies count
first); its weights never change again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from giftengine.domain.features import Feature, Settled, SideWrite
from giftengine.live.domain import MAX_CHOICES, parse_chat_vote

if TYPE_CHECKING:  # the stream imports the registry, which imports this module
    from giftengine.domain.events import EngagementEvent
    from giftengine.domain.stream import StreamState

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
    # {"t": occurred_at, "c": choice, "n": coins} (maps: Firestore stores no nested arrays)
    recent: list[dict] = field(default_factory=list)

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
        self.recent.append({"t": occurred_at, "c": choice, "n": coins})  # a close may take it back
        newest = max(r["t"] for r in self.recent)
        self.recent = [r for r in self.recent if r["t"] >= newest - RECENT_S][-RECENT_CAP:]
        return choice

    def close(self, closes_at: float) -> None:
        """The window ends at `closes_at`, if that is sooner than it would have."""
        closes_at = max(closes_at, self.opened_at)
        if self.frozen or (self.closes_at is not None and closes_at >= self.closes_at):
            return
        self.closes_at = closes_at
        for r in self.recent:
            if r["t"] >= self.closes_at:
                self.weights[r["c"]] -= r["n"]
                self.gifts -= 1
        self.recent = [r for r in self.recent if r["t"] < self.closes_at]

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


# ---- the stream feature (domain/features.py) ---------------------------------------------
FEATURE = "poll_weights"
MAX_MAP_CHARS = 500  # the `gifts` parameter of the open command (a control param's limit)


def open_params(poll: WeightedPoll) -> dict:
    """The `open` command's parameters (flat, as control events require): times in ms."""
    return {
        "poll_id": poll.poll_id,
        "opened_ms": round(poll.opened_at * 1000),
        "closes_ms": None if poll.closes_at is None else round(poll.closes_at * 1000),
        "grace_ms": round(poll.grace_s * 1000),
        "choices": len(poll.choices),
        **{f"c{i + 1}": c for i, c in enumerate(poll.choices)},
        "gifts": json.dumps(poll.gift_choices, separators=(",", ":"), sort_keys=True),
    }


def _from_open(p: dict) -> WeightedPoll | None:
    try:
        n = int(p["choices"])
        choices = [str(p[f"c{i + 1}"]) for i in range(n)]
        gifts = json.loads(p["gifts"])
        closes = p.get("closes_ms")
        poll = WeightedPoll(
            poll_id=str(p["poll_id"]),
            opened_at=int(p["opened_ms"]) / 1000,
            closes_at=None if closes is None else int(closes) / 1000,
            grace_s=int(p["grace_ms"]) / 1000,
            choices=choices,
            gift_choices={str(g): int(c) for g, c in gifts.items() if 0 <= int(c) < n},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not a command the API writes: ignored
    return poll


class PollWeightsFeature(Feature):
    """Gift weights of the stream's current weighted poll, inside the rollup.

    State: the poll (`WeightedPoll`), bounded (its `recent` list is capped). Each rollup
    that changes the weights writes them onto the poll document
    (`streams/{s}/polls/{p}`: `weights`, `weighted_gifts`, `weights_final`) in its own
    transaction: at most one write per rollup, so at most about one per second."""

    name = FEATURE

    def __init__(self) -> None:
        self.poll: WeightedPoll | None = None
        self._pending: dict[str, tuple[str, int, float]] = {}  # event id -> settled gift
        self._loaded: dict | None = None

    def load(self, d: dict) -> None:
        self.poll = WeightedPoll.from_dict(d["poll"]) if d.get("poll") else None
        self._loaded = self.to_dict()

    def to_dict(self) -> dict:
        return {"poll": self.poll.to_dict()} if self.poll else {}

    def on_settled(self, st: StreamState, s: Settled) -> None:
        p = self.poll
        if p is None or p.frozen:
            return
        at = s.occurred_at.timestamp()
        if s.gift_id in p.gift_choices or s.event_id is None:
            p.add(s.gift_id, s.coins, at)
        else:  # its comment decides: the event is handed to on_event right after this
            self._pending[s.event_id] = (s.gift_id, s.coins, at)

    def on_event(self, st: StreamState, ev: EngagementEvent) -> None:
        if ev.kind == "control" and ev.control is not None and ev.control.feature == FEATURE:
            self._command(st, ev.control.action, dict(ev.control.params))
        elif ev.kind == "gift" and ev.event_id in self._pending:
            gift_id, coins, at = self._pending.pop(ev.event_id)
            if self.poll is not None:
                self.poll.add(gift_id, coins, at, ev.text)

    def _command(self, st: StreamState, action: str, params: dict) -> None:
        if action == "open":
            poll = _from_open(params)
            if poll is None or (self.poll is not None and self.poll.poll_id == poll.poll_id):
                return  # malformed, or the same poll's command again
            if self.poll is not None and not self.poll.frozen:
                self.poll.frozen = True  # a newer poll replaces it: its weights are final
                self._write(st)
            self.poll = poll
        elif action == "close" and self.poll is not None:
            closes = params.get("closes_ms")
            if params.get("poll_id") == self.poll.poll_id and isinstance(closes, int):
                self.poll.close(closes / 1000)

    def tick(self, st: StreamState, now: float) -> None:
        self._pending.clear()
        if self.poll is None:
            return
        self.poll.freeze_if_due(now)
        if self.to_dict() != self._loaded:
            self._write(st)
            self._loaded = self.to_dict()

    def _write(self, st: StreamState) -> None:
        p = self.poll
        assert p is not None
        try:
            w = SideWrite(
                f"streams/{st.stream_id}/polls/{p.poll_id}",
                set={"weights": list(p.weights), "weighted_gifts": p.gifts,
                     "weights_final": p.frozen},
            )  # fmt: skip
        except ValueError:
            return  # an id a side write cannot name: the live view still shows the weights
        st.side_writes.append(w)

    def next_deadline(self) -> float | None:
        return None if self.poll is None or self.poll.frozen else self.poll.freeze_at()

    def view(self) -> dict | None:
        p = self.poll
        if p is None:
            return None
        return {"poll_id": p.poll_id, "weights": list(p.weights), "frozen": p.frozen}
