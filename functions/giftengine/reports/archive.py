"""The event archive's table schema, derived from the EngagementEvent JSON Schema (pure).

Production: every event lands in BigQuery through a Pub/Sub BigQuery subscription that
writes each message's JSON fields into the table's columns (`use_table_schema`); the
table's schema is `bigquery_schema()`, committed as
terraform/modules/giftengine/engagement_events.schema.json (tests/reports/
test_archive_schema.py keeps the two equal). Locally the report's `events.parquet` has the
same columns (`archive_row`, `duckdb_types`), so docs/reports.md's queries run in DuckDB
over the export as they run in BigQuery over the table.
"""

from __future__ import annotations

import json

from giftengine.domain.events import EngagementEvent, json_schema

_SCALARS = {"string": "STRING", "integer": "INTEGER", "boolean": "BOOLEAN", "number": "FLOAT"}
# BigQuery type -> what DuckDB reports for the Parquet column of that type.
_DUCKDB = {
    "STRING": "VARCHAR",
    "INTEGER": "BIGINT",
    "BOOLEAN": "BOOLEAN",
    "FLOAT": "DOUBLE",
    "TIMESTAMP": "TIMESTAMP WITH TIME ZONE",
    "JSON": "VARCHAR",  # the export writes a JSON column as its text
}


def _field(name: str, prop: dict, defs: dict, required: bool) -> dict:
    mode = "REQUIRED" if required else "NULLABLE"
    options = prop.get("anyOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) < len(options):  # `X | None`
            mode = "NULLABLE"
        # An id given as a string or an integer is stored as its string (events.py).
        prop = next((o for o in kept if o.get("type") == "string"), kept[0])
    if "$ref" in prop:
        sub = defs[prop["$ref"].rsplit("/", 1)[-1]]
        req = set(sub.get("required", []))
        fields = [_field(n, p, defs, n in req) for n, p in sub["properties"].items()]
        return {"name": name, "type": "RECORD", "mode": mode, "fields": fields}
    if prop.get("type") == "string" and prop.get("format") == "date-time":
        typ = "TIMESTAMP"
    elif prop.get("type") == "object":  # free-form (a control event's params)
        typ = "JSON"
    else:
        typ = _SCALARS[prop["type"]]
    return {"name": name, "type": typ, "mode": mode}


def bigquery_schema(schema: dict | None = None) -> list[dict]:
    """BigQuery table schema (the JSON Terraform's `google_bigquery_table.schema` takes)."""
    schema = schema or json_schema()
    defs = schema.get("$defs", {})
    req = set(schema.get("required", []))
    return [_field(n, p, defs, n in req) for n, p in schema["properties"].items()]


def duckdb_type(field: dict) -> str:
    if field["type"] == "RECORD":
        inner = ", ".join(f"{f['name']} {duckdb_type(f)}" for f in field["fields"])
        return f"STRUCT({inner})"
    return _DUCKDB[field["type"]]


def duckdb_types(schema: list[dict] | None = None) -> dict[str, str]:
    """Column -> the DuckDB type of the Parquet export's column, as DESCRIBE prints it."""
    return {f["name"]: duckdb_type(f) for f in schema or bigquery_schema()}


def archive_row(ev: EngagementEvent) -> dict:
    """One event as an archive row: the JSON the publisher sends, with every column present
    (absent ones None), `occurred_at` a datetime and JSON columns as their text."""
    row = ev.model_dump(mode="python")
    if row.get("control") is not None:
        row["control"]["params"] = json.dumps(row["control"]["params"], sort_keys=True)
    return row
