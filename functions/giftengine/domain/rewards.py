"""The rewards stream feature: XP and loyalty points per viewer, written with the rollup. Pure.

It runs inside the per-stream rollup (decision 051) and applies the formula of
domain/xp.py to each applied event once. What a viewer earns is kept in this feature's
state (`pending`) until a rollup writes it out as increments, in the rollup's own
transaction, so each event's XP is added exactly once:

- `xp/{viewer}`: the viewer's global XP (`xp`, `xp_<source>`, `coins`, `gifts`);
- `xp/{viewer}/creators/{creator}`: the same per creator, plus `points_earned` and the
  days attended (`days.{YYYY-MM-DD}`, in the creator's time zone; a map merged, so a second
  stream on the same day writes the same thing);
- `xp/{creator}`: `creator_xp`, the XP the creator's viewers earned in this stream.

Moments the stream's features announce in the batch's alerts are counted at once, with the
rollup's commit: moment badges (`award_<badge>`) and a timed round's reward to its winner
(`points_rewarded`, the reward's badge, a ledger entry `.../round_rewards/{stream}_{n}`).

A viewer is `tiktok:<id>` for TikTok events and the app user's uid for app events (the uid
the wallet and the chat use). The creator's own events earn nothing in their stream.

Bounds (state shares the stream's state document): per viewer one short list (minute caps,
pending counters, last day written: ~80 bytes), at most `TRACK_CAP` viewers at a time.
A viewer not yet tracked when the cap is full earns nothing for likes, comments, shares,
joins and follows until entries free up; gifts are always tracked (they are paid, and the
gifters are already in the stream's viewers). Pending XP is written out in rounds, at most
one round per `FLUSH_INTERVAL_S` (and when the stream ends): a round writes at most
`FLUSH_MAX` viewers per rollup (2 documents each, plus the creator's), the rest at the next
rollups (`next_deadline`). So an active viewer costs at most 2 writes per 30 s, whatever
they do. An entry with nothing pending is forgotten two minutes (processing time)
after its minute; a late event of that viewer then starts a new minute.

Banned users earn nothing: `configure` receives the stream's active chat bans (`banned`:
uids), which the service reads at most once a minute per stream and process
(service/pipeline.py). A comment earns XP only if `comment_ok(text)` passes; the service
sets it to the chat's built-in classifier (service/pipeline.py); the default accepts any
non-blank comment. App comments skip it: the chat puts one in the log only when its
moderation showed it (the stream's level and keywords, or a moderator's restore), and that
verdict stands (moderation/chat_log.py, decision 092).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from giftengine.domain import badges as bd
from giftengine.domain import periods, xp
from giftengine.domain.features import Feature, Settled, SideWrite, path_segment

if TYPE_CHECKING:
    from giftengine.domain.events import EngagementEvent
    from giftengine.domain.stream import StreamState

TRACK_CAP = 3000
FLUSH_MAX = 100
FLUSH_INTERVAL_S = 30.0
FORGET_AFTER_S = 120.0
# entry layout: minute caps (xp.Minute, 5), pending (sources..., coins, gifts), day
_M = 5
_P = len(xp.SOURCES) + 2
_DAY = _M + _P  # index of the last day written (YYYYMMDD int), then the day pending
_LEN = _DAY + 2


REWARD_ID = r"^[a-z][a-z0-9_]{0,31}$"  # a reward's id (a command mapping's trigger names one)


class RewardItem(BaseModel):
    """Something a viewer can redeem with the creator's points ("choose the next song")."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    id: str = Field(pattern=REWARD_ID)
    title: str = Field(pattern=bd.TEXT_PATTERN)
    cost: int = Field(ge=1, le=10_000_000)
    needs_note: bool = False  # the viewer's text (e.g. the song) goes with the redemption


class Settings(BaseModel):
    """`creators/{uid}.features.rewards`, validated by the feature-settings route."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    enabled: bool = True
    badges: list[bd.Rule] = Field(default_factory=list, max_length=20)
    rewards: list[RewardItem] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _unique(self) -> Settings:
        ids = [b.id for b in self.badges]
        builtin = {b.id for b in bd.BUILT_IN}
        if len(set(ids)) != len(ids) or builtin & set(ids):
            raise ValueError("badge ids must be unique and not a built-in badge's id")
        rids = [r.id for r in self.rewards]
        if len(set(rids)) != len(rids):
            raise ValueError("reward ids must be unique")
        return self


def _rules(raw: Any) -> list[bd.Rule]:
    """The creator's own badge rules as stored; one that no longer validates is skipped."""
    out = []
    for b in raw or ():
        try:
            out.append(bd.Rule.model_validate(b))
        except ValueError:
            continue
    return out


def round_reward_doc(vid: str, creator_id: str, stream_id: str, n: int) -> str:
    """The winner's ledger entry of round n's reward, keyed like `rounds/{stream}_{n}`."""
    return f"xp/{vid}/creators/{creator_id}/round_rewards/{path_segment(stream_id)}_{n}"


def _default_comment_ok(text: str) -> bool:
    return bool(text.strip())


def viewer_id(source: str, user_id: str) -> str:
    """The id a viewer's XP documents use (module doc)."""
    return f"tiktok:{user_id}" if source == "tiktok" else user_id


class Rewards(Feature):
    name = "rewards"
    comment_ok: ClassVar[Callable[[str], bool]] = staticmethod(_default_comment_ok)

    def __init__(self) -> None:
        self.entries: dict[str, list[int]] = {}
        self.follows_seen = 0
        self.banned: frozenset[str] = frozenset()
        self.enabled = True
        self.last_flush = 0.0
        self.in_round = False  # a write-out round is under way (more than FLUSH_MAX due)
        self.top3_done = False
        self.rules: tuple[bd.Rule, ...] = ()  # the creator's own badges (round rewards' names)

    # ---- persistence ----------------------------------------------------------------
    def load(self, d: dict) -> None:
        self.entries = {k: list(v) for k, v in (d.get("entries") or {}).items()}
        self.follows_seen = int(d.get("follows_seen", 0))
        self.last_flush = float(d.get("last_flush", 0.0))
        self.in_round = bool(d.get("in_round", False))
        self.top3_done = bool(d.get("top3_done", False))

    def to_dict(self) -> dict:
        return {
            "entries": self.entries,
            "follows_seen": self.follows_seen,
            "last_flush": self.last_flush,
            "in_round": self.in_round,
            "top3_done": self.top3_done,
        }

    @classmethod
    def check_config(cls, config: dict) -> dict:
        return Settings.model_validate(config).model_dump()

    @classmethod
    def check_config_with(cls, config: dict, features: dict) -> None:
        """A badge the timed rounds' reward names (`rounds.reward_badge`) stays defined, and
        so does a reward a command mapping's trigger names (`commands`, `{reward_id}`)."""
        badge = (features.get("rounds") or {}).get("reward_badge")
        own = [b["id"] for b in config.get("badges") or []]
        if badge and bd.reward_badge_problem(badge, own) is not None:
            raise ValueError(
                f"badge {badge!r} is the timed rounds' reward_badge (features.rounds): "
                "change that setting before removing the badge"
            )
        kept = {r["id"] for r in config.get("rewards") or []}
        for m in (features.get("commands") or {}).get("mappings") or []:
            named = (m.get("trigger") or {}).get("reward_id") if isinstance(m, dict) else None
            if named and named not in kept:
                raise ValueError(
                    f"reward {named!r} triggers the command mapping {m.get('id')!r} "
                    "(features.commands): change that mapping before removing the reward"
                )

    def configure(self, config: dict | None) -> None:
        config = config or {}
        self.banned = frozenset(config.get("banned") or ())
        self.enabled = config.get("enabled", True) is not False
        self.rules = tuple(_rules(config.get("badges")))

    # ---- rules ----------------------------------------------------------------------
    def _entry(self, vid: str, force: bool = False) -> list[int] | None:
        e = self.entries.get(vid)
        if e is None:
            if len(self.entries) >= TRACK_CAP and not force:
                return None
            e = self.entries[vid] = [-1, 0, 0, 0, 0] + [0] * _P + [0, 0]
        return e

    def _earn(self, e: list[int], source: str, amount: int) -> None:
        e[_M + xp.SOURCES.index(source)] += amount

    def _eligible(self, st: StreamState, ev_source: str, uid: str) -> str | None:
        if not self.enabled:
            return None
        vid = viewer_id(ev_source, uid)
        if vid in self.banned or uid in self.banned:
            return None
        if ev_source == "app" and uid == st.creator_id:
            return None  # the creator in their own stream
        return vid

    def _attend(self, st: StreamState, e: list[int], at: datetime) -> None:
        day = int(periods.day_key(at, st.timezone).replace("-", ""))
        if day > e[_DAY] and day > e[_DAY + 1]:
            e[_DAY + 1] = day

    def on_event(self, st: StreamState, ev: EngagementEvent) -> None:
        if ev.user is None or ev.kind not in ("gift", "like", "comment", "follow", "share", "join"):
            return
        first_follow = False
        if ev.kind == "follow":  # the stream counts a viewer's first follow only
            first_follow = st.totals.follows > self.follows_seen
            self.follows_seen = st.totals.follows
        vid = self._eligible(st, ev.source, ev.user.id)
        if vid is None:
            return
        if ev.kind == "comment" and ev.source != "app" and not type(self).comment_ok(ev.text):
            return  # an app comment is in the log because the chat showed it (decision 092)
        e = self._entry(vid, force=ev.kind == "gift")
        if e is None:
            return
        m = xp.Minute.from_list(e[:_M])
        earned = xp.activity_xp(m, ev.kind, ev.occurred_ts, ev.count)
        if first_follow:
            earned["follows"] = xp.XP_FOLLOW
        e[:_M] = m.to_list()
        for source, amount in earned.items():
            self._earn(e, source, amount)
        self._attend(st, e, ev.occurred_at)

    def on_settled(self, st: StreamState, s: Settled) -> None:
        vid = self._eligible(st, st.source or "tiktok", s.user_id)
        if vid is None:
            return
        e = self._entry(vid, force=True)
        self._earn(e, "gifts", xp.gift_xp(s.coins))
        e[_M + len(xp.SOURCES)] += s.coins
        e[_M + len(xp.SOURCES) + 1] += s.units

    # ---- writing out ----------------------------------------------------------------
    def tick(self, st: StreamState, now: float) -> None:
        writes: dict[str, SideWrite] = {}
        self._moments(st, writes)
        due = sorted(k for k, e in self.entries.items() if self._pending(e))
        ended = st.status == "ended"
        if due and (ended or self.in_round or now - self.last_flush >= FLUSH_INTERVAL_S):
            self._write_out(st, due, writes)
            self.in_round = len(due) > FLUSH_MAX
            if not self.in_round:
                self.last_flush = now
        st.side_writes.extend(writes.values())
        current = xp.minute_of(now)
        for vid in [k for k, e in self.entries.items() if not self._pending(e)]:
            if (current - self.entries[vid][0]) * 60 >= FORGET_AFTER_S:
                del self.entries[vid]

    def _moments(self, st: StreamState, writes: dict[str, SideWrite]) -> None:
        """Moment badges (domain/badges.py) the stream's features announced in this batch:
        counted at once (rare; not part of the write-out rounds) and alerted."""
        won: list[tuple[str, dict]] = []
        for a in list(st.alerts):
            if a.get("type") == "battle_ended" and (a.get("mvp") or {}).get("user_id"):
                won.append(("battle_mvp", a["mvp"]))
            elif a.get("type") == "throne_claimed" and a.get("user_id"):
                won.append(("throne", a))
            elif a.get("type") == "hype_ended" and (a.get("top") or [{}])[0].get("user_id"):
                won.append(("hype_conductor", a["top"][0]))
            elif a.get("type") == "round_ended" and a.get("user_id") and a.get("reward"):
                self._round_reward(st, a, writes)
        if st.status == "ended" and not self.top3_done:
            self.top3_done = True
            won += [("top3_stream", g) for g in st.top_gifters(3)]
        for badge, who in won:
            vid = self._eligible(st, st.source or "tiktok", str(who["user_id"]))
            if vid is None or not self.enabled:
                continue
            per = {"uid": vid, "creator_id": st.creator_id}
            path = f"xp/{vid}/creators/{st.creator_id}"
            self._add(writes, path, per, {f"award_{badge}": 1})
            rule = next(r for r in bd.BUILT_IN if r.id == badge)
            st.alerts.append(
                {
                    "type": "badge",
                    "badge": badge,
                    "badge_name": rule.name,
                    "user_id": str(who["user_id"]),
                    "handle": who.get("handle", ""),
                    "name": who.get("name", ""),
                    "rank": None,
                }
            )

    def _round_reward(self, st: StreamState, a: dict, writes: dict[str, SideWrite]) -> None:
        """A timed round's reward (domain/rounds.py) to its winner: the points join their
        loyalty points with the creator (`points_rewarded`), the badge is counted once more
        (`award_<badge>`), with a ledger entry keyed by the round. The `round_ended` alert is
        raised once, by the rollup that freezes the round, so this runs once per round, in
        that rollup's commit (decision 093)."""
        vid = self._eligible(st, st.source or "tiktok", str(a["user_id"]))
        if vid is None:
            return
        reward = a["reward"]
        points = int(reward.get("points") or 0)
        badge = reward.get("badge") or None
        incs: dict[str, int] = {}
        if points > 0:
            incs["points_rewarded"] = points
        if badge:
            incs[bd.award_field(badge)] = 1
        if not incs:
            return
        per = {"uid": vid, "creator_id": st.creator_id}
        self._add(writes, f"xp/{vid}/creators/{st.creator_id}", per, incs)
        entry = round_reward_doc(vid, st.creator_id, st.stream_id, int(a["round"]))
        writes[entry] = SideWrite(
            entry,
            set={
                "type": "round_reward",
                "uid": vid,
                "creator_id": st.creator_id,
                "stream_id": st.stream_id,
                "round": int(a["round"]),
                "coins": int(a.get("coins", 0)),
                "points": max(points, 0),
                "badge": badge,
                "at": a.get("occurred_at"),
            },
            merge=False,
        )
        if badge:
            st.alerts.append(
                {
                    "type": "badge",
                    "badge": badge,
                    "badge_name": bd.badge_name(badge, self.rules),
                    "user_id": str(a["user_id"]),
                    "handle": a.get("handle", ""),
                    "name": a.get("name", ""),
                    "rank": None,
                    "round": int(a["round"]),
                }
            )

    def _write_out(self, st: StreamState, due: list[str], writes: dict[str, SideWrite]) -> None:
        creator_xp = 0
        for vid in due[:FLUSH_MAX]:
            e = self.entries[vid]
            incs = self._increments(e)
            total = incs.get("xp", 0)
            creator_xp += total
            glob = {k: v for k, v in incs.items() if k != "points_earned"}
            self._add(writes, f"xp/{vid}", {"uid": vid}, glob)
            per = {"uid": vid, "creator_id": st.creator_id}
            if e[_DAY + 1]:
                d = str(e[_DAY + 1])
                per["days"] = {f"{d[:4]}-{d[4:6]}-{d[6:]}": True}
                e[_DAY], e[_DAY + 1] = e[_DAY + 1], 0
            self._add(writes, f"xp/{vid}/creators/{st.creator_id}", per, incs)
            e[_M:_DAY] = [0] * _P
        if creator_xp:
            self._add(
                writes, f"xp/{st.creator_id}", {"uid": st.creator_id}, {"creator_xp": creator_xp}
            )

    @staticmethod
    def _pending(e: list[int]) -> bool:
        return any(e[_M:_DAY]) or bool(e[_DAY + 1])

    @staticmethod
    def _increments(e: list[int]) -> dict[str, int]:
        by_source = dict(zip(xp.SOURCES, e[_M : _M + len(xp.SOURCES)], strict=True))
        total = sum(by_source.values())
        out: dict[str, int] = {f"xp_{k}": v for k, v in by_source.items() if v}
        if total:
            out["xp"] = total
            out["points_earned"] = xp.points_for(total)
        coins, gifts = e[_M + len(xp.SOURCES)], e[_M + len(xp.SOURCES) + 1]
        if coins:
            out["coins"] = coins
        if gifts:
            out["gifts"] = gifts
        return out

    @staticmethod
    def _add(writes: dict[str, SideWrite], path: str, sets: dict[str, Any], incs: dict) -> None:
        w = writes.get(path)
        if w is None:
            writes[path] = SideWrite(path, set=dict(sets), increments=dict(incs))
            return
        w.set.update(sets)
        for k, v in incs.items():
            w.increments[k] = w.increments.get(k, 0) + v

    def next_deadline(self) -> float | None:
        # A round with more viewers than one rollup writes out continues as soon as the
        # rollup's spacing allows (0.0); otherwise pending XP waits for the next round.
        if not any(self._pending(e) for e in self.entries.values()):
            return None
        return 0.0 if self.in_round else self.last_flush + FLUSH_INTERVAL_S

    def view(self) -> dict | None:
        return None
