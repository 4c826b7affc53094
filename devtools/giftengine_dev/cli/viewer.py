"""`giftengine viewer UID --creator C [--json]`: a viewer's XP, level, badges and loyalty
points with a creator, as the viewer reads them (service/rewards.py `viewer_view`;
docs/engagement.md, "XP, levels and loyalty points")."""

from __future__ import annotations

import json

from giftengine_dev.cli._cloud import ensure_env


def run(args) -> int:
    from giftengine.adapters.clients import firestore_client
    from giftengine.adapters.docstore import FirestoreDocStore
    from giftengine.domain import access
    from giftengine.service import rewards

    s = ensure_env()
    store = FirestoreDocStore(firestore_client(s.project_id))
    try:  # as the viewer themselves: points and days attended included
        view = rewards.viewer_view(store, args.uid, args.creator, access.Actor(args.uid))
    except rewards.Invalid as exc:
        print(f"error: {exc}")
        return 2
    if args.json:
        print(json.dumps(view, indent=2))
        return 0
    g, c = view["global"], view["creator"]
    badges = ", ".join(b["name"] for b in view["badges"]) or "none"
    print(
        f"viewer {args.uid}: level {g['level']} ({g['xp']} XP); with {args.creator}: "
        f"level {c['level']} ({c['xp']} XP), {view['points']['balance']} points, "
        f"{c['days_attended']} days attended (streak {c['streak']}); badges: {badges}"
    )
    return 0


def register(sub) -> None:
    p = sub.add_parser("viewer", help="print a viewer's XP, level, badges and points")
    p.add_argument("uid", help="app uid, or tiktok:<TikTok user id>")
    p.add_argument("--creator", required=True, help="the creator's id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
