"""Wallet benchmark against a running local cloud (`giftengine dev up`); figures go to
docs/bench-wallet.md. Bounded: a few hundred operations per scenario.

    python -m giftengine_dev.wallet.bench [--n 300] [--threads 8] [--json]

Scenarios:
- spends on ONE wallet: sequential (latency floor) and from several threads (contention);
- spends across MANY wallets from several threads (throughput);
- the same through the wallet_api function over HTTP (ID tokens from the Auth emulator);
- Stripe webhook events through payments_webhook over HTTP (distinct events, concurrent),
  then the same events delivered again (duplicates).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import stripe
from giftengine import settings as settings_mod
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.docstore import FirestoreDocStore
from giftengine.wallet import catalog_file, paths
from giftengine.wallet.payments import PaymentEvent
from giftengine.wallet.service import GiftSpend, WalletService

from giftengine_dev.cli._cloud import ensure_env
from giftengine_dev.devcloud.tokens import emulator_id_token


def _stats(latencies: list[float], wall: float) -> dict[str, Any]:
    lat = sorted(latencies)
    return {
        "n": len(lat),
        "wall_s": round(wall, 3),
        "per_s": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
    }


def _timed(fn, items, threads: int) -> dict[str, Any]:
    failed: list[str] = []

    def one(x):
        t = time.perf_counter()
        try:
            fn(x)
        except Exception as exc:  # counted, not fatal: contention is a result here
            failed.append(str(exc)[:40] if isinstance(exc, RuntimeError) else type(exc).__name__)
        return time.perf_counter() - t

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        lat = list(pool.map(one, items))
    return {
        **_stats(lat, time.perf_counter() - start),
        "failed": len(failed),
        "failures": sorted(set(failed)),
    }


def _service(project: str, unlimited: bool = True) -> WalletService:
    s = settings_mod.load().wallet
    if unlimited:
        from dataclasses import replace

        s = replace(s, spend_coins_per_minute=10**12, spends_per_minute=10**9)
    return WalletService(
        FirestoreDocStore(firestore_client(project)), settings=s, catalog=catalog_file.load()
    )


def _fund(svc: WalletService, uid: str, coins: int) -> None:
    svc.apply_payment(
        PaymentEvent(
            provider="stripe",
            event_id=f"bench-{uid}",
            payment_ref=f"bench-{uid}",
            kind="completed",
            at=time.time(),
            uid=uid,
            coins=coins,
            amount=coins,
        )
    )


def run(n: int, threads: int) -> dict[str, Any]:
    cfg = ensure_env()
    svc_limits = settings_mod.load().wallet
    run_id = uuid.uuid4().hex[:6]
    out: dict[str, Any] = {"n": n, "threads": threads}
    svc = _service(cfg.project_id)
    # The stream's ownership record, as its creator's POST /api/streams would write it.
    svc.store.set(
        "stream_owners/bench",
        {"stream_id": "bench", "creator_id": "bench-creator", "source": "app"},
    )

    one = f"bench-{run_id}-one"
    _fund(svc, one, 10 * n)
    out["service_one_wallet_sequential"] = _timed(
        lambda i: svc.spend_gift(one, GiftSpend("bench", "bench-creator", "rose", 1, f"s-{i:06d}")),
        range(n),
        1,
    )
    # One instance, several threads: the instance serializes its own transactions per wallet.
    out["service_one_wallet_threads_one_instance"] = _timed(
        lambda i: svc.spend_gift(one, GiftSpend("bench", "bench-creator", "rose", 1, f"t-{i:06d}")),
        range(n),
        threads,
    )
    # Two instances sharing nothing (as two function instances): real cross-transaction
    # contention on one document, which the emulator resolves by lock timeouts.
    pair = [_service(cfg.project_id) for _ in range(2)]
    out["service_one_wallet_two_instances"] = _timed(
        lambda i: pair[i % 2].spend_gift(
            one, GiftSpend("bench", "bench-creator", "rose", 1, f"p-{i:06d}")
        ),
        range(min(n, 40)),
        2,
    )
    many = [f"bench-{run_id}-m{k}" for k in range(threads * 4)]
    for uid in many:
        _fund(svc, uid, 10 * n)
    out["service_many_wallets_threads"] = _timed(
        lambda i: svc.spend_gift(
            many[i % len(many)], GiftSpend("bench", "bench-creator", "rose", 1, f"m-{i:06d}")
        ),
        range(n),
        threads,
    )

    # Over HTTP, through the functions.
    api = cfg.endpoint("wallet_api") + "/wallet_api/gifts"
    tokens = {uid: emulator_id_token(uid, cfg.project_id) for uid in many[: threads + 1]}
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=threads * 2))

    def post_gift(args):
        uid, key = args
        r = http.post(
            api,
            json={
                "stream_id": "bench",
                "creator_id": "bench-creator",
                "gift_id": "rose",
                "idempotency_key": key,
            },
            timeout=60,
            headers={"Authorization": f"Bearer {tokens[uid]}"},
        )
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}")

    # One wallet over HTTP stays under the function's velocity limit (spends a minute).
    cap = max(1, svc_limits.spends_per_minute - 5)
    out["http_one_wallet_threads"] = _timed(
        post_gift, [(many[0], f"h1-{i:06d}") for i in range(min(n, cap))], threads
    )
    out["http_many_wallets_threads"] = _timed(
        post_gift, [(many[1 + i % threads], f"hm-{i:06d}") for i in range(n)], threads
    )

    hook = cfg.endpoint("payments_webhook") + "/payments_webhook/stripe"
    secret = svc.s.stripe_webhook_secret
    events = []
    for i in range(n):
        uid = many[i % len(many)]
        # The checkout's record of the session (a completion of a session never started
        # here credits nothing): what POST /wallet_api/checkout/stripe writes for coins-70.
        svc.store.set(
            paths.checkout_session(uid, f"cs_{run_id}_{i}"),
            {"pack_id": "coins-70", "coins": 70, "amount": 99, "currency": "usd"},
        )
        events.append(
            json.dumps(
                {
                    "id": f"evt_bench_{run_id}_{i}",
                    "object": "event",
                    "created": int(time.time()),
                    "type": "checkout.session.completed",
                    "data": {
                        "object": {
                            "id": f"cs_{run_id}_{i}",
                            "object": "checkout.session",
                            "mode": "payment",
                            "payment_status": "paid",
                            "payment_intent": f"pi_{run_id}_{i}",
                            "amount_total": 99,
                            "currency": "usd",
                            "client_reference_id": uid,
                            "metadata": {"uid": uid, "pack_id": "coins-70", "coins": "70"},
                        }
                    },
                }
            )
        )

    def deliver(body: str):
        sig = stripe.WebhookSignature.generate_signature_header(body, secret)
        r = http.post(hook, data=body.encode(), timeout=60, headers={"Stripe-Signature": sig})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}")

    out["http_webhook_new_events_threads"] = _timed(deliver, events, threads)
    out["http_webhook_duplicate_events_threads"] = _timed(deliver, events, threads)
    report = svc.reconcile()
    out["reconcile"] = {
        "ok": report["ok"],
        "transactions": report["transactions"],
        "wallets": report["wallets"],
    }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.n, args.threads), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
