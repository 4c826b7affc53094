"""Publishing EngagementEvents to Pub/Sub: the one path every source uses.

The ingest worker, the app API and `giftengine replay` all publish through
`EventPublisher`, so what reaches the gift pipeline is the same whatever the source.
The stream id is the ordering key (messages of one stream keep their order on a
subscription with message ordering). A message carries one event (its id travels as an
attribute, so consumers and the dead-letter audit can key on it without parsing the
body) or, from `publish_events`, a batch of up to `max_events` events of one stream
(`domain/eventlog.py`: one message, one delivery, one record for many gifts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from google.cloud import pubsub_v1

from giftengine import manifest as manifest_mod
from giftengine.domain import eventlog
from giftengine.domain.events import EngagementEvent

# Events per message and how long a busy stream's events gather (eventlog.send_after), by
# default; sources read GIFTENGINE_PUBLISH_MAX_EVENTS / GIFTENGINE_PUBLISH_LINGER_MS.
MAX_EVENTS = 100
LINGER_S = 0.25


def _publisher(ordering: bool) -> pubsub_v1.PublisherClient:
    # Batch for throughput: a hot stream publishes hundreds of messages a second.
    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=500, max_latency=0.01),
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=ordering),
    )


class EventPublisher:
    def __init__(self, project_id: str, topic_key: str = "engagement", ordering: bool = True):
        self._client = _publisher(ordering)
        self._ordering = ordering
        self.topic_path = self._client.topic_path(project_id, manifest_mod.load().topic(topic_key))

    def publish(self, event: EngagementEvent) -> Future:
        data = event.model_dump_json(exclude_none=True).encode()
        return self._client.publish(
            self.topic_path,
            data,
            ordering_key=event.stream_id if self._ordering else "",
            event_id=event.event_id,
            stream_id=event.stream_id,
            kind=event.kind,
        )

    def publish_message(self, events: list[EngagementEvent]) -> Future:
        """One message holding `events` (one stream; `eventlog.plan_messages` groups them)."""
        return self._client.publish(
            self.topic_path,
            eventlog.encode_message(events),
            ordering_key=events[0].stream_id if self._ordering else "",
            **eventlog.message_attributes(events),
        )

    def publish_events(
        self, events: Iterable[EngagementEvent], max_events: int = MAX_EVENTS
    ) -> list[tuple[list[EngagementEvent], Future]]:
        """Publish events in as few messages as `eventlog.plan_messages` allows; returns
        each message's events with its future, in order."""
        return [(m, self.publish_message(m)) for m in eventlog.plan_messages(events, max_events)]

    def publish_paced(
        self,
        events: Iterable[EngagementEvent],
        rate: float | None = None,
        max_events: int = MAX_EVENTS,
        linger_s: float = LINGER_S,
        on_sent: Callable[[list[EngagementEvent]], None] | None = None,
    ) -> list[Future]:
        """Publish events as they become due at `rate` per second (all at once without a
        rate), in batch messages that follow `eventlog.send_after`, as a live source
        would. For replays and the benchmark; returns the messages' futures."""
        futures: list[Future] = []
        queued: list[EngagementEvent] = []
        last: float | None = None
        started = time.monotonic()

        def send() -> None:
            nonlocal last
            for m in eventlog.plan_messages(queued, max_events):
                futures.append(self.publish_message(m))
                if on_sent:
                    on_sent(m)
            queued.clear()
            last = time.monotonic()

        def due_now() -> bool:
            since = time.monotonic() - last if last is not None else None
            return eventlog.send_after(len(queued), since, max_events, linger_s) <= 0

        for i, e in enumerate(events):
            if rate:  # wait for the event's time, sending what becomes due meanwhile
                while (now := time.monotonic()) < started + i / rate:
                    if queued and due_now():
                        send()
                    time.sleep(min(started + i / rate - now, 0.002))
            if queued and queued[-1].stream_id != e.stream_id:
                send()
            queued.append(e)
            if len(queued) >= max_events or (rate and due_now()):
                send()
        if queued:
            send()
        return futures

    def publish_all(self, events: Iterable[EngagementEvent], timeout: float = 60.0) -> list[str]:
        """Publish and wait for every message id; raises if any publish failed."""
        futures = [self.publish(e) for e in events]
        return [f.result(timeout=timeout) for f in futures]

    def resume(self, stream_id: str) -> None:
        """After a failed publish the ordering key is paused; resume it before retrying."""
        if self._ordering:
            self._client.resume_publish(self.topic_path, stream_id)

    def close(self) -> None:
        self._client.stop()


class RawPublisher:
    """Publishes raw bytes with attributes (dead letters keep the original payload)."""

    def __init__(self, project_id: str, topic_key: str):
        self._client = _publisher(False)
        self.topic_path = self._client.topic_path(project_id, manifest_mod.load().topic(topic_key))

    def publish(self, data: bytes, **attributes: str) -> str:
        return self._client.publish(self.topic_path, data, **attributes).result(timeout=30)


def encode(event: EngagementEvent) -> bytes:
    return json.dumps(event.model_dump(mode="json", exclude_none=True)).encode()
