"""Provider adapters: Stripe webhook verification, eSewa HMAC, Khalti lookup, checkout against
the local Stripe stand-in; all flows on the in-memory store."""

from __future__ import annotations

import base64
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from giftengine.wallet.checkout import PaymentFlows
from giftengine.wallet.errors import BadSignature, Conflict, InvalidRequest, StaleCallback
from giftengine.wallet.gateways import Esewa, Khalti, esewa_signature
from giftengine.wallet.stripe_gateway import StripeGateway, to_payment_event
from giftengine_dev.wallet import stripe_fake

from tests.wallet import stripe_events as se
from tests.wallet.helpers import make_service

pytestmark = pytest.mark.unit
# Inside the test port range (GIFTENGINE_TEST_PORT_BASE .. +49), on a port the stack leaves free.
FAKE_PORT = int(os.environ.get("GIFTENGINE_TEST_PORT_BASE") or 9800) + 46
ESEWA_KEY = "8gBm/:&EnhH.1/q"


@pytest.fixture(scope="module")
def fake():
    server = stripe_fake.serve(FAKE_PORT)
    yield f"http://127.0.0.1:{FAKE_PORT}", server.RequestHandlerClass.state
    server.shutdown()
    server.server_close()


@pytest.fixture
def flows(fake):
    base, _ = fake
    svc, store, clock, published = make_service()
    clock.now = time.time()
    f = PaymentFlows(
        svc,
        stripe_gw=StripeGateway("sk_test_x", se.SECRET, base),
        esewa=Esewa(ESEWA_KEY, "EPAYTEST", "http://esewa.invalid/form"),
        khalti=Khalti("test_secret_key_x", base),
    )
    return f, svc, store, clock


def test_stripe_signature_checks(flows):
    f, *_ = flows
    body, header = se.signed(se.session_completed("evt_1", "u1", "pi_1", 350, 499))
    assert f.stripe.verify(body, header)["id"] == "evt_1"
    with pytest.raises(BadSignature):
        f.stripe.verify(body, se.signed(json.loads(body), secret="whsec_other")[1])
    with pytest.raises(BadSignature):
        f.stripe.verify(body.replace(b"350", b"999"), header)  # body altered after signing
    with pytest.raises(BadSignature):
        f.stripe.verify(body, None)
    with pytest.raises(StaleCallback):
        f.stripe.verify(*se.signed(json.loads(body), timestamp=int(time.time()) - 301))
    with pytest.raises(StaleCallback):
        f.stripe.verify(*se.signed(json.loads(body), timestamp=int(time.time()) + 3600))


def test_stripe_events_normalize():
    e = to_payment_event(se.session_completed("evt_1", "u1", "pi_1", 350, 499))
    assert (e.kind, e.uid, e.coins, e.amount) == ("completed", "u1", 350, 499)
    assert e.payment_ref == "pi_1"
    e = to_payment_event(se.charge_refunded("evt_2", "pi_1", 499, 200))
    assert (e.kind, e.refunded, e.payment_ref) == ("refunded", 200, "pi_1")
    e = to_payment_event(se.dispute_created("evt_3", "pi_1", 499))
    assert (e.kind, e.disputed, e.payment_ref) == ("disputed", 499, "pi_1")
    unpaid = se.session_completed("evt_4", "u1", "pi_2", 70, 99)
    unpaid["data"]["object"]["payment_status"] = "unpaid"
    assert to_payment_event(unpaid) is None
    assert to_payment_event(se.event("evt_5", "customer.created", {})) is None
    no_meta = se.session_completed("evt_6", "u1", "pi_3", 70, 99)
    no_meta["data"]["object"]["metadata"] = {}
    with pytest.raises(InvalidRequest):
        to_payment_event(no_meta)


def test_stripe_checkout_through_the_local_stand_in(flows, fake):
    f, svc, store, _ = flows
    r = f.stripe_checkout("u1", "coins-350", "chk-00000001")
    again = f.stripe_checkout("u1", "coins-350", "chk-00000001")
    assert r["sessionId"] == again["sessionId"]  # Stripe-side idempotency key
    assert r["url"].startswith(fake[0]) and (r["amount"], r["coins"]) == (499, 350)
    doc = store.get(f"customers/u1/checkout_sessions/{r['sessionId']}")
    assert doc["url"] == r["url"]
    session = fake[1].sessions[r["sessionId"]]
    assert session["metadata"] == {"uid": "u1", "pack_id": "coins-350", "coins": "350"}
    assert session["amount_total"] == 499 and session["client_reference_id"] == "u1"


def test_webhook_deliveries_in_random_order_and_concurrently_give_exact_balances(flows):
    """20 events (10 purchases, 6 refunds, 2 disputes, 2 ignored), 200 deliveries, shuffled,
    8 at a time: every wallet ends where the events say, whatever the order."""
    f, svc, store, _ = flows
    events, expected = [], {"u1": 0, "u2": 0, "u3": 0}
    for i in range(10):
        uid = ["u1", "u2", "u3"][i % 3]
        events.append(se.session_completed(f"evt_c{i}", uid, f"pi_{i}", 350, 500))
        expected[uid] += 350
    for i in range(6):  # refunds of half of payments 0..5 (ceil(350*250/500) = 175 each)
        events.append(se.charge_refunded(f"evt_r{i}", f"pi_{i}", 500, 250))
        expected[["u1", "u2", "u3"][i % 3]] -= 175
    for i in (6, 7):  # disputes of the rest of 6 and 7 -> whole payment reversed
        events.append(se.dispute_created(f"evt_d{i}", f"pi_{i}", 500))
        expected[["u1", "u2", "u3"][i % 3]] -= 350
    events += [se.event("evt_x1", "customer.created", {}), se.event("evt_x2", "invoice.paid", {})]
    for e in events[:10]:
        store.set(*se.checkout_record(e))
    deliveries = [e for e in events for _ in range(10)]
    random.Random(7).shuffle(deliveries)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda e: f.stripe_webhook(*se.signed(e)), deliveries))
    assert all(r["received"] for r in results)
    assert sum(1 for r in results if r.get("duplicate") is False) == 18  # each once
    for uid, coins in expected.items():
        assert svc.wallet_view(uid)["balance"] == coins, uid
    assert svc.wallet_view("u1")["locked"] and svc.wallet_view("u2")["locked"]  # disputes
    assert svc.reconcile()["ok"]


def esewa_callback(fields: dict, key: str = ESEWA_KEY) -> str:
    names = "transaction_code,status,total_amount,transaction_uuid,product_code,signed_field_names"
    data = {**fields, "signed_field_names": names}
    data["signature"] = esewa_signature(key, data, names.split(","))
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_esewa_form_signature_and_callback(flows):
    f, svc, store, clock = flows
    start = f.esewa_start("u1", 100, "esw-00000001")
    form = start["form"]["fields"]
    assert start["coins"] == 5000  # NPR 10 = 500 coins
    assert form["signature"] == esewa_signature(
        ESEWA_KEY, form, ["total_amount", "transaction_uuid", "product_code"]
    )
    ok = {
        "transaction_code": "000AWEO",
        "status": "COMPLETE",
        "total_amount": "100.0",
        "transaction_uuid": start["transaction_uuid"],
        "product_code": "EPAYTEST",
    }
    with pytest.raises(BadSignature):
        f.esewa_callback(esewa_callback(ok, key="wrong"))
    with pytest.raises(BadSignature):  # signed correctly, but not the amount we asked for
        f.esewa_callback(esewa_callback({**ok, "total_amount": "10.0"}))
    with pytest.raises(BadSignature):  # a payment we never started
        f.esewa_callback(esewa_callback({**ok, "transaction_uuid": "other"}))
    r = f.esewa_callback(esewa_callback(ok))
    assert r["credited"] == 5000 and svc.wallet_view("u1")["balance"] == 5000
    assert f.esewa_callback(esewa_callback(ok))["duplicate"]  # replayed redirect
    clock.now += 86_401
    with pytest.raises(StaleCallback):
        f.esewa_callback(esewa_callback(ok))
    assert svc.wallet_view("u1")["balance"] == 5000


def test_a_checkout_key_reused_for_other_parameters_is_refused(flows, fake):
    """Issue 14: a reused key answered the second pack's price with the first session (Stripe),
    and overwrote the recorded eSewa payment so paying the first form credited nothing."""
    f, svc, store, _ = flows
    first = f.stripe_checkout("u1", "coins-350", "chk-reuse-01")
    with pytest.raises(Conflict):
        f.stripe_checkout("u1", "coins-1400", "chk-reuse-01")
    assert f.stripe_checkout("u1", "coins-350", "chk-reuse-01")["sessionId"] == first["sessionId"]
    assert f.stripe_checkout("u2", "coins-1400", "chk-reuse-01")["amount"] != first["amount"]

    start = f.esewa_start("u1", 100, "esw-reuse-01")
    with pytest.raises(Conflict):
        f.esewa_start("u1", 200, "esw-reuse-01")
    assert f.esewa_start("u1", 100, "esw-reuse-01") == start
    ok = {
        "transaction_code": "000AWEO",
        "status": "COMPLETE",
        "total_amount": "100.0",
        "transaction_uuid": start["transaction_uuid"],
        "product_code": "EPAYTEST",
    }
    assert f.esewa_callback(esewa_callback(ok))["credited"] == 5000  # the first form still pays

    k = f.khalti_start("u3", 20, "khl-reuse-01")
    with pytest.raises(Conflict):
        f.khalti_start("u3", 30, "khl-reuse-01")
    assert f.khalti_start("u3", 20, "khl-reuse-01")["pidx"] == k["pidx"]


@pytest.mark.parametrize("amount", [5, 15, 0])
def test_npr_amounts_must_be_whole_blocks(flows, amount):
    f, *_ = flows
    with pytest.raises(InvalidRequest):
        f.esewa_start("u1", amount, "esw-00000002")


def test_khalti_is_confirmed_by_server_side_lookup(flows, fake):
    f, svc, store, _ = flows
    base, state = fake
    start = f.khalti_start("u2", 20, "khl-00000001")
    assert start["coins"] == 1000 and start["payment_url"].startswith(base)
    # The return URL's query says nothing we trust: before payment the lookup says Initiated.
    assert f.khalti_callback(start["pidx"])["credited"] == 0
    requests.get(start["payment_url"], allow_redirects=False, timeout=5)  # user pays
    assert f.khalti_callback(start["pidx"])["credited"] == 1000
    assert f.khalti_callback(start["pidx"])["duplicate"]
    requests.post(f"{base}/_fake/khalti/{start['pidx']}?status=Refunded", timeout=5)
    r = f.khalti_callback(start["pidx"])
    assert r["credited"] == 0 and svc.wallet_view("u2")["balance"] == 0
    with pytest.raises(BadSignature):
        f.khalti_callback("unknown-pidx")
    assert svc.reconcile()["ok"]


def test_a_completion_credits_the_recorded_checkout_not_the_events_metadata(flows):
    """A signed completion credits only a session this backend started for that user, paid
    in its recorded amount and currency, and the recorded pack's coins whatever the
    metadata says; anything else is refused (400) and credits nothing."""
    f, svc, store, _ = flows
    real = f.stripe_checkout("u1", "coins-70", "chk-00000002")  # $0.99, 70 coins
    sid = real["sessionId"]

    def completion(n: int, sid: str, uid: str = "u1", amount: int = 99, coins: str = "70"):
        e = se.session_completed(f"evt_m{n}", uid, f"pi_m{n}", 70, amount)
        e["data"]["object"]["id"] = sid
        e["data"]["object"]["metadata"]["coins"] = coins
        return se.signed(e)

    for n, args in enumerate(
        [
            {"sid": "cs_never_started"},  # no such checkout
            {"sid": sid, "uid": "u2"},  # another user's session
            {"sid": sid, "amount": 1},  # paid one cent
        ]
    ):
        with pytest.raises(BadSignature):
            f.stripe_webhook(*completion(n, **args))
    assert svc.wallet_view("u1")["balance"] == 0 and svc.wallet_view("u2")["balance"] == 0
    r = f.stripe_webhook(*completion(9, sid, coins="99999999999"))
    assert (r["credited"], svc.wallet_view("u1")["balance"]) == (70, 70)


@pytest.mark.parametrize(
    "etype,obj",
    [
        ("checkout.session.completed", "x"),
        ("charge.refunded", "str"),
        ("checkout.session.completed", {"id": "cs_1", "payment_status": "paid", "metadata": "x"}),
        ("charge.refunded", {"payment_intent": "pi_1", "amount_refunded": 1e308}),
        ("charge.refunded", {"payment_intent": "pi_1", "amount": "x", "amount_refunded": "y"}),
        ("charge.refunded", {"payment_intent": "pi_1", "amount_refunded": -5}),
        ("charge.dispute.created", {"payment_intent": "pi_1", "amount": True}),
    ],
)
def test_a_signed_event_in_the_wrong_shape_is_a_400_not_a_500(flows, etype, obj):
    f, svc, *_ = flows
    evt = se.event("evt_bad", etype, {})
    evt["data"] = {"object": obj} if obj != "x" else "x"
    with pytest.raises(InvalidRequest):
        f.stripe_webhook(*se.signed(evt))
