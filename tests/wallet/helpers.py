"""Builders shared by the wallet tests: an in-memory service with a controllable clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from giftengine.service.docstore import MemoryStore
from giftengine.wallet import catalog as catalog_mod
from giftengine.wallet.payments import PaymentEvent
from giftengine.wallet.service import GiftSpend, WalletService
from giftengine.wallet.settings import WalletSettings

T0 = 1_795_000_000.0  # 2026-11-18T..Z, a fixed instant


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Published:
    events: list = field(default_factory=list)
    fail: bool = False

    def __call__(self, event) -> None:
        if self.fail:
            raise RuntimeError("pubsub down")
        self.events.append(event)


def own(store, stream: str, creator: str) -> None:
    """The stream's ownership record (POST /api/streams writes it in production)."""
    store.set(
        f"stream_owners/{stream}", {"stream_id": stream, "creator_id": creator, "source": "app"}
    )


def make_service(
    store=None, owners: dict[str, str] | None = None, **settings
) -> tuple[WalletService, MemoryStore, Clock, Published]:
    store = store if store is not None else MemoryStore()
    for stream, creator in (owners if owners is not None else {"s1": "creator-1"}).items():
        own(store, stream, creator)
    clock, published = Clock(), Published()
    svc = WalletService(
        store,
        settings=WalletSettings(**settings),
        catalog=catalog_mod.parse(catalog_mod.DEFAULT_CATALOG),
        publish=published,
        clock=clock,
    )
    return svc, store, clock, published


def completed(
    ref: str,
    uid: str,
    coins: int,
    amount: int,
    event_id: str | None = None,
    provider: str = "stripe",
) -> PaymentEvent:
    return PaymentEvent(
        provider=provider,
        event_id=event_id or f"evt_c_{ref}",
        payment_ref=ref,
        kind="completed",
        at=T0,
        uid=uid,
        coins=coins,
        amount=amount,
        currency="usd",
    )


def refunded(ref: str, refunded_amount: int, event_id: str | None = None) -> PaymentEvent:
    return PaymentEvent(
        provider="stripe",
        event_id=event_id or f"evt_r_{ref}_{refunded_amount}",
        payment_ref=ref,
        kind="refunded",
        at=T0,
        refunded=refunded_amount,
    )


def disputed(ref: str, amount: int, event_id: str | None = None) -> PaymentEvent:
    return PaymentEvent(
        provider="stripe",
        event_id=event_id or f"evt_d_{ref}_{amount}",
        payment_ref=ref,
        kind="disputed",
        at=T0,
        disputed=amount,
    )


def gift(stream="s1", creator="creator-1", gift_id="rose", count=1, key="k-00000001") -> GiftSpend:
    return GiftSpend(
        stream_id=stream, creator_id=creator, gift_id=gift_id, count=count, idempotency_key=key
    )
