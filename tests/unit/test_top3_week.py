"""The "Top 3 of a week" badge (domain/badges.py, service/rewards.py; decision 091): a
creator's weekly board is judged once, at the first read of any viewer's rewards with the
creator from an hour after the week's end in the creator's time zone; its top 3 (coins, then
the smaller user id) earn the badge once per (viewer, creator, week), however often, in
whatever order and however concurrently the views are read, and after a crashed judgment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from giftengine.domain import access, periods
from giftengine.domain import badges as bd
from giftengine.service import rewards
from giftengine.service.docstore import MemoryStore
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

C = "c1"
W1, W2 = "2026-11-16", "2026-11-23"  # Mondays


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def board(store: MemoryStore, week: str, coins: dict[str, int], creator: str = C) -> None:
    """A weekly board as the rollup writes it (adapters/firestore_store.py `_write_flush`),
    and the XP documents its gifters' gifts wrote (TikTok users: `tiktok:<id>`)."""
    bid = f"creator.{creator}.weekly.{week}"
    store.set(
        f"leaderboards/{bid}",
        {
            "board_id": bid,
            "scope": "creator",
            "period": "weekly",
            "period_key": week,
            "creator_id": creator,
        },
    )
    for user, c in coins.items():
        store.set(f"leaderboards/{bid}/entries/{user}", {"user_id": user, "coins": c, "gifts": 1})
        vid = user if user.startswith("app") else f"tiktok:{user}"
        store.set(f"xp/{vid}/creators/{creator}", {"uid": vid, "xp": c}, merge=True)


def top3(store, vid: str, now: float, creator: str = C) -> int:
    view = rewards.viewer_view(store, vid, creator, access.Actor(vid), now)
    return next((b["count"] for b in view["badges"] if b["id"] == "top3_week"), 0)


def test_week_end_and_the_last_judged_week_follow_the_creator_time_zone():
    # The week of 2026-11-16 ends Monday 2026-11-23 00:00 local; judged from an hour later.
    assert bd.week_end(W1, "UTC") == datetime(2026, 11, 23, tzinfo=UTC)
    kiritimati = bd.week_end(W1, "Pacific/Kiritimati")  # UTC+14: ends Sunday 10:00 UTC
    assert kiritimati.astimezone(UTC) == datetime(2026, 11, 22, 10, tzinfo=UTC)
    baker = bd.week_end(W1, "Etc/GMT+12")  # UTC-12: ends Monday 12:00 UTC
    assert baker.astimezone(UTC) == datetime(2026, 11, 23, 12, tzinfo=UTC)
    edge = datetime(2026, 11, 23, 1, tzinfo=UTC)
    assert bd.may_judge(W1, "UTC", edge) and not bd.may_judge(W1, "UTC", edge - timedelta(1e-6))
    assert bd.last_judged_week("UTC", edge) == W1
    assert bd.last_judged_week("UTC", edge - timedelta(seconds=1)) == "2026-11-09"
    assert bd.last_judged_week("Etc/GMT+12", edge) == "2026-11-09"  # still Sunday there
    assert bd.last_judged_week("No/Such_Zone", edge) == W1  # unknown zone: UTC


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 5), max_size=6))
def test_week_top3_is_the_ranking_rule(coins):
    entries = [{"user_id": u, "coins": c} for u, c in coins.items()]
    got = bd.week_top3(entries)
    expect = sorted((u for u, c in coins.items() if c > 0), key=lambda u: (-coins[u], u))[:3]
    assert [g["user_id"] for g in got] == expect and [g["rank"] for g in got] == [1, 2, 3][
        : len(expect)
    ]


def test_top3_of_a_closed_week_hold_the_badge_once_and_fourth_does_not():
    store = MemoryStore()
    board(store, W1, {"ann": 50, "bob": 30, "cid": 30, "dee": 10})
    store.set(f"creators/{C}", {"timezone": "UTC"})
    before = ts("2026-11-23T00:59:59+00:00")  # ended, within the grace: not judged yet
    assert top3(store, "tiktok:ann", before) == 0
    assert store.get(rewards.top3_week_doc(C, W1)) is None
    now = ts("2026-11-23T01:00:00+00:00")
    for _ in range(3):  # repeated reads: judged once
        assert [top3(store, f"tiktok:{u}", now) for u in ("ann", "bob", "cid", "dee")] == [
            1,
            1,
            1,
            0,
        ]
    j = store.get(rewards.top3_week_doc(C, W1))
    assert [(t["rank"], t["viewer_id"], t["coins"]) for t in j["top"]] == [
        (1, "tiktok:ann", 50),
        (2, "tiktok:bob", 30),  # tie on coins: the smaller user id first
        (3, "tiktok:cid", 30),
    ]
    # A late gift on the judged week changes the board, not the judgment.
    store.set(f"leaderboards/creator.{C}.weekly.{W1}/entries/dee", {"user_id": "dee", "coins": 99})
    assert top3(store, "tiktok:dee", now + 86400) == 0
    # The next week: another judgment; the counts add up.
    board(store, W2, {"ann": 5, "app-eve": 7})
    later = ts("2026-11-30T01:00:00+00:00")
    assert top3(store, "tiktok:ann", later) == 2 and top3(store, "app-eve", later) == 1
    assert store.get(rewards.top3_cursor_doc(C))["through"] == W2


def test_the_creator_time_zone_decides_when_a_week_closes():
    store = MemoryStore()
    board(store, W1, {"ann": 5}, creator="west")
    board(store, W1, {"ann": 5}, creator="east")
    store.set("creators/west", {"timezone": "Etc/GMT+12"})
    store.set("creators/east", {"timezone": "Pacific/Kiritimati"})
    at = ts("2026-11-22T11:00:00+00:00")  # Monday 01:00 in Kiritimati, Saturday 23:00 at UTC-12
    assert top3(store, "tiktok:ann", at, "east") == 1
    assert top3(store, "tiktok:ann", at, "west") == 0
    assert top3(store, "tiktok:ann", ts("2026-11-23T13:00:00+00:00"), "west") == 1


def test_no_week_closed_since_the_last_judgment_reads_nothing_more():
    store = MemoryStore()
    board(store, W1, {"ann": 5})
    now = ts("2026-11-24T00:00:00+00:00")
    top3(store, "tiktok:ann", now)

    class Counting(MemoryStore):
        pages = 0

        def page(self, *a, **kw):
            Counting.pages += 1
            return super().page(*a, **kw)

    counting = Counting()
    counting.docs = store.docs
    assert top3(counting, "tiktok:ann", now + 3600) == 1 and Counting.pages == 0


def test_many_closed_weeks_are_judged_in_batches_oldest_first_each_once():
    store = MemoryStore()
    monday = datetime(2026, 6, 1)
    weeks = [(monday + timedelta(weeks=i)).date().isoformat() for i in range(12)]
    for w in weeks:
        board(store, w, {"ann": 3, "bob": 2})
    board(store, "2026-11-30", {"ann": 9})  # the current week: not judged
    now = ts("2026-12-04T00:00:00+00:00")
    counts = [top3(store, "tiktok:ann", now) for _ in range(4)]
    assert counts == [5, 10, 12, 12]  # TOP3_BATCH weeks per read
    assert top3(store, "tiktok:bob", now) == 12
    judged = [i for i, _ in store.list(f"creators/{C}/weekly_top3") if i != "cursor"]
    assert judged == weeks


def test_a_crashed_judgment_awards_nothing_and_the_next_read_awards_once():
    store = MemoryStore()
    board(store, W1, {"ann": 5, "bob": 4})
    now = ts("2026-11-24T00:00:00+00:00")
    vid = "tiktok:ann"
    # the read's first transaction succeeds; the judgment's commit fails
    calls = {"n": 0}
    real = store.transact

    def flaky(fn):
        calls["n"] += 1
        if calls["n"] == 2:
            store.fail_next_commit = RuntimeError("lost")
        return real(fn)

    store.transact = flaky
    with pytest.raises(RuntimeError):
        rewards.viewer_view(store, vid, C, access.Actor(vid), now)
    store.transact = real
    assert store.get(rewards.top3_week_doc(C, W1)) is None
    assert "award_top3_week" not in store.get(f"xp/{vid}/creators/{C}")
    assert top3(store, vid, now) == 1 and top3(store, "tiktok:bob", now) == 1


def test_concurrent_reads_judge_each_week_once():
    store = MemoryStore()
    for w in (W1, W2):
        board(store, w, {"ann": 5, "bob": 4, "cid": 3, "dee": 2})
    now = ts("2026-12-01T00:00:00+00:00")
    threads = [
        threading.Thread(target=top3, args=(store, f"tiktok:{u}", now))
        for u in ("ann", "bob", "cid", "dee") * 3
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = {
        u: store.get(f"xp/tiktok:{u}/creators/{C}").get("award_top3_week", 0)
        for u in ("ann", "bob", "cid", "dee")
    }
    assert counts == {"ann": 2, "bob": 2, "cid": 2, "dee": 0}


def test_a_winner_without_xp_is_recorded_but_earns_nothing_and_periods_agree():
    store = MemoryStore()
    board(store, W1, {"ann": 5})
    bid = f"creator.{C}.weekly.{W1}"
    store.set(f"leaderboards/{bid}/entries/ghost", {"user_id": "ghost", "coins": 9})
    assert top3(store, "tiktok:ann", ts("2026-11-24T00:00:00+00:00")) == 1
    j = store.get(rewards.top3_week_doc(C, W1))
    assert [(t["user_id"], t["viewer_id"]) for t in j["top"]] == [
        ("ghost", None),
        ("ann", "tiktok:ann"),
    ]
    # the board id the judgment reads is the one the rollup writes for a gift in that week
    gift_at = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    assert f"creator.{C}.weekly.{W1}" in [
        b.board_id for b in periods.period_boards(C, "UTC", gift_at)
    ]


def test_creators_may_use_the_week_badge_in_their_own_rules():
    from giftengine.domain.rewards import Rewards

    cfg = {"badges": [{"id": "champ", "name": "Champion", "metric": "top3_week", "at_least": 3}]}
    assert Rewards.check_config(cfg)["badges"][0]["metric"] == "top3_week"
