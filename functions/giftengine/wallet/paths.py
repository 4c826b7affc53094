"""Firestore layout of the wallet (docs/wallet.md). Client-readable paths are marked."""

from __future__ import annotations

import hashlib


def wallet(uid: str) -> str:  # client-readable (owner)
    return f"wallets/{uid}"


def posting(uid: str, txn_id: str) -> str:  # client-readable (owner)
    return f"wallets/{uid}/postings/{txn_id}"


def postings(uid: str) -> str:
    return f"wallets/{uid}/postings"


def earnings_shards(uid: str) -> str:  # client-readable (owner)
    return f"wallets/{uid}/earnings_shards"


def earnings_shard(uid: str, txn_id: str, shards: int) -> str:
    k = int(hashlib.sha256(txn_id.encode()).hexdigest()[:8], 16) % max(1, shards)
    return f"wallets/{uid}/earnings_shards/{k}"


def tier_event(uid: str, event_id: str) -> str:  # client-readable (owner)
    return f"wallets/{uid}/tier_events/{event_id}"


def checkout_session(uid: str, session_id: str) -> str:  # client-readable (owner)
    return f"customers/{uid}/checkout_sessions/{session_id}"


def customer_payment(uid: str, payment_ref: str) -> str:  # client-readable (owner)
    return f"customers/{uid}/payments/{payment_ref}"


# Server-only.
LEDGER = "ledger"
OUTBOX = "wallet_outbox"
WALLETS = "wallets"


def ledger(txn_id: str) -> str:
    return f"ledger/{txn_id}"


def outbox(txn_id: str) -> str:
    return f"wallet_outbox/{txn_id}"


def payment_state(provider: str, ref: str) -> str:
    return f"payment_states/{provider}:{ref}"


def webhook_event(provider: str, event_id: str) -> str:
    return f"webhook_events/{provider}:{event_id}"


def intent(provider: str, intent_id: str) -> str:
    return f"gateway_intents/{provider}:{intent_id}"


def audit(entry_id: str) -> str:
    return f"audit_log/{entry_id}"


def reconciliation_run(run_id: str) -> str:
    return f"reconciliation_runs/{run_id}"


def checkout_key(provider: str, uid: str, key: str) -> str:  # server-only
    digest = hashlib.sha256(f"{uid}|{key}".encode()).hexdigest()[:40]
    return f"checkout_keys/{provider}-{digest}"


def stream_owner(stream_id: str) -> str:  # public read; written by POST /api/streams, ingest
    return f"stream_owners/{stream_id}"
