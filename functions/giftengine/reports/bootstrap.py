"""Wiring of the reports subsystem, apart from giftengine.bootstrap so that only the
functions that write reports (on_stream_end, api) ship pyarrow: the packager
(giftengine_dev.packaging) follows every import of a module, lazy ones included."""

from __future__ import annotations

from functools import lru_cache

from giftengine import config
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.firestore_store import FirestoreStreamStore
from giftengine.bootstrap import _logging


@lru_cache(maxsize=1)
def report_deps():
    """The reports subsystem: event log and report store on Firestore, files in the exports
    bucket (Parquet through pyarrow, imported only when a report is written)."""
    from giftengine.adapters.clients import storage_client
    from giftengine.naming import bucket_name
    from giftengine.reports import export, service
    from giftengine.reports.firestore_store import FirestoreEventLog, FirestoreReportStore
    from giftengine.reports.storage import StorageFiles

    _logging()
    s = config.load()
    db = firestore_client(s.project_id)
    return service.Deps(
        events=FirestoreEventLog(FirestoreStreamStore(db)),
        store=FirestoreReportStore(db),
        files=StorageFiles(storage_client(s.project_id), bucket_name(s.project_id, "exports")),
        idle_timeout_s=s.streak_idle_timeout_s,
        retention_s=s.settled_streak_retention_s,
        encode=export.files,
    )
