"""Timed rounds: a creator runs rounds of a set length, each with its own leaderboard, winner
and optional reward; rounds follow one another until stopped. Pure.

The rules (docs/engagement.md, "Timed rounds"; decision 053):
- `rounds/start` (params: `length_s` 60-7200, default the setting, 600; `rounds` 1-1000, default
  none: until stopped) starts a run at the command's `occurred_at` unless one is running (then
  it is ignored). Round k of the run covers `[start + (k-1)L, start + kL)` by `occurred_at`.
- `rounds/stop` ends the run at its `occurred_at`: the round it falls in ends there, no round
  follows. A `stream_end` event does the same.
- A round's score of a gifter is the settled coins (the stream's streak rules: a streak counts
  at its settlement, with the settlement's `occurred_at`) whose `occurred_at` is in the round.
- A round freezes at the first rollup at or after its end + `grace_s` (default 15 s, above
  the streak idle timeout); what that rollup applies counts first. After that nothing changes
  it: a settlement arriving later for a frozen round counts in no round.
- Winner: the most coins; a tie goes to the gifter whose latest counted gift occurred first
  (who reached the total first), then to the smaller user id. No coins: no winner.
- At most `MAX_GIFTERS` gifters per round are kept; beyond, the one ranked last is dropped
  and counts again from their next gift. At most `MAX_OPEN` rounds are scored at once: a
  settlement for a round further ahead (an `occurred_at` from a clock minutes ahead) makes
  room by dropping the furthest-ahead round's board, or is not counted if it is the furthest.
- A frozen round with a winner raises a `round_ended` alert and writes `rounds/{key}_{n}`
  (winner, top, reward). The rewards feature (domain/rewards.py) grants the reward to the
  winner from that alert, in the same rollup's commit (decision 093).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from giftengine.domain import badges
from giftengine.domain.features import Feature, Settled, SideWrite, path_segment

MAX_GIFTERS = 1000  # per round kept in the state (about 80 bytes each)
MAX_OPEN = 3  # rounds scored at once (the current one, the one in its grace, one ahead)
TOP = 10  # leaderboard entries in the view and the round document
NAME_CHARS = 64  # handles and names are cut to this in the state


class RoundsConfig(BaseModel):
    """`creators/{uid}.features.rounds`."""

    model_config = ConfigDict(extra="forbid")

    length_s: int = Field(default=600, ge=60, le=7200)
    grace_s: int = Field(default=15, ge=0, le=120)
    reward_points: int = Field(default=0, ge=0, le=1_000_000)
    # `round_winner` or one of the creator's own badge ids (features.rewards.badges),
    # checked against those when saved (`check_config_with`); granted by the rewards feature.
    reward_badge: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,31}$")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def rank(board: dict[str, list]) -> list[tuple[str, list]]:
    """Best first: more coins, then the earlier latest counted gift, then the user id."""
    return sorted(board.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))


def _entries(board: dict[str, list], n: int) -> list[dict]:
    return [
        {"rank": i, "user_id": uid, "handle": e[2], "name": e[3], "coins": e[0]}
        for i, (uid, e) in enumerate(rank(board)[:n], 1)
    ]


class Rounds(Feature):
    name: ClassVar[str] = "rounds"
    actions: ClassVar[frozenset[str]] = frozenset({"start", "stop"})

    def __init__(self) -> None:
        self.config = RoundsConfig()
        self.run: dict | None = None  # start, length, grace, max, stop_at, base, frozen, reward
        self.boards: dict[str, dict[str, list]] = {}  # round index -> uid -> [coins, at, h, n]
        self.next_n = 1  # the stream's next round number (all runs)
        self.last: dict | None = None  # the latest frozen round with a winner
        self.clock: float | None = None  # the rollup's `now` (tick), not persisted

    # ---- commands and settings ------------------------------------------------------
    @classmethod
    def check_control(cls, action: str, params: dict) -> None:
        super().check_control(action, params)
        allowed = {"start": {"length_s": (60, 7200), "rounds": (1, 1000)}, "stop": {}}[action]
        for key, value in params.items():
            if key not in allowed:
                raise ValueError(f"rounds/{action} takes no param {key!r}")
            lo, hi = allowed[key]
            if value is not None and not (
                isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
            ):
                raise ValueError(f"{key} must be an integer from {lo} to {hi}")

    @classmethod
    def check_config(cls, config: dict) -> dict:
        return RoundsConfig.model_validate(config).model_dump()

    @classmethod
    def check_config_with(cls, config: dict, features: dict) -> None:
        badge = config.get("reward_badge")
        if badge is None:
            return
        own = [str(b.get("id")) for b in ((features.get("rewards") or {}).get("badges") or [])]
        if (problem := badges.reward_badge_problem(badge, own)) is not None:
            raise ValueError(problem)

    def configure(self, config: dict | None) -> None:
        try:
            self.config = RoundsConfig.model_validate(config or {})
        except ValueError:  # stored before a rule changed: the defaults
            self.config = RoundsConfig()

    # ---- state ----------------------------------------------------------------------
    def load(self, d: dict) -> None:
        self.run = d.get("run")
        self.boards = d.get("boards") or {}
        self.next_n = int(d.get("next_n", 1))
        self.last = d.get("last")

    def to_dict(self) -> dict:
        if self.run is None and self.last is None and self.next_n == 1:
            return {}
        return {"run": self.run, "boards": self.boards, "next_n": self.next_n, "last": self.last}

    # ---- the run's clock --------------------------------------------------------------
    def _index(self, t: float) -> int | None:
        """The round (1-based) of the running run that `occurred_at` t falls in, or None."""
        r = self.run
        if r is None or t < r["start"] or (r["stop_at"] is not None and t >= r["stop_at"]):
            return None
        k = math.floor((t - r["start"]) / r["length"]) + 1
        return None if r["max"] is not None and k > r["max"] else k

    def _last_index(self) -> int | None:
        """The run's last round, once known (stopped, or a set number of rounds)."""
        r = self.run
        if r["stop_at"] is not None:
            return max(0, math.ceil((r["stop_at"] - r["start"]) / r["length"]))
        return r["max"]

    def _bounds(self, k: int) -> tuple[float, float]:
        r = self.run
        start = r["start"] + (k - 1) * r["length"]
        end = start + r["length"]
        if r["stop_at"] is not None:
            end = min(end, r["stop_at"])
        return start, end

    # ---- events -----------------------------------------------------------------------
    def on_event(self, st, ev) -> None:
        t = ev.occurred_ts
        if ev.kind == "stream_end":
            self._stop(t)
        if ev.kind != "control" or ev.control.feature != self.name:
            return
        if ev.control.action == "stop":
            self._stop(t)
            return
        if self.run is not None:  # one run at a time: a start while running is ignored
            return
        p, c = ev.control.params, self.config
        self.run = {
            "start": t,
            "length": int(p.get("length_s") or c.length_s),
            "grace": c.grace_s,
            "max": p.get("rounds"),
            "stop_at": None,
            "base": self.next_n - 1,  # round k of this run is the stream's round base + k
            "frozen": 0,  # rounds 1..frozen are final
            "reward": (
                {"points": c.reward_points, "badge": c.reward_badge}
                if c.reward_points or c.reward_badge
                else None
            ),
        }
        self.boards = {}
        st.alerts.append(
            {
                "type": "rounds_started",
                "round": self.next_n,
                "length_s": self.run["length"],
                "rounds": self.run["max"],
                "occurred_at": iso(t),
            }
        )

    def _stop(self, t: float) -> None:
        r = self.run
        if r is None or r["stop_at"] is not None:
            return
        r["stop_at"] = max(t, r["start"])

    def on_settled(self, st, s: Settled) -> None:
        if s.coins <= 0 or self.run is None:
            return
        t = s.occurred_at.timestamp()
        k = self._index(t)
        if k is None or k <= self.run["frozen"]:
            return  # outside the run, or its round is final: late, counts nowhere
        if str(k) not in self.boards and len(self.boards) >= MAX_OPEN:
            newest = max(int(j) for j in self.boards)
            if k > newest:
                return  # far ahead of the rounds being scored (a clock ahead): not counted
            del self.boards[str(newest)]
        board = self.boards.setdefault(str(k), {})
        e = board.get(s.user_id)
        if e is None:
            e = board[s.user_id] = [0, t, s.handle[:NAME_CHARS], s.name[:NAME_CHARS]]
        e[0] += s.coins
        e[1] = max(e[1], t)  # the latest counted gift: whatever order they were applied in
        if len(board) > MAX_GIFTERS:
            del board[rank(board)[-1][0]]

    # ---- time -------------------------------------------------------------------------
    def _final_through(self, now: float) -> int:
        """The last round whose end + grace is at or before `now` (rounds end in order)."""
        r = self.run
        k = math.floor((now - r["grace"] - r["start"]) / r["length"])
        last = self._last_index()
        if last is not None:
            k = min(k, last)
            if k < last and self._bounds(last)[1] + r["grace"] <= now:
                k = last  # the stopped round ends early
        return max(k, r["frozen"])

    def tick(self, st, now: float) -> None:
        self.clock = now
        r = self.run
        if r is None:
            return
        through = self._final_through(now)
        for k in sorted(int(j) for j in self.boards):  # rounds without gifts: no output
            if r["frozen"] < k <= through:
                self._freeze(st, k, now)
        r["frozen"] = through
        last = self._last_index()
        if last is not None and through >= last:
            self.next_n = r["base"] + last + 1
            self.run, self.boards = None, {}

    def _freeze(self, st, k: int, now: float) -> None:
        board = self.boards.pop(str(k), {})
        r = self.run
        n = r["base"] + k
        start, end = self._bounds(k)
        top = _entries(board, TOP)
        winner = top[0]
        doc = {
            "stream_id": st.stream_id,
            "creator_id": st.creator_id,
            "round": n,
            "start": iso(start),
            "end": iso(end),
            "winner": winner,
            "top": top,
            "gifters": len(board),
            "coins": sum(e[0] for e in board.values()),
            "reward": r["reward"],
            "frozen_at": iso(now),
        }
        st.side_writes.append(
            SideWrite(f"rounds/{path_segment(st.stream_id)}_{n}", set=doc, merge=False)
        )
        self.last = {"round": n, "winner": winner, "top": top[:3], "end": iso(end)}
        st.alerts.append(
            {
                "type": "round_ended",
                "round": n,
                "user_id": winner["user_id"],
                "handle": winner["handle"],
                "name": winner["name"],
                "coins": winner["coins"],
                "reward": r["reward"],
                "occurred_at": iso(end),
            }
        )

    def next_deadline(self) -> float | None:
        """The current round's end (the view moves on) or the next freeze, the sooner."""
        r = self.run
        if r is None:
            return None
        k = self._current()
        _, end = self._bounds(k)
        _, first_open_end = self._bounds(r["frozen"] + 1)
        moves = end if self.clock is None or end > self.clock else end + r["grace"]
        return min(moves, first_open_end + r["grace"])

    def _current(self) -> int:
        """The round the view shows: the one the rollup's clock is in (none yet: the first
        not final), within the run's rounds."""
        r = self.run
        k = r["frozen"] + 1
        if self.clock is not None and self.clock >= r["start"]:
            k = max(k, math.floor((self.clock - r["start"]) / r["length"]) + 1)
        last = self._last_index()
        return min(k, max(last, 1)) if last is not None else k

    # ---- view -------------------------------------------------------------------------
    def view(self) -> dict | None:
        if self.run is None:
            return {"status": "idle", "last": self.last} if self.last else None
        r = self.run
        k = self._current()
        start, end = self._bounds(k)
        return {
            "status": "running" if r["stop_at"] is None else "stopping",
            "round": r["base"] + k,
            "index": k,
            "rounds": r["max"],
            "length_s": r["length"],
            "starts_at": iso(start),
            "ends_at": iso(end),
            "ends_at_ts": end,
            "run_started_at": iso(r["start"]),
            "leaderboard": _entries(self.boards.get(str(k), {}), TOP),
            "reward": r["reward"],
            "last": self.last,
        }
