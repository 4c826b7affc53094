"""`giftengine wallet UID [--json] [--history N]`: a wallet as its owner's client reads it
(wallets/{uid} plus the sum of its earnings shards; docs/wallet.md)."""

from __future__ import annotations

import datetime as dt
import json

from giftengine_dev.cli._cloud import ensure_env


def _jsonable(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def run(args) -> int:
    from giftengine import settings
    from giftengine.adapters.clients import firestore_client
    from giftengine.adapters.docstore import FirestoreDocStore
    from giftengine.wallet import catalog_file
    from giftengine.wallet.service import WalletService

    s = ensure_env()
    store = FirestoreDocStore(firestore_client(s.project_id))
    svc = WalletService(store, settings=settings.load().wallet, catalog=catalog_file.load())
    view = svc.wallet_view(args.uid)
    view["exists"] = store.get(f"wallets/{args.uid}") is not None or bool(
        view["earnings"] or view["total_earned"]
    )
    if args.history:
        view["history"] = svc.history(args.uid, limit=args.history)
    if args.json:
        print(json.dumps(view, indent=2, default=_jsonable))
        return 0
    tier = view["tier"]
    print(
        f"wallet {args.uid}: balance={view['balance']} bonus_balance={view['bonus_balance']} "
        f"earnings={view['earnings']} total_earned={view['total_earned']} "
        f"total_spent={view['total_spent']}"
        + (f"  OG {tier['level']} until {_jsonable(tier['expires_at'])}" if tier["level"] else "")
        + (f"  LOCKED ({view['lock_reason']})" if view["locked"] else "")
    )
    for p in view.get("history", []):
        print(
            f"  {_jsonable(p['at'])}  {p['kind']:<9} coins={p['coins']:>+8} "
            f"bonus={p['bonus']:>+7} earnings={p['earnings']:>+7}  {p['posting_id']}"
        )
    return 0


def register(sub) -> None:
    p = sub.add_parser("wallet", help="print a user's wallet as their client reads it")
    p.add_argument("uid")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--history", type=int, default=0, metavar="N", help="also print the N newest postings"
    )
    p.set_defaults(func=run)
