"""Wiring of the reports subsystem, apart from giftengine.bootstrap.

Two builders, so that only the function that writes the files ships pyarrow (the packager,
giftengine_dev.packaging, counts a composition root's builder imports where the builder is
used): `report_deps` (the event log, the report store and the ownership records: what the
api needs to serve and recompute a report) and `export_deps` (that, plus the exports bucket
and the CSV/Parquet encoder: on_stream_end and `giftengine report`). Decision 083."""

from __future__ import annotations

from functools import lru_cache

from giftengine import config
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.firestore_store import FirestoreStreamStore
from giftengine.bootstrap import _logging


@lru_cache(maxsize=1)
def report_deps():
    """The reports subsystem on Firestore, without files: a report computed with these is
    saved to Firestore only (the api: on demand)."""
    from giftengine.adapters.ownership import FirestoreOwnership
    from giftengine.reports import service
    from giftengine.reports.firestore_store import FirestoreEventLog, FirestoreReportStore

    _logging()
    s = config.load()
    db = firestore_client(s.project_id)
    return service.Deps(
        events=FirestoreEventLog(FirestoreStreamStore(db)),
        store=FirestoreReportStore(db),
        files=None,
        idle_timeout_s=s.streak_idle_timeout_s,
        retention_s=s.settled_streak_retention_s,
        ownership=FirestoreOwnership(db),
    )


@lru_cache(maxsize=1)
def export_deps():
    """`report_deps` plus the files: CSV and Parquet (pyarrow, imported when a report is
    written) in the exports bucket."""
    from dataclasses import replace

    from giftengine.adapters.clients import storage_client
    from giftengine.naming import bucket_name
    from giftengine.reports import export
    from giftengine.reports.storage import StorageFiles

    s = config.load()
    return replace(
        report_deps(),
        files=StorageFiles(storage_client(s.project_id), bucket_name(s.project_id, "exports")),
        encode=export.files,
    )
