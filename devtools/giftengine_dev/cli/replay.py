"""`giftengine replay FILE.jsonl [--stream ID] [--rate N]`: publish recorded events through
the same publishing path the ingest worker uses."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from giftengine.domain.events import EngagementEvent
from giftengine.entrypoints.http import validation_reason
from pydantic import ValidationError

from giftengine_dev.cli._cloud import ensure_env


@dataclass
class Skipped:
    line: int
    reason: str


def read_events(lines, stream: str | None) -> Iterator[EngagementEvent | Skipped]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("a line must be a JSON object")
            if stream:
                data["stream_id"] = stream
            yield EngagementEvent.model_validate(data)
        except ValidationError as exc:
            yield Skipped(n, validation_reason(exc))
        except ValueError as exc:
            yield Skipped(n, f"invalid JSON: {exc}")


def replay(
    path: str, stream: str | None, rate: float | None, publisher, out=sys.stderr, on_published=None
) -> tuple[int, list[Skipped]]:
    published, skipped, futures = 0, [], []
    started = time.monotonic()
    with open(path) as f:
        for item in read_events(f, stream):
            if isinstance(item, Skipped):
                skipped.append(item)
                print(f"{path}:{item.line}: skipped: {item.reason}", file=out)
                continue
            if rate:
                delay = started + published / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            futures.append(publisher.publish(item))
            published += 1
            if on_published:
                on_published(item)
    for fut in futures:
        fut.result(timeout=60)
    return published, skipped


def run(args) -> int:
    from giftengine.adapters.pubsub import EventPublisher

    settings = ensure_env()
    publisher = EventPublisher(settings.project_id)
    try:
        published, skipped = replay(args.file, args.stream, args.rate, publisher)
    finally:
        publisher.close()
    print(json.dumps({"published": published, "skipped": len(skipped)}))
    return 0


def register(sub) -> None:
    p = sub.add_parser("replay", help="publish a JSONL file of EngagementEvents")
    p.add_argument("file")
    p.add_argument("--stream", help="override every event's stream_id")
    p.add_argument("--rate", type=float, help="events per second (default: as fast as possible)")
    p.set_defaults(func=run)
