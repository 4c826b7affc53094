"""Wallet settings, read from the environment (docs/wallet.md lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value in (None, "") else value


@dataclass(frozen=True)
class WalletSettings:
    # Share of a gift's coin value credited to the creator's earnings, in basis points.
    creator_share_bps: int = 5000
    # Velocity limits per spender (anti-fraud): coins and spends per rolling clock minute.
    spend_coins_per_minute: int = 100_000
    spends_per_minute: int = 60
    # eSewa / Khalti conversion: `npr_block` rupees buy `coins_per_npr_block` coins.
    npr_block: int = 10
    coins_per_npr_block: int = 500
    min_npr: int = 10
    max_npr: int = 100_000
    # Webhook replay protection: Stripe signature timestamps older than this are refused;
    # gateway payments initiated longer ago than `callback_window_s` are refused; processed
    # webhook events are remembered at least this long.
    stripe_tolerance_s: int = 300
    callback_window_s: int = 86_400
    # Creator earnings are credited to this many counter shards (hot creators).
    earnings_shards: int = 8
    # Outbox entries older than this are republished by the outbox job.
    outbox_grace_s: int = 60
    # Secrets and provider endpoints.
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    checkout_success_url: str = "http://localhost:5173/wallet?checkout=success"
    checkout_cancel_url: str = "http://localhost:5173/wallet?checkout=cancel"
    esewa_secret_key: str = ""
    esewa_product_code: str = "EPAYTEST"
    esewa_form_url: str = "https://rc-epay.esewa.com.np/api/epay/main/v2/form"
    esewa_success_url: str = "http://localhost:5173/wallet?esewa=success"
    esewa_failure_url: str = "http://localhost:5173/wallet?esewa=failure"
    khalti_secret_key: str = ""
    khalti_api_base: str = "https://dev.khalti.com/api/v2"
    khalti_return_url: str = "http://localhost:5173/wallet?khalti=return"
    website_url: str = "http://localhost:5173"

    def npr_to_coins(self, amount_paisa: int) -> int:
        return amount_paisa * self.coins_per_npr_block // (self.npr_block * 100)


D = WalletSettings

# Well-known secrets for the local cloud only (emulators, `giftengine dev up`, tests), so the
# payment endpoints work offline with no setup. Used only while FIRESTORE_EMULATOR_HOST is set,
# which production never sets; the eSewa one is eSewa's published test (UAT) key.
LOCAL_SECRETS = {
    "STRIPE_SECRET_KEY": "sk_test_giftengine_local",
    "STRIPE_WEBHOOK_SECRET": "whsec_giftengine_local",
    "ESEWA_SECRET_KEY": "8gBm/:&EnhH.1/q",
    "KHALTI_SECRET_KEY": "test_secret_key_giftengine_local",
}


def _secret(name: str) -> str:
    local = LOCAL_SECRETS[name] if os.environ.get("FIRESTORE_EMULATOR_HOST") else ""
    return _env(name, local)


def load() -> WalletSettings:
    return WalletSettings(
        creator_share_bps=int(_env("GIFTENGINE_WALLET_CREATOR_SHARE_BPS", "5000")),
        spend_coins_per_minute=int(_env("GIFTENGINE_WALLET_SPEND_COINS_PER_MINUTE", "100000")),
        spends_per_minute=int(_env("GIFTENGINE_WALLET_SPENDS_PER_MINUTE", "60")),
        npr_block=int(_env("GIFTENGINE_WALLET_NPR_BLOCK", "10")),
        coins_per_npr_block=int(_env("GIFTENGINE_WALLET_COINS_PER_NPR_BLOCK", "500")),
        stripe_tolerance_s=int(_env("GIFTENGINE_WALLET_STRIPE_TOLERANCE_S", "300")),
        callback_window_s=int(_env("GIFTENGINE_WALLET_CALLBACK_WINDOW_S", "86400")),
        earnings_shards=int(_env("GIFTENGINE_WALLET_EARNINGS_SHARDS", "8")),
        outbox_grace_s=int(_env("GIFTENGINE_WALLET_OUTBOX_GRACE_S", "60")),
        stripe_secret_key=_secret("STRIPE_SECRET_KEY"),
        stripe_webhook_secret=_secret("STRIPE_WEBHOOK_SECRET"),
        stripe_api_base=_env("STRIPE_API_BASE", ""),
        checkout_success_url=_env("GIFTENGINE_CHECKOUT_SUCCESS_URL", D.checkout_success_url),
        checkout_cancel_url=_env("GIFTENGINE_CHECKOUT_CANCEL_URL", D.checkout_cancel_url),
        esewa_secret_key=_secret("ESEWA_SECRET_KEY"),
        esewa_product_code=_env("ESEWA_PRODUCT_CODE", "EPAYTEST"),
        esewa_form_url=_env("ESEWA_FORM_URL", D.esewa_form_url),
        esewa_success_url=_env("ESEWA_SUCCESS_URL", D.esewa_success_url),
        esewa_failure_url=_env("ESEWA_FAILURE_URL", D.esewa_failure_url),
        khalti_secret_key=_secret("KHALTI_SECRET_KEY"),
        khalti_api_base=_env("KHALTI_API_BASE", D.khalti_api_base),
        khalti_return_url=_env("KHALTI_RETURN_URL", D.khalti_return_url),
        website_url=_env("GIFTENGINE_WEBSITE_URL", D.website_url),
    )
