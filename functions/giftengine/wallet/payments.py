"""Payments as order-independent state. Pure.

A provider tells us about one payment in several events (completed, refunded, disputed) that
may arrive late, twice or out of order. Each event only raises facts that never go back
(completed; cumulative refunded amount; disputed amount), so folding events in any order gives
the same state, and the coins a payment is worth is a function of that state. The service
posts the difference between that target and what it has already credited: replays and
reorderings post nothing new.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from giftengine.wallet.errors import InvalidRequest

EventKind = Literal["completed", "refunded", "disputed"]


@dataclass(frozen=True)
class PaymentEvent:
    """A verified provider event, normalized."""

    provider: str  # stripe | esewa | khalti
    event_id: str  # unique per provider event (Stripe evt_..., gateway transaction ids)
    payment_ref: str  # the payment it is about (Stripe payment_intent, eSewa uuid, Khalti pidx)
    kind: EventKind
    at: float
    uid: str | None = None  # known on `completed`
    coins: int | None = None  # coins the payment buys (completed)
    amount: int | None = None  # amount paid, minor units
    currency: str = ""
    refunded: int = 0  # cumulative refunded amount, minor units (refunded)
    disputed: int = 0  # disputed amount, minor units (disputed)
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class PaymentState:
    provider: str
    payment_ref: str
    uid: str | None = None
    coins: int = 0
    amount: int = 0
    currency: str = ""
    completed: bool = False
    refunded: int = 0
    disputed: int = 0
    credited: int = 0  # coins posted to the wallet so far (net)

    @property
    def status(self) -> str:
        if self.disputed:
            return "disputed"
        if self.refunded and self.completed and self.refunded >= self.amount:
            return "refunded"
        if self.refunded:
            return "partially_refunded" if self.completed else "refunded_before_completion"
        return "succeeded" if self.completed else "pending"

    def to_doc(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PaymentState:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in names})


def fold(state: PaymentState | None, e: PaymentEvent) -> PaymentState:
    s = state or PaymentState(provider=e.provider, payment_ref=e.payment_ref)
    if e.kind == "completed":
        if s.completed and (s.uid, s.coins, s.amount) != (e.uid, e.coins, e.amount):
            raise ValueError(f"payment {e.payment_ref}: conflicting completion events")
        return replace(
            s,
            uid=e.uid,
            coins=int(e.coins or 0),
            amount=int(e.amount or 0),
            currency=e.currency,
            completed=True,
        )
    if e.kind == "refunded":
        return replace(s, refunded=max(s.refunded, int(e.refunded)))
    if e.kind == "disputed":
        return replace(s, disputed=max(s.disputed, int(e.disputed)))
    raise ValueError(f"unknown payment event kind {e.kind!r}")


def target_coins(s: PaymentState) -> int:
    """Coins the payment is worth now: its coins less the reversed share, rounded against the
    payer (a partial refund of a cent reverses at least one coin's worth)."""
    if not s.completed or s.amount <= 0:
        return 0
    reversed_amount = min(s.amount, s.refunded + s.disputed)
    reversed_coins = -(-s.coins * reversed_amount // s.amount)  # ceil
    return s.coins - reversed_coins


def npr_to_paisa(value: Any) -> int:
    """A rupee amount as a gateway reports it ("1,000", "100.50") in paisa; a fraction of a
    paisa, zero or a negative amount is an InvalidRequest."""
    try:
        d = Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        raise InvalidRequest(f"bad amount {value!r}") from None
    paisa = d * 100
    if paisa != paisa.to_integral_value() or paisa <= 0:
        raise InvalidRequest(f"bad amount {value!r}")
    return int(paisa)
