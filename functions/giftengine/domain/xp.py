"""XP, levels and loyalty points: the formula, as pure code (docs/engagement.md, "XP").

A viewer earns XP from what the stream's event log says they did, once per recorded event
(the rollup applies each event once, domain/features.py):

| activity                      | XP                 | cap per viewer                   |
|-------------------------------|--------------------|----------------------------------|
| settled gift units            | 1 per coin         | none (paid for; refunds revoke)  |
| likes                         | 1 per like         | 10 per minute                    |
| comment that passes the check | 2 per comment      | 10 per minute (5 comments)       |
| follow                        | 20                 | once per stream                  |
| share                         | 5                  | 5 per minute (1 share)           |
| presence (watch-time proxy)   | 1 per active minute| 1 per minute                     |

A minute is the minute of the event's `occurred_at`; an event older than the viewer's
current minute (a late arrival) is charged to the current minute's cap, so a late event
never opens a window again. Presence: the first event of any kind in a minute (a join, a
like, a comment, a gift, ...): neither TikTok nor the app reports watch time (TikTok sends
joins and a viewer count; the app sends no heartbeat), so minutes with activity are what the
log can prove.

Loyalty points (per creator) are earned with XP, one point per XP. Creator XP: a creator
earns the XP their viewers earn in their streams. Levels: reaching level L (L >= 1) takes
`100 * (L - 1)**2` XP: level 2 at 100, 3 at 400, 10 at 8,100, 50 at 240,100.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt

XP_PER_COIN = 1
XP_PER_LIKE = 1
LIKE_XP_PER_MINUTE = 10
XP_PER_COMMENT = 2
COMMENT_XP_PER_MINUTE = 10
XP_FOLLOW = 20
XP_SHARE = 5
SHARE_XP_PER_MINUTE = 5
XP_PRESENCE = 1  # per minute with any activity
POINTS_PER_XP = 1
LEVEL_STEP = 100

# The counters a viewer's XP documents hold (increments), by source.
SOURCES = ("gifts", "likes", "comments", "follows", "shares", "presence")


def level(xp: int) -> int:
    """The level `xp` reaches: the largest L with 100 * (L - 1)**2 <= xp (1 for xp <= 0)."""
    return isqrt(max(0, xp) // LEVEL_STEP) + 1


def xp_for_level(lvl: int) -> int:
    """XP needed to reach level `lvl`."""
    return LEVEL_STEP * (max(1, lvl) - 1) ** 2


def progress(xp: int) -> dict:
    """Level, and XP into it and to the next one (for clients)."""
    lvl = level(xp)
    floor, nxt = xp_for_level(lvl), xp_for_level(lvl + 1)
    return {"xp": xp, "level": lvl, "level_xp": floor, "next_level_xp": nxt}


def gift_xp(coins: int) -> int:
    return max(0, coins) * XP_PER_COIN


def minute_of(ts: float) -> int:
    return int(ts // 60)


@dataclass
class Minute:
    """One viewer's capped earnings in their current minute."""

    minute: int = -1
    likes: int = 0  # like XP given this minute
    comments: int = 0
    shares: int = 0
    present: bool = False

    def roll(self, minute: int) -> None:
        """Move to `minute` if it is later; a late event stays in the current one."""
        if minute > self.minute:
            self.minute, self.likes, self.comments, self.shares = minute, 0, 0, 0
            self.present = False

    def to_list(self) -> list[int]:
        return [self.minute, self.likes, self.comments, self.shares, int(self.present)]

    @classmethod
    def from_list(cls, v: list[int]) -> Minute:
        m, likes, comments, shares, present = (list(v) + [0] * 5)[:5]
        return cls(int(m), int(likes), int(comments), int(shares), bool(present))


def capped(given: int, want: int, cap: int) -> int:
    """XP to give now: `want`, at most what is left of `cap` after `given`."""
    return max(0, min(want, cap - given))


def activity_xp(m: Minute, kind: str, ts: float, count: int = 1) -> dict[str, int]:
    """XP by source for one like/comment/share/join event (gifts and follows: see above),
    charging `m`'s caps. A comment must already have passed the comment check."""
    m.roll(minute_of(ts))
    out: dict[str, int] = {}
    if not m.present:
        m.present = True
        out["presence"] = XP_PRESENCE
    if kind == "like":
        x = capped(m.likes, count * XP_PER_LIKE, LIKE_XP_PER_MINUTE)
        m.likes += x
        out["likes"] = x
    elif kind == "comment":
        x = capped(m.comments, XP_PER_COMMENT, COMMENT_XP_PER_MINUTE)
        m.comments += x
        out["comments"] = x
    elif kind == "share":
        x = capped(m.shares, XP_SHARE, SHARE_XP_PER_MINUTE)
        m.shares += x
        out["shares"] = x
    return {k: v for k, v in out.items() if v}


def points_for(xp: int) -> int:
    return xp * POINTS_PER_XP


# ---- refunds and disputes (docs/engagement.md, "A refund takes back what it gave") ---------
def spent_share(balance_before: int, balance_after: int) -> int:
    """Coins of a claw-back that the wallet no longer held: the part of the refunded or
    disputed purchase already spent (bonus coins are spent first and never refunded, so
    these are purchased coins that paid for gifts or a tier)."""
    return max(0, max(0, -balance_after) - max(0, -balance_before))


def allocate_revocation(
    coins: int, gifts: list[tuple[float, str, str, int]], revoked_before: dict[str, int]
) -> dict[str, int]:
    """Which creators' XP a claw-back of `coins` spent coins takes back: the viewer's gifts
    paid with purchased coins, newest first (`gifts`: (at, txn id, creator, purchased
    coins)), skipping per creator the coins earlier claw-backs already took (they took that
    creator's newest first too). What no gift accounts for (a tier bought with the coins)
    is taken from the global XP only."""
    skip = {c: max(0, n) for c, n in revoked_before.items()}
    out: dict[str, int] = {}
    left = max(0, coins)
    for _at, _tid, creator, paid in sorted(gifts, key=lambda g: (g[0], g[1]), reverse=True):
        if left <= 0:
            break
        avail = max(0, paid)
        s = min(avail, skip.get(creator, 0))
        if s:
            skip[creator] -= s
            avail -= s
        take = min(avail, left)
        if take:
            out[creator] = out.get(creator, 0) + take
            left -= take
    return out
