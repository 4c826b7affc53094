"""The reports use cases: a stream's report (at its end and on demand) and a creator's
analytics, over abstract stores (Protocols; `reports/memory.py` fakes them for tests).

`build_report` reads the stream's event log once, replays it through the pure report
builder, completes the report with what the log does not hold (goal outcomes, moderation,
the creator's earlier streams), writes the files and then the report. Every write is keyed
by the stream id and overwrites the same content, so a retry or a redelivery changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from giftengine.domain import access
from giftengine.domain.events import EngagementEvent, parse_event
from giftengine.reports import analytics, archive, domain
from giftengine.service.streams import OwnershipRepo, stream_access

log = logging.getLogger("giftengine.reports")


class EventLog(Protocol):
    def events(self, stream_id: str) -> Iterable[tuple[float | None, EngagementEvent]]:
        """The stream's events in log order, each with its record's commit time (None when
        not known)."""

    def last_recorded_at(self, stream_id: str) -> float | None: ...


class ReportStore(Protocol):
    def live(self, stream_id: str) -> dict | None: ...
    def moderation_summary(self, stream_id: str) -> dict: ...
    def get_report(self, stream_id: str) -> dict | None: ...
    def previous_reports(self, creator_id: str, before: str, limit: int) -> list[dict]: ...
    def gifter_ids(self, stream_ids: list[str]) -> dict[str, list[str]]: ...
    def creator_reports(self, creator_id: str, since: str) -> list[dict]: ...
    def save_report(self, summary: dict, gifter_ids: list[str]) -> None: ...
    def hype_trains(self, creator_id: str, stream_id: str) -> list[dict]: ...


class FileSink(Protocol):
    def write(self, path: str, data: bytes, content_type: str) -> str: ...


@dataclass
class Deps:
    events: EventLog
    store: ReportStore
    files: FileSink | None
    idle_timeout_s: float = 10.0
    retention_s: float = 3600.0
    # How long after its end a stream's report waits for the live state to agree.
    settle_s: float = 300.0
    # The log must have been quiet this long: events still in flight would be in neither
    # the live state nor the report yet, and both would agree on too little.
    quiet_s: float = 10.0
    clock: Callable[[], float] = time.time
    encode: Callable | None = None  # report, event rows -> {name: (bytes, type)}
    # Stream ownership records (who may read a report, whose report it is); None: no
    # records (the report's creator is the one its events name, and only admins read it).
    ownership: OwnershipRepo | None = None


class NotReady(Exception):
    """The live state has not caught up with the event log yet: try again later."""


@dataclass
class Built:
    report: domain.StreamReport
    summary: dict
    files: dict[str, str] = field(default_factory=dict)


TOTALS = domain.COUNTERS


def build_report(
    stream_id: str, deps: Deps, *, export: bool = True, kept_files: dict | None = None
) -> Built:
    """Compute the report and write it (files, then the report document). Without files
    (`export` false, or deps that write none), the report keeps `kept_files`: the links to
    the files an earlier export of the stream wrote."""
    export = export and deps.files is not None and deps.encode is not None
    built, rows = compute(stream_id, deps, keep_rows=export)
    if not export and kept_files:
        built.files = dict(kept_files)
        built.summary["files"] = built.files
    save(built, rows if export else None, deps)
    return built


def compute(stream_id: str, deps: Deps, *, keep_rows: bool = True) -> tuple[Built, list[dict]]:
    """The report from the event log (one read) and the stores; nothing written. Returns it
    with the events as archive rows (for the export) when `keep_rows`."""
    rows: list[dict] = []

    def logged() -> Iterable[tuple[float | None, EngagementEvent]]:
        for at, ev in deps.events.events(stream_id):
            if keep_rows:
                rows.append(archive.archive_row(ev))
            yield at, ev

    report = domain.compute_report_from_log(
        stream_id, logged(), deps.idle_timeout_s, deps.retention_s, now=deps.clock()
    )
    # The hype train's records are kept under the creator its events name (domain/hype.py).
    trains = deps.store.hype_trains(report.creator_id, stream_id)
    if trains:
        report.peaks = domain.explain_peaks(
            report.peaks,
            [m for p in report.peaks for m in p["moments"]] + domain.hype_moments(trains),
        )
    owner = deps.ownership.get(stream_id) if deps.ownership is not None else None
    if owner is not None:  # the stream's owner, not whoever its first event names
        report.creator_id = owner.creator_id
    live = deps.store.live(stream_id) or {}
    report.goals = domain.goal_outcomes(live.get("goals") or {})
    report.moderation = deps.store.moderation_summary(stream_id)
    before = report.started_at or datetime.now(UTC).isoformat()
    previous = [
        p
        for p in deps.store.previous_reports(report.creator_id, before, domain.COMPARE_LAST + 1)
        if p["stream_id"] != stream_id
    ][: domain.COMPARE_LAST]
    report.comparison = domain.compare(report, previous)
    known = {u for ids in deps.store.gifter_ids([p["stream_id"] for p in previous]).values()
             for u in ids}  # fmt: skip
    report.new_gifters = domain.new_gifters(report, known)[: domain.TOP_N * 5]
    summary = report.summary()
    summary["owner_uid"] = owner.creator_id if owner is not None else None
    live_totals = live.get("totals") or {}
    summary["live_totals_match"] = bool(live) and all(
        int(live_totals.get(k, 0)) == report.totals[k] for k in TOTALS
    )
    summary["computed_at"] = datetime.fromtimestamp(deps.clock(), UTC).isoformat()
    return Built(report, summary), rows


def save(built: Built, rows: list[dict] | None, deps: Deps) -> None:
    """Write the files (when `rows` is given), then the report document naming them."""
    report, summary = built.report, built.summary
    if rows is not None and deps.files is not None and deps.encode is not None:
        prefix = f"reports/{report.creator_id}/{report.stream_id}"
        for name, (data, ctype) in deps.encode(report, rows).items():
            built.files[name] = deps.files.write(f"{prefix}/{name}", data, ctype)
        summary["files"] = built.files
    deps.store.save_report(summary, [g["user_id"] for g in report.gifters])


def on_stream_end(data: bytes, deps: Deps, published_at: float | None = None) -> dict | None:
    """A `stream_end` event was published (at `published_at`, default its `occurred_at`):
    report the stream once its log has been quiet for `quiet_s` and its live state has
    applied the whole log (status ended, totals equal). Raises NotReady before that, so the
    message comes back; `settle_s` after the publish the report is written anyway, flagged.
    Events recorded after the report are in the live state only, until the report is
    computed again (on demand)."""
    ev = parse_event(data)
    if ev.kind != "stream_end":
        return None
    done = deps.store.get_report(ev.stream_id)
    if done and done.get("status") == "ended" and done.get("live_totals_match"):
        return done  # a redelivery: the report is final
    late = deps.clock() - (published_at or ev.occurred_ts) > deps.settle_s
    last = deps.events.last_recorded_at(ev.stream_id)
    if not late and (last is None or deps.clock() - last < deps.quiet_s):
        raise NotReady(f"stream {ev.stream_id}: events recorded in the last {deps.quiet_s}s")
    built, rows = compute(ev.stream_id, deps)
    if not built.summary["live_totals_match"] or built.report.status != "ended":
        if not late:  # nothing written: the next delivery computes it again
            raise NotReady(f"stream {ev.stream_id}: live state has not caught up yet")
        log.error("report of %s does not match its live state after %ss", ev.stream_id,
                  deps.settle_s)  # fmt: skip
    save(built, rows, deps)
    return built.summary


class Forbidden(Exception):
    pass


class NotFound(Exception):
    pass


def report_for(stream_id: str, actor: access.Actor, deps: Deps, refresh: bool) -> dict:
    """The stream's report for its creator or an admin (`require_stream_creator`, the rule
    goals follow: the creator is the uid in the stream's ownership record, never the
    creator_id its events or live state name); `refresh` computes it again now."""
    acc = (
        stream_access(deps.ownership, stream_id)
        if deps.ownership is not None
        else access.StreamAccess(stream_id, None)
    )
    try:
        access.require_stream_creator(actor, acc)
    except access.Forbidden:
        raise Forbidden("only the stream's creator or an admin may read its report") from None
    if deps.store.live(stream_id) is None:
        raise NotFound(f"stream {stream_id!r} has no live state")
    saved = deps.store.get_report(stream_id)
    if saved and not refresh:
        return saved
    return build_report(stream_id, deps, kept_files=(saved or {}).get("files")).summary


def analytics_for(creator_id: str, actor: access.Actor, deps: Deps, days: int) -> dict:
    """A creator's analytics for that creator or an admin. A creator's own view counts the
    streams they own (reports whose `owner_uid` is theirs), not every stream whose events
    name them."""
    try:
        access.require_self_or_admin(actor, creator_id)
    except access.Forbidden:
        raise Forbidden("only the creator or an admin may read these analytics") from None
    return creator_analytics(creator_id, deps, days, owned_only=not actor.admin)


WINDOWS = (7, 30, 90)


def creator_analytics(
    creator_id: str, deps: Deps, days: int = 30, *, owned_only: bool = False
) -> dict:
    if days not in WINDOWS:
        raise ValueError(f"days must be one of {WINDOWS}")
    now = datetime.fromtimestamp(deps.clock(), UTC)
    since = (now - timedelta(days=days)).isoformat()
    reports = deps.store.creator_reports(creator_id, since)
    if owned_only:
        reports = [r for r in reports if r.get("owner_uid") == creator_id]
    ids = deps.store.gifter_ids([r["stream_id"] for r in reports])
    return analytics.creator_analytics(creator_id, days, reports, ids)
