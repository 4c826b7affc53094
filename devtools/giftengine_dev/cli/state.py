"""`giftengine state STREAM [--json]`: the stream's live state, read from the documents
clients listen to."""

from __future__ import annotations

import json

from giftengine_dev.cli._cloud import ensure_env, json_default

TOTAL_KEYS = ("coins", "gifts", "likes", "comments", "follows", "shares", "joins")


def view(live: dict | None, stream_id: str) -> dict:
    live = live or {}
    totals = live.get("totals") or {}
    return {
        "stream_id": stream_id,
        "exists": bool(live),
        "status": live.get("status"),
        "creator_id": live.get("creator_id"),
        "totals": {k: int(totals.get(k, 0)) for k in TOTAL_KEYS},
        "viewers": live.get("viewers") or {"current": 0, "peak": 0},
        "top_gifters": [
            {
                "user_id": g["user_id"],
                "handle": g.get("handle", ""),
                "name": g.get("name", ""),
                "coins": g["coins"],
                "gifts": g.get("gifts", 0),
                "rank": g["rank"],
            }
            for g in live.get("top_gifters") or []
        ],
        "goals": live.get("goals") or {},
        "combos": live.get("combos") or [],
        # Every stream feature's view as the live document holds it (`features.{name}`:
        # rounds, the hype train, the throne, battles, ...; docs/engagement.md), whole, so a
        # new feature shows here without a change to this command.
        "features": live.get("features") or {},
        "rev": live.get("rev", 0),
    }


def interactions(project_id: str, stream_id: str) -> dict:
    """The active and most recent poll, prediction, question queue and challenges, with
    exact counts (docs/engagement.md)."""
    from giftengine.adapters.clients import firestore_client
    from giftengine.adapters.docstore import FirestoreDocStore as DocStore
    from giftengine.live import service

    return service.state(DocStore(firestore_client(project_id)), stream_id)


def battle(project_id: str, battle_id: str) -> dict | None:
    """The stream's current or last battle with both sides' scores and MVPs and, once both
    froze, its result (docs/engagement.md, "Battles")."""
    from giftengine.adapters.battles import FirestoreBattles
    from giftengine.adapters.clients import firestore_client
    from giftengine.service import battles

    doc = FirestoreBattles(firestore_client(project_id)).get(battle_id)
    return battles.view(doc) if doc else None


def run(args) -> int:
    from giftengine.adapters.clients import firestore_client
    from giftengine.adapters.firestore_store import FirestoreStreamStore

    s = ensure_env()
    store = FirestoreStreamStore(firestore_client(s.project_id))
    v = view(store.live(args.stream_id), args.stream_id)
    v["interactions"] = interactions(s.project_id, args.stream_id)
    if v["features"].get("battle"):  # both sides and the result: battles/{id}
        v["battle"] = battle(s.project_id, v["features"]["battle"]["battle_id"])
    if args.board:
        v["board"] = {
            "board_id": args.board,
            "entries": [
                {
                    "rank": i,
                    "user_id": e["user_id"],
                    "handle": e.get("handle", ""),
                    "name": e.get("name", ""),
                    "coins": e["coins"],
                    "gifts": e.get("gifts", 0),
                }
                for i, e in enumerate(store.leaderboard(args.board, limit=args.limit), 1)
            ],
        }
    if args.json:
        print(json.dumps(v, indent=2, default=json_default))
        return 0 if v["exists"] else 1
    if not v["exists"]:
        print(f"no live state for stream {args.stream_id!r}")
        return 1
    t = v["totals"]
    print(f"{args.stream_id} [{v['status']}]  " + "  ".join(f"{k}={t[k]}" for k in TOTAL_KEYS))
    for g in v["top_gifters"]:
        print(f"  #{g['rank']:<3} {g['handle'] or g['user_id']:<24} {g['coins']:>8} coins")
    for key in ("active_poll", "last_poll"):
        p = v["interactions"][key]
        if p:
            votes = ", ".join(
                f"{c}={n}" for c, n in zip(p["choices"], p["exact_counts"], strict=True)
            )
            print(f"  {key.replace('_', ' ')}: {p['question']} [{p['status']}] {votes}")
    for key in ("active_prediction", "last_prediction"):
        p = v["interactions"].get(key)
        if p:
            pools = ", ".join(f"{o}={n}" for o, n in zip(p["outcomes"], p["pools"], strict=True))
            print(f"  {key.replace('_', ' ')}: {p['title']} [{p['status']}] {pools}")
    q = v["interactions"].get("current_question")
    if q:
        print(f"  question on screen: {q['text']}")
    for q in v["interactions"].get("question_queue") or []:
        print(f"    {q['votes']:>4} up  {q['text']}")
    b = v.get("battle")
    if b:
        sides = b.get("sides") or {}
        score = "  ".join(
            f"{sid}={sd.get('score', 0)} (MVP {(sd.get('mvp') or {}).get('user_id', '-')})"
            for sid, sd in sorted(sides.items())
        )
        print(f"  battle {b['battle_id']} [{b['status']}] {score}  result={b['result']}")
    for name, fv in sorted(v["features"].items()):
        print(f"  {name}: {json.dumps(fv, sort_keys=True, default=json_default)}")
    ch = v["interactions"].get("challenges") or {}
    for c in [*ch.get("active", []), *ch.get("ended", [])]:
        print(
            f"  challenge {c['title'] or c['goal_id']}: {c['progress']}/{c['target']} "
            f"{c['metric']} [{c['status']}]"
        )
    return 0


def register(sub) -> None:
    p = sub.add_parser("state", help="print a stream's live state")
    p.add_argument("stream_id")
    p.add_argument("--json", action="store_true")
    p.add_argument("--board", help="also print a leaderboard by board id (docs/firestore.md)")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=run)
