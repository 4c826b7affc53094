"""Creator-vs-creator battles: each stream's rollup scores its own side. Pure.

A battle is between two streams (creator A invites creator B; service/battles.py). When B
accepts, the API fixes the battle's rules (`BattleRules`: start, end, settlement grace,
multiplier windows) and records a `battle/start` control event carrying them into EACH
stream's event log. From then on each stream's rollup runs this feature over its own
settled gifts and writes its side of the shared battle document (`battles/{id}`,
`sides.{stream_id}`) as absolute values, in the rollup's transaction (a `SideWrite`):
repeating a write gives the same document, and the two sides never write each other's part.

The rules (docs/engagement.md, "Battles"):
- a settlement of gift units counts for the side of the stream it was sent to when its
  `occurred_at` lies in `[start, end)` and the rollup applies it before the side freezes.
  A streak counts at its settlement, as the stream's streak rules settle it: at its final
  (all its units, at the final's `occurred_at`), or, idle, at its highest count with the
  `occurred_at` of its last message. So a streak whose final falls inside the window counts
  whole, even if it began before the start; one still running at the end counts only if it
  idles out, its last message inside the window (the top-up of a later final, at the final's
  time, does not);
- points = coins x the multiplier of the window `occurred_at` falls in (1 outside every
  window; overlapping windows: the largest);
- the side freezes at the first rollup at or after `end + grace_s` (what that rollup applies
  counts first); after that its score, MVP and contributors never change;
- MVP = the contributor with the most points; a tie goes to the one whose latest counted
  contribution occurred first (who reached that total first), then to the smaller user id;
- a `battle/start` applied while another battle of the stream is not frozen is ignored, and
  so is one for a battle the stream already had;
- events the rollup applied before the `battle/start` command are not counted (the API sets
  the start a few seconds after the accept, so this takes an event whose `occurred_at` is
  that far ahead of its recording).

Contributors are kept per side, at most `CONTRIBUTORS_CAP` (about 60 bytes each in the
stream's state document); beyond it the one ranked last is dropped, and if they give again
they count from their new gifts. So MVP is exact up to that many distinct gifters.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from giftengine.domain.events import utc_iso
from giftengine.domain.features import Feature, Settled, SideWrite
from giftengine.domain.ids import ID_PATTERN

if TYPE_CHECKING:
    from giftengine.domain.events import EngagementEvent
    from giftengine.domain.stream import StreamState

CONTRIBUTORS_CAP = 2000
MAX_WINDOWS = 3
MAX_DURATION_S = 3600
MAX_GRACE_S = 600
MAX_MULTIPLIER = 10
COLLECTION = "battles"

_ID = Field(min_length=1, max_length=200, pattern=ID_PATTERN)


class Window(BaseModel):
    """A multiplier window, in seconds from the battle's start: `[from_s, to_s)`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_s: int = Field(ge=0, le=MAX_DURATION_S)
    to_s: int = Field(ge=1, le=MAX_DURATION_S)
    x: int = Field(ge=2, le=MAX_MULTIPLIER)

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.to_s <= self.from_s:
            raise ValueError("a multiplier window must end after it starts")
        return self


class BattleRules(BaseModel):
    """What a stream's `battle/start` command carries (flat control params, see `params`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    battle_id: str = _ID
    start: AwareDatetime
    end: AwareDatetime
    grace_s: int = Field(ge=0, le=MAX_GRACE_S)
    opponent_stream_id: str = _ID
    opponent_creator_id: str = _ID
    windows: tuple[Window, ...] = Field(default=(), max_length=MAX_WINDOWS)

    @model_validator(mode="after")
    def _window(self) -> BattleRules:
        length = (self.end - self.start).total_seconds()
        if not 0 < length <= MAX_DURATION_S:
            raise ValueError(f"a battle lasts more than 0 and at most {MAX_DURATION_S} s")
        for w in self.windows:
            if w.to_s > length:
                raise ValueError("a multiplier window must end by the battle's end")
        return self

    def params(self) -> dict[str, Any]:
        """Flat control params (domain/events.py `Control`: str, int, bool values)."""
        p: dict[str, Any] = {
            "battle_id": self.battle_id,
            "start": utc_iso(self.start),
            "end": utc_iso(self.end),
            "grace_s": self.grace_s,
            "opponent_stream_id": self.opponent_stream_id,
            "opponent_creator_id": self.opponent_creator_id,
        }
        for i, w in enumerate(self.windows, 1):
            p.update({f"w{i}_from_s": w.from_s, f"w{i}_to_s": w.to_s, f"w{i}_x": w.x})
        return p

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> BattleRules:
        p = dict(p)
        windows = []
        for i in range(1, MAX_WINDOWS + 1):
            keys = (f"w{i}_from_s", f"w{i}_to_s", f"w{i}_x")
            if any(k in p for k in keys):
                windows.append({k.split("_", 1)[1]: p.pop(k, None) for k in keys})
        return cls.model_validate({**p, "windows": windows})

    def multiplier(self, at: datetime) -> int:
        offset = (at - self.start).total_seconds()
        return max([w.x for w in self.windows if w.from_s <= offset < w.to_s], default=1)

    def counts(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def freeze_at(self) -> float:
        return (self.end + timedelta(seconds=self.grace_s)).timestamp()


def mvp_key(user_id: str, points: int, last_at: str) -> tuple:
    """Sort key: the MVP sorts first (module doc: most points, earlier last, user id)."""
    return (-points, last_at, user_id)


def winner(sides: dict[str, dict]) -> str | None:
    """The result both overlays derive from the battle document once both sides froze:
    the stream id of the side with more points, "draw", or None while not final."""
    if len(sides) != 2 or not all(s.get("frozen") for s in sides.values()):
        return None
    (a, sa), (b, sb) = sorted(sides.items())
    if sa.get("score", 0) == sb.get("score", 0):
        return "draw"
    return a if sa.get("score", 0) > sb.get("score", 0) else b


class Battle(Feature):
    """One stream's side of its current (or last) battle."""

    name = "battle"

    def __init__(self) -> None:
        self.rules: BattleRules | None = None
        self.score = 0
        self.coins = 0
        self.contributors: dict[str, list] = {}  # user_id -> [points, last counted at (ISO)]
        self.mvp: dict | None = None
        self.phase = ""  # upcoming, live, settling, final
        self.frozen = False
        self.seen: list[str] = []  # battle ids this stream had (last 20)
        self._dirty = False

    # ---- persistence --------------------------------------------------------------------
    def load(self, d: dict) -> None:
        b = d.get("current")
        if b:
            self.rules = BattleRules.from_params(b["rules"])
            self.score, self.coins = b["score"], b["coins"]
            self.contributors = {k: list(v) for k, v in b["contributors"].items()}
            self.mvp, self.phase, self.frozen = b["mvp"], b["phase"], b["frozen"]
        self.seen = list(d.get("seen", []))

    def to_dict(self) -> dict:
        if self.rules is None:
            return {}
        return {
            "current": {
                "rules": self.rules.params(),
                "score": self.score,
                "coins": self.coins,
                "contributors": self.contributors,
                "mvp": self.mvp,
                "phase": self.phase,
                "frozen": self.frozen,
            },
            "seen": self.seen,
        }

    # ---- rules --------------------------------------------------------------------------
    def on_event(self, st: StreamState, ev: EngagementEvent) -> None:
        c = ev.control
        if ev.kind != "control" or c.feature != self.name or c.action != "start":
            return
        try:
            rules = BattleRules.from_params(c.params)
        except ValueError:
            return  # the API validated it; a malformed one changes nothing
        if rules.battle_id in self.seen or (self.rules is not None and not self.frozen):
            return
        self.rules, self.score, self.coins = rules, 0, 0
        self.contributors, self.mvp, self.phase, self.frozen = {}, None, "upcoming", False
        self.seen = (self.seen + [rules.battle_id])[-20:]
        self._dirty = True
        st.alerts.append(
            {
                "type": "battle_started",
                "battle_id": rules.battle_id,
                "opponent_stream_id": rules.opponent_stream_id,
                "opponent_creator_id": rules.opponent_creator_id,
                "start": utc_iso(rules.start),
                "end": utc_iso(rules.end),
            }
        )

    def on_settled(self, st: StreamState, s: Settled) -> None:
        r = self.rules
        if r is None or self.frozen or not r.counts(s.occurred_at):
            return
        points = s.coins * r.multiplier(s.occurred_at)
        if points <= 0:
            return
        self.score += points
        self.coins += s.coins
        at = utc_iso(s.occurred_at)
        entry = self.contributors.get(s.user_id)
        if entry is None:
            if len(self.contributors) >= CONTRIBUTORS_CAP:
                last = max(self.contributors, key=lambda u: mvp_key(u, *self.contributors[u]))
                del self.contributors[last]
            entry = self.contributors[s.user_id] = [0, ""]
        entry[0] += points
        entry[1] = max(entry[1], at)
        self._dirty = True

    def tick(self, st: StreamState, now: float) -> None:
        r = self.rules
        if r is None or self.frozen:
            return
        phase = (
            "upcoming"
            if now < r.start.timestamp()
            else "live"
            if now < r.end.timestamp()
            else "settling"
        )
        if phase != self.phase:
            self.phase, self._dirty = phase, True
        if self._dirty:
            self.mvp = self._mvp(st)
        if now >= r.freeze_at:
            self.frozen, self.phase, self._dirty = True, "final", True
            st.alerts.append(
                {
                    "type": "battle_ended",
                    "battle_id": r.battle_id,
                    "score": self.score,
                    "mvp": self.mvp,
                }
            )
        if self._dirty:
            st.side_writes.append(
                SideWrite(
                    f"{COLLECTION}/{r.battle_id}",
                    set={"sides": {st.stream_id: self.side(st.creator_id)}},
                )
            )
            self._dirty = False

    def _mvp(self, st: StreamState) -> dict | None:
        if not self.contributors:
            return None
        uid = min(self.contributors, key=lambda u: mvp_key(u, *self.contributors[u]))
        v = st.users.get(uid)
        return {
            "user_id": uid,
            "handle": v.handle if v else "",
            "name": v.name if v else "",
            "points": self.contributors[uid][0],
        }

    def side(self, creator_id: str) -> dict:
        """This stream's part of `battles/{id}` (absolute values: a repeat is harmless)."""
        return {
            "creator_id": creator_id,
            "score": self.score,
            "coins": self.coins,
            "mvp": self.mvp,
            "phase": self.phase,
            "frozen": self.frozen,
        }

    def next_deadline(self) -> float | None:
        r = self.rules
        if r is None or self.frozen:
            return None
        if self.phase in ("", "upcoming"):
            return r.start.timestamp()
        if self.phase == "live":
            return r.end.timestamp()
        return r.freeze_at

    def view(self) -> dict | None:
        r = self.rules
        if r is None:
            return None
        return {
            "battle_id": r.battle_id,
            "phase": self.phase,
            "start": utc_iso(r.start),
            "end": utc_iso(r.end),
            "grace_s": r.grace_s,
            "windows": [w.model_dump() for w in r.windows],
            "opponent_stream_id": r.opponent_stream_id,
            "opponent_creator_id": r.opponent_creator_id,
            "score": self.score,
            "coins": self.coins,
            "mvp": self.mvp,
            "frozen": self.frozen,
        }
