"""The report, computed from the event log, against the live state the rollup builds from
the same events (any batching, any processing-clock idle expiry)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain.stream import StreamState
from giftengine.reports import analytics, domain
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.factories import T0, ev, gift

pytestmark = pytest.mark.unit


@st.composite
def streams(draw):
    """A stream's event log: streaks whose counts only grow (TikTok's running totals), some
    finals lost, plus likes, comments, follows, shares, joins and viewer counts, spread over
    a few minutes and logged in an order close to (not equal to) their time order."""
    log = [ev("stream_start", user=None, at=T0)]
    for i in range(draw(st.integers(1, 8))):
        user = draw(st.sampled_from(["ana", "bo", "cy", "dee"]))
        coins = draw(st.sampled_from([1, 5, 99, 500]))
        start = draw(st.floats(0, 300))
        if draw(st.booleans()):
            counts = sorted(draw(st.lists(st.integers(1, 9), min_size=1, max_size=5)))
            final = draw(st.booleans())
            for j, c in enumerate(counts):
                end = final and j == len(counts) - 1
                log.append(gift(user, coins=coins, count=c, end=end, group=f"g{i}",
                                secs=start + j * draw(st.floats(0.1, 15))))  # fmt: skip
        else:
            log.append(gift(user, f"lion{i}", coins, streakable=False, secs=start,
                            count=draw(st.integers(1, 3))))  # fmt: skip
    for kind in ("like", "comment", "follow", "share", "join"):
        for _ in range(draw(st.integers(0, 4))):
            extra = {"count": draw(st.integers(1, 50))} if kind == "like" else {}
            log.append(ev(kind, user=draw(st.sampled_from(["ana", "bo", "eve"])),
                          at=T0 + timedelta(seconds=draw(st.floats(0, 300))), **extra))  # fmt: skip
    for _ in range(draw(st.integers(0, 3))):
        log.append(ev("viewers", user=None, viewers=draw(st.integers(0, 900)),
                      at=T0 + timedelta(seconds=draw(st.floats(0, 300)))))  # fmt: skip
    log.sort(key=lambda e: e.occurred_at + timedelta(seconds=draw(st.floats(0, 2))))
    log.append(ev("stream_end", user=None, at=T0 + timedelta(seconds=400)))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(log)), max_size=5))))
    lags = draw(st.lists(st.floats(0, 30), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    return log, cuts, lags


def live_state(log, cuts, lags, timeout=10.0):
    """The rollup's way: batches, processing clock (event time plus a lag), idle expiry."""
    state, now = StreamState("s1"), 0.0
    bounds = [0, *cuts, len(log)]
    for (a, b), lag in zip(zip(bounds, bounds[1:], strict=False), lags, strict=False):
        batch = log[a:b]
        if not batch:
            continue
        now = max(now, batch[-1].occurred_ts + lag)
        for e in batch:
            state.apply(e, now)
        state.expire(now, timeout)
        state.finish_batch()
        state.alerts.clear()
        state = StreamState.from_dicts(
            "s1", state.core_dict(), [v.to_dict() for v in state.users.values()]
        )
    return state


@settings(max_examples=200, deadline=None)
@given(streams())
def test_totals_equal_the_live_state_and_the_timeline_sums_to_them(s):
    log, cuts, lags = s
    live = live_state(log, cuts, lags)
    report = domain.compute_report("s1", log)
    assert report.status == live.status == "ended"
    assert report.totals == {k: getattr(live.totals, k) for k in domain.COUNTERS}
    for k in domain.COUNTERS:
        assert sum(row[k] for row in report.timeline) == report.totals[k]
    assert report.viewers_peak == live.viewers_peak
    assert {g["user_id"]: g["coins"] for g in report.gifters} == {
        u.user_id: u.coins for u in live.users.values() if u.gifts
    }
    assert sum(g["coins"] for g in report.gift_mix) == report.totals["coins"]
    assert sum(g["units"] for g in report.gift_mix) == report.totals["gifts"]
    minutes = [r["minute"] for r in report.timeline]
    assert minutes == sorted(minutes) and len(set(minutes)) == len(minutes)


class _FullScanBuilder(domain.ReportBuilder):
    """The replay as it was before decision 081: every streak of the stream looked at on
    every expiry tick."""

    def _expire(self) -> None:
        self.state.expire(self._clock, self.idle_timeout_s)


@settings(max_examples=200, deadline=None)
@given(streams(), st.sampled_from([1.0, 5.0, 10.0]))
def test_expiring_only_the_touched_streaks_gives_the_report_of_the_full_scan(s, timeout):
    log, _, _ = s
    full = _FullScanBuilder("s1", idle_timeout_s=timeout)
    fast = domain.ReportBuilder("s1", idle_timeout_s=timeout)
    for e in log:
        full.add(e)
        fast.add(e)
    assert fast.finish() == full.finish()


def test_streak_settles_in_the_minute_of_its_final_and_peaks_name_the_big_gift():
    log = [
        gift("ana", coins=5, count=3, end=False, secs=50),
        # 15 s later (past the 10 s idle timeout): 3 settled at 20:00, the final tops up 7
        gift("ana", coins=5, count=10, end=True, secs=65),
        gift("bo", "universe", 34999, streakable=False, secs=130),
        gift("cy", coins=1, count=2, end=True, group="x", secs=131),
    ]
    r = domain.compute_report("s1", log)
    by_minute = {row["minute"]: row for row in r.timeline}
    assert [row["coins"] for row in r.timeline] == [15, 35, 35001]
    assert by_minute["2026-11-22T20:01:00Z"]["gifts"] == 7
    top = r.peaks[0]
    assert top["minute"] == "2026-11-22T20:02:00Z"
    assert top["biggest_gift"]["gift_id"] == "universe"
    assert top["top_gifter"] == {"user_id": "bo", "coins": 34999}
    assert "big gift" in top["reason"]
    assert [g["user_id"] for g in r.top_gifters] == ["bo", "ana", "cy"]
    assert r.gift_mix[0] == {"gift_id": "universe", "gift_name": "Universe", "units": 1,
                             "coins": 34999}  # fmt: skip


def test_live_report_leaves_combos_in_progress_out_until_they_idle():
    log = [gift("ana", coins=5, count=4, end=False, secs=0)]
    fresh = domain.compute_report("s1", log, now=log[0].occurred_ts + 1)
    assert fresh.totals["coins"] == 0 and fresh.open_combos == 1 and fresh.status == "live"
    idle = domain.compute_report("s1", log, now=log[0].occurred_ts + 11)
    assert idle.totals["coins"] == 20 and idle.open_combos == 0


def test_follows_count_once_per_user_in_the_minute_they_counted():
    log = [ev("follow", user="ana", at=T0), ev("follow", user="ana", at=T0 + timedelta(minutes=2))]
    r = domain.compute_report("s1", log)
    assert r.totals["follows"] == 1
    assert [row["follows"] for row in r.timeline] == [1, 0, 0]


def test_comparison_is_against_the_median_of_the_last_ten_and_new_gifters_are_unseen():
    r = domain.compute_report("s1", [gift("ana", coins=10, secs=1), gift("bo", coins=30, secs=2)])
    previous = [{"totals": {"coins": c}, "gifters_count": 1} for c in (10, 20, 1000)]
    cmp = domain.compare(r, previous)
    assert cmp["streams"] == 3 and cmp["median"]["coins"] == 20
    assert cmp["delta_pct"]["coins"] == 100.0
    assert cmp["delta_pct"]["likes"] is None  # median 0: no ratio
    assert [g["user_id"] for g in domain.new_gifters(r, {"ana"})] == ["bo"]
    assert domain.compare(r, [])["streams"] == 0


def test_goal_outcomes_come_from_the_live_goals():
    goals = {"mic": {"metric": "coins", "target": 100, "progress": 120, "reached": True,
                     "title": "Mic"}}  # fmt: skip
    assert domain.goal_outcomes(goals) == [
        {
            "goal_id": "mic",
            "title": "Mic",
            "metric": "coins",
            "target": 100,
            "progress": 120,
            "reached": True,
        }  # fmt: skip
    ]


def test_creator_analytics_counts_unique_gifters_retention_and_best_hours():
    def rep(sid, started, coins, minute):
        return {"stream_id": sid, "started_at": started, "totals": {"coins": coins, "gifts": 1},
                "timeline": [{"minute": minute, "coins": coins}]}  # fmt: skip

    reports = [
        rep("b", "2026-11-02T20:00:00Z", 30, "2026-11-02T20:05:00Z"),
        rep("a", "2026-11-01T18:00:00Z", 10, "2026-11-01T18:05:00Z"),
    ]
    out = analytics.creator_analytics("c", 7, reports, {"a": ["u1", "u2"], "b": ["u1", "u3"]})
    assert out["streams"] == 2 and out["coins"] == 40 and out["unique_gifters"] == 3
    assert out["gifter_retention"] == 0.5  # u1 of {u1, u2} came back
    assert out["best_hours"] == [{"hour": 20, "coins": 30}, {"hour": 18, "coins": 10}]
    assert [s["stream_id"] for s in out["per_stream"]] == ["a", "b"]


def test_a_peak_during_a_battle_says_so():
    """The battle's start command (a control event in the log) gives its window; only the
    peaks inside it name it."""
    params = {
        "battle_id": "b1",
        "start": "2026-11-22T20:02:00Z",
        "end": "2026-11-22T20:03:30Z",
        "grace_s": 10,
        "opponent_stream_id": "s2",
        "opponent_creator_id": "rival",
    }
    log = [
        ev(
            "control",
            user=None,
            at=T0 + timedelta(seconds=100),
            control={"feature": "battle", "action": "start", "params": params},
        ),  # fmt: skip
        gift("bo", "universe", 34999, streakable=False, secs=130),
        gift("ana", "lion", 29999, streakable=False, secs=10),
    ]
    r = domain.compute_report("s1", log)
    by_minute = {p["minute"]: p for p in r.peaks}
    inside, outside = by_minute["2026-11-22T20:02:00Z"], by_minute["2026-11-22T20:00:00Z"]
    assert inside["reason"].endswith("during a battle against rival"), inside["reason"]
    assert [m["battle_id"] for m in inside["moments"]] == ["b1"]
    assert "battle" not in outside["reason"] and outside["moments"] == []


def test_peaks_name_the_hype_trains_they_overlap():
    peaks = [{"minute": "2026-11-22T20:05:00Z", "reason": "a gift wave: 6 gifters in one minute"},
             {"minute": "2026-11-22T20:09:00Z", "reason": "steady gifting: 2 gifters"}]  # fmt: skip
    trains = [{"train": 1, "started_at": "2026-11-22T20:04:30Z",
               "ended_at": "2026-11-22T20:06:00Z", "level": 3, "coins": 900}]  # fmt: skip
    out = domain.explain_peaks(peaks, domain.hype_moments(trains))
    assert out[0]["reason"] == (
        "a gift wave: 6 gifters in one minute during a hype train (level 3, 900 coins)"
    )
    assert out[1]["reason"] == "steady gifting: 2 gifters" and out[1]["moments"] == []
    # explaining again (the service adds hype trains to the log's battles) changes nothing
    assert domain.explain_peaks(out, domain.hype_moments(trains)) == out


def test_an_event_dated_hours_ahead_does_not_make_the_report_forget_a_settled_streak():
    """Seen from the CLI: a streak settled by its idle timeout at 2, a like whose device
    clock said two hours later, then the streak's late final at 2. The rollup, on its own
    clock, tops the streak up by nothing (2 coins); a report whose clock followed
    `occurred_at` jumped two hours, forgot the settled streak and counted the final again
    (4). On the records' commit times it agrees with the rollup."""
    t0 = T0.timestamp()
    log = [
        (t0, gift("u9", count=1, end=False, group="G", secs=0)),
        (t0 + 1, gift("u9", count=2, end=False, group="G", secs=1)),
        (t0 + 2, ev("like", user="u8", at=T0 + timedelta(hours=2), count=1)),
        (t0 + 15, ev("like", user="u8", at=T0 + timedelta(hours=2, seconds=1), count=1)),
        (t0 + 16, gift("u9", count=2, end=True, group="G", secs=30)),
    ]
    report = domain.compute_report_from_log("s1", log)
    assert (report.totals["coins"], report.totals["gifts"]) == (2, 2)
