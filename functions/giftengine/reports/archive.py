"""The event archive's table schema, derived from the EngagementEvent JSON Schema (pure).

Production: every message of the engagement topic lands in BigQuery through a Pub/Sub
BigQuery subscription that writes its JSON fields into the columns of
`giftengine.event_messages` (`use_table_schema`), whose schema is `message_schema()`,
committed as terraform/modules/giftengine/engagement_messages.schema.json
(tests/reports/test_archive_schema.py keeps the two equal); the view `giftengine.events`
has one row per event with the columns of `bigquery_schema()` (decision 043). Locally
the report's `events.parquet` has the same columns (`archive_row`, `duckdb_types`), so
docs/reports.md's queries run in DuckDB over the export as they run in BigQuery over the
view.
"""

from __future__ import annotations

import json

from giftengine.domain.events import EngagementEvent, json_schema

# The last column of the table as it was created; columns added to the event later come
# after `events` (message_schema).
FIRST_COLUMNS_END = "control"
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


def message_schema(schema: dict | None = None) -> list[dict]:
    """The raw archive table's schema: one row per Pub/Sub message (decision 043). A single
    event's message fills the event's columns, all NULLABLE here because a batch's row has
    none of them; a batch (`{"events": [...]}`, decision 004) fills `events`, a REPEATED
    record of the same columns. The view `giftengine.events` unpacks both into one row per
    event (terraform/modules/giftengine/archive.tf). `events` stays after the columns the
    table was created with (through `control`): BigQuery appends a column added later at the
    end of the table, so later columns (`reaction`, decision 094) follow `events` here too."""
    fields = bigquery_schema(schema)
    top = [{**f, "mode": "NULLABLE"} for f in fields]
    events = {"name": "events", "type": "RECORD", "mode": "REPEATED", "fields": fields}
    names = [f["name"] for f in top]
    at = names.index(FIRST_COLUMNS_END) + 1 if FIRST_COLUMNS_END in names else len(top)
    return [*top[:at], events, *top[at:]]


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
