"""Stripe webhook events in Stripe's JSON format, signed with the stripe library's own scheme."""

from __future__ import annotations

import json
import time

import stripe

SECRET = "whsec_giftengine_local"  # settings.LOCAL_SECRETS: what the local cloud's functions use


def event(evt_id: str, etype: str, obj: dict, created: int | None = None) -> dict:
    return {
        "id": evt_id,
        "object": "event",
        "type": etype,
        "api_version": "2025-01-27",
        "created": created or int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def session_completed(evt_id: str, uid: str, pi: str, coins: int, amount: int) -> dict:
    return event(
        evt_id,
        "checkout.session.completed",
        {
            "id": f"cs_test_{pi}",
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "status": "complete",
            "payment_intent": pi,
            "amount_total": amount,
            "currency": "usd",
            "client_reference_id": uid,
            "metadata": {"uid": uid, "pack_id": f"coins-{coins}", "coins": str(coins)},
        },
    )


def checkout_record(evt: dict) -> tuple[str, dict]:
    """The document `POST /wallet_api/checkout/stripe` records for the session a completion
    names (wallet/checkout.py `stripe_checkout`; its path and fields): a test that signs a
    completion itself records the session first, as the checkout would have, since a
    completion of a session never started here credits nothing."""
    obj = evt["data"]["object"]
    meta = obj["metadata"]
    doc = {
        "sessionId": obj["id"],
        "pack_id": meta["pack_id"],
        "coins": int(meta["coins"]),
        "amount": obj["amount_total"],
        "currency": obj["currency"],
        "mode": "payment",
    }
    return f"customers/{meta['uid']}/checkout_sessions/{obj['id']}", doc


def charge_refunded(evt_id: str, pi: str, amount: int, refunded: int) -> dict:
    return event(
        evt_id,
        "charge.refunded",
        {
            "id": f"ch_{pi}",
            "object": "charge",
            "payment_intent": pi,
            "amount": amount,
            "amount_refunded": refunded,
            "refunded": refunded >= amount,
        },
    )


def dispute_created(evt_id: str, pi: str, amount: int) -> dict:
    return event(
        evt_id,
        "charge.dispute.created",
        {
            "id": f"dp_{pi}",
            "object": "dispute",
            "charge": f"ch_{pi}",
            "payment_intent": pi,
            "amount": amount,
            "reason": "fraudulent",
            "status": "needs_response",
        },
    )


def signed(evt: dict, secret: str = SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(evt)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode(), header
