"""The wallet's use cases on the in-memory store: what each one posts and refuses."""

from __future__ import annotations

import pytest
from giftengine.wallet import catalog as catalog_mod
from giftengine.wallet.errors import (
    AccountLocked,
    Conflict,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    TierRequired,
    VelocityExceeded,
)

from tests.wallet.helpers import completed, disputed, gift, make_service, own, refunded

pytestmark = pytest.mark.unit


def funded(coins=1000, **settings):
    svc, store, clock, published = make_service(**settings)
    svc.apply_payment(completed("pi_seed", "u1", coins, coins))
    return svc, store, clock, published


def test_daily_bonus_formula_is_floor_of_sixty_percent_of_price_over_days():
    tiers = catalog_mod.parse(catalog_mod.DEFAULT_CATALOG).tiers
    assert [t.daily_bonus for t in tiers.values()] == [60, 180, 600, 1800, 6000]
    assert catalog_mod.Tier(1, "x", price_coins=1001, duration_days=7).daily_bonus == 85  # 600.6/7


def test_gift_spends_bonus_first_credits_creator_share_and_publishes_once():
    svc, store, clock, published = funded(1000)
    svc.admin_adjust("admin", "u1", account="bonus_balance", amount=20, reason="promo", key="p1")
    r = svc.spend_gift("u1", gift(gift_id="donut", count=2, key="key-0001"))  # 60 coins
    assert r["paid"] == {"coins": 40, "bonus": 20} and r["creator_earned"] == 30
    assert (r["balance"], r["bonus_balance"]) == (960, 0)
    creator = svc.wallet_view("creator-1")
    assert (creator["earnings"], creator["total_earned"], creator["balance"]) == (30, 30, 0)
    assert svc.wallet_view("u1")["total_spent"] == 60
    [event] = published.events
    assert (event.event_id, event.source, event.kind, event.repeat_count) == (
        "app:u1:key-0001",
        "app",
        "gift",
        2,
    )
    assert event.gift.coins == 30 and event.creator_id == "creator-1"
    assert store.get("wallet_outbox/gift:u1:key-0001")["published"] is True


def test_retry_with_the_same_key_replays_and_does_not_debit_twice():
    svc, store, *_ = funded(100)
    first = svc.spend_gift("u1", gift(gift_id="donut", key="key-0002"))
    again = svc.spend_gift("u1", gift(gift_id="donut", key="key-0002"))
    assert again["replayed"] and not first["replayed"]
    assert {k: v for k, v in again.items() if k != "replayed"} == {
        k: v for k, v in first.items() if k != "replayed"
    }
    assert svc.wallet_view("u1")["balance"] == 70
    with pytest.raises(Conflict):
        svc.spend_gift("u1", gift(gift_id="rose", key="key-0002"))


def test_refusals_change_nothing():
    svc, store, clock, _ = funded(50)
    before = dict(store.docs)
    with pytest.raises(InsufficientFunds) as e:
        svc.spend_gift("u1", gift(gift_id="cap", key="key-0003"))
    assert e.value.status == 402 and "99" in e.value.reason
    with pytest.raises(InvalidRequest):
        svc.spend_gift("u1", gift(creator="u1", key="key-0004"))
    with pytest.raises(TierRequired):
        svc.spend_gift("u1", gift(gift_id="og-crown", key="key-0005"))
    with pytest.raises(InvalidRequest):  # the request names another creator than the record
        svc.spend_gift("u1", gift(creator="someone-else", key="key-0006"))
    with pytest.raises(NotFound):  # no ownership record: nobody's stream
        svc.spend_gift("u1", gift(stream="s-unused", key="key-0008"))
    store.set("streams/s1", {"creator_id": "creator-1", "status": "ended"})
    before["streams/s1"] = store.get("streams/s1")
    with pytest.raises(Conflict):
        svc.spend_gift("u1", gift(key="key-0007"))
    assert store.docs == before


def test_the_ownership_record_decides_who_earns_not_the_first_event():
    """Issue 14, attack 1: a viewer's gift naming another user must not make that user the
    stream's creator; the record the creator made decides, and the live state's creator_id
    (named by the first event) decides nothing."""
    svc, store, _, published = funded(100)
    own(store, "s-real", "creator-real")
    with pytest.raises(NotFound):
        svc.spend_gift("u1", gift(stream="s-unused", creator="viewer-b", key="key-sq01"))
    store.set("streams/s-real", {"creator_id": "viewer-b", "status": "live"})
    r = svc.spend_gift("u1", gift(stream="s-real", creator=None, key="key-sq02"))
    assert r["creator_id"] == "creator-real" and published.events[-1].creator_id == "creator-real"
    with pytest.raises(InvalidRequest):
        svc.spend_gift("u1", gift(stream="s-real", creator="viewer-b", key="key-sq03"))


def test_velocity_limit_per_minute():
    svc, _, clock, _ = funded(1000, spends_per_minute=3, spend_coins_per_minute=100)
    for i in range(3):
        svc.spend_gift("u1", gift(key=f"key-v{i:04d}"))
    with pytest.raises(VelocityExceeded) as e:
        svc.spend_gift("u1", gift(key="key-v0003"))
    assert e.value.status == 429 and 1 <= e.value.retry_after_s <= 60
    clock.now += 60
    svc.spend_gift("u1", gift(key="key-v0004"))
    svc.spend_gift("u1", gift(gift_id="cap", key="key-v0005"))  # 1 + 99 = 100 coins: allowed
    with pytest.raises(VelocityExceeded):
        svc.spend_gift("u1", gift(key="key-v0006"))  # 101 coins in this minute


def test_tier_purchase_gates_gifts_extends_and_refuses_downgrade():
    svc, store, clock, _ = funded(20000)
    with pytest.raises(TierRequired):
        svc.spend_gift("u1", gift(gift_id="og-crown", key="key-t0001"))
    r = svc.buy_tier("u1", 2, "tier-0001")
    assert (r["level"], r["from_level"], r["balance"]) == (2, 0, 11000)
    svc.spend_gift("u1", gift(gift_id="og-crown", key="key-t0002"))
    with pytest.raises(TierRequired):
        svc.spend_gift("u1", gift(gift_id="og-dragon", key="key-t0003"))  # needs OG 3
    with pytest.raises(Conflict):
        svc.buy_tier("u1", 1, "tier-0002")
    r2 = svc.buy_tier("u1", 2, "tier-0003")
    assert r2["expires_at"].timestamp() - r["expires_at"].timestamp() == 30 * 86400
    events = [d for p, d in store.docs.items() if "/tier_events/" in p]
    assert sorted((e["from_level"], e["to_level"]) for e in events) == [(0, 2), (2, 2)]
    with pytest.raises(InsufficientFunds):
        svc.buy_tier("u1", 5, "tier-0004")


def test_daily_bonus_once_per_user_per_day_and_tier_expiry_event():
    svc, store, clock, _ = funded(3000)
    svc.buy_tier("u1", 1, "tier-0001")
    assert svc.run_daily_bonus()["credited"] == 1
    assert svc.run_daily_bonus()["credited"] == 0  # the job ran twice the same day
    assert svc.wallet_view("u1")["bonus_balance"] == 60
    clock.now += 86400
    svc.run_daily_bonus()
    assert svc.wallet_view("u1")["bonus_balance"] == 120
    clock.now += 30 * 86400
    r = svc.run_daily_bonus()  # a late run pays what fell due while the tier was active
    assert r == {"day": r["day"], "credited": 28, "skipped": 0, "expired": 1}
    assert svc.wallet_view("u1")["bonus_balance"] == 30 * 60
    assert svc.wallet_view("u1")["tier"]["level"] == 0
    assert any(d.get("reason") == "expired" for p, d in store.docs.items() if "tier_events" in p)
    assert svc.reconcile()["ok"]


@pytest.mark.parametrize(
    "first_run_s, every_s", [(0, 3600), (1800, 3600), (14 * 3600 + 1800, 86400), (60, 7 * 86400)]
)
def test_og_bonus_count_equals_the_tier_days_whatever_the_schedule(first_run_s, every_s):
    """Issue 14: a 30-day tier paid 31 bonuses (1,860 instead of 1,800, 60% of the price)
    when the job ran hourly over the tier's whole life. Simulated clock: the tier is bought
    at 10:00 UTC; the job runs from `first_run_s` after that, every `every_s`, until well
    after expiry."""
    svc, store, clock, _ = funded(3000)
    clock.now = 1_795_000_000.0 - 1_795_000_000.0 % 86400 + 10 * 3600  # a day's 10:00 UTC
    svc.buy_tier("u1", 1, "tier-sched")
    start = clock.now
    clock.now = start + first_run_s
    while clock.now < start + 40 * 86400:
        svc.run_daily_bonus()
        clock.now += every_s
    bonuses = [d for p, d in store.docs.items() if p.startswith("ledger/bonus:")]
    assert len(bonuses) == 30
    assert svc.wallet_view("u1")["bonus_balance"] == 1800  # 60% of 3,000
    assert svc.wallet_view("u1")["tier"]["level"] == 0
    assert svc.reconcile()["ok"]


def test_extending_a_tier_adds_its_days_bonuses():
    svc, store, clock, _ = funded(6000)
    svc.buy_tier("u1", 1, "tier-ext-1")
    svc.buy_tier("u1", 1, "tier-ext-2")  # same level: 60 days
    end = clock.now + 70 * 86400
    while clock.now < end:
        svc.run_daily_bonus()
        clock.now += 6 * 3600
    assert svc.wallet_view("u1")["bonus_balance"] == 60 * 60


def test_refund_before_completion_credits_nothing():
    svc, store, *_ = make_service()
    svc.apply_payment(refunded("pi_1", 499))
    r = svc.apply_payment(completed("pi_1", "u1", 350, 499))
    assert r["credited"] == 0 and svc.wallet_view("u1")["balance"] == 0
    assert store.get("customers/u1/payments/pi_1")["status"] == "refunded"


def test_refund_after_coins_are_spent_goes_negative_and_locks():
    svc, store, *_ = make_service()
    svc.apply_payment(completed("pi_1", "u1", 350, 499))
    svc.spend_gift("u1", gift(gift_id="cap", count=3, key="key-r0001"))  # 297 coins gone
    r = svc.apply_payment(refunded("pi_1", 499))
    assert r["balance"] == 53 - 350 and r["locked"]
    w = svc.wallet_view("u1")
    assert w["locked"] and w["lock_reason"].startswith("chargeback")
    with pytest.raises(AccountLocked):
        svc.spend_gift("u1", gift(key="key-r0002"))
    with pytest.raises(Conflict):
        svc.admin_adjust(
            "admin", "u1", account="balance", amount=0, reason="review", key="adj-1", unlock=True
        )
    svc.admin_adjust(
        "admin", "u1", account="balance", amount=297, reason="written off", key="adj-2", unlock=True
    )
    assert not svc.wallet_view("u1")["locked"]
    assert store.get("audit_log/adjust:u1:adj-2")["reason"] == "written off"
    assert svc.reconcile()["ok"]


def test_dispute_claws_back_and_locks_even_with_funds_left():
    svc, *_ = make_service()
    svc.apply_payment(completed("pi_1", "u1", 350, 499))
    svc.apply_payment(completed("pi_2", "u1", 70, 99))
    r = svc.apply_payment(disputed("pi_2", 99))
    assert (r["balance"], r["locked"]) == (350, True)
    assert svc.wallet_view("u1")["lock_reason"] == "dispute"


def test_reconcile_reports_and_alerts_on_a_tampered_wallet(caplog):
    svc, store, *_ = funded(100)
    assert svc.reconcile()["ok"]
    store.set("wallets/u1", {"balance": 1_000_000}, merge=True)
    report = svc.reconcile()
    assert not report["ok"] and report["problems"][0]["uid"] == "u1"
    assert report["problems"][0]["fields"]["balance"] == {"wallet": 1_000_000, "ledger": 100}
    assert any("ALERT wallet reconciliation" in r.message for r in caplog.records)
    assert store.get(f"reconciliation_runs/{report['run_id']}")["mismatches"] == 1


def test_publish_failure_leaves_the_event_in_the_outbox_for_the_job():
    svc, store, clock, published = funded(100)
    published.fail = True
    svc.spend_gift("u1", gift(key="key-o0001"))
    assert store.get("wallet_outbox/gift:u1:key-o0001")["published"] is False
    published.fail = False
    assert svc.flush_outbox() == {"republished": 0, "failed": 0}  # within the grace period
    clock.now += 120
    assert svc.flush_outbox() == {"republished": 1, "failed": 0}
    assert [e.event_id for e in published.events] == ["app:u1:key-o0001"]
    assert svc.flush_outbox()["republished"] == 0


def test_admin_adjust_refuses_the_ledgers_system_accounts():
    svc, store, *_ = funded(100)
    with pytest.raises(InvalidRequest, match="system account"):
        svc.admin_adjust(
            "admin", "sys:revenue", account="balance", amount=100, reason="x", key="k1"
        )
    assert store.get("wallets/sys:revenue") is None


def test_admin_adjust_cannot_make_a_balance_negative_and_needs_a_reason():
    svc, *_ = funded(10)
    with pytest.raises(Conflict):
        svc.admin_adjust("admin", "u1", account="balance", amount=-11, reason="fix", key="a-1")
    with pytest.raises(InvalidRequest):
        svc.admin_adjust("admin", "u1", account="balance", amount=5, reason=" ", key="a-2")
    r = svc.admin_adjust("admin", "u1", account="balance", amount=-10, reason="fix", key="a-3")
    assert r["balance"] == 0 and r["actor"] == "admin"
    assert svc.admin_adjust("admin", "u1", account="balance", amount=-10, reason="fix", key="a-3")[
        "replayed"
    ]


def test_reconcile_is_not_fooled_by_a_spend_during_the_scan():
    svc, store, *_ = funded(100)
    real_list = store.list

    def list_then_spend(collection):
        yield from real_list(collection)
        if collection == "ledger":  # a spend commits after the ledger was read
            svc.spend_gift("u1", gift(key="key-during-scan"))

    store.list = list_then_spend
    report = svc.reconcile()
    assert report["ok"], report["problems"]
    store.list = real_list
    assert svc.wallet_view("u1")["balance"] == 99 and svc.reconcile()["ok"]


def test_reconcile_reports_a_tampered_ledger_entry():
    svc, store, *_ = funded(100)
    svc.spend_gift("u1", gift(gift_id="donut", key="key-tamper"))
    entry = store.get("ledger/gift:u1:key-tamper")
    entry["legs"] = [
        {"account": "user:u1:coins", "amount": -1},
        {"account": "sys:revenue", "amount": 1},
    ]
    store.set("ledger/gift:u1:key-tamper", entry)
    problems = {p["uid"]: p for p in svc.reconcile()["problems"]}
    assert problems["u1"]["postings_not_matching_ledger"] == ["gift:u1:key-tamper"]
    assert problems["u1"]["fields"]["balance"] == {"wallet": 70, "ledger": 99}


def test_the_outbox_job_republishes_each_streams_events_together_when_it_can():
    svc, store, clock, published = funded(100)
    batches: list[list] = []
    published.many = lambda events: batches.append([e.event_id for e in events])
    published.fail = True
    for k in ("key-b0001", "key-b0002", "key-b0003"):
        svc.spend_gift("u1", gift(key=k))
    published.fail = False
    clock.now += 120
    assert svc.flush_outbox() == {"republished": 3, "failed": 0}
    assert batches == [["app:u1:key-b0001", "app:u1:key-b0002", "app:u1:key-b0003"]]
    assert svc.flush_outbox()["republished"] == 0


def test_each_app_gift_of_a_streakable_gift_counts_in_the_stream_as_paid():
    """Five purchases of streakable gifts (hearts, roses), each its own settled streak: the
    stream counts every unit the viewer paid for, not only the first purchase of a gift."""
    from giftengine.domain.stream import StreamState

    svc, store, clock, published = funded(1000)
    bought = [("heart", 3), ("heart", 1), ("heart", 2), ("rose", 5), ("rose", 5)]
    for i, (gift_id, count) in enumerate(bought):
        svc.spend_gift("u1", gift(gift_id=gift_id, count=count, key=f"key-s{i:04d}"))
        clock.now += 20  # under the velocity limit
    st = StreamState(stream_id="s1")
    for e in published.events:
        st.apply(e, clock.now)
    spent = svc.wallet_view("u1")["total_spent"]
    assert (st.totals.coins, st.totals.gifts) == (spent, 16) and spent == 6 * 5 + 10 * 1
