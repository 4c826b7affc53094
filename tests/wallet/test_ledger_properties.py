"""Property tests of the ledger through the service (in-memory store): any sequence of
purchases, spends, refunds, disputes, tier purchases, daily bonuses, admin adjustments and
retries of any of them keeps every wallet equal to the sum of its postings, applies each
effect once, never lets bonus coins leave the account, and lets a balance go negative only
through the chargeback path, which locks the wallet."""

from __future__ import annotations

from collections import defaultdict

import pytest
from giftengine.wallet import ledger as L
from giftengine.wallet.errors import WalletError
from giftengine.wallet.ledger import LedgerTxn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wallet.helpers import completed, disputed, gift, make_service, refunded

pytestmark = pytest.mark.unit

VIEWERS = ["u1", "u2"]
CREATOR = "c1"
PACKS = [(70, 99), (350, 499), (1400, 1999), (7000, 9999)]
GIFTS = ["rose", "heart", "cap", "rocket", "lion", "og-crown", "og-dragon"]

op = st.one_of(
    st.tuples(st.just("buy"), st.integers(0, 2), st.sampled_from(VIEWERS), st.sampled_from(PACKS)),
    st.tuples(st.just("refund"), st.integers(0, 2), st.sampled_from([1, 50, 100])),
    st.tuples(st.just("dispute"), st.integers(0, 2)),
    st.tuples(
        st.just("spend"),
        st.sampled_from(VIEWERS),
        st.sampled_from(GIFTS),
        st.integers(1, 5),
        st.integers(0, 9),
    ),
    st.tuples(st.just("tier"), st.sampled_from(VIEWERS), st.integers(1, 2), st.integers(0, 3)),
    st.tuples(st.just("day"), st.integers(0, 2)),
    st.tuples(
        st.just("adjust"),
        st.sampled_from(VIEWERS + [CREATOR]),
        st.sampled_from(["balance", "bonus_balance"]),
        st.integers(-50, 50),
        st.integers(0, 3),
    ),
    st.tuples(st.just("retry"), st.integers(0, 40)),
)


def ledger_txns(store) -> list[LedgerTxn]:
    return [LedgerTxn.from_doc(d) for _, d in store.list("ledger")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=5, max_size=50))
def test_any_sequence_keeps_wallets_equal_to_their_postings(ops):
    svc, store, clock, published = make_service(
        owners={"s1": CREATOR}, spend_coins_per_minute=10**9, spends_per_minute=10**6
    )
    # The test's own model of each payment: who, coins, amount, completed, refunded, disputed.
    pay_owner: dict[int, tuple[str, int, int]] = {}
    pay_model: dict[int, dict] = defaultdict(
        lambda: {"completed": False, "refunded": 0, "disputed": 0}
    )
    ok_gift_keys: set[tuple[str, int]] = set()
    done: list[tuple] = []

    def run(o: tuple) -> bool:
        kind = o[0]
        try:
            if kind == "buy":
                _, n, uid, (coins, amount) = o
                uid, coins, amount = pay_owner.setdefault(n, (uid, coins, amount))
                svc.apply_payment(completed(f"pi_{n}", uid, coins, amount))
                pay_model[n]["completed"] = True
            elif kind == "refund":  # Stripe reports the cumulative refunded amount
                _, n, r = o
                svc.apply_payment(refunded(f"pi_{n}", r))
                pay_model[n]["refunded"] = max(pay_model[n]["refunded"], r)
            elif kind == "dispute":
                _, n, amount = o
                svc.apply_payment(disputed(f"pi_{n}", amount))
                pay_model[n]["disputed"] = max(pay_model[n]["disputed"], amount)
            elif kind == "spend":
                _, uid, gift_id, count, k = o
                svc.spend_gift(
                    uid,
                    gift(
                        creator=CREATOR,
                        gift_id=gift_id,
                        count=count,
                        key=f"key-{gift_id}-{count}-{k}",
                    ),
                )
                ok_gift_keys.add((uid, f"key-{gift_id}-{count}-{k}"))
            elif kind == "tier":
                _, uid, level, k = o
                svc.buy_tier(uid, level, f"tier-{level}-{k}")
            elif kind == "day":
                clock.now += 86_400 * o[1] + 3_600
                svc.run_daily_bonus()
                svc.run_daily_bonus()  # a second run the same day changes nothing
            elif kind == "adjust":
                _, uid, account, amount, k = o
                svc.admin_adjust(
                    "admin-1",
                    uid,
                    account=account,
                    amount=amount,
                    reason="property test",
                    key=f"adj-{account}-{amount}-{k}",
                )
        except WalletError:
            return False  # refused (funds, lock, tier, conflict): changes nothing (checked)
        return True

    for o in ops:
        if o[0] == "retry":
            if not done:
                continue
            again, succeeded = done[o[1] % len(done)]
            before = {p for p in store.docs if p.startswith("ledger/")}
            run(again)
            if succeeded:  # retrying what was applied never adds a posting
                assert {p for p in store.docs if p.startswith("ledger/")} == before
        else:
            if o[0] in ("refund", "dispute"):  # concrete amounts, so a retry is the same event
                amount = pay_owner.get(o[1], (None, 0, 1000))[2]
                o = (
                    (o[0], o[1], amount * o[2] // 100 or 1)
                    if o[0] == "refund"
                    else (o[0], o[1], amount)
                )
            before_docs = dict(store.docs)
            succeeded = run(o)
            if not succeeded:  # a refused request leaves every document as it was
                assert store.docs == before_docs
            if o[0] != "day":
                done.append((o, succeeded))

        txns = ledger_txns(store)
        # 1. Every wallet equals the sum of its postings (the reconciliation job agrees).
        report = svc.reconcile()
        assert report["ok"], report["problems"]
        # 2. The ledger balances overall (each transaction already sums to zero).
        assert sum(L.account_sums(txns).values()) == 0
        # 3. Bonus coins never leave: only gifts debit them; only the bonus issue or an admin
        #    adjustment credits them; never to or from another user's or an external account.
        for t in txns:
            for leg in t.legs:
                parsed = L.parse_user_account(leg.account)
                if parsed and parsed[1] == "bonus":
                    assert (
                        (leg.amount < 0 and t.kind == L.GIFT)
                        or (leg.amount > 0 and t.kind in (L.BONUS, L.ADJUST))
                        or (leg.amount < 0 and t.kind == L.ADJUST)
                    ), t
        # 4. Each effect applied once: one gift transaction per successful key.
        gifts = [t for t in txns if t.kind == L.GIFT]
        assert len(gifts) == len({t.txn_id for t in gifts}) == len(ok_gift_keys)
        # 5. No negative balance except a locked wallet; bonus never negative.
        for uid in VIEWERS + [CREATOR]:
            w = svc.wallet_view(uid)
            assert w["bonus_balance"] >= 0
            assert w["balance"] >= 0 or w["locked"], w
        # 6. Each payment is credited exactly what the model says it is worth now.
        for n, m in pay_model.items():
            owner = pay_owner.get(n)
            state = store.get(f"payment_states/stripe:pi_{n}")
            if owner is None or not m["completed"]:
                assert state is None or state["credited"] == 0
                continue
            _, coins, amount = owner
            reversed_amount = min(amount, m["refunded"] + m["disputed"])
            expected = coins - (-(-coins * reversed_amount // amount))
            assert state["credited"] == expected
            posted = sum(
                t.user_legs(owner[0]).get("coins", 0)
                for t in txns
                if t.meta.get("payment_ref") == f"pi_{n}"
            )
            assert posted == expected
    # Every committed gift published its event exactly under its deterministic id.
    ids = {e.event_id for e in published.events}
    assert ids == {f"app:{uid}:{key}" for uid, key in ok_gift_keys}
