"""Wires the wallet once per process: settings, Firestore store, publisher, gateways."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from giftengine import config
from giftengine.adapters import clients
from giftengine.domain.events import EngagementEvent
from giftengine.wallet import catalog as catalog_mod
from giftengine.wallet import settings as settings_mod
from giftengine.wallet.firestore_store import FirestoreStore
from giftengine.wallet.service import WalletService

if TYPE_CHECKING:
    from giftengine.wallet.checkout import PaymentFlows


class _Publisher:
    """Blocking publish through the shared EventPublisher, created on first use."""

    def __init__(self, project_id: str):
        self.project_id, self._pub = project_id, None

    def _publisher(self):
        from giftengine.adapters.pubsub import EventPublisher

        if self._pub is None:
            self._pub = EventPublisher(self.project_id)
        return self._pub

    def __call__(self, event: EngagementEvent) -> None:
        """One gift, at once (a quiet stream's alert must not wait for others)."""
        self.many([event])

    def many(self, events: list[EngagementEvent]) -> None:
        """One stream's events in batch messages (the outbox job's republish)."""
        pub = self._publisher()
        try:
            for _, fut in pub.publish_events(events):
                fut.result(timeout=30)
        except Exception:
            pub.resume(events[0].stream_id)  # unpause the ordering key for the retry
            raise


@lru_cache(maxsize=1)
def project_id() -> str:
    return config.load().project_id


@lru_cache(maxsize=1)
def wallet_service() -> WalletService:
    pid = project_id()
    return WalletService(
        FirestoreStore(clients.firestore_client(pid)),
        settings=settings_mod.load(),
        catalog=catalog_mod.load(),
        publish=_Publisher(pid),
    )


@lru_cache(maxsize=1)
def payment_flows() -> PaymentFlows:
    """Checkout and payment callbacks. The stripe library loads here, on first use: functions
    that never take a payment (wallet_jobs, most of wallet_api) do not import it. On the local
    cloud the provider endpoints (STRIPE_API_BASE, ...) name the stand-in that `dev up` runs."""
    from giftengine.wallet.checkout import PaymentFlows
    from giftengine.wallet.gateways import Esewa, Khalti
    from giftengine.wallet.stripe_gateway import StripeGateway

    w = wallet_service()
    s = w.s
    return PaymentFlows(
        w,
        stripe_gw=StripeGateway(
            s.stripe_secret_key, s.stripe_webhook_secret, s.stripe_api_base, s.stripe_tolerance_s
        ),
        esewa=Esewa(s.esewa_secret_key, s.esewa_product_code, s.esewa_form_url),
        khalti=Khalti(s.khalti_secret_key, s.khalti_api_base),
    )
