"""Payment flows around the providers: start a payment, verify its callback, apply it.

Each callback is verified (Stripe signature, eSewa HMAC, Khalti server-side lookup) and
checked against what we recorded when the payment started (amount, product, owner, age),
then handed to `WalletService.apply_payment`, which applies it exactly once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from giftengine.service.docstore import Tx
from giftengine.wallet import paths
from giftengine.wallet import postings as P
from giftengine.wallet.catalog import Catalog, CoinPack
from giftengine.wallet.errors import (
    BadSignature,
    Conflict,
    InvalidRequest,
    NotFound,
    StaleCallback,
)
from giftengine.wallet.payments import PaymentEvent, npr_to_paisa
from giftengine.wallet.service import WalletService, to_dt, to_ts
from giftengine.wallet.settings import WalletSettings


# The providers, as the flows use them. The adapters (`stripe_gateway.StripeGateway`,
# `gateways.Esewa`, `gateways.Khalti`) implement them; the bootstrap picks them.
class CardGateway(Protocol):
    """Stripe: hosted checkout out, signed webhook events in."""

    def create_checkout_session(
        self, *, uid: str, pack: CoinPack, success_url: str, cancel_url: str, idempotency_key: str
    ) -> dict[str, Any]: ...

    def verify(self, payload: bytes, signature: str | None, now: float | None = None) -> dict:
        """The event of a webhook body whose signature and timestamp verify."""
        ...

    def payment_event(self, event: dict) -> PaymentEvent | None:
        """A verified event as a PaymentEvent; None for one that moves no coins."""
        ...


class FormGateway(Protocol):
    """eSewa: a signed form the app posts, a signed callback back."""

    def payment_form(
        self, *, transaction_uuid: str, amount_npr: int, success_url: str, failure_url: str
    ) -> dict[str, Any]: ...

    def verify_callback(self, data_b64: str) -> dict[str, Any]: ...


class LookupGateway(Protocol):
    """Khalti: initiate a payment, confirm it by a server-side lookup."""

    def initiate(
        self,
        *,
        amount_paisa: int,
        purchase_order_id: str,
        purchase_order_name: str,
        return_url: str,
        website_url: str,
    ) -> dict[str, Any]: ...

    def lookup(self, pidx: str) -> dict[str, Any]: ...


class PaymentFlows:
    def __init__(
        self,
        wallets: WalletService,
        *,
        stripe_gw: CardGateway,
        esewa: FormGateway,
        khalti: LookupGateway,
    ):
        self.w, self.stripe, self.esewa, self.khalti = wallets, stripe_gw, esewa, khalti

    @property
    def s(self) -> WalletSettings:
        return self.w.s

    @property
    def catalog(self) -> Catalog:
        return self.w.catalog

    # ------------------------------------------------------------------ idempotency keys
    def _claim_key(self, provider: str, uid: str, key: str, params: dict[str, Any]):
        """Bind a client's idempotency key to this checkout's parameters (first use wins).
        Returns the remembered answer of an earlier call with the same parameters, or None;
        the same key with other parameters is a Conflict (409): a paid purchase must never be
        credited as another one."""
        path = paths.checkout_key(provider, uid, key)

        def work(tx: Tx) -> dict[str, Any] | None:
            doc = tx.get_all([path])[path]
            if doc is None:
                tx.set(
                    path,
                    {
                        "provider": provider,
                        "uid": uid,
                        "params": params,
                        "created_at": to_dt(self.w.clock()),
                    },
                )
                return None
            if doc.get("params") != params:
                raise Conflict(
                    "idempotency_key was already used for a different checkout "
                    f"({doc.get('params')}); use a new key"
                )
            return doc.get("result")

        return self.w.store.transact(work)

    def _remember(self, provider: str, uid: str, key: str, result: dict[str, Any]) -> None:
        self.w.store.set(paths.checkout_key(provider, uid, key), {"result": result}, merge=True)

    # ------------------------------------------------------------------ Stripe
    def stripe_checkout(self, uid: str, pack_id: str, key: str) -> dict[str, Any]:
        """Create a Checkout Session (Stripe dedupes by our idempotency key) and record it
        where the Firebase Stripe extension would: customers/{uid}/checkout_sessions."""
        pack = self.catalog.packs.get(pack_id)
        if pack is None:
            raise NotFound(f"no coin pack {pack_id!r}")
        self._claim_key("stripe", uid, key, {"pack_id": pack.id})  # Stripe replays the rest
        session = self.stripe.create_checkout_session(
            uid=uid,
            pack=pack,
            success_url=self.s.checkout_success_url,
            cancel_url=self.s.checkout_cancel_url,
            idempotency_key=key,
        )
        doc = {
            "sessionId": session["id"],
            "url": session["url"],
            "pack_id": pack.id,
            "coins": pack.coins,
            "amount": pack.amount,
            "currency": pack.currency,
            "mode": "payment",
            "created": to_dt(self.w.clock()),
        }
        self.w.store.set(paths.checkout_session(uid, session["id"]), doc)
        return {**doc, "created": doc["created"]}

    def stripe_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        event = self.stripe.verify(payload, signature, now=self.w.clock())
        pe = self.stripe.payment_event(event)
        if pe is None:
            return {"received": True, "ignored": event["type"]}
        if pe.kind == "completed":
            pe = self._as_checked_out(pe)
        return {"received": True, **self.w.apply_payment(pe)}

    def _as_checked_out(self, pe: PaymentEvent) -> PaymentEvent:
        """A completion credits what `stripe_checkout` recorded, not what the event says:
        the session must be one this backend created for that user, paid in the amount and
        currency it was created with, and the coins are the recorded pack's (the event's
        metadata could have been written by anyone with access to the Stripe account)."""
        sid = str((pe.meta or {}).get("session_id"))
        doc = self.w.store.get(paths.checkout_session(str(pe.uid), sid))
        if doc is None:
            raise BadSignature(
                f"no Stripe checkout session {sid!r} was started here for {pe.uid!r}"
            )
        if (pe.amount, pe.currency.lower()) != (
            doc.get("amount"),
            str(doc.get("currency")).lower(),
        ):
            raise BadSignature(
                f"session {sid!r} was paid {pe.amount} {pe.currency!r}; the checkout recorded "
                f"{doc.get('amount')} {doc.get('currency')!r}"
            )
        return replace(
            pe, coins=int(doc["coins"]), meta={**(pe.meta or {}), "pack_id": doc.get("pack_id")}
        )

    # ------------------------------------------------------------------ NPR gateways
    def _npr_amount(self, amount_npr: int) -> int:
        s = self.s
        if not (s.min_npr <= amount_npr <= s.max_npr) or amount_npr % s.npr_block:
            raise InvalidRequest(
                f"amount_npr must be a multiple of {s.npr_block} between "
                f"{s.min_npr} and {s.max_npr}"
            )
        return amount_npr * 100

    def _record_intent(self, provider: str, intent_id: str, uid: str, paisa: int) -> dict:
        doc = {
            "provider": provider,
            "intent_id": intent_id,
            "uid": uid,
            "amount": paisa,
            "coins": self.s.npr_to_coins(paisa),
            "currency": "npr",
            "created_at": to_dt(self.w.clock()),
        }
        self.w.store.set(paths.intent(provider, intent_id), doc)
        return doc

    def _intent(self, provider: str, intent_id: str) -> dict:
        intent = self.w.store.get(paths.intent(provider, intent_id))
        if intent is None:
            raise BadSignature(f"no {provider} payment {intent_id!r} was started here")
        if to_ts(intent["created_at"]) + self.s.callback_window_s < self.w.clock():
            raise StaleCallback(
                f"{provider} payment {intent_id!r} was started more than "
                f"{self.s.callback_window_s // 3600} h ago"
            )
        return intent

    def esewa_start(self, uid: str, amount_npr: int, key: str) -> dict[str, Any]:
        paisa = self._npr_amount(amount_npr)
        done = self._claim_key("esewa", uid, key, {"amount_npr": amount_npr})
        if done is not None:
            return done
        tx_uuid = P.txn_id("esewa", uid, key).replace(":", "-")
        intent = self._record_intent("esewa", tx_uuid, uid, paisa)
        form = self.esewa.payment_form(
            transaction_uuid=tx_uuid,
            amount_npr=amount_npr,
            success_url=self.s.esewa_success_url,
            failure_url=self.s.esewa_failure_url,
        )
        result = {"transaction_uuid": tx_uuid, "coins": intent["coins"], "form": form}
        self._remember("esewa", uid, key, result)
        return result

    def esewa_callback(self, data_b64: str) -> dict[str, Any]:
        data = self.esewa.verify_callback(data_b64)
        tx_uuid = str(data["transaction_uuid"])
        if not tx_uuid or "/" in tx_uuid or len(tx_uuid) > 200:
            raise InvalidRequest("bad transaction_uuid")
        intent = self._intent("esewa", tx_uuid)
        if npr_to_paisa(data["total_amount"]) != intent["amount"]:
            raise BadSignature("eSewa total_amount differs from the payment we started")
        if data["status"] != "COMPLETE":
            return {"received": True, "status": data["status"], "credited": 0}
        return {
            "received": True,
            **self.w.apply_payment(
                PaymentEvent(
                    provider="esewa",
                    event_id=f"{tx_uuid}:COMPLETE",
                    payment_ref=tx_uuid,
                    kind="completed",
                    at=self.w.clock(),
                    uid=intent["uid"],
                    coins=intent["coins"],
                    amount=intent["amount"],
                    currency="npr",
                    meta={"transaction_code": data.get("transaction_code")},
                )
            ),
        }

    def khalti_start(self, uid: str, amount_npr: int, key: str) -> dict[str, Any]:
        paisa = self._npr_amount(amount_npr)
        done = self._claim_key("khalti", uid, key, {"amount_npr": amount_npr})
        if done is not None:
            return done
        order_id = P.txn_id("khalti", uid, key).replace(":", "-")
        res = self.khalti.initiate(
            amount_paisa=paisa,
            purchase_order_id=order_id,
            purchase_order_name=f"{self.s.npr_to_coins(paisa)} coins",
            return_url=self.s.khalti_return_url,
            website_url=self.s.website_url,
        )
        pidx = str(res["pidx"])
        intent = self._record_intent("khalti", pidx, uid, paisa)
        result = {
            "pidx": pidx,
            "payment_url": res.get("payment_url"),
            "coins": intent["coins"],
            "purchase_order_id": order_id,
        }
        self._remember("khalti", uid, key, result)
        return result

    def khalti_callback(self, pidx: str) -> dict[str, Any]:
        if not pidx or "/" in pidx:
            raise InvalidRequest("pidx is required")
        intent = self._intent("khalti", pidx)
        info = self.khalti.lookup(pidx)  # server-side verification; never trust the query
        if str(info.get("pidx")) != pidx:
            raise BadSignature("Khalti lookup answered for another pidx")
        status = str(info.get("status"))
        total = int(info.get("total_amount") or 0)
        if status in ("Completed", "Refunded", "Partially Refunded"):
            if total != intent["amount"]:
                raise BadSignature("Khalti total_amount differs from the payment we started")
            result = self.w.apply_payment(
                PaymentEvent(
                    provider="khalti",
                    event_id=f"{pidx}:Completed",
                    payment_ref=pidx,
                    kind="completed",
                    at=self.w.clock(),
                    uid=intent["uid"],
                    coins=intent["coins"],
                    amount=intent["amount"],
                    currency="npr",
                    meta={"transaction_id": info.get("transaction_id")},
                )
            )
            if status != "Completed":
                refunded = total if status == "Refunded" else int(info.get("refunded_amount") or 0)
                result = self.w.apply_payment(
                    PaymentEvent(
                        provider="khalti",
                        event_id=f"{pidx}:{status}:{refunded}",
                        payment_ref=pidx,
                        kind="refunded",
                        at=self.w.clock(),
                        refunded=refunded,
                    )
                )
            return {"received": True, "status": status, **result}
        return {"received": True, "status": status, "credited": 0}
