"""Publishing EngagementEvents to Pub/Sub: the one path every source uses.

The ingest worker, the app API and `giftengine replay` all publish through
`EventPublisher`, so what reaches the gift pipeline is the same whatever the source.
The stream id is the ordering key (messages of one stream keep their order on a
subscription with message ordering), and the event id travels as an attribute so
consumers and the dead-letter audit can key on it without parsing the body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import Future

from google.cloud import pubsub_v1

from giftengine import manifest as manifest_mod
from giftengine.domain.events import EngagementEvent


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
