"""A report's downloadable files: CSV (stdlib) and Parquet (pyarrow, imported only here).

Tables: `timeline` (one row a minute), `gifters` (every gifter), `gift_mix`, and `events`
(the stream's events in the archive's columns, reports/archive.py), each as .csv and
.parquet. The bytes are built here; where they go is the caller's (Storage, a folder).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from giftengine.reports import archive
from giftengine.reports.domain import TIMELINE_FIELDS, StreamReport

GIFTER_FIELDS = ("user_id", "handle", "name", "coins", "gifts")
MIX_FIELDS = ("gift_id", "gift_name", "units", "coins")


def tables(report: StreamReport, events: list[dict]) -> dict[str, tuple[tuple[str, ...], list]]:
    names = tuple(f["name"] for f in archive.bigquery_schema())
    return {
        "timeline": (TIMELINE_FIELDS, report.timeline),
        "gifters": (GIFTER_FIELDS, report.gifters),
        "gift_mix": (MIX_FIELDS, report.gift_mix),
        "events": (names, events),
    }


def to_csv(fields: tuple[str, ...], rows: Iterable[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _cell(row.get(k)) for k in fields})
    return buf.getvalue().encode()


def _cell(v):
    if isinstance(v, dict):
        return json.dumps(v, separators=(",", ":"), default=str)
    if hasattr(v, "isoformat"):
        return v.isoformat().replace("+00:00", "Z")
    return v


def _arrow_type(pa, field: dict):
    t = field["type"]
    if t == "RECORD":
        return pa.struct([pa.field(f["name"], _arrow_type(pa, f)) for f in field["fields"]])
    return {
        "STRING": pa.string(),
        "INTEGER": pa.int64(),
        "BOOLEAN": pa.bool_(),
        "FLOAT": pa.float64(),
        "TIMESTAMP": pa.timestamp("us", tz="UTC"),
        "JSON": pa.string(),  # its text (archive.archive_row)
    }[t]


def to_parquet(name: str, fields: tuple[str, ...], rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if name == "events":
        schema = pa.schema(
            [pa.field(f["name"], _arrow_type(pa, f)) for f in archive.bigquery_schema()]
        )
    else:
        schema = pa.schema([(k, pa.string() if k in _TEXT else pa.int64()) for k in fields])
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


_TEXT = {"minute", "user_id", "handle", "name", "gift_id", "gift_name"}


def files(report: StreamReport, events: list[dict]) -> dict[str, tuple[bytes, str]]:
    """File name -> (bytes, content type) for every table, CSV and Parquet."""
    out = {}
    for name, (fields, rows) in tables(report, events).items():
        out[f"{name}.csv"] = (to_csv(fields, rows), "text/csv")
        out[f"{name}.parquet"] = (to_parquet(name, fields, rows), "application/vnd.apache.parquet")
    out["report.json"] = (
        json.dumps(report.summary(), indent=2, default=str).encode(),
        "application/json",
    )
    return out
