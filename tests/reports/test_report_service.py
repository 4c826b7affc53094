"""The reports use cases on in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.reports import export, service
from giftengine.reports.memory import MemoryEventLog, MemoryFiles, MemoryReportStore

from tests.unit.factories import T0, ev, gift

pytestmark = pytest.mark.unit


def _log(stream="s1"):
    return [
        ev("stream_start", stream, user=None, at=T0),
        gift("ana", coins=5, count=4, end=True, secs=10, stream=stream),
        gift("bo", "lion", 100, streakable=False, secs=70, stream=stream),
        ev("like", stream, user="cy", count=7, at=T0 + timedelta(seconds=80)),
        ev("stream_end", stream, user=None, at=T0 + timedelta(seconds=120)),
    ]


def _deps(log, live=None, clock=None):
    store = MemoryReportStore()
    if live is not None:
        store.lives["s1"] = live
    files = MemoryFiles()
    events = MemoryEventLog({"s1": log})
    events.recorded_at["s1"] = T0.timestamp()  # long quiet
    deps = service.Deps(
        events,
        store,
        files,
        clock=clock or (lambda: T0.timestamp() + 130),
        encode=export.files,
    )
    return deps, store, files


LIVE = {"status": "ended", "totals": {"coins": 120, "gifts": 5, "likes": 7}, "goals": {}}


def test_report_is_saved_with_its_files_and_matches_the_live_totals():
    deps, store, files = _deps(_log(), LIVE)
    built = service.build_report("s1", deps)
    saved = store.reports["s1"]
    assert saved["totals"]["coins"] == 120 and saved["live_totals_match"] is True
    assert store.gifters["s1"] == ["bo", "ana"]
    names = {p.rsplit("/", 1)[-1] for p in files.objects}
    assert names == {f"{t}.{x}" for t in ("timeline", "gifters", "gift_mix", "events")
                     for x in ("csv", "parquet")} | {"report.json"}  # fmt: skip
    assert all(p.startswith("reports/s1/s1/") for p in files.objects)
    assert saved["files"]["timeline.csv"] == "memory://reports/s1/s1/timeline.csv"
    events_csv = files.objects["reports/s1/s1/events.csv"][0].decode().splitlines()
    assert len(events_csv) == 1 + 5  # header and every event
    assert built.report.new_gifters and "gifters" not in saved


def test_stream_end_waits_for_the_live_state_then_reports_once():
    end = _log()[-1].model_dump_json().encode()
    behind = {**LIVE, "totals": {"coins": 20, "gifts": 4, "likes": 7}}
    deps, store, _ = _deps(_log(), behind)
    with pytest.raises(service.NotReady):
        service.on_stream_end(end, deps)
    assert store.reports == {}  # nothing written before the report is final
    store.lives["s1"] = LIVE
    assert service.on_stream_end(end, deps)["live_totals_match"] is True
    saves = store.saves
    service.on_stream_end(end, deps)  # a redelivery
    assert store.saves == saves


def test_stream_end_reports_anyway_once_the_settle_time_has_passed():
    end = _log()[-1].model_dump_json().encode()
    deps, store, _ = _deps(_log(), {**LIVE, "totals": {}},
                           clock=lambda: T0.timestamp() + 120 + 301)  # fmt: skip
    assert service.on_stream_end(end, deps)["live_totals_match"] is False
    assert "s1" in store.reports


def test_other_kinds_are_ignored():
    deps, store, _ = _deps(_log(), LIVE)
    assert service.on_stream_end(_log()[1].model_dump_json().encode(), deps) is None
    assert store.reports == {}


def test_comparison_and_new_gifters_use_the_creators_earlier_reports():
    deps, store, _ = _deps(_log(), LIVE)
    store.reports["old"] = {"stream_id": "old", "creator_id": "s1",
                            "started_at": "2026-11-01T00:00:00+00:00",
                            "totals": {"coins": 60}, "gifters_count": 1}  # fmt: skip
    store.gifters["old"] = ["ana"]
    built = service.build_report("s1", deps)
    assert [g["user_id"] for g in built.report.new_gifters] == ["bo"]
    assert built.report.comparison["median"]["coins"] == 60
    assert built.report.comparison["delta_pct"]["coins"] == 100.0


def test_creator_analytics_windows():
    deps, store, _ = _deps(_log(), LIVE, clock=lambda: T0.timestamp() + 3600)
    service.build_report("s1", deps)
    out = service.creator_analytics("s1", deps, days=7)
    assert out["streams"] == 1 and out["coins"] == 120 and out["unique_gifters"] == 2
    with pytest.raises(ValueError):
        service.creator_analytics("s1", deps, days=5)


def test_settle_time_runs_from_the_publish_not_from_the_events_own_time():
    """A replayed session's events are days old: the wait runs from the message's publish."""
    end = _log()[-1].model_dump_json().encode()
    now = T0.timestamp() + 86_400
    deps, store, _ = _deps(_log(), {**LIVE, "totals": {}}, clock=lambda: now)
    with pytest.raises(service.NotReady):
        service.on_stream_end(end, deps, published_at=now - 10)
    assert service.on_stream_end(end, deps, published_at=now - 301)["live_totals_match"] is False


def test_published_at_is_read_from_the_push_envelope():
    from giftengine.reports.stream_end import _published_at

    assert _published_at({"publishTime": "2026-12-03T10:00:00.123Z"}) == pytest.approx(
        T0.replace(day=3, month=12, hour=10).timestamp() + 0.123
    )
    assert _published_at({}) is None and _published_at({"publishTime": "nope"}) is None


def test_stream_end_waits_until_the_log_has_been_quiet():
    """Events still arriving would be in neither the live state nor the report yet."""
    end = _log()[-1].model_dump_json().encode()
    now = T0.timestamp() + 130
    deps, store, _ = _deps(_log(), LIVE, clock=lambda: now)
    deps.events.recorded_at["s1"] = now - 5
    with pytest.raises(service.NotReady, match="recorded in the last"):
        service.on_stream_end(end, deps, published_at=now - 10)
    assert store.reports == {}
    deps.events.recorded_at["s1"] = now - 20
    assert service.on_stream_end(end, deps, published_at=now - 30)["live_totals_match"] is True


def test_stream_end_waits_while_the_log_is_still_empty():
    end = _log()[-1].model_dump_json().encode()
    deps, store, _ = _deps(_log(), LIVE)
    deps.events.recorded_at.clear()  # the end arrived before any event was recorded
    with pytest.raises(service.NotReady):
        service.on_stream_end(end, deps, published_at=deps.clock() - 1)
    assert store.reports == {}


def _owned(owner="owner-1"):
    """The stream's ownership record names `owner`; its events name creator "s1"."""
    from giftengine.domain.access import StreamOwner
    from giftengine.service.streams import MemoryOwnership

    deps, store, files = _deps(_log(), {**LIVE, "creator_id": "s1"})
    deps.ownership = MemoryOwnership(
        owners={"s1": StreamOwner("s1", owner)},
        mods={owner: {"cm-1": {"uid": "cm-1"}}},
    )
    return deps, store, files


def test_report_access_follows_the_ownership_record_not_the_events():
    from giftengine.domain.access import Actor

    deps, store, files = _owned()
    got = service.report_for("s1", Actor("owner-1"), deps, refresh=False)
    assert got["creator_id"] == got["owner_uid"] == "owner-1"  # the owner's, not "s1"
    assert all(p.startswith("reports/owner-1/s1/") for p in files.objects)
    assert service.report_for("s1", Actor("adm", admin=True), deps, refresh=True)["events"] == 5
    for who in (Actor("s1"), Actor("other"), Actor("mod", moderator=True), Actor("cm-1")):
        with pytest.raises(service.Forbidden):
            service.report_for("s1", who, deps, refresh=False)
    del store.lives["s1"]
    with pytest.raises(service.NotFound):
        service.report_for("s1", Actor("owner-1"), deps, refresh=False)


def test_a_stream_without_an_ownership_record_is_reported_to_admins_only():
    from giftengine.domain.access import Actor
    from giftengine.service.streams import MemoryOwnership

    deps, _, _ = _deps(_log(), LIVE)
    deps.ownership = MemoryOwnership()
    with pytest.raises(service.Forbidden):
        service.report_for("s1", Actor("s1"), deps, refresh=False)  # its events' creator
    got = service.report_for("s1", Actor("adm", admin=True), deps, refresh=False)
    assert got["owner_uid"] is None and got["creator_id"] == "s1"


def test_a_creators_own_analytics_count_the_streams_they_own():
    from giftengine.domain.access import Actor

    deps, store, _ = _owned()
    deps.clock = lambda: T0.timestamp() + 3600
    service.build_report("s1", deps)
    store.reports["x"] = {**store.reports["s1"], "stream_id": "x", "owner_uid": None}
    mine = service.analytics_for("owner-1", Actor("owner-1"), deps, 7)
    assert mine["streams"] == 1 and mine["coins"] == 120
    assert service.analytics_for("owner-1", Actor("adm", admin=True), deps, 7)["streams"] == 2
    with pytest.raises(service.Forbidden):
        service.analytics_for("owner-1", Actor("s1"), deps, 7)


def test_the_apis_recompute_writes_no_files_and_keeps_the_links_of_the_last_export():
    """The api's deps have no file sink (it ships without pyarrow and cannot write to the
    exports bucket): a report computed on demand is saved to Firestore only."""
    from dataclasses import replace

    from giftengine.domain.access import Actor

    deps, store, files = _owned()
    service.build_report("s1", deps)  # at stream end: the files
    links = store.reports["s1"]["files"]
    written = dict(files.objects)
    api = replace(deps, files=None, encode=None)
    got = service.report_for("s1", Actor("owner-1"), api, refresh=True)
    assert files.objects == written and got["files"] == links
    assert store.reports["s1"]["files"] == links
    store.reports.clear()
    assert "files" not in service.report_for("s1", Actor("owner-1"), api, refresh=True)


def test_the_report_reads_the_streams_hype_trains_for_its_peaks():
    deps, store, _ = _deps(_log(), LIVE)
    store.trains["s1"] = [
        {"stream_id": "s1", "train": 1, "started_at": T0.isoformat(),
         "ended_at": (T0 + timedelta(seconds=90)).isoformat(), "level": 2, "coins": 120},
        {"stream_id": "other", "train": 1, "started_at": T0.isoformat(),
         "ended_at": (T0 + timedelta(seconds=90)).isoformat(), "level": 5, "coins": 9},
    ]  # fmt: skip
    peaks = service.build_report("s1", deps).summary["peaks"]
    assert peaks and all("during a hype train (level 2, 120 coins)" in p["reason"] for p in peaks)
