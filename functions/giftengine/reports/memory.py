"""In-memory fakes of the reports stores, for service tests."""

from __future__ import annotations

from collections.abc import Iterable

from giftengine.domain.events import EngagementEvent


class MemoryEventLog:
    def __init__(self, events: dict[str, list[EngagementEvent]] | None = None):
        self.by_stream = events or {}
        self.recorded_at: dict[str, float] = {}  # stream -> when its newest event was recorded

    def events(self, stream_id: str) -> Iterable[tuple[float | None, EngagementEvent]]:
        """The stream's events with no recording time (the report's clock follows their
        `occurred_at`)."""
        for e in self.by_stream.get(stream_id, []):
            yield None, e

    def last_recorded_at(self, stream_id: str) -> float | None:
        return self.recorded_at.get(stream_id)


class MemoryReportStore:
    def __init__(self):
        self.lives: dict[str, dict] = {}
        self.moderation: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}
        self.gifters: dict[str, list[str]] = {}
        self.saves = 0
        self.trains: dict[str, list[dict]] = {}  # creator -> hype train records

    def live(self, stream_id: str) -> dict | None:
        return self.lives.get(stream_id)

    def moderation_summary(self, stream_id: str) -> dict:
        return dict(
            self.moderation.get(stream_id, {"held": 0, "blocked": 0, "hidden": 0, "bans": 0})
        )

    def get_report(self, stream_id: str) -> dict | None:
        return self.reports.get(stream_id)

    def previous_reports(self, creator_id: str, before: str, limit: int) -> list[dict]:
        mine = [
            r
            for r in self.reports.values()
            if r["creator_id"] == creator_id and (r.get("started_at") or "") < before
        ]
        return sorted(mine, key=lambda r: r.get("started_at") or "", reverse=True)[:limit]

    def gifter_ids(self, stream_ids: list[str]) -> dict[str, list[str]]:
        return {s: list(self.gifters.get(s, [])) for s in stream_ids}

    def creator_reports(self, creator_id: str, since: str) -> list[dict]:
        return [
            r
            for r in self.reports.values()
            if r["creator_id"] == creator_id and (r.get("started_at") or "") >= since
        ]

    def hype_trains(self, creator_id: str, stream_id: str) -> list[dict]:
        return [t for t in self.trains.get(creator_id, []) if t.get("stream_id") == stream_id]

    def save_report(self, summary: dict, gifter_ids: list[str]) -> None:
        self.saves += 1
        self.reports[summary["stream_id"]] = summary
        self.gifters[summary["stream_id"]] = list(gifter_ids)


class MemoryFiles:
    def __init__(self):
        self.objects: dict[str, tuple[bytes, str]] = {}

    def write(self, path: str, data: bytes, content_type: str) -> str:
        self.objects[path] = (data, content_type)
        return f"memory://{path}"
