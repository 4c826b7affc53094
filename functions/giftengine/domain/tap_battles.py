"""Tap battles: one stream's viewers in two teams, red and blue, scoring with taps and gifts.
Pure; run by the stream's rollup like every feature (domain/features.py).

The creator starts one with a `tap_battle/start` command (params: `tap_battle_id`,
`duration_s`, optional `starts_in_s`) and may end it early with `tap_battle/stop`; the
team rule and the points come from the creator's settings (`features.tap_battle`),
snapshotted at the start so a settings change never alters a running battle.

The rules (docs/engagement.md, "Tap battles"):
- window: `[start, end)` by `occurred_at`, start = the command's `occurred_at` +
  `starts_in_s` (default 3), end = start + `duration_s`; a stop moves the end to the stop's
  `occurred_at` when that is earlier. The battle freezes at the first rollup at or after
  `end + grace_s` (what that rollup applies counts first); nothing changes it afterwards;
- a like counts `count x like_points` for the liker's team; a settlement of gift units
  (a streak at its final, or idle at its highest count: the stream's streak rules) counts
  `coins x coin_points` for the gifter's team, both when their `occurred_at` is in the window;
- teams (`team_mode`):
  - `auto` (default): the team is a hash of the battle id and the user id, so a viewer is
    placed the first time they act and nothing per viewer is stored (this is the join-order
    mode without the memory: every viewer has a team, about half on each side);
  - `command`: a viewer joins with a chat comment `!team red` / `!team blue` (case and
    surrounding spaces ignored), from the start command until the end; the first choice
    sticks. A viewer without a team scores nothing;
  - `gift`: a viewer joins the team of the first team gift they send (`red_gift_id`,
    `blue_gift_id`); that gift and everything after scores for the team;
  at most `MEMBERS_CAP` memberships are kept (about 30 bytes each); joins beyond it are
  refused (counted as `refused` in the view) and those viewers score nothing;
- winner: the team with more points, `draw` on equal points, decided when it freezes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from giftengine.domain.events import utc_iso
from giftengine.domain.features import Feature, Settled

if TYPE_CHECKING:
    from giftengine.domain.events import EngagementEvent
    from giftengine.domain.stream import StreamState

MEMBERS_CAP = 2000
TEAMS = ("red", "blue")
MODES = ("auto", "command", "gift")
DEFAULTS = {
    "team_mode": "auto",
    "red_gift_id": "",
    "blue_gift_id": "",
    "like_points": 1,
    "coin_points": 1,
    "grace_s": 15,
}
MAX_DURATION_S = 3600
MAX_STARTS_IN_S = 60


def clean_config(config: dict | None) -> dict:
    """The creator's settings with defaults, bounded (the API validates them too)."""
    c = {**DEFAULTS, **{k: v for k, v in (config or {}).items() if k in DEFAULTS}}
    if c["team_mode"] not in MODES:
        c["team_mode"] = "auto"
    for k, hi in (("like_points", 1000), ("coin_points", 1000), ("grace_s", 600)):
        v = c[k]
        c[k] = min(max(v, 0), hi) if isinstance(v, int) and not isinstance(v, bool) else DEFAULTS[k]
    for k in ("red_gift_id", "blue_gift_id"):
        c[k] = c[k] if isinstance(c[k], str) else ""
    return c


def hashed_team(battle_id: str, user_id: str) -> str:
    return TEAMS[hashlib.sha256(f"{battle_id}|{user_id}".encode()).digest()[0] & 1]


def team_command(text: str) -> str | None:
    """`!team red` -> "red" (no regular expression: split on whitespace)."""
    parts = text.strip().lower().split()
    if len(parts) == 2 and parts[0] == "!team" and parts[1] in TEAMS:
        return parts[1]
    return None


def _ts(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


class TapBattle(Feature):
    name = "tap_battle"
    actions = frozenset({"start", "stop"})

    @classmethod
    def check_control(cls, action: str, params: dict) -> None:
        super().check_control(action, params)
        allowed = {"start": {"tap_battle_id", "duration_s", "starts_in_s"}, "stop": set()}
        if extra := set(params) - allowed[action]:
            raise ValueError(f"tap_battle/{action} takes no {', '.join(sorted(extra))}")
        for key, lo, hi in (("duration_s", 1, MAX_DURATION_S), ("starts_in_s", 0, MAX_STARTS_IN_S)):
            v = params.get(key)
            if v is not None and not (
                isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
            ):
                raise ValueError(f"{key} must be an integer from {lo} to {hi}")
        bid = params.get("tap_battle_id")
        if bid is not None and not (isinstance(bid, str) and 0 < len(bid) <= 200):
            raise ValueError("tap_battle_id must be a string of 1 to 200 characters")

    @classmethod
    def check_config(cls, config: dict) -> dict:
        if extra := set(config) - set(DEFAULTS):
            raise ValueError(f"tap_battle takes no setting {', '.join(sorted(extra))}")
        if config.get("team_mode", "auto") not in MODES:
            raise ValueError(f"team_mode must be one of {', '.join(MODES)}")
        for key, hi in (("like_points", 1000), ("coin_points", 1000), ("grace_s", 600)):
            v = config.get(key, DEFAULTS[key])
            if not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= hi):
                raise ValueError(f"{key} must be an integer from 0 to {hi}")
        for key in ("red_gift_id", "blue_gift_id"):
            v = config.get(key, "")
            if not (isinstance(v, str) and len(v) <= 256):
                raise ValueError(f"{key} must be a gift id")
        if config.get("team_mode") == "gift" and not (
            config.get("red_gift_id") and config.get("blue_gift_id")
        ):
            raise ValueError("team_mode gift needs red_gift_id and blue_gift_id")
        return clean_config(config)

    def __init__(self) -> None:
        self.cur: dict | None = None  # the current (or last) battle, plain JSON
        self.members: dict[str, str] = {}  # user_id -> team (command, gift modes)
        self.config = dict(DEFAULTS)

    def load(self, d: dict) -> None:
        self.cur = d.get("current")
        self.members = dict(d.get("members") or {})

    def to_dict(self) -> dict:
        if self.cur is None:
            return {}
        return {"current": self.cur, "members": self.members}

    def configure(self, config: dict | None) -> None:
        self.config = clean_config(config)

    # ---- rules --------------------------------------------------------------------------
    def _open(self) -> bool:
        return self.cur is not None and not self.cur["frozen"]

    def on_event(self, st: StreamState, ev: EngagementEvent) -> None:
        if ev.kind == "control" and ev.control.feature == self.name:
            self._command(st, ev)
        elif not self._open() or ev.user is None:
            return
        elif ev.kind == "like":
            self._score(ev.user.id, ev.occurred_at, likes=ev.count)
        elif ev.kind == "comment" and self.cur["rules"]["team_mode"] == "command":
            team = team_command(ev.text)
            if team and _ts(self.cur["start"]) - timedelta(seconds=self.cur["starts_in_s"]) <= (
                ev.occurred_at
            ) < _ts(self.cur["end"]):
                self._join(ev.user.id, team)

    def _command(self, st: StreamState, ev: EngagementEvent) -> None:
        c, p = ev.control, ev.control.params
        if c.action == "start" and not self._open():
            duration, starts_in = p.get("duration_s", 60), p.get("starts_in_s", 3)
            bid = p.get("tap_battle_id") or ev.event_id
            if not (isinstance(duration, int) and 1 <= duration <= MAX_DURATION_S):
                return
            if not (isinstance(starts_in, int) and 0 <= starts_in <= MAX_STARTS_IN_S):
                return
            if self.cur is not None and self.cur["id"] == bid:
                return  # the same battle again
            start = ev.occurred_at + timedelta(seconds=starts_in)
            self.cur = {
                "id": str(bid)[:200],
                "start": utc_iso(start),
                "end": utc_iso(start + timedelta(seconds=duration)),
                "starts_in_s": starts_in,
                "rules": dict(self.config),
                "red": {"points": 0, "likes": 0, "coins": 0},
                "blue": {"points": 0, "likes": 0, "coins": 0},
                "refused": 0,
                "phase": "upcoming",
                "frozen": False,
                "winner": None,
            }
            self.members = {}
            st.alerts.append(
                {"type": "tap_battle_started", "tap_battle_id": self.cur["id"], **self._times()}
            )
        elif c.action == "stop" and self._open():
            at = utc_iso(ev.occurred_at)
            if _ts(at) < _ts(self.cur["end"]):
                self.cur["end"] = utc_iso(max(_ts(at), _ts(self.cur["start"])))

    def _times(self) -> dict:
        return {"start": self.cur["start"], "end": self.cur["end"]}

    def _join(self, user_id: str, team: str) -> None:
        if user_id in self.members:
            return
        if len(self.members) >= MEMBERS_CAP:
            self.cur["refused"] += 1
            return
        self.members[user_id] = team

    def _team(self, user_id: str) -> str | None:
        if self.cur["rules"]["team_mode"] == "auto":
            return hashed_team(self.cur["id"], user_id)
        return self.members.get(user_id)

    def _score(self, user_id: str, at: datetime, likes: int = 0, coins: int = 0) -> None:
        if not _ts(self.cur["start"]) <= at < _ts(self.cur["end"]):
            return
        team = self._team(user_id)
        if team is None:
            return
        r, t = self.cur["rules"], self.cur[team]
        t["likes"] += likes
        t["coins"] += coins
        t["points"] += likes * r["like_points"] + coins * r["coin_points"]

    def on_settled(self, st: StreamState, s: Settled) -> None:
        if not self._open():
            return
        r = self.cur["rules"]
        if r["team_mode"] == "gift" and _ts(self.cur["start"]) <= s.occurred_at < _ts(
            self.cur["end"]
        ):
            for team in TEAMS:
                if r[f"{team}_gift_id"] and s.gift_id == r[f"{team}_gift_id"]:
                    self._join(s.user_id, team)
        self._score(s.user_id, s.occurred_at, coins=s.coins)

    def tick(self, st: StreamState, now: float) -> None:
        if not self._open():
            return
        cur = self.cur
        start, end = _ts(cur["start"]).timestamp(), _ts(cur["end"]).timestamp()
        cur["phase"] = "upcoming" if now < start else "live" if now < end else "settling"
        if now >= end + cur["rules"]["grace_s"]:
            red, blue = cur["red"]["points"], cur["blue"]["points"]
            cur["winner"] = "draw" if red == blue else "red" if red > blue else "blue"
            cur["frozen"], cur["phase"] = True, "final"
            st.alerts.append(
                {
                    "type": "tap_battle_ended",
                    "tap_battle_id": cur["id"],
                    "winner": cur["winner"],
                    "red": cur["red"]["points"],
                    "blue": cur["blue"]["points"],
                }
            )

    def next_deadline(self) -> float | None:
        if not self._open():
            return None
        cur = self.cur
        start, end = _ts(cur["start"]).timestamp(), _ts(cur["end"]).timestamp()
        if cur["phase"] == "upcoming":
            return start
        if cur["phase"] == "live":
            return end
        return end + cur["rules"]["grace_s"]

    def view(self) -> dict | None:
        cur = self.cur
        if cur is None:
            return None
        members = {t: 0 for t in TEAMS}
        for t in self.members.values():
            members[t] += 1
        return {
            "tap_battle_id": cur["id"],
            "phase": cur["phase"],
            **self._times(),
            "team_mode": cur["rules"]["team_mode"],
            "red": {**cur["red"], "members": members["red"]},
            "blue": {**cur["blue"], "members": members["blue"]},
            "refused": cur["refused"],
            "frozen": cur["frozen"],
            "winner": cur["winner"],
        }
