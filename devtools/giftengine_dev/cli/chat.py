"""`giftengine chat STREAM [--json] [--held]`: the stream's chat feed as clients read it
(newest first). Visible messages are what everyone sees; `--held` adds what moderators see:
held messages with their category, score, action and reason."""

from __future__ import annotations

import json

from giftengine_dev.cli._cloud import ensure_env, json_default


def run(args) -> int:
    from giftengine.adapters.clients import firestore_client
    from giftengine.adapters.ownership import FirestoreOwnership
    from giftengine.moderation import service
    from giftengine.moderation.repo import ChatRepo

    s = ensure_env()
    db = firestore_client(s.project_id)
    deps = service.Deps(repo=ChatRepo(db), owners=FirestoreOwnership(db))
    feed = service.feed(deps, args.stream_id, include_held=args.held, limit=args.limit)
    if args.json:
        print(json.dumps(feed, indent=2, default=json_default))
        return 0
    for m in reversed(feed["messages"]):
        mark = " (warned)" if m.get("action") == "warn" else ""
        print(f"{m['created_at']:%H:%M:%S} {m['name'] or m['uid']}: {m['text']}{mark}")
    for m in reversed(feed.get("held", [])):
        print(
            f"[held {m['action']} {m['category'] or 'keyword'} score={m['score']}] "
            f"{m['name'] or m['uid']}: {m['text']}"
            f"  ({m['reason']})"
        )
    return 0


def register(sub) -> None:
    p = sub.add_parser("chat", help="print a stream's chat feed (visible, and held with --held)")
    p.add_argument("stream_id")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--held",
        action="store_true",
        help="include held messages with score and action (moderator view)",
    )
    p.add_argument("--limit", type=int, default=50, help="newest N messages (default 50)")
    p.set_defaults(func=run)
