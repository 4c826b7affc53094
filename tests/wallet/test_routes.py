"""The webhook route on a failing store: a 5xx so Stripe retries, and the retry applies once."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from giftengine import bootstrap
from giftengine.wallet import routes
from giftengine.wallet.checkout import PaymentFlows
from giftengine.wallet.gateways import Esewa, Khalti
from giftengine.wallet.stripe_gateway import StripeGateway

from tests.wallet import stripe_events as se
from tests.wallet.helpers import make_service

pytestmark = pytest.mark.unit


@pytest.fixture
def flows(monkeypatch):
    svc, store, clock, _ = make_service()
    clock.now = time.time()
    f = PaymentFlows(
        svc,
        stripe_gw=StripeGateway("sk_test_x", se.SECRET),
        esewa=Esewa("k", "EPAYTEST", ""),
        khalti=Khalti("k", "http://127.0.0.1:9"),
    )
    monkeypatch.setattr(bootstrap, "payment_flows", lambda: f)
    return f, svc, store


def deliver(body: bytes, header: str):
    app = Flask(__name__)
    with app.test_request_context(
        "/payments_webhook/stripe", method="POST", data=body, headers={"Stripe-Signature": header}
    ):
        from flask import request

        return routes.payments_webhook(request)


def test_a_failed_commit_answers_500_and_the_retry_credits_once(flows):
    f, svc, store = flows
    evt = se.session_completed("evt_1", "u1", "pi_1", 350, 499)
    store.set(*se.checkout_record(evt))
    body, header = se.signed(evt)
    store.fail_next_commit = RuntimeError("firestore unavailable")
    first = deliver(body, header)
    assert first.status_code == 500 and first.json["error"] == "internal"
    assert svc.wallet_view("u1")["balance"] == 0  # nothing half-applied
    assert deliver(body, header).status_code == 200
    assert deliver(body, header).json["duplicate"] is True
    assert svc.wallet_view("u1")["balance"] == 350


def test_bad_signature_and_garbage_are_400(flows):
    body, _ = se.signed(se.session_completed("evt_2", "u1", "pi_2", 70, 99))
    assert deliver(body, "t=1,v1=deadbeef").status_code == 400
    assert deliver(b"\xff\xfe", "t=1,v1=00").status_code == 400
    assert deliver(body, "").json["error"] == "bad_signature"
