"""Coins, wallets and payments.

Layers (docs/wallet.md):
- domain (pure): `ledger` (accounts, transactions, wallet state), `catalog` (gifts, coin packs,
  OG tiers), `payments` (order-independent payment state), `settings`.
- service: `service` (spend, buy tier, apply payment, daily bonus, reconcile, admin adjust) on
  a `store.Store` (a transactional document store).
- adapters: `firestore_store`, `stripe_gateway`, `gateways` (eSewa, Khalti). The payment
  providers' local stand-in is a dev tool: `giftengine_dev.wallet.stripe_fake`.
- entry points: `routes` (routers behind functions/main.py).
"""
