"""A refund or dispute takes back the XP (and loyalty points, and creator XP) that the
refunded purchase's coins gave through gifts (domain/xp.py `spent_share`,
`allocate_revocation`; wallet `apply_payment`), exactly once per provider event, whatever
the order and the duplicates of the provider's events; and, end to end on the in-memory
stores, the gift's XP from the pipeline less what the refund took back is what the
unrefunded gifts give."""

from __future__ import annotations

import pytest
from giftengine.domain import feature_registry, xp
from giftengine.domain.events import EngagementEvent
from giftengine.domain.rewards import Rewards
from giftengine.service import pipeline
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_pipeline_service import Leading, deliver, drain, make_deps
from tests.wallet.helpers import completed, disputed, gift, make_service, refunded

pytestmark = pytest.mark.unit

OWNERS = {"s1": "creator-1", "s2": "creator-2"}


def test_allocation_takes_the_newest_gifts_first_and_skips_what_earlier_refunds_took():
    gifts = [(1.0, "a", "c1", 100), (2.0, "b", "c2", 50), (3.0, "c", "c1", 30)]
    assert xp.allocate_revocation(60, gifts, {}) == {"c1": 30, "c2": 30}
    assert xp.allocate_revocation(60, gifts, {"c1": 30, "c2": 30}) == {"c2": 20, "c1": 40}
    assert xp.allocate_revocation(500, gifts, {}) == {"c1": 130, "c2": 50}  # rest: global only
    assert xp.spent_share(100, -200) == 200 and xp.spent_share(-50, -80) == 30
    assert xp.spent_share(100, 20) == 0 and xp.spent_share(-80, 100) == 0


def test_a_refund_after_gifts_takes_back_their_xp_once():
    svc, store, *_ = make_service(owners=OWNERS)
    svc.apply_payment(completed("pi_1", "u1", 350, 499))
    svc.spend_gift("u1", gift(gift_id="cap", count=2, key="key-a0001"))  # 198 to creator-1
    svc.spend_gift(
        "u1", gift(stream="s2", creator="creator-2", gift_id="cap", count=1, key="key-a0002")
    )  # 99 to creator-2, newest
    r = svc.apply_payment(refunded("pi_1", 499))
    assert r["xp_revoked"] == 297  # 53 coins were still there; 297 had paid for gifts
    assert svc.apply_payment(refunded("pi_1", 499))["duplicate"]
    assert store.get("xp/u1") == {"xp": -297, "xp_gifts": -297, "coins": -297, "coins_revoked": 297}
    c2 = store.get("xp/u1/creators/creator-2")
    assert (c2["xp"], c2["points_revoked"], c2["coins_revoked"]) == (-99, 99, 99)
    assert store.get("xp/u1/creators/creator-1")["coins_revoked"] == 198
    assert store.get("xp/creator-1") == {"creator_xp": -198}
    assert svc.reconcile()["ok"]


def test_a_refund_of_coins_still_in_the_wallet_takes_back_no_xp():
    svc, store, *_ = make_service(owners=OWNERS)
    svc.apply_payment(completed("pi_1", "u1", 350, 499))
    svc.apply_payment(completed("pi_2", "u1", 350, 499))
    svc.spend_gift("u1", gift(gift_id="cap", count=3, key="key-b0001"))  # 297 of 700
    r = svc.apply_payment(refunded("pi_2", 499))
    assert "xp_revoked" not in r and store.get("xp/u1") is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["r1", "r1h", "r2", "d2", "r3"]), min_size=1, max_size=8),
    st.randoms(),
)
def test_revoked_xp_is_the_spent_share_whatever_the_order_and_duplicates(picks, rnd):
    svc, store, *_ = make_service(owners=OWNERS)
    for ref in ("pi_1", "pi_2", "pi_3"):
        svc.apply_payment(completed(ref, "u1", 350, 499))
    for i, (stream, creator) in enumerate([("s1", "creator-1"), ("s2", "creator-2")] * 3):
        if i == 5:
            break  # 5 x 198 = 990 of the 1,050 coins bought
        svc.spend_gift(
            "u1", gift(stream=stream, creator=creator, gift_id="cap", count=2, key=f"key-g{i:04d}")
        )
    events = {
        "r1": refunded("pi_1", 499),
        "r1h": refunded("pi_1", 250),
        "r2": refunded("pi_2", 499),
        "d2": disputed("pi_2", 499),
        "r3": refunded("pi_3", 100),
    }
    sent = [events[p] for p in picks] + [events[p] for p in picks if rnd.random() < 0.5]
    rnd.shuffle(sent)
    for e in sent:
        svc.apply_payment(e)
    balance = svc.wallet_view("u1")["balance"]
    glob = store.get("xp/u1") or {}
    assert glob.get("coins_revoked", 0) == max(0, -balance)
    per = {c: (store.get(f"xp/u1/creators/{c}") or {}) for c in OWNERS.values()}
    given_to = {"creator-1": 0, "creator-2": 0}
    for _, d in store.list("wallets/u1/postings"):
        if d.get("kind") == "gift":
            given_to[d["creator_id"]] += -d["coins"]
    for c, d in per.items():
        assert 0 <= d.get("coins_revoked", 0) <= given_to[c]
        assert d.get("points_revoked", 0) == d.get("coins_revoked", 0)
    assert sum(d.get("coins_revoked", 0) for d in per.values()) == glob.get("coins_revoked", 0)


def test_end_to_end_the_xp_a_refunded_gift_gave_is_taken_back(monkeypatch):
    """The wallet's gift event through the pipeline (XP written by the rollup), then the
    purchase refunded: the viewer's gift XP nets to what the unrefunded coins paid for."""
    monkeypatch.setattr(feature_registry, "REGISTRY", (Rewards,))
    monkeypatch.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
    monkeypatch.setattr(pipeline, "_ban_cache", pipeline._BanCache())
    monkeypatch.setattr(pipeline, "_leading", Leading())
    svc, wstore, _, published = make_service(owners=OWNERS)
    svc.apply_payment(completed("pi_1", "u1", 350, 499))
    svc.spend_gift("u1", gift(gift_id="cap", count=3, key="key-e0001"))  # 297
    pstore = MemoryEventStore()
    deps = make_deps(pstore)
    for e in published.events:
        assert isinstance(e, EngagementEvent)
        deliver(deps, [e], e.event_id)
        deliver(deps, [e], e.event_id + "-again")  # a redelivery
    drain(deps)
    given_ = pstore.docs["xp/u1/creators/creator-1"]
    assert given_["xp_gifts"] == 297 and given_["points_earned"] == 297 + 1  # + presence
    svc.apply_payment(refunded("pi_1", 499))
    taken = wstore.get("xp/u1/creators/creator-1")
    assert given_["xp_gifts"] + taken["xp_gifts"] == 0
    points = given_["points_earned"] - taken["points_revoked"]
    assert points == 1  # only the presence minute's point is left
    assert pstore.docs["xp/creator-1"]["creator_xp"] + wstore.get("xp/creator-1")["creator_xp"] == 1
