"""The stream aggregate: everything one stream's rollup decides, as pure code.

A rollup loads a `StreamState`, feeds it the newly recorded events in ingest order
(`apply`), lets idle streaks expire (`expire`), closes the batch (`finish_batch`: ranks,
goals, alerts) and takes what is due for the leaderboards (`take_flush`). The adapter then
writes the state and its projections in one transaction, so a batch is applied entirely
or not at all, and each recorded event is applied exactly once.

Streak rules (TikTok sends a streakable gift as messages whose `repeat_count` is a running
total, the last with `repeat_end`):
- key = (user, gift, group_id); a non-streakable gift is its own streak, keyed by event id;
- the units counted for a streak are the final's `repeat_count` when the final was seen,
  otherwise the highest `repeat_count` seen, settled when the streak idles out or the
  stream ends. Settlement is incremental (`settled_units`), so a final that arrives after
  an idle settlement tops the streak up to the final count instead of counting twice;
- after the final, later messages of the streak (late intermediates, re-sent finals under
  new event ids) change nothing.

A settled streak is remembered (for the rule above) in a compact form, `[units, final,
last_seen]` under its key, for `settled_streak_retention_s`, and at most `SETTLED_CAP`
of them per stream (the oldest go first), so the state documents stay far below
Firestore's 1 MiB per document however many streaks a hot stream settles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from giftengine.domain import periods, ranking
from giftengine.domain.events import EngagementEvent, utc_iso
from giftengine.domain.features import Feature, Job, Settled, SideWrite
from giftengine.domain.periods import session_board

GOAL_METRICS = ("coins", "gift_units", "likes", "follows", "shares", "joins")
# Settled streaks kept per stream: ~50 bytes each in the state documents, so even all of
# them in one shard document stay near half of Firestore's 1 MiB limit.
SETTLED_CAP = 10_000
# An idle streak's follow-up rollup is asked for on this grid (`next_deadline` with slack):
# at a gift a second, each message of a running streak moves its idle deadline by a second,
# and each commit asked for a follow-up task of its own that found nothing due (the next
# gift's rollup had passed the deadline). On the grid they share one. A streak with no event
# after it then settles up to this much later; kept under the battles' settlement grace
# minus the idle timeout (15 - 10 s, docs/engagement.md), so a streak that idles out inside
# a battle still settles before the freeze; and at most `STREAK_SLACK_SHARE` of the idle
# timeout (a shorter timeout, as the tests' 2 s with a 5 s grace, gets a finer grid).
STREAK_DEADLINE_SLACK_S = 4.0
STREAK_SLACK_SHARE = 0.4


def streak_deadline_slack(timeout: float) -> float:
    """The grid an idle streak's follow-up is asked for on, for this idle timeout."""
    return min(STREAK_DEADLINE_SLACK_S, STREAK_SLACK_SHARE * timeout)


def _on_grid(t: float, grid: float) -> float:
    """`t` rounded up to a multiple of `grid` (`t` itself when `grid` is 0)."""
    return math.ceil(t / grid) * grid if grid > 0 else t


# Board documents a stream remembers having written (a long stream passes a day, a week
# and a month boundary now and then; one forgotten is only written once more).
BOARDS_KEPT = 32


def streak_key(ev: EngagementEvent) -> str:
    """The key of the streak a streakable gift message belongs to (per user)."""
    return f"{ev.gift.id}|{ev.group_id}"


@dataclass
class Streak:
    key: str
    gift_id: str
    gift_name: str
    coins_per_unit: int
    max_count: int = 0
    final_seen: bool = False
    settled_units: int = 0
    last_seen: float = 0.0  # processing clock (s): idle timeouts run on it
    last_occurred_at: str = ""  # settles into the periods of its last message

    @property
    def open(self) -> bool:
        return not self.final_seen and self.max_count > self.settled_units


@dataclass
class Viewer:
    """One user's session in one stream."""

    user_id: str
    handle: str = ""
    name: str = ""
    coins: int = 0
    gifts: int = 0
    followed: bool = False
    flushed_coins: int = 0  # what the session leaderboard entry holds
    flushed_gifts: int = 0
    flushed_at: float = 0.0  # when this user's entries were last flushed
    pending: dict[str, list[int]] = field(default_factory=dict)  # board -> [coins, units]
    streaks: dict[str, Streak] = field(default_factory=dict)

    @property
    def session_dirty(self) -> bool:
        return (self.coins, self.gifts) != (self.flushed_coins, self.flushed_gifts)

    @property
    def needs_flush(self) -> bool:
        flushed = (self.flushed_coins, self.flushed_gifts)
        return bool(self.pending) or (self.coins, self.gifts) != flushed

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "streaks"}
        d["pending"] = {k: list(v) for k, v in self.pending.items()}
        d["streaks"] = {k: asdict(s) for k, s in self.streaks.items() if s.open}
        # Settled streaks only need what decides a later message of theirs (module doc).
        d["settled"] = {
            k: [s.settled_units, int(s.final_seen), s.last_seen]
            for k, s in self.streaks.items()
            if not s.open
        }
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Viewer:
        d = dict(d)
        streaks = {k: Streak(**s) for k, s in (d.get("streaks") or {}).items()}
        for key, (units, final, last_seen) in (d.pop("settled", None) or {}).items():
            streaks[key] = Streak(
                key,
                key.split("|", 1)[0],
                "",
                0,  # a later intermediate reopening it brings its price (see _gift)
                max_count=units,
                final_seen=bool(final),
                settled_units=units,
                last_seen=last_seen,
            )
        d["streaks"] = streaks
        d["pending"] = {k: list(v) for k, v in (d.get("pending") or {}).items()}
        return cls(**d)


@dataclass
class Totals:
    coins: int = 0
    gifts: int = 0
    likes: int = 0
    comments: int = 0
    follows: int = 0
    shares: int = 0
    joins: int = 0


@dataclass
class GoalState:
    goal_id: str
    metric: str
    target: int
    gift_id: str | None = None
    title: str = ""
    baseline: int = 0
    progress: int = 0
    reached: bool = False
    deadline: float | None = None  # a challenge (domain/challenges.py)
    failed: bool = False


@dataclass
class FlushItem:
    """Leaderboard writes due for one user: increments per period board, plus the absolute
    session entry."""

    user_id: str
    handle: str
    name: str
    session_coins: int
    session_gifts: int
    increments: dict[str, tuple[int, int]]  # board_id -> (coins, units)
    # Boards whose document (what identifies the board: docs/firestore.md) this stream
    # writes for the first time with this item; the entries alone change after that.
    new_boards: tuple[str, ...] = ()


@dataclass
class StreamState:
    stream_id: str
    creator_id: str = ""
    source: str = ""
    timezone: str = "UTC"
    status: str = "live"
    started_at: str | None = None
    ended_at: str | None = None
    totals: Totals = field(default_factory=Totals)
    gift_units: dict[str, int] = field(default_factory=dict)  # gift_id -> settled units
    viewers_current: int = 0
    viewers_peak: int = 0
    viewers_at: str = ""
    goals: dict[str, GoalState] = field(default_factory=dict)
    alert_seq: int = 0
    rev: int = 0
    last_rollup_at: float = 0.0
    last_flush_at: float = 0.0
    last_period_flush_at: float = 0.0
    boards_written: list[str] = field(default_factory=list)  # newest last, BOARDS_KEPT
    users: dict[str, Viewer] = field(default_factory=dict)
    features: dict[str, dict] = field(default_factory=dict)  # name -> state (domain/features.py)
    # Output of the current batch (not persisted).
    alerts: list[dict] = field(default_factory=list, repr=False)
    side_writes: list[SideWrite] = field(default_factory=list, repr=False)
    jobs: list[Job] = field(default_factory=list, repr=False)  # with their side writes
    _combo_touched: dict[str, str] = field(default_factory=dict, repr=False)  # key -> user
    _features: dict[str, Feature] = field(default_factory=dict, repr=False)  # loaded

    # ---- applying events -------------------------------------------------------------
    def apply(self, ev: EngagementEvent, now: float) -> None:
        if not self.creator_id:
            self.creator_id = ev.creator_id or ev.stream_id
        if not self.source and ev.kind != "control":
            # a creator's command is an app event on any stream: the first event from the
            # stream's own source says whose ids its viewers have (tiktok:<id> or app uids)
            self.source = ev.source
        kind = ev.kind
        # Only gifts and follows need per-user state; a join, like, comment or share from
        # each of a big stream's tens of thousands of viewers must not grow the documents.
        viewer = self._viewer(ev) if ev.user and kind in ("gift", "follow") else None
        if kind == "gift":
            self._gift(ev, viewer, now)
        elif kind == "like":
            self.totals.likes += ev.count
        elif kind == "comment":
            self.totals.comments += 1
        elif kind == "follow":
            if not viewer.followed:
                viewer.followed = True
                self.totals.follows += 1
                self.alerts.append(self._user_alert("follow", viewer))
        elif kind == "share":
            self.totals.shares += 1
            u = ev.user
            sharer = self.users.get(u.id) or Viewer(u.id, u.handle or "", u.name or "")
            self.alerts.append(self._user_alert("share", sharer))
        elif kind == "join":
            self.totals.joins += 1
        elif kind == "viewers":
            at = utc_iso(ev.occurred_at)
            if at >= self.viewers_at:
                self.viewers_current, self.viewers_at = ev.viewers, at
            self.viewers_peak = max(self.viewers_peak, ev.viewers)
        elif kind == "stream_start":
            self.status = "live"
            self.started_at = self.started_at or utc_iso(ev.occurred_at)
        elif kind == "stream_end":
            self.expire(now, timeout=0.0)
            self.status = "ended"
            self.ended_at = utc_iso(ev.occurred_at)
        for f in self._features.values():
            f.on_event(self, ev)

    # ---- features (domain/features.py) -----------------------------------------------
    def load_features(self, registry: tuple[type[Feature], ...], config: dict | None) -> None:
        """Instantiate the registered features from their persisted state and configure
        them from the creator's settings (`features.{name}`). Call before anything else
        in a rollup, so the live view compared before and after includes them."""
        config = config or {}
        self._features = {}
        for cls in registry:
            f = cls.from_dict(self.features.get(cls.name))
            f.configure(config.get(cls.name))
            self._features[cls.name] = f

    def tick_features(self, now: float) -> None:
        for f in self._features.values():
            f.tick(self, now)

    def feature(self, name: str) -> Feature | None:
        return self._features.get(name)

    def issue_control(self, ev: EngagementEvent) -> bool:
        """A `control` event a feature issues for another feature in this rollup (a command
        gift starting a tap battle): handed at once to that feature's `on_event`, the path a
        recorded control takes; it is not recorded itself (the event that caused it is, and
        is applied once). False when no feature has the control's name."""
        f = self._features.get(ev.control.feature) if ev.control is not None else None
        if f is None:
            return False
        f.on_event(self, ev)
        return True

    def _viewer(self, ev: EngagementEvent) -> Viewer:
        u = ev.user
        v = self.users.get(u.id)
        if v is None:
            v = self.users[u.id] = Viewer(user_id=u.id)
        v.handle, v.name = u.handle or v.handle, u.name or v.name
        return v

    def _gift(self, ev: EngagementEvent, viewer: Viewer, now: float) -> None:
        g = ev.gift
        if not g.streakable:
            # Comes once; the event record already deduplicated it, so no streak is kept.
            once = Streak(
                f"e|{ev.event_id}",
                g.id,
                g.name,
                g.coins,
                max_count=ev.repeat_count,
                final_seen=True,
            )
            self._settle(viewer, once, ev.repeat_count, ev.occurred_at, ev.event_id)
            return
        key = streak_key(ev)
        s = viewer.streaks.get(key)
        if s is None:
            s = viewer.streaks[key] = Streak(key, g.id, g.name, g.coins)
        if s.final_seen:
            return  # re-sent final or late intermediate: already settled for good
        s.last_seen = now
        s.last_occurred_at = utc_iso(ev.occurred_at)
        s.gift_name = g.name or s.gift_name
        s.coins_per_unit = s.coins_per_unit or g.coins  # unknown once stored as settled
        if ev.repeat_end:
            s.final_seen = True
            s.max_count = max(s.max_count, ev.repeat_count)
            self._settle(viewer, s, ev.repeat_count - s.settled_units, ev.occurred_at, ev.event_id)
            self._combo_touched.pop(key, None)
        elif ev.repeat_count > s.max_count:
            s.max_count = ev.repeat_count
            self._combo_touched[key] = viewer.user_id

    def _settle(
        self, viewer: Viewer, s: Streak, units: int, at: datetime, event_id: str | None = None
    ) -> None:
        if units <= 0:
            return
        coins = units * s.coins_per_unit
        s.settled_units += units
        viewer.coins += coins
        viewer.gifts += units
        self.totals.coins += coins
        self.totals.gifts += units
        self.gift_units[s.gift_id] = self.gift_units.get(s.gift_id, 0) + units
        for board in periods.period_boards(self.creator_id, self.timezone, at):
            acc = viewer.pending.setdefault(board.board_id, [0, 0])
            acc[0] += coins
            acc[1] += units
        alert = self._user_alert("gift", viewer)
        alert.update(
            gift_id=s.gift_id,
            gift_name=s.gift_name,
            units=units,
            coins=coins,
            streak_count=s.settled_units,
            occurred_at=utc_iso(at),
            event_id=event_id,
        )
        self.alerts.append(alert)
        if self._features:
            settled = Settled(
                viewer.user_id,
                viewer.handle,
                viewer.name,
                s.gift_id,
                s.gift_name,
                units,
                coins,
                at,
                event_id,
            )
            for f in self._features.values():
                f.on_settled(self, settled)

    def _user_alert(self, kind: str, v: Viewer) -> dict:
        return {
            "type": kind,
            "user_id": v.user_id,
            "handle": v.handle,
            "name": v.name,
            "rank": None,
        }

    # ---- time ------------------------------------------------------------------------
    def expire(
        self, now: float, timeout: float, only: Iterable[tuple[str, str]] | None = None
    ) -> None:
        """Settle every open streak idle for `timeout` seconds at its highest count; with
        `only` ((user id, streak key) pairs), just those of them that are open and idle: a
        caller that tracks when its streaks were last touched (the report's replay) settles
        them without scanning every streak of the stream each second."""
        if only is None:
            pairs = [(v, s) for v in self.users.values() for s in v.streaks.values()]
        else:
            pairs = []
            for uid, key in only:
                v = self.users.get(uid)
                s = v.streaks.get(key) if v is not None else None
                if s is not None:
                    pairs.append((v, s))
        for v, s in pairs:
            if s.open and now - s.last_seen >= timeout:
                at = datetime.fromisoformat(s.last_occurred_at.replace("Z", "+00:00"))
                self._settle(v, s, s.max_count - s.settled_units, at)
                self._combo_touched.pop(s.key, None)

    def prune(self, now: float, retention: float, cap: int = SETTLED_CAP) -> None:
        """Forget settled streaks after `retention` s, and beyond the newest `cap` of the
        stream. A re-sent final (new event id) of a forgotten streak would count again;
        TikTok re-sends within seconds, and a redelivery (same event id) is stopped by the
        event record whatever is kept here."""
        settled = [
            (s.last_seen, v, k)
            for v in self.users.values()
            for k, s in v.streaks.items()
            if not s.open
        ]
        keep = cap
        for last_seen, v, key in sorted(settled, key=lambda x: x[0], reverse=True):
            if keep > 0 and now - last_seen <= retention:
                keep -= 1
            else:
                del v.streaks[key]

    def next_deadline(self, timeout: float, slack: bool = False) -> float | None:
        """The soonest time something changes with no new event (an idle streak settles, a
        feature's deadline). With `slack`, each deadline rounded up to its grid (streaks:
        `streak_deadline_slack`; features: `Feature.deadline_slack`): when the follow-up
        rollup may run."""
        streak_grid = streak_deadline_slack(timeout) if slack else 0.0
        deadlines = [
            _on_grid(s.last_seen + timeout, streak_grid)
            for v in self.users.values()
            for s in v.streaks.values()
            if s.open
        ]
        for f in self._features.values():
            d = f.next_deadline()
            if d is not None:
                deadlines.append(_on_grid(d, f.deadline_slack if slack else 0.0))
        return min(deadlines) if deadlines else None

    # ---- closing a batch ---------------------------------------------------------------
    def ranks(self) -> dict[str, int]:
        return ranking.ranks(self.users.values())

    def finish_batch(self) -> dict[str, int]:
        """Fill in ranks and combo/goal alerts for this batch; returns the ranks."""
        ranks = self.ranks()
        for key, uid in self._combo_touched.items():
            v = self.users[uid]
            s = v.streaks.get(key)
            if s is not None and s.open:
                alert = self._user_alert("combo", v)
                alert.update(
                    gift_id=s.gift_id,
                    gift_name=s.gift_name,
                    count=s.max_count,
                    coins=s.max_count * s.coins_per_unit,
                    occurred_at=s.last_occurred_at,
                )
                self.alerts.append(alert)
        self._combo_touched.clear()
        for a in self.alerts:
            if "user_id" in a:
                a["rank"] = ranks.get(a["user_id"])
        self._update_goals()
        return ranks

    def metric(self, metric: str, gift_id: str | None = None) -> int:
        if metric == "coins":
            return self.totals.coins
        if metric == "gift_units":
            return self.gift_units.get(gift_id or "", 0)
        if metric == "likes":
            return self.totals.likes
        if metric == "follows":
            return self.totals.follows
        if metric == "shares":
            return self.totals.shares
        if metric == "joins":
            return self.totals.joins
        raise ValueError(f"unknown goal metric {metric!r}")

    def set_goals(self, configs: list[dict]) -> None:
        """Sync goal configuration; a goal counts from the rollup that first sees it."""
        seen = set()
        for c in configs:
            gid = c["goal_id"]
            seen.add(gid)
            g = self.goals.get(gid)
            if g is None or (g.metric, g.gift_id) != (c["metric"], c.get("gift_id")):
                g = self.goals[gid] = GoalState(
                    gid,
                    c["metric"],
                    int(c["target"]),
                    c.get("gift_id"),
                    c.get("title", ""),
                    baseline=self.metric(c["metric"], c.get("gift_id")),
                )
            if g.target != int(c["target"]):
                g.target, g.reached = int(c["target"]), False
            g.title = c.get("title", g.title)
            g.deadline = c.get("deadline")
        for gid in set(self.goals) - seen:
            del self.goals[gid]

    def _update_goals(self) -> None:
        for g in self.goals.values():
            g.progress = self.metric(g.metric, g.gift_id) - g.baseline
            if not g.reached and not g.failed and g.progress >= g.target:
                g.reached = True
                self.alerts.append(
                    {
                        "type": "goal_reached",
                        "goal_id": g.goal_id,
                        "metric": g.metric,
                        "target": g.target,
                        "progress": g.progress,
                        "title": g.title,
                    }
                )

    # ---- leaderboard flush -------------------------------------------------------------
    def flush_due(self, now: float, interval: float) -> bool:
        return self.status == "ended" or now - self.last_flush_at >= interval

    def period_flush_due(self, now: float, interval: float) -> bool:
        """The period boards' clock starts with the stream's first flush (`take_flush`), so
        a stream shorter than `interval` writes each gifter's six period entries once, at
        its end, instead of at its first flush and again at its end."""
        if self.status == "ended":
            return True
        return bool(self.last_period_flush_at) and now - self.last_period_flush_at >= interval

    def take_flush(self, now: float, max_users: int, periods: bool = True) -> list[FlushItem]:
        """Take up to `max_users` users' pending leaderboard writes (the adapter commits
        them with the state, so they are applied exactly once): the session entry when it
        changed, and, when `periods`, the period-board increments. A flush clock restarts
        only when nothing of its kind is left pending."""
        # A round may span several rollups (max_users per commit); users already flushed in
        # the current round wait for the next one, so a round always finishes.
        due = [
            v
            for v in self.users.values()
            if (v.session_dirty or (periods and v.pending)) and v.flushed_at <= self.last_flush_at
        ]
        due.sort(key=lambda v: v.user_id)
        if not self.last_period_flush_at:
            self.last_period_flush_at = now  # the period clock starts (period_flush_due)
        items = []
        written = set(self.boards_written)
        for v in due[:max_users]:
            incs = {b: (c, u) for b, (c, u) in v.pending.items()} if periods else {}
            boards = [session_board(self.stream_id).board_id, *incs]
            new = tuple(b for b in boards if b not in written)
            written.update(new)
            self.boards_written.extend(new)
            items.append(FlushItem(v.user_id, v.handle, v.name, v.coins, v.gifts, incs, new))
            if periods:
                v.pending.clear()
            v.flushed_coins, v.flushed_gifts = v.coins, v.gifts
            v.flushed_at = now
        del self.boards_written[:-BOARDS_KEPT]
        if len(due) <= max_users:
            self.last_flush_at = now
            if periods:
                self.last_period_flush_at = now
        return items

    def pending_flush(self) -> bool:
        return any(v.needs_flush for v in self.users.values())

    def next_flush_at(self, interval: float, period_interval: float) -> float | None:
        session = any(v.session_dirty for v in self.users.values())
        period = any(v.pending for v in self.users.values())
        # Before the first flush the period clock has not started: the session flush,
        # due whenever a period delta is pending, starts it.
        period = period and bool(self.last_period_flush_at)
        times = ([self.last_flush_at + interval] if session else []) + (
            [self.last_period_flush_at + period_interval] if period else []
        )
        return min(times) if times else None

    # ---- projections -------------------------------------------------------------------
    def top_gifters(self, n: int, ranks: dict[str, int] | None = None) -> list[dict]:
        ranks = ranks if ranks is not None else self.ranks()
        top = sorted(((r, uid) for uid, r in ranks.items() if r <= n))
        return [
            {
                "rank": r,
                "user_id": uid,
                "handle": self.users[uid].handle,
                "name": self.users[uid].name,
                "coins": self.users[uid].coins,
                "gifts": self.users[uid].gifts,
            }
            for r, uid in top
        ]

    def combos(self) -> list[dict]:
        out = []
        for v in self.users.values():
            for s in v.streaks.values():
                if s.open:
                    out.append(
                        {
                            "key": f"{v.user_id}|{s.key}",
                            "user_id": v.user_id,
                            "handle": v.handle,
                            "name": v.name,
                            "gift_id": s.gift_id,
                            "gift_name": s.gift_name,
                            "coins_per_unit": s.coins_per_unit,
                            "count": s.max_count,
                            "coins": s.max_count * s.coins_per_unit,
                        }
                    )
        return sorted(out, key=lambda c: (-c["coins"], c["key"]))

    def live_view(self, top_n: int, ranks: dict[str, int] | None = None) -> dict:
        """The client-facing `streams/{id}` document (timestamps added by the adapter)."""
        return {
            "stream_id": self.stream_id,
            "creator_id": self.creator_id,
            "source": self.source,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "totals": asdict(self.totals),
            "viewers": {"current": self.viewers_current, "peak": self.viewers_peak},
            "top_gifters": self.top_gifters(top_n, ranks),
            "combos": self.combos()[:20],
            "goals": {
                g.goal_id: {
                    "metric": g.metric,
                    "gift_id": g.gift_id,
                    "target": g.target,
                    "progress": g.progress,
                    "reached": g.reached,
                    "title": g.title,
                    "deadline": g.deadline,
                    "failed": g.failed,
                }
                for g in self.goals.values()
            },
            "alert_seq": self.alert_seq,
            "rev": self.rev,
            **({"features": views} if (views := self._feature_views()) else {}),
        }

    def _feature_views(self) -> dict:
        views = {}
        for name, f in self._features.items():
            v = f.view()
            if v is not None:
                views[name] = v
        return views

    # ---- persistence (plain dicts; the adapter shards `users`) ---------------------------
    def core_dict(self) -> dict:
        skip = ("users", "alerts", "side_writes", "jobs", "_combo_touched", "_features")
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        features = {**self.features, **{n: f.to_dict() for n, f in self._features.items()}}
        d["features"] = {n: v for n, v in features.items() if v}  # idle features: no bytes
        if not d["features"]:
            del d["features"]  # a stream without features keeps its documents as before
        d["totals"] = asdict(self.totals)
        d["goals"] = {k: asdict(g) for k, g in self.goals.items()}
        d["gift_units"] = dict(self.gift_units)
        return d

    @classmethod
    def from_dicts(cls, stream_id: str, core: dict | None, users: list[dict]) -> StreamState:
        core = dict(core or {"stream_id": stream_id})
        core["totals"] = Totals(**core.get("totals", {}))
        core["goals"] = {k: GoalState(**g) for k, g in (core.get("goals") or {}).items()}
        state = cls(**core)
        for u in users:
            v = Viewer.from_dict(u)
            state.users[v.user_id] = v
        return state
