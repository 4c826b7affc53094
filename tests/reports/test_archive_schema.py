"""The BigQuery archive and the local Parquet export describe the same schema, and the
documented queries run in DuckDB over the export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from giftengine.reports import archive, domain, export

from tests.reports.test_report_service import _log

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
TF_SCHEMA = ROOT / "terraform/modules/giftengine/engagement_messages.schema.json"
DOC = ROOT / "docs/reports.md"


def test_terraform_table_schema_is_the_one_derived_from_the_event_json_schema():
    assert json.loads(TF_SCHEMA.read_text()) == archive.message_schema()


def test_a_message_row_holds_one_event_at_the_top_or_a_batch_in_events():
    """Decision 043: a batch message `{"events": [...]}` has none of the event's columns at
    the top, so they are all NULLABLE there; its events fill `events` with the columns of
    the per-event view, whose REQUIRED fields stay REQUIRED."""
    fields = {f["name"]: f for f in archive.message_schema()}
    assert {f["mode"] for n, f in fields.items() if n != "events"} == {"NULLABLE"}
    assert fields["events"]["mode"] == "REPEATED" and fields["events"]["type"] == "RECORD"
    assert fields["events"]["fields"] == archive.bigquery_schema()
    event_columns = [f["name"] for f in archive.bigquery_schema()]
    assert [n for n in fields if n != "events"] == event_columns  # the view's SELECT * order


def test_columns_added_after_the_table_was_created_follow_events():
    """BigQuery appends a column added to a live table at its end: the file says the same
    (a column in the middle would differ from the deployed table's order)."""
    names = [f["name"] for f in archive.message_schema()]
    assert names[names.index("control") + 1] == "events"
    assert names[names.index("events") + 1 :] == ["reaction"]


def test_bigquery_schema_shape():
    fields = {f["name"]: f for f in archive.bigquery_schema()}
    assert fields["occurred_at"] == {"name": "occurred_at", "type": "TIMESTAMP",
                                     "mode": "REQUIRED"}  # fmt: skip
    assert fields["creator_id"]["mode"] == "NULLABLE"
    gift = fields["gift"]
    assert gift["type"] == "RECORD" and gift["mode"] == "NULLABLE"
    assert {f["name"]: f["type"] for f in gift["fields"]}["coins"] == "INTEGER"


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    log = [e.model_copy(update={"creator_id": "demo-creator"}) for e in _log("demo-1")]
    report = domain.compute_report("demo-1", log)
    rows = [archive.archive_row(e) for e in log]
    d = tmp_path_factory.mktemp("export")
    for name, (data, _) in export.files(report, rows).items():
        (d / name).write_bytes(data)
    return d


def test_parquet_export_has_the_archive_schema_in_duckdb(parquet):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{parquet / 'events.parquet'}')"
    ).fetchall()
    # DuckDB quotes field names that are keywords ("name"): compare without quotes.
    got = {name: typ.replace('"', "") for name, typ, *_ in described}
    assert got == archive.duckdb_types()


def _documented_queries() -> list[str]:
    text = DOC.read_text()
    section = text.split("## Example queries", 1)[1]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def _duckdb_setup(parquet_dir) -> list[str]:
    block = re.search(r"```sql duckdb-setup\n(.*?)```", DOC.read_text(), flags=re.S).group(1)
    block = block.replace("reports/*/*/events.parquet", str(parquet_dir / "events.parquet"))
    return [s for s in block.split(";") if s.strip()]


def test_documented_queries_run_in_duckdb_over_the_export(parquet):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    for statement in _duckdb_setup(parquet):
        con.execute(statement)
    queries = _documented_queries()
    assert len(queries) >= 4
    results = [con.execute(q.replace("`giftengine.events`", "events")).fetchall() for q in queries]
    assert all(results), "every documented query returns rows on the demo-like export"
    # The log's streaks all end with a final: the final-message figures are the report's.
    report = domain.compute_report("demo-1", _log("demo-1"))
    assert results[0] == [("demo-1", report.totals["coins"], report.totals["gifts"], 2)]
    assert [(r[0], r[2]) for r in results[1]] == [("bo", 100), ("ana", 20)]
    assert sum(r[1] for r in results[2]) == report.totals["coins"]
    assert sum(r[2] for r in results[2]) == report.totals["likes"]


def test_an_id_given_as_string_or_integer_is_a_required_string_column():
    fields = {f["name"]: f for f in archive.bigquery_schema()}
    user_id = next(f for f in fields["user"]["fields"] if f["name"] == "id")
    assert user_id == {"name": "id", "type": "STRING", "mode": "REQUIRED"}
