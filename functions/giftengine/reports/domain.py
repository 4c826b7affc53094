"""A stream's report, computed once from its event log (pure: stdlib and the stream domain).

The report replays the recorded events, in the order the rollup applies them, through the
same `StreamState` the rollup uses, so streaks are settled by the one set of rules
(domain/stream.py) and never re-implemented here. Each settlement is booked in the minute
of the message that settled it (the gift alert's `occurred_at`), every other counter in the
minute of its event, so the per-minute timeline sums to the totals by construction.

The rollup settles an idle streak on its processing clock; the replay runs on the events'
own clock (the latest `occurred_at` seen), with the same idle timeout and retention. The two
settle the same units whenever a streak's counts only grow (TikTok's running totals), which
is what "exact" rests on; docs/decisions/080-report-replays-the-stream-domain.md says where
they could differ.
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from giftengine.domain.events import EngagementEvent, utc_iso
from giftengine.domain.stream import StreamState, Totals, streak_key

# Counters of the timeline that sum to the totals; `viewers` is a gauge (the minute's peak).
COUNTERS = ("coins", "gifts", "likes", "comments", "follows", "shares", "joins")
TIMELINE_FIELDS = ("minute", *COUNTERS, "viewers")
# Filling empty minutes beyond a day of stream would only pad the report.
MAX_FILLED_MINUTES = 24 * 60
COMPARE_LAST = 10
TOP_N = 10
PEAKS = 3


def minute_of(at: datetime) -> str:
    return utc_iso(at.astimezone(UTC).replace(second=0, microsecond=0))


@dataclass
class _Minute(Totals):
    """The stream's counters within one minute, and what explains its peak."""

    viewers: int = 0
    biggest_gift: dict | None = None  # the largest settlement of the minute
    gifters: dict[str, int] = field(default_factory=dict)  # user -> coins in this minute


class ReportBuilder:
    """Feed the stream's events in log order (`add`), then `finish`. Memory grows with the
    stream's minutes and gifters, not with its events."""

    def __init__(
        self,
        stream_id: str,
        idle_timeout_s: float = 10.0,
        retention_s: float = 3600.0,
        expire_every_s: float = 1.0,
    ):
        self.state = StreamState(stream_id)
        self.idle_timeout_s = idle_timeout_s
        self.retention_s = retention_s
        self.expire_every_s = expire_every_s
        self.minutes: dict[str, _Minute] = {}
        self._by_number: dict[int, _Minute] = {}  # minutes since the epoch -> its minute
        self.gift_mix: dict[str, dict] = {}
        self.events = 0
        self.moments: list[dict] = []  # battles the log started (control events)
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None
        self._clock = 0.0
        self._expired_at = 0.0
        self._pruned_at = 0.0
        self._touched: list[tuple[float, str, str]] = []  # (touched at, user, streak key)

    def _minute(self, ts: float) -> _Minute:
        """The minute holding epoch time `ts` (keyed by `minute_of`; formatted once each)."""
        n = int(ts // 60)
        m = self._by_number.get(n)
        if m is None:
            key = minute_of(datetime.fromtimestamp(n * 60, UTC))
            m = self._by_number[n] = self.minutes.setdefault(key, _Minute())
        return m

    def add(self, ev: EngagementEvent, recorded_at: float | None = None) -> None:
        """Apply the next event of the log. `recorded_at`, its record's commit time, is the
        builder's clock for idle timeouts and the settled-streak memory, as the rollup's
        clock is its own time: an event whose `occurred_at` is far ahead (a device clock)
        then does not expire or forget streaks the rollup kept. Without it the clock
        follows `occurred_at`."""
        self.events += 1
        at = ev.occurred_at
        ts = at.timestamp()
        self.first_at = at if self.first_at is None or at < self.first_at else self.first_at
        self.last_at = at if self.last_at is None or at > self.last_at else self.last_at
        self._clock = max(self._clock, ts if recorded_at is None else recorded_at)
        st = self.state
        if self._clock - self._expired_at >= self.expire_every_s:
            self._expire()
            self._expired_at = self._clock
        if self._clock - self._pruned_at >= 60.0:
            st.prune(self._clock, self.retention_s)
            self._pruned_at = self._clock
        t = st.totals
        before = (t.likes, t.comments, t.follows, t.shares, t.joins)
        st.apply(ev, self._clock)
        m = self._minute(ts)
        m.likes += t.likes - before[0]
        m.comments += t.comments - before[1]
        m.follows += t.follows - before[2]
        m.shares += t.shares - before[3]
        m.joins += t.joins - before[4]
        if ev.kind == "viewers":
            m.viewers = max(m.viewers, ev.viewers or 0)
        elif ev.kind == "control":
            self._control(ev)
        elif ev.kind == "gift" and ev.user and ev.gift.streakable:
            # The streak was last touched now: it idles out at _clock + idle_timeout_s.
            heapq.heappush(self._touched, (self._clock, ev.user.id, streak_key(ev)))
        self._drain()

    def _control(self, ev: EngagementEvent) -> None:
        """A battle's start command (domain/battles.py `BattleRules.params`) gives the battle's
        counting window: a moment a peak can be explained by."""
        c = ev.control
        if c.feature != "battle" or c.action != "start":
            return
        p = c.params
        try:
            start = _parse(str(p["start"]))
            end = _parse(str(p["end"]))
        except (KeyError, ValueError):
            return  # the API validated it; a malformed one explains nothing
        if any(m.get("battle_id") == p.get("battle_id") for m in self.moments):
            return
        opponent = p.get("opponent_creator_id") or p.get("opponent_stream_id") or "?"
        self.moments.append({"kind": "battle", "battle_id": p.get("battle_id"),
                             "start": utc_iso(start), "end": utc_iso(end),
                             "label": f"a battle against {opponent}"})  # fmt: skip

    def _expire(self) -> None:
        """Settle the streaks idle for the timeout, as `StreamState.expire` does, but only
        looking at those touched at least the timeout ago (a heap by touch time) instead of
        every streak of the stream every second: the full scan made a 100,000-event replay
        quadratic (decision 081)."""
        due = []
        while self._touched and self._clock - self._touched[0][0] >= self.idle_timeout_s:
            _, uid, key = heapq.heappop(self._touched)
            due.append((uid, key))
        if due:  # a streak touched again since is open but not idle: expire skips it
            self.state.expire(self._clock, self.idle_timeout_s, only=due)

    def _drain(self) -> None:
        """Book the settlements the last step produced (gift alerts) in their minutes."""
        for a in self.state.alerts:
            if a["type"] != "gift":
                continue
            at = datetime.fromisoformat(a["occurred_at"].replace("Z", "+00:00"))
            m = self._minute(at.timestamp())
            m.coins += a["coins"]
            m.gifts += a["units"]
            m.gifters[a["user_id"]] = m.gifters.get(a["user_id"], 0) + a["coins"]
            big = m.biggest_gift
            # Ties: the lower user id, then gift id, whatever order the settlements came in.
            if big is None or (-a["coins"], a["user_id"], a["gift_id"]) < (
                -big["coins"],
                big["user_id"],
                big["gift_id"],
            ):
                m.biggest_gift = {
                    k: a[k] for k in ("user_id", "handle", "gift_id", "gift_name", "units", "coins")
                }
            mix = self.gift_mix.setdefault(
                a["gift_id"], {"gift_id": a["gift_id"], "gift_name": "", "units": 0, "coins": 0}
            )
            mix["gift_name"] = a["gift_name"] or mix["gift_name"]
            mix["units"] += a["units"]
            mix["coins"] += a["coins"]
        self.state.alerts.clear()

    def finish(self, now: float | None = None) -> StreamReport:
        """Close the report. An ended stream's streaks were all settled by its end; a live
        stream's report (on demand) settles what has idled out by `now` (default: the last
        event's time), as the rollup would, and leaves combos in progress out of the totals,
        as the live state does."""
        st = self.state
        st.expire(max(self._clock, now or 0.0), self.idle_timeout_s)
        self._drain()
        open_combos = len(st.combos())
        st.finish_batch()
        st.alerts.clear()
        return StreamReport(
            stream_id=st.stream_id,
            creator_id=st.creator_id or st.stream_id,
            status=st.status,
            started_at=st.started_at or (utc_iso(self.first_at) if self.first_at else None),
            ended_at=st.ended_at,
            events=self.events,
            totals={k: getattr(st.totals, k) for k in COUNTERS},
            viewers_peak=st.viewers_peak,
            timeline=self._timeline(),
            gifters=sorted(
                (
                    {
                        "user_id": v.user_id,
                        "handle": v.handle,
                        "name": v.name,
                        "coins": v.coins,
                        "gifts": v.gifts,
                    }
                    for v in st.users.values()
                    if v.gifts
                ),
                key=lambda g: (-g["coins"], g["user_id"]),
            ),
            top_gifters=st.top_gifters(TOP_N),
            gift_mix=sorted(self.gift_mix.values(), key=lambda g: (-g["coins"], g["gift_id"])),
            peaks=explain_peaks(self._peaks(), self.moments),
            open_combos=open_combos,
        )

    def _timeline(self) -> list[dict]:
        keys = sorted(self.minutes)
        if keys:
            first = datetime.fromisoformat(keys[0].replace("Z", "+00:00"))
            last = datetime.fromisoformat(keys[-1].replace("Z", "+00:00"))
            span = int((last - first).total_seconds() // 60) + 1
            if span <= MAX_FILLED_MINUTES:
                keys = [minute_of(first + timedelta(minutes=i)) for i in range(span)]
        empty = _Minute()
        rows = []
        for k in keys:
            m = self.minutes.get(k, empty)
            rows.append({"minute": k, **{c: getattr(m, c) for c in COUNTERS}, "viewers": m.viewers})
        return rows

    def _peaks(self) -> list[dict]:
        """The minutes with the most coins, and why: the biggest gift and the top gifter."""
        best = sorted(
            ((m.coins, k) for k, m in self.minutes.items() if m.coins > 0),
            key=lambda x: (-x[0], x[1]),
        )[:PEAKS]
        out = []
        for coins, k in best:
            m = self.minutes[k]
            top_uid, top_coins = min(m.gifters.items(), key=lambda kv: (-kv[1], kv[0]))
            out.append(
                {
                    "minute": k,
                    "coins": coins,
                    "gifts": m.gifts,
                    "gifters": len(m.gifters),
                    "biggest_gift": m.biggest_gift,
                    "top_gifter": {"user_id": top_uid, "coins": top_coins},
                    "reason": _peak_reason(m, coins),
                }
            )
        return out


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def explain_peaks(peaks: list[dict], moments: list[dict]) -> list[dict]:
    """Name in each peak minute's reason the moments (battles, hype trains: `kind, start,
    end, label`) it overlaps; each peak also lists them under `moments`. Moments with no
    readable time are left out."""
    out = []
    for p in peaks:
        lo = _parse(p["minute"])
        hi = lo + timedelta(minutes=1)
        during = []
        for m in moments:
            try:
                start, end = _parse(m["start"]), _parse(m["end"])
            except (KeyError, TypeError, ValueError):
                continue
            if start < hi and lo < end and m not in during:
                during.append(m)
        reason = p["reason"].split(" during ", 1)[0]
        if during:
            reason += " during " + " and ".join(m["label"] for m in during)
        out.append({**p, "reason": reason, "moments": during})
    return out


def hype_moments(trains: list[dict]) -> list[dict]:
    """The stream's hype trains (their records: domain/hype.py) as moments."""
    return [
        {"kind": "hype_train", "train": t.get("train"), "start": t.get("started_at"),
         "end": t.get("ended_at"),
         "label": f"a hype train (level {t.get('level', 1)}, {t.get('coins', 0)} coins)"}
        for t in sorted(trains, key=lambda t: str(t.get("started_at")))
    ]  # fmt: skip


def _peak_reason(m: _Minute, coins: int) -> str:
    big = m.biggest_gift or {}
    if big and big["coins"] * 2 >= coins:
        name = big["gift_name"] or big["gift_id"]
        return f"a big gift: {big['units']}x {name} ({big['coins']} coins)"
    if len(m.gifters) >= 5:
        return f"a gift wave: {len(m.gifters)} gifters in one minute"
    return f"steady gifting: {len(m.gifters)} gifters"


@dataclass
class StreamReport:
    stream_id: str
    creator_id: str
    status: str
    started_at: str | None
    ended_at: str | None
    events: int
    totals: dict[str, int]
    viewers_peak: int
    timeline: list[dict]
    gifters: list[dict]  # every gifter of the stream (the export's gifters table)
    top_gifters: list[dict]
    gift_mix: list[dict]
    peaks: list[dict]
    open_combos: int = 0  # streaks still in progress (a live stream's report)
    new_gifters: list[dict] = field(default_factory=list)
    goals: list[dict] = field(default_factory=list)
    moderation: dict = field(default_factory=dict)
    comparison: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The report as the dashboard reads it (Firestore): everything but the gifters list."""
        d = asdict(self)
        d.pop("gifters")
        d["gifters_count"] = len(self.gifters)
        return d


def compute_report(
    stream_id: str,
    events: Iterable[EngagementEvent],
    idle_timeout_s: float = 10.0,
    retention_s: float = 3600.0,
    now: float | None = None,
) -> StreamReport:
    return compute_report_from_log(
        stream_id, ((None, ev) for ev in events), idle_timeout_s, retention_s, now
    )


def compute_report_from_log(
    stream_id: str,
    log: Iterable[tuple[float | None, EngagementEvent]],
    idle_timeout_s: float = 10.0,
    retention_s: float = 3600.0,
    now: float | None = None,
) -> StreamReport:
    """`compute_report` over the log as read: each event with its record's commit time
    (`ReportBuilder.add`)."""
    b = ReportBuilder(stream_id, idle_timeout_s, retention_s)
    for recorded_at, ev in log:
        b.add(ev, recorded_at)
    return b.finish(now)


def new_gifters(report: StreamReport, known: set[str]) -> list[dict]:
    """Gifters of this stream who gave nothing in the creator's earlier reported streams."""
    return [g for g in report.gifters if g["user_id"] not in known]


def goal_outcomes(live_goals: dict) -> list[dict]:
    """Goal outcomes as the rollup left them (a goal counts from the rollup that first saw
    it, which the event log alone does not tell)."""
    return [
        {
            "goal_id": gid,
            "title": g.get("title", ""),
            "metric": g.get("metric"),
            "target": int(g.get("target", 0)),
            "progress": int(g.get("progress", 0)),
            "reached": bool(g.get("reached")),
        }
        for gid, g in sorted((live_goals or {}).items())
    ]


COMPARED = ("coins", "gifts", "likes", "comments", "follows", "joins")


def compare(report: StreamReport, previous: list[dict]) -> dict:
    """This stream against the median of the creator's previous `COMPARE_LAST` streams
    (`previous`: their report summaries, newest first)."""
    prev = previous[:COMPARE_LAST]
    out: dict = {"streams": len(prev), "median": {}, "delta_pct": {}}
    if not prev:
        return out
    for k in (*COMPARED, "gifters_count"):
        values = [int((p.get("totals") or {}).get(k, p.get(k, 0)) or 0) for p in prev]
        med = statistics.median(values)
        mine = len(report.gifters) if k == "gifters_count" else report.totals[k]
        out["median"][k] = med
        out["delta_pct"][k] = None if med == 0 else round(100.0 * (mine - med) / med, 1)
    return out
