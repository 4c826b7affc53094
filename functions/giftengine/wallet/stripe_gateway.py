"""Stripe adapter: Checkout Sessions out, verified webhook events in.

Outbound calls go through the official `stripe` library; STRIPE_API_BASE points it at a
stand-in (`python -m giftengine_dev.wallet.stripe_fake`) where Stripe cannot be reached. Webhooks
are verified on the raw body with `stripe.WebhookSignature` (v1 HMAC-SHA256 over
"{timestamp}.{body}") and normalized to `PaymentEvent`s.
"""

from __future__ import annotations

import json
import time
from typing import Any

import stripe

from giftengine.wallet.catalog import CoinPack
from giftengine.wallet.errors import BadSignature, InvalidRequest, StaleCallback
from giftengine.wallet.payments import PaymentEvent

COMPLETION_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
HANDLED_TYPES = (*COMPLETION_TYPES, "charge.refunded", "charge.dispute.created")


class StripeGateway:
    def __init__(
        self, secret_key: str, webhook_secret: str, api_base: str = "", tolerance_s: int = 300
    ):
        self.webhook_secret, self.tolerance_s = webhook_secret, tolerance_s
        self._secret_key, self._api_base = secret_key, api_base
        self._client: stripe.StripeClient | None = None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            if not self._secret_key:
                raise RuntimeError("STRIPE_SECRET_KEY is not set")
            self._client = stripe.StripeClient(
                self._secret_key,
                max_network_retries=2,
                base_addresses={"api": self._api_base} if self._api_base else None,
            )
        return self._client

    def create_checkout_session(
        self,
        *,
        uid: str,
        pack: CoinPack,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> dict[str, Any]:
        metadata = {"uid": uid, "pack_id": pack.id, "coins": str(pack.coins)}
        session = self.client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": pack.currency,
                            "unit_amount": pack.amount,
                            "product_data": {"name": pack.name or f"{pack.coins} coins"},
                        },
                    }
                ],
                "client_reference_id": uid,
                "metadata": metadata,
                "payment_intent_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            options={"idempotency_key": f"checkout:{uid}:{idempotency_key}"},
        )
        return {
            "id": session.id,
            "url": session.url,
            "amount_total": session.amount_total,
            "currency": session.currency,
        }

    def payment_event(self, event: dict) -> PaymentEvent | None:
        """The verified event as a PaymentEvent (`to_payment_event`)."""
        return to_payment_event(event)

    def verify(self, payload: bytes, signature: str | None, now: float | None = None) -> dict:
        """Check the signature and timestamp on the raw body; return the event JSON."""
        if not self.webhook_secret:
            raise RuntimeError("STRIPE_WEBHOOK_SECRET is not set")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("webhook body is not UTF-8 JSON") from None
        try:
            stripe.WebhookSignature.verify_header(
                text, signature, self.webhook_secret, tolerance=self.tolerance_s
            )
        except stripe.SignatureVerificationError as exc:
            if "tolerance" in str(exc):
                raise StaleCallback(
                    f"Stripe-Signature timestamp is older than "
                    f"{self.tolerance_s} s (replayed or delayed)"
                ) from None
            raise BadSignature(f"Stripe-Signature does not verify: {exc}") from None
        stamp = _timestamp(signature or "")
        if stamp > (now or time.time()) + self.tolerance_s:
            raise StaleCallback("Stripe-Signature timestamp is in the future")
        try:
            event = json.loads(text)
        except ValueError:
            raise InvalidRequest("webhook body is not JSON") from None
        if (
            not isinstance(event, dict)
            or not _doc_id_ok(event.get("id"))
            or not isinstance(event.get("type"), str)
        ):
            raise InvalidRequest("webhook body is not a Stripe event (a string id and type)")
        return event


def _timestamp(header: str) -> int:
    for item in header.split(","):
        k, _, v = item.partition("=")
        if k.strip() == "t" and v.strip().isdigit():
            return int(v)
    return 0


# Stripe amounts are integers in the currency's smallest unit (at most 8 digits for a
# Checkout Session); anything else in a signed event is malformed, not a payment.
MAX_AMOUNT = 10**12


def to_payment_event(event: dict) -> PaymentEvent | None:
    """Normalize a verified Stripe event; None for types and states that move no coins.
    A signed event of a handled type whose fields are not Stripe's shapes is refused
    (InvalidRequest, 400) before anything is read or written."""
    etype = event["type"]
    if etype not in HANDLED_TYPES:
        return None
    obj = _object(event)
    at = _created(event)
    if etype in COMPLETION_TYPES:
        if obj.get("payment_status") not in ("paid", "no_payment_required"):
            return None  # async methods: credited on checkout.session.async_payment_succeeded
        meta = obj.get("metadata") or {}
        if not isinstance(meta, dict):
            raise InvalidRequest(f"session {obj.get('id')!r}: metadata is not an object")
        uid = meta.get("uid") or obj.get("client_reference_id")
        coins = meta.get("coins")
        if not (isinstance(coins, str) and coins.isdigit() and 0 < int(coins) <= MAX_AMOUNT):
            raise InvalidRequest(f"session {obj.get('id')!r} has no coins metadata")
        if not _doc_id_ok(uid):
            raise InvalidRequest(f"session {obj.get('id')!r} has no valid uid")
        if not _doc_id_ok(obj.get("id")):
            raise InvalidRequest("the completed session has no valid id")
        currency = obj.get("currency") or ""
        if not isinstance(currency, str):
            raise InvalidRequest(f"session {obj.get('id')!r}: currency is not a string")
        return PaymentEvent(
            provider="stripe",
            event_id=event["id"],
            payment_ref=_ref(obj),
            kind="completed",
            at=at,
            uid=uid,
            coins=int(coins),
            amount=_amount(obj, "amount_total"),
            currency=currency,
            meta={"session_id": obj["id"], "pack_id": meta.get("pack_id")},
        )
    if etype == "charge.refunded":
        ref, kind, amounts = _ref(obj), "refunded", {"refunded": _amount(obj, "amount_refunded")}
    else:  # charge.dispute.created
        ref = obj.get("payment_intent") or obj.get("charge")
        if not _doc_id_ok(ref):
            raise InvalidRequest("dispute names no payment_intent or charge")
        kind, amounts = "disputed", {"disputed": _amount(obj, "amount")}
    return PaymentEvent(
        provider="stripe", event_id=event["id"], payment_ref=str(ref), kind=kind, at=at, **amounts
    )


def _object(event: dict) -> dict:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise InvalidRequest(f"event {event['id']!r}: data.object is not an object")
    return obj


def _created(event: dict) -> float:
    created = event.get("created")
    if created is None:
        return time.time()
    if isinstance(created, bool) or not isinstance(created, int) or created < 0:
        raise InvalidRequest(f"event {event['id']!r}: created is not a Unix time in seconds")
    return float(created)


def _amount(obj: dict, field: str) -> int:
    """A non-negative integer amount in the smallest currency unit (absent: 0)."""
    value = obj.get(field)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
        raise InvalidRequest(
            f"{obj.get('object') or 'object'} {field} must be a non-negative integer "
            "in the smallest currency unit"
        )
    return value


def _doc_id_ok(value: object) -> bool:
    """Ids become Firestore document ids (paths): no "/", not "." or "..", bounded."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 200
        and "/" not in value
        and (value not in (".", ".."))
    )


def _ref(obj: dict) -> str:
    """Payments are keyed by PaymentIntent: the session and its charge both name it."""
    ref = obj.get("payment_intent")
    if isinstance(ref, dict):
        ref = ref.get("id")
    ref = ref or obj.get("id")
    if not _doc_id_ok(ref):
        raise InvalidRequest("event object names no valid payment_intent")
    return str(ref)
