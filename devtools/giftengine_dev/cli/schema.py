"""`giftengine schema [--check]`: write (or verify) the EngagementEvent JSON Schema file."""

from __future__ import annotations

import json
from pathlib import Path

from giftengine.domain.events import json_schema

SCHEMA_PATH = (
    Path(__file__).resolve().parents[3] / "docs" / "schema" / "engagement_event.schema.json"
)


def rendered() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def run(args) -> int:
    if args.check:
        current = SCHEMA_PATH.read_text() if SCHEMA_PATH.exists() else ""
        if current != rendered():
            print(f"{SCHEMA_PATH} is out of date: run `giftengine schema`")
            return 1
        print("schema up to date")
        return 0
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(rendered())
    print(f"wrote {SCHEMA_PATH}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("schema", help="write the EngagementEvent JSON Schema into docs/schema")
    p.add_argument("--check", action="store_true", help="fail if the file is out of date")
    p.set_defaults(func=run)
