"""`giftengine replay FILE.jsonl [--stream ID] [--rate N]`: publish recorded events through
the same publishing path the ingest worker uses."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from giftengine.domain.events import EngagementEvent, validation_reason
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
    """Publish the file's events in batch messages as a live source does
    (`EventPublisher.publish_paced`: at `rate` events per second, or all at once)."""
    skipped: list[Skipped] = []

    def events() -> Iterator[EngagementEvent]:
        with open(path) as f:
            for item in read_events(f, stream):
                if isinstance(item, Skipped):
                    skipped.append(item)
                    print(f"{path}:{item.line}: skipped: {item.reason}", file=out)
                    continue
                yield item

    sent: list[EngagementEvent] = []

    def note(message: list[EngagementEvent]) -> None:
        sent.extend(message)
        if on_published:
            for e in message:
                on_published(e)

    for fut in publisher.publish_paced(events(), rate, on_sent=note):
        fut.result(timeout=60)
    return len(sent), skipped


def run(args) -> int:
    from giftengine.adapters.pubsub import EventPublisher

    settings = ensure_env()
    publisher = EventPublisher(settings.project_id)
    try:
        published, skipped = replay(args.file, args.stream, args.rate, publisher)
    finally:
        publisher.close()
    print(json.dumps({"published": published, "skipped": len(skipped)}))
    return 1 if skipped and not published else 0  # every line refused: nothing was replayed


def register(sub) -> None:
    p = sub.add_parser("replay", help="publish a JSONL file of EngagementEvents")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="(the summary is always JSON)")
    p.add_argument("--stream", help="override every event's stream_id")
    p.add_argument("--rate", type=float, help="events per second (default: as fast as possible)")
    p.set_defaults(func=run)
