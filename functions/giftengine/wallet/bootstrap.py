"""Wires the wallet once per process: settings, Firestore store, publisher, gateways."""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache

from giftengine import config
from giftengine.adapters import clients
from giftengine.domain.events import EngagementEvent
from giftengine.wallet import catalog as catalog_mod
from giftengine.wallet import settings as settings_mod
from giftengine.wallet.checkout import PaymentFlows
from giftengine.wallet.firestore_store import FirestoreStore
from giftengine.wallet.gateways import Esewa, Khalti
from giftengine.wallet.service import WalletService
from giftengine.wallet.stripe_gateway import StripeGateway


class _Publisher:
    """Blocking publish through the shared EventPublisher, created on first use."""

    def __init__(self, project_id: str):
        self.project_id, self._pub = project_id, None

    def __call__(self, event: EngagementEvent) -> None:
        from giftengine.adapters.pubsub import EventPublisher

        if self._pub is None:
            self._pub = EventPublisher(self.project_id)
        try:
            self._pub.publish(event).result(timeout=30)
        except Exception:
            self._pub.resume(event.stream_id)  # unpause the ordering key for the retry
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


# On the local cloud the payment providers cannot be reached: unless STRIPE_API_BASE /
# KHALTI_API_BASE / ESEWA_FORM_URL say otherwise, the wallet functions use the local stand-in
# (giftengine_dev.wallet.stripe_fake) on the Firestore emulator's port + STAND_IN_PORT_OFFSET,
# started by whichever function process needs it first (the others find it listening).
STAND_IN_PORT_OFFSET = 48


def local_stand_in(webhook_secret: str) -> str:
    from giftengine_dev.wallet import stripe_fake

    port = int(os.environ["FIRESTORE_EMULATOR_HOST"].rsplit(":", 1)[1]) + STAND_IN_PORT_OFFSET
    hook = os.environ.get("GIFTENGINE_URL_PAYMENTS_WEBHOOK", "")
    with contextlib.suppress(OSError):  # another function process serves it already
        stripe_fake.serve(
            port,
            webhook_url=f"{hook}/payments_webhook/stripe" if hook else "",
            webhook_secret=webhook_secret,
            esewa_secret=settings_mod.load().esewa_secret_key,
        )
    return f"http://127.0.0.1:{port}"


@lru_cache(maxsize=1)
def payment_flows() -> PaymentFlows:
    w = wallet_service()
    s = w.s
    stripe_base, khalti_base, esewa_form = s.stripe_api_base, s.khalti_api_base, s.esewa_form_url
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        if not os.environ.get("STRIPE_API_BASE"):
            stripe_base = local_stand_in(s.stripe_webhook_secret)
        if not os.environ.get("KHALTI_API_BASE"):
            khalti_base = local_stand_in(s.stripe_webhook_secret)
        if not os.environ.get("ESEWA_FORM_URL"):
            esewa_form = local_stand_in(s.stripe_webhook_secret) + "/esewa/form"
    return PaymentFlows(
        w,
        stripe_gw=StripeGateway(
            s.stripe_secret_key, s.stripe_webhook_secret, stripe_base, s.stripe_tolerance_s
        ),
        esewa=Esewa(s.esewa_secret_key, s.esewa_product_code, esewa_form),
        khalti=Khalti(s.khalti_secret_key, khalti_base),
    )
