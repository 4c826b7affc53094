"""The mood layer: reactions aggregated into a decaying mood vector per stream, and a named
mood with hysteresis. Pure; a stream feature (domain/features.py).

Rules (docs/engagement.md, "Mood"; decision 075):
- Four moods: hype, love, laugh, calm. Each applied event adds a weight to one or more:
  a settled gift adds `5 + min(coins, 500) // 5` to hype (or to the mood the creator maps
  that gift id to, `gift_moods`); a like event adds `min(count, 100)` to love, or to laugh or
  hype when it is an app's laugh or hype reaction (`reaction`); a comment adds
  5 to each mood whose emoji or word it contains (once per mood per comment: a comment of
  50 laughing faces weighs what one does); a follow or a share adds 3 to hype; a join adds 1
  to calm. Control events, viewer counts and stream start/end add nothing.
- Decay by event time: a weight added at `t` counts `w * 2^-((T - t) / half_life)` at the
  mood clock `T`, the latest `occurred_at` applied (and, between events, the rollup's now),
  so the vector is the same whatever order the events were applied in (to float rounding),
  and a late event counts with the decay it would have had. `half_life_s`: 20 by default
  (5-300, creator setting).
- The named mood: `calm` until a mood's score reaches ENTER (30); then the strongest mood
  (ties: hype, love, laugh, calm in that order). Hysteresis: a named mood other than calm
  stays until its score falls below LEAVE (15), or another mood's score exceeds both ENTER
  and SWITCH (1.5) times the current one. So a score wobbling around one threshold does not
  flicker the overlay's theme.
- Timeline: one point per minute of the mood clock (the named mood and the rounded scores
  as they stood at the minute's last applied time), written when the clock enters a later
  minute, to `mood_timelines/{stream}` (a map keyed by
  minute): one side write per stream per minute with activity.
- The live view (`streams/{id}.features.mood`) holds the named mood and the scores rounded
  to integers as of the last applied event (`at`, with `half_life_s`, so a client decays
  them between events: decision 096); a rollup that only moves the clock changes the
  live document only when the named mood changes, and then shows the scores as of that
  clock. While a non-calm mood decays with no events, the feature asks for a rollup at the
  time its score crosses LEAVE (`next_deadline`), so the theme returns to calm without a
  new event.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import ClassVar

from giftengine.domain.events import utc_iso
from giftengine.domain.features import Feature, Settled, SideWrite, path_segment

MOODS = ("hype", "love", "laugh", "calm")  # also the tie order
ENTER, LEAVE, SWITCH = 30.0, 15.0, 1.5
DEFAULT_HALF_LIFE_S, MIN_HALF_LIFE_S, MAX_HALF_LIFE_S = 20, 5, 300
MAX_GIFT_MOODS = 100

# What a comment says, per mood: emoji (as characters) and whole words (lowercased).
_EMOJI = {
    "laugh": "😂🤣😆😹😅😄",
    "love": "❤😍🥰😘💕💖💗💓💞🩷",
    "hype": "🔥🎉💯🚀⚡🙌🤩",
    "calm": "😌🙏🧘🌙☕😴",
}
_WORDS = {
    "laugh": {"lol", "lmao", "lmfao", "haha", "hahaha", "rofl", "xd", "jaja", "kkk"},
    "love": {"love", "<3", "cute", "adorable"},
    "hype": {"gg", "hype", "fire", "lets", "letsgo", "pog", "poggers", "wow"},
    "calm": {"chill", "calm", "relax", "cozy", "peaceful"},
}


def comment_moods(text: str) -> list[str]:
    """The moods a comment expresses (each at most once), by emoji and whole words. No
    regular expression: the text is split on whitespace and scanned once."""
    found = []
    words = {w.strip(".,!?:;\"'()").lower() for w in text.split()}
    for mood in MOODS:
        if mood in found:
            continue
        if words & _WORDS[mood] or any(ch in text for ch in _EMOJI[mood]):
            found.append(mood)
    return found


def like_mood(reaction: str | None) -> str:
    """The mood a like event adds to: an app's laugh, hype or love button its own mood; a
    plain like (a TikTok like, the app's like button) love."""
    return reaction if reaction in ("laugh", "hype", "love") else "love"


def _ts(dt: datetime) -> float:
    return dt.astimezone(UTC).timestamp()


class Mood(Feature):
    name: ClassVar[str] = "mood"
    # Every event moves the decay deadline; back to calm up to 5 s late (decision 044).
    deadline_slack: ClassVar[float] = 5.0

    def __init__(self) -> None:
        self.scores = dict.fromkeys(MOODS, 0.0)
        self.clock = 0.0  # the mood clock: latest event time (or rollup now) applied
        # The scores as the last applied event left them, and the clock then: the view
        self.shown: dict[str, float] = dict.fromkeys(MOODS, 0.0)
        self.shown_at = 0.0
        self.current = "calm"
        self.since: float | None = None
        self.minute: int | None = None  # the minute of the clock the timeline is in
        self.half_life = float(DEFAULT_HALF_LIFE_S)
        self.gift_moods: dict[str, str] = {}

    # ---- persistence and settings ------------------------------------------------------
    def load(self, d: dict) -> None:
        self.scores.update({m: float(v) for m, v in (d.get("scores") or {}).items() if m in MOODS})
        self.clock = float(d.get("clock", 0.0))
        self.current = d.get("current", "calm")
        self.since = d.get("since")
        self.minute = d.get("minute")
        shown = d.get("shown")
        if shown is None:  # a state from before the view kept them: as of the clock
            self.shown, self.shown_at = dict(self.scores), self.clock
        else:
            self.shown.update({m: float(v) for m, v in shown.items() if m in MOODS})
            self.shown_at = float(d.get("shown_at", self.clock))

    def to_dict(self) -> dict:
        if not self.clock:
            return {}  # an idle stream stores nothing
        return {
            "scores": self.scores,
            "clock": self.clock,
            "current": self.current,
            "since": self.since,
            "minute": self.minute,
            "shown": self.shown,
            "shown_at": self.shown_at,
        }

    @classmethod
    def check_config(cls, config: dict) -> dict:
        if not isinstance(config, dict):
            raise ValueError("mood settings must be an object")
        unknown = set(config) - {"half_life_s", "gift_moods"}
        if unknown:
            raise ValueError(f"mood settings: unknown field(s) {sorted(unknown)}")
        out: dict = {}
        if "half_life_s" in config:
            h = config["half_life_s"]
            if isinstance(h, bool) or not isinstance(h, int):
                raise ValueError("mood.half_life_s must be an integer")
            if not MIN_HALF_LIFE_S <= h <= MAX_HALF_LIFE_S:
                raise ValueError(
                    f"mood.half_life_s must be {MIN_HALF_LIFE_S}..{MAX_HALF_LIFE_S} seconds"
                )
            out["half_life_s"] = h
        if "gift_moods" in config:
            gm = config["gift_moods"]
            if not isinstance(gm, dict) or len(gm) > MAX_GIFT_MOODS:
                raise ValueError(f"mood.gift_moods must map at most {MAX_GIFT_MOODS} gift ids")
            for gift_id, mood in gm.items():
                if not (isinstance(gift_id, str) and 1 <= len(gift_id) <= 256):
                    raise ValueError("mood.gift_moods: a gift id is a string of 1-256 characters")
                if mood not in MOODS:
                    raise ValueError(f"mood.gift_moods[{gift_id!r}]: one of {', '.join(MOODS)}")
            out["gift_moods"] = dict(gm)
        return out

    def configure(self, config: dict | None) -> None:
        config = config or {}
        self.half_life = float(config.get("half_life_s", DEFAULT_HALF_LIFE_S))
        self.gift_moods = dict(config.get("gift_moods") or {})

    # ---- rules -------------------------------------------------------------------------
    def _advance(self, st, t: float) -> None:
        """Move the mood clock to `t` (never back), decaying every score; close minutes."""
        if t <= self.clock:
            return
        minute = int(t // 60)
        if self.minute is not None and minute > self.minute:
            self._close_minute(st)  # as it stood at the minute's last applied time
        self.minute = minute
        if self.clock:
            factor = 2.0 ** (-(t - self.clock) / self.half_life)
            for m in MOODS:
                self.scores[m] *= factor
        self.clock = t

    def _add(self, st, mood: str, weight: float, t: float) -> None:
        self._advance(st, t)
        self.scores[mood] += weight * 2.0 ** (-(self.clock - t) / self.half_life)
        self.shown, self.shown_at = dict(self.scores), self.clock

    def _close_minute(self, st) -> None:
        """The closing minute's point, merged into the stream's timeline document."""
        key = datetime.fromtimestamp(self.minute * 60, UTC).strftime("%Y-%m-%dT%H:%MZ")
        point = {"mood": self.current, **self.rounded()}
        st.side_writes.append(
            SideWrite(
                f"mood_timelines/{path_segment(st.stream_id)}",
                set={"stream_id": st.stream_id, "points": {key: point}},
            )
        )

    def on_event(self, st, ev) -> None:
        t = _ts(ev.occurred_at)
        if ev.kind == "like":
            self._add(st, like_mood(ev.reaction), float(min(ev.count, 100)), t)
        elif ev.kind == "comment":
            for mood in comment_moods(ev.text):
                self._add(st, mood, 5.0, t)
        elif ev.kind in ("follow", "share"):
            self._add(st, "hype", 3.0, t)
        elif ev.kind == "join":
            self._add(st, "calm", 1.0, t)

    def on_settled(self, st, s: Settled) -> None:
        mood = self.gift_moods.get(s.gift_id, "hype")
        self._add(st, mood, float(5 + min(s.coins, 500) // 5), _ts(s.occurred_at))

    def tick(self, st, now: float) -> None:
        if not self.clock:
            return
        self._advance(st, now)
        self._name()

    def _name(self) -> None:
        best = max(MOODS, key=lambda m: (self.scores[m], -MOODS.index(m)))
        cur = self.current
        if cur == "calm" or self.scores[cur] < LEAVE:
            new = best if self.scores[best] >= ENTER else "calm"
        elif best != cur and self.scores[best] >= max(ENTER, SWITCH * self.scores[cur]):
            new = best
        else:
            new = cur
        if new != cur:
            self.current, self.since = new, self.clock
            # The view is rewritten for the new mood anyway: with the scores it was named by.
            self.shown, self.shown_at = dict(self.scores), self.clock

    def rounded(self) -> dict:
        return {m: int(round(self.scores[m])) for m in MOODS}

    def next_deadline(self) -> float | None:
        """When the current mood's score decays below LEAVE with no new event."""
        if self.current == "calm" or not self.clock:
            return None
        s = self.scores[self.current]
        if s < LEAVE:
            return self.clock
        return self.clock + self.half_life * math.log2(s / LEAVE) + 0.001

    def view(self) -> dict | None:
        """The named mood, and the scores as of `at` (the last applied event's clock):
        a client shows `score * 2^-((now - at) / half_life_s)` between events."""
        if not self.clock:
            return None
        since = None if self.since is None else utc_iso(datetime.fromtimestamp(self.since, UTC))
        return {
            "mood": self.current,
            "scores": {m: int(round(self.shown[m])) for m in MOODS},
            "at": utc_iso(datetime.fromtimestamp(self.shown_at, UTC)),
            "half_life_s": int(self.half_life),
            "since": since,
        }
