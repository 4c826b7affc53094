"""Pure rules of live interactions: polls (chat and app votes, one per viewer, close by
occurred_at, frozen result) and prediction payouts. Stdlib and pydantic only.

Every rule here is order-independent: the vote that counts for a viewer, and therefore the
tally, depends only on the set of votes received, never on the order they arrived in.
docs/engagement.md states the rules; tests/live/test_domain.py checks them with hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MIN_CHOICES, MAX_CHOICES = 2, 10
MIN_DURATION_S, MAX_DURATION_S = 15, 30 * 60
MAX_CHOICE_CHARS = 80
# Votes that occurred before the close but reach us up to this long after it still count;
# after it the result is frozen and nothing changes it.
DEFAULT_GRACE_S = 5.0


class PollError(Exception):
    """A rule refused the request: `code` becomes the API's error code."""

    status = 409

    def __init__(self, code: str, reason: str, status: int | None = None):
        super().__init__(reason)
        self.code, self.reason = code, reason
        if status is not None:
            self.status = status


@dataclass(frozen=True)
class Poll:
    poll_id: str
    stream_id: str
    question: str
    choices: tuple[str, ...]
    opened_at: float
    closes_at: float | None  # None: open until closed by hand
    changeable: bool = False
    grace_s: float = DEFAULT_GRACE_S
    frozen: bool = False

    def __post_init__(self) -> None:
        if not MIN_CHOICES <= len(self.choices) <= MAX_CHOICES:
            raise PollError(
                "invalid_request", f"a poll has {MIN_CHOICES}-{MAX_CHOICES} choices", 400
            )
        keys = [choice_key(c) for c in self.choices]
        if any(not k for k in keys) or len(set(keys)) != len(keys):
            raise PollError("invalid_request", "choices must be non-empty and distinct", 400)

    def accepts(self, occurred_at: float) -> bool:
        """Whether a vote that occurred at `occurred_at` may count (ignoring the freeze)."""
        if occurred_at < self.opened_at:
            return False
        return self.closes_at is None or occurred_at < self.closes_at

    def freeze_at(self) -> float | None:
        return None if self.closes_at is None else self.closes_at + self.grace_s


def duration_ok(duration_s: int | None) -> bool:
    return duration_s is None or MIN_DURATION_S <= duration_s <= MAX_DURATION_S


def choice_key(text: str) -> str:
    """Case- and space-insensitive form of a choice's text ("  Red  Team " == "red team")."""
    return " ".join(text.casefold().split())


def parse_chat_vote(text: str, choices: tuple[str, ...]) -> int | None:
    """The 0-based choice a chat comment votes for, or None.

    Accepted: `!vote N`, `!N` (N is 1-based) and the exact text of a choice (case and
    spacing ignored). Plain string operations: no user text ever becomes a pattern."""
    words = text.split()
    if not words:
        return None
    number: str | None = None
    head = words[0].casefold()
    if head == "!vote" and len(words) == 2:
        number = words[1]
    elif len(words) == 1 and head.startswith("!") and len(head) > 1:
        number = head[1:]
    if number is not None:
        if number.isascii() and number.isdigit() and len(number) <= 3:
            n = int(number)
            return n - 1 if 1 <= n <= len(choices) else None
        return None
    key = choice_key(text)
    for i, choice in enumerate(choices):
        if choice_key(choice) == key:
            return i
    return None


@dataclass(frozen=True, order=True)
class Vote:
    """One ballot, ordered by (occurred_at, vote_id, choice). `voter` is the viewer's
    identity across sources (see voter_key)."""

    occurred_at: float
    vote_id: str  # the event id or the app's idempotency key: breaks occurred_at ties
    voter: str = field(compare=False)
    choice: int  # compared last: two different ballots never tie
    source: str = field(compare=False, default="app")


def voter_key(source: str, user_id: str, linked_tiktok_id: str | None = None) -> str:
    """One identity per viewer: a TikTok viewer is `tiktok:<id>`; an app user who linked
    their TikTok account (the `tiktok_id` claim) votes as that same `tiktok:<id>`, so they
    are counted once whichever way they vote; any other app user is `app:<uid>`."""
    if source == "tiktok":
        return f"tiktok:{user_id}"
    if linked_tiktok_id:
        return f"tiktok:{linked_tiktok_id}"
    return f"app:{user_id}"


def supersedes(new: Vote, old: Vote | None, changeable: bool) -> bool:
    """Whether `new` replaces the viewer's recorded vote `old`.

    Not changeable: the earliest vote (by occurred_at, then vote id) counts. Changeable:
    the latest counts. Either way the winner of any set of a viewer's votes is the same
    whatever the order they arrive in, and a redelivered vote never changes anything."""
    if old is None:
        return True
    if new == old:
        return False
    return new > old if changeable else new < old


def check_vote(poll: Poll, vote: Vote) -> None:
    """Raises PollError when the vote cannot count: unknown choice, outside the window,
    or the result is frozen."""
    if not 0 <= vote.choice < len(poll.choices):
        raise PollError("invalid_choice", f"choice must be 1..{len(poll.choices)}", 400)
    if poll.frozen:
        raise PollError("poll_closed", "the poll is closed; its result is final")
    if not poll.accepts(vote.occurred_at):
        raise PollError("poll_closed", "the vote was cast outside the poll's open window")


def counting_votes(poll: Poll, votes: Iterable[Vote]) -> dict[str, Vote]:
    """The vote that counts for each viewer among every valid vote received."""
    winners: dict[str, Vote] = {}
    for v in votes:
        valid = 0 <= v.choice < len(poll.choices) and poll.accepts(v.occurred_at)
        if valid and supersedes(v, winners.get(v.voter), poll.changeable):
            winners[v.voter] = v
    return winners


def tally(poll: Poll, votes: Iterable[Vote]) -> list[int]:
    """Counts per choice: what the results document shows once every vote is applied."""
    counts = [0] * len(poll.choices)
    for v in counting_votes(poll, votes).values():
        counts[v.choice] += 1
    return counts


# ---- predictions ---------------------------------------------------------------------------
def payouts(stakes: dict[str, dict[int, int]], winner: int) -> dict[str, int]:
    """Points each viewer gets back when outcome `winner` wins.

    `stakes[viewer][outcome]` are integer points. The whole pool goes to the winning side,
    proportional to each winner's stake, rounded down; the points left by rounding go one
    each to the winners with the largest fractional parts (ties: the larger stake, then the
    viewer id in ascending order). The payouts sum to the pool exactly. With no stake on the
    winner, everyone gets their own stakes back (as for a cancel)."""
    pool = sum(sum(s.values()) for s in stakes.values())
    winning = {v: s.get(winner, 0) for v, s in stakes.items() if s.get(winner, 0) > 0}
    side = sum(winning.values())
    if side == 0:
        return refunds(stakes)
    out = {v: 0 for v in stakes}
    remainders = []
    for v, stake in winning.items():
        share, rem = divmod(stake * pool, side)
        out[v] = share
        remainders.append((-rem, -stake, v))
    left = pool - sum(out.values())
    for _, _, v in sorted(remainders)[:left]:
        out[v] += 1
    return out


def refunds(stakes: dict[str, dict[int, int]]) -> dict[str, int]:
    return {v: sum(s.values()) for v, s in stakes.items()}
