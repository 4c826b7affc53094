"""A creator's analytics over a window of days, from their streams' reports (pure)."""

from __future__ import annotations

from datetime import datetime


def _hour(minute: str) -> int:
    return datetime.fromisoformat(minute.replace("Z", "+00:00")).hour


def creator_analytics(
    creator_id: str, days: int, reports: list[dict], gifter_ids: dict[str, list[str]]
) -> dict:
    """`reports`: report summaries of the window; `gifter_ids`: stream -> its gifters.

    Retention: of the gifters of each stream, the share who gave again in the creator's
    next stream (averaged over consecutive pairs). Best hours: UTC hours by coins."""
    ordered = sorted(reports, key=lambda r: (r.get("started_at") or "", r["stream_id"]))
    gifters: set[str] = set()
    hours: dict[int, int] = {}
    streams = []
    for r in ordered:
        ids = set(gifter_ids.get(r["stream_id"], []))
        gifters |= ids
        for row in r.get("timeline") or []:
            if row["coins"]:
                h = _hour(row["minute"])
                hours[h] = hours.get(h, 0) + row["coins"]
        streams.append(
            {
                "stream_id": r["stream_id"],
                "started_at": r.get("started_at"),
                "coins": r["totals"]["coins"],
                "gifts": r["totals"]["gifts"],
                "gifters": len(ids),
            }
        )
    kept = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        prev = set(gifter_ids.get(a["stream_id"], []))
        if prev:
            kept.append(len(prev & set(gifter_ids.get(b["stream_id"], []))) / len(prev))
    return {
        "creator_id": creator_id,
        "days": days,
        "streams": len(ordered),
        "coins": sum(s["coins"] for s in streams),
        "gifts": sum(s["gifts"] for s in streams),
        "unique_gifters": len(gifters),
        "gifter_retention": round(sum(kept) / len(kept), 3) if kept else None,
        "best_hours": [
            {"hour": h, "coins": c}
            for h, c in sorted(hours.items(), key=lambda x: (-x[1], x[0]))[:3]
        ],
        "per_stream": streams,
    }
