"""Recorded-style sessions for tests and the demo, with the totals the semantics define.

The expected totals are computed here independently of the pipeline: per streak, the
final's count (or the highest count when the final is missing); duplicates and re-sent
finals add nothing; follows count once per user.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

GIFTS = [
    {"id": "5655", "name": "Rose", "coins": 1, "streakable": True},
    {"id": "5269", "name": "TikTok", "coins": 1, "streakable": True},
    {"id": "6064", "name": "GG", "coins": 1, "streakable": True},
    {"id": "5487", "name": "Finger Heart", "coins": 5, "streakable": True},
    {"id": "6267", "name": "Corgi", "coins": 299, "streakable": False},
    {"id": "6369", "name": "Lion", "coins": 29999, "streakable": False},
    {"id": "7934", "name": "Heart Me", "coins": 1, "streakable": True},
    {"id": "5879", "name": "Doughnut", "coins": 30, "streakable": True},
]
NAMES = [
    "ana",
    "bo",
    "cyra",
    "dev",
    "eli",
    "fay",
    "gus",
    "hana",
    "ivo",
    "jun",
    "kai",
    "lea",
    "mo",
    "nia",
    "oto",
    "pia",
    "quin",
    "ria",
    "sol",
    "tao",
    "uma",
    "vic",
    "wen",
    "xia",
    "yul",
    "zed",
    "abi",
    "ben",
    "cato",
    "dora",
    "ezra",
    "fern",
    "gil",
    "hugo",
    "iris",
    "jade",
    "kofi",
    "lulu",
    "milo",
    "noor",
]


def build(
    stream_id: str,
    viewers: int = 40,
    streaks: int = 120,
    seed: int = 7,
    start: datetime | None = None,
    messy: bool = True,
):
    """Return (events as dicts in delivery order, expected dict)."""
    rnd = random.Random(seed)
    t = start or datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
    users = [
        {
            "id": f"{7000000 + i}",
            "handle": f"@{NAMES[i % len(NAMES)]}{i // len(NAMES) or ''}",
            "name": NAMES[i % len(NAMES)].title(),
        }
        for i in range(viewers)
    ]
    out, exp = [], defaultdict(int)
    coins_by_user = defaultdict(int)
    seq = 0

    def emit(kind, user=None, **fields):
        nonlocal seq, t
        seq += 1
        t += timedelta(milliseconds=rnd.randint(20, 400))
        e = {
            "event_id": f"{stream_id}:{seq}",
            "source": "tiktok",
            "stream_id": stream_id,
            "kind": kind,
            "occurred_at": t.isoformat().replace("+00:00", "Z"),
            **fields,
        }
        if user:
            e["user"] = user
        out.append(e)
        return e

    emit("stream_start")
    followers = set()
    for i in range(streaks):
        u = rnd.choice(users[: max(3, viewers // (1 + (i % 3)))])  # some viewers give more
        g = rnd.choice(GIFTS)
        group = f"{rnd.getrandbits(40)}"
        if g["streakable"]:
            n = rnd.choice([1, 1, 2, 3, 5, 8, 10, 15, 30])
            counts = list(range(1, n + 1))
            for c in counts[:-1]:
                emit("gift", u, gift=g, repeat_count=c, repeat_end=False, group_id=group)
            final = emit("gift", u, gift=g, repeat_count=n, repeat_end=True, group_id=group)
            if messy and rnd.random() < 0.15:  # TikTok re-sends the final under a new id
                emit("gift", u, gift=g, repeat_count=n, repeat_end=True, group_id=group)
            units = final["repeat_count"]
        else:
            emit("gift", u, gift=g, repeat_count=1, repeat_end=True, group_id=group)
            units = 1
        exp["coins"] += units * g["coins"]
        exp["gifts"] += units
        coins_by_user[u["id"]] += units * g["coins"]
        r = rnd.random()
        if r < 0.3:
            emit("like", u, count=rnd.randint(1, 15))
            exp["likes"] += out[-1]["count"]
        elif r < 0.4:
            emit("comment", u, text=rnd.choice(["so cool", "hi!", "lets go", "<3", "gg"]))
            exp["comments"] += 1
        elif r < 0.5:
            emit("follow", u)
            if u["id"] not in followers:
                followers.add(u["id"])
                exp["follows"] += 1
        elif r < 0.55:
            emit("share", u)
            exp["shares"] += 1
        elif r < 0.6:
            emit("viewers", viewers=rnd.randint(100, 900))
    if messy:
        dups = [dict(e) for e in rnd.sample(out, k=len(out) // 10)]  # redeliveries
        out += dups
        # Mild reordering: swap neighbours (a streak's intermediates may trail its final).
        for _ in range(len(out) // 8):
            k = rnd.randrange(1, len(out) - 1)
            out[k], out[k + 1] = out[k + 1], out[k]
    exp["top"] = sorted(coins_by_user.items(), key=lambda kv: (-kv[1], kv[0]))
    return out, dict(exp)


def write_jsonl(events, path) -> None:
    with open(path, "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
