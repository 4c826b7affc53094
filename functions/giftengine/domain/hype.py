"""The hype train: starts when enough distinct viewers contribute within a window, levels by
coins, runs while contributions keep resetting its countdown, then a cooldown. Pure.

The rules (docs/engagement.md, "Hype train"; decision 054):
- A contribution is a settled gift with coins (the streak rules: at its settlement, with the
  settlement's `occurred_at`), or, with `trigger: gifts_and_likes`, a like event.
- Contributions are applied in `occurred_at` order (then event id), `settle_s` (default 5 s)
  behind the rollup's clock: a rollup at `now` applies the buffered ones with
  `occurred_at <= now - settle_s` (the watermark). Messages reordered within `settle_s` give
  the same train. A contribution that arrives when the watermark is already past its
  `occurred_at` is late: it is applied at the watermark (as if it occurred then).
- Idle: a contribution at t starts a train when, counting it, `min_viewers` distinct viewers
  contributed in `(t - window_s, t]` and t is not before the cooldown's end. The train starts
  at t with the coins of those contributions.
- Running: each contribution adds its coins and resets the countdown: the train ends at
  `countdown_s` after the latest contribution. Level = 1 + the number of `thresholds`
  (cumulative coins) reached. A contribution at or after the end belongs to no train.
- End: `hype_ended` alert; cooldown until end + `cooldown_s`; the creator's record:
  `creators/{creator}/hype_trains/{stream}_{n}` (this train) and increments of
  `creators/{creator}/records/hype` (`trains`, `coins`, `level_{L}_trains`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from giftengine.domain.features import Feature, Settled, SideWrite, path_segment
from giftengine.domain.rounds import iso

MAX_BUFFER = 500  # contributions waiting for the watermark; beyond, the oldest go early
MAX_RECENT = 200  # contributions remembered for the start condition
MAX_CONTRIBUTORS = 500  # per train; beyond, the smallest is dropped and counts anew
NAME_CHARS = 64


class HypeConfig(BaseModel):
    """`creators/{uid}.features.hype`."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    trigger: Literal["gifts", "gifts_and_likes"] = "gifts"
    min_viewers: int = Field(default=3, ge=1, le=100)
    window_s: int = Field(default=300, ge=10, le=3600)
    countdown_s: int = Field(default=300, ge=10, le=3600)
    thresholds: list[int] = Field(
        default=[500, 1500, 3000, 6000, 10000], min_length=1, max_length=10
    )
    cooldown_s: int = Field(default=3600, ge=0, le=86_400)
    settle_s: int = Field(default=5, ge=0, le=60)

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if any(x < 1 or x > 1_000_000_000 for x in v) or any(
            v[i] >= v[i + 1] for i in range(len(v) - 1)
        ):
            raise ValueError("thresholds must be increasing coin amounts from 1 to 10^9")
        return v


def level_of(coins: int, thresholds: list[int]) -> int:
    return 1 + sum(1 for th in thresholds if coins >= th)


def _stored(row: list) -> dict:
    """A buffered or remembered contribution as the state document stores it."""
    return {str(i): v for i, v in enumerate(row)}


def _row(stored: dict | list) -> list:
    if isinstance(stored, list):  # stored before rows became maps
        return list(stored)
    return [stored[str(i)] for i in range(len(stored))]


class HypeTrain(Feature):
    name: ClassVar[str] = "hype"
    # Its watermark trails the events by settle_s: a gift's rollup passes what an earlier
    # one waited for, and a follow-up is needed only when gifts stop (decision 044).
    deadline_slack: ClassVar[float] = 5.0

    def __init__(self) -> None:
        self.config = HypeConfig()
        self.buffer: list[list] = []  # [t, event_id, user_id, coins, handle, name]
        self.through = 0.0  # the watermark applied so far
        self.recent: list[list] = []  # idle: [t, user_id, coins, handle, name]
        self.train: dict | None = None
        self.cooldown_until = 0.0
        self.count = 0  # trains this stream ran
        self.last: dict | None = None

    # ---- settings -----------------------------------------------------------------------
    @classmethod
    def check_config(cls, config: dict) -> dict:
        return HypeConfig.model_validate(config).model_dump()

    def configure(self, config: dict | None) -> None:
        try:
            self.config = HypeConfig.model_validate(config or {})
        except ValueError:
            self.config = HypeConfig()

    # ---- state --------------------------------------------------------------------------
    def load(self, d: dict) -> None:
        self.buffer = [_row(r) for r in d.get("buffer") or []]
        self.through = float(d.get("through", 0.0))
        self.recent = [_row(r) for r in d.get("recent") or []]
        self.train = d.get("train")
        self.cooldown_until = float(d.get("cooldown_until", 0.0))
        self.count = int(d.get("count", 0))
        self.last = d.get("last")

    def to_dict(self) -> dict:
        if not (self.buffer or self.recent or self.train or self.count):
            return {}
        return {
            # Rows as maps: Firestore stores no array inside an array.
            "buffer": [_stored(r) for r in self.buffer],
            "through": self.through,
            "recent": [_stored(r) for r in self.recent],
            "train": self.train,
            "cooldown_until": self.cooldown_until,
            "count": self.count,
            "last": self.last,
        }

    # ---- contributions --------------------------------------------------------------------
    def _add(self, t: float, event_id: str, user_id: str, coins: int, handle: str, name: str):
        if not self.config.enabled and self.train is None:
            return
        self.buffer.append([t, event_id, user_id, coins, handle[:NAME_CHARS], name[:NAME_CHARS]])

    def on_settled(self, st, s: Settled) -> None:
        if s.coins > 0:
            eid = s.event_id or f"idle:{s.user_id}:{s.gift_id}"
            self._add(s.occurred_at.timestamp(), eid, s.user_id, s.coins, s.handle, s.name)

    def on_event(self, st, ev) -> None:
        if ev.kind == "like" and self.config.trigger == "gifts_and_likes" and ev.user:
            u = ev.user
            self._add(ev.occurred_ts, ev.event_id, u.id, 0, u.handle, u.name)

    # ---- the event-time clock ---------------------------------------------------------------
    def tick(self, st, now: float) -> None:
        mark = max(self.through, now - self.config.settle_s)
        self.buffer.sort(key=lambda c: (max(c[0], self.through), c[1]))
        while self.buffer and (
            max(self.buffer[0][0], self.through) <= mark or len(self.buffer) > MAX_BUFFER
        ):
            c = self.buffer.pop(0)
            t = max(c[0], self.through)  # a late one counts at the watermark
            self.through = t
            self._apply(st, t, c)
        self.through = max(self.through, mark)
        if self.train is not None and self.train["ends_at"] <= self.through:
            self._end(st)

    def _apply(self, st, t: float, c: list) -> None:
        _, _, uid, coins, handle, name = c
        if self.train is not None and t >= self.train["ends_at"]:
            self._end(st)
        tr = self.train
        if tr is not None:
            self._contribute(st, tr, uid, coins, handle, name)
            tr["ends_at"] = t + tr["countdown"]
            return
        cfg = self.config
        if not cfg.enabled or t < self.cooldown_until:
            return
        self.recent = [r for r in self.recent if r[0] > t - cfg.window_s][-MAX_RECENT:]
        self.recent.append([t, uid, coins, handle, name])
        if len({r[1] for r in self.recent}) < cfg.min_viewers:
            return
        self.count += 1
        tr = self.train = {
            "n": self.count,
            "started_at": t,
            "ends_at": t + cfg.countdown_s,
            "countdown": cfg.countdown_s,
            "thresholds": list(cfg.thresholds),
            "coins": 0,
            "level": 1,
            "contributors": {},
        }
        st.alerts.append({"type": "hype_started", "train": tr["n"], "occurred_at": iso(t)})
        for _, ruid, rcoins, rhandle, rname in self.recent:
            self._contribute(st, tr, ruid, rcoins, rhandle, rname)
        self.recent = []

    def _contribute(self, st, tr: dict, uid: str, coins: int, handle: str, name: str) -> None:
        people = tr["contributors"]
        e = people.setdefault(uid, [0, handle, name])
        e[0] += coins
        if len(people) > MAX_CONTRIBUTORS:
            del people[min(people, key=lambda k: (people[k][0], k))]
        tr["coins"] += coins
        level = level_of(tr["coins"], tr["thresholds"])
        while tr["level"] < level:  # one alert per level reached
            tr["level"] += 1
            st.alerts.append(
                {
                    "type": "hype_level",
                    "train": tr["n"],
                    "level": tr["level"],
                    "coins": tr["coins"],
                    "user_id": uid,
                    "handle": handle,
                    "name": name,
                }
            )

    def _end(self, st) -> None:
        tr, self.train = self.train, None
        end = tr["ends_at"]
        self.cooldown_until = end + self.config.cooldown_s
        top = self._top(tr, 3)
        record = {
            "stream_id": st.stream_id,
            "creator_id": st.creator_id,
            "train": tr["n"],
            "started_at": iso(tr["started_at"]),
            "ended_at": iso(end),
            "level": tr["level"],
            "coins": tr["coins"],
            "contributors": len(tr["contributors"]),
            "top": top,
        }
        self.last = {k: record[k] for k in ("train", "level", "coins", "ended_at", "top")}
        st.alerts.append({"type": "hype_ended", **self.last})
        creator = path_segment(st.creator_id or st.stream_id)
        stream = path_segment(st.stream_id)
        st.side_writes.append(
            SideWrite(f"creators/{creator}/hype_trains/{stream}_{tr['n']}", set=record, merge=False)
        )
        st.side_writes.append(
            SideWrite(
                f"creators/{creator}/records/hype",
                set={"creator_id": st.creator_id},
                increments={"trains": 1, "coins": tr["coins"], f"level_{tr['level']}_trains": 1},
            )
        )

    @staticmethod
    def _top(tr: dict, n: int) -> list[dict]:
        people = sorted(tr["contributors"].items(), key=lambda kv: (-kv[1][0], kv[0]))
        return [
            {"user_id": uid, "handle": e[1], "name": e[2], "coins": e[0]} for uid, e in people[:n]
        ]

    def next_deadline(self) -> float | None:
        """While a train runs: when the oldest waiting contribution and the end pass the
        watermark. While idle: only when the waiting and remembered contributions name
        enough viewers to start one; otherwise they wait for the next rollup (applied in
        order then, the same result), so a quiet stream's gifts ask for no extra rollup."""
        settle = self.config.settle_s
        if not self.buffer and self.train is None:
            return None
        times = [min(c[0] for c in self.buffer) + settle] if self.buffer else []
        if self.train is not None:
            times.append(self.train["ends_at"] + settle)
        else:
            people = {c[2] for c in self.buffer} | {r[1] for r in self.recent}
            if len(people) < self.config.min_viewers:
                return None
        return min(times) if times else None

    # ---- view -------------------------------------------------------------------------------
    def view(self) -> dict | None:
        tr = self.train
        if tr is None:
            if self.last is None:
                return None
            return {"active": False, "cooldown_until": iso(self.cooldown_until), "last": self.last}
        ths = tr["thresholds"]
        level = tr["level"]
        return {
            "active": True,
            "train": tr["n"],
            "level": level,
            "coins": tr["coins"],
            "level_from": ths[level - 2] if level >= 2 else 0,
            "next_at": ths[level - 1] if level <= len(ths) else None,
            "started_at": iso(tr["started_at"]),
            "ends_at": iso(tr["ends_at"]),
            "ends_at_ts": tr["ends_at"],
            "contributors": len(tr["contributors"]),
            "top": self._top(tr, 3),
            "last": self.last,
        }
