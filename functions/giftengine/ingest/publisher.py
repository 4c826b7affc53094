"""asyncio face of the shared EventPublisher (adapters/pubsub.py): ordering key = stream_id;
a stream's events go out as batch messages of up to `max_events` (domain/eventlog.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from giftengine.adapters.pubsub import MAX_EVENTS, EventPublisher
from giftengine.domain.events import EngagementEvent


class PartialPublish(Exception):
    """Some events of a batch did not land; the first `landed` did (in order)."""

    def __init__(self, landed: int, cause: BaseException):
        super().__init__(f"{landed} published before {type(cause).__name__}: {cause}")
        self.landed = landed


class AsyncPublisher:
    def __init__(self, publisher: EventPublisher, max_events: int = MAX_EVENTS):
        self._p = publisher
        self.max_events = max_events
        self.published = 0  # events
        self.messages = 0

    async def publish_batch(self, events: Sequence[EngagementEvent]) -> None:
        """Publish in order, as few messages as the batching allows. On a failure the
        events of the messages before the first failed one landed (`PartialPublish.landed`);
        the caller re-sends the rest, possibly with other boundaries: the pipeline counts
        an event once whatever message holds it."""
        sent = self._p.publish_events(events, self.max_events)
        results = await asyncio.gather(
            *(asyncio.wrap_future(f) for _, f in sent), return_exceptions=True
        )
        landed = 0
        for (message, _), r in zip(sent, results, strict=True):
            if isinstance(r, BaseException):
                # The ordering key is paused after a failure; resume it so the retry can publish.
                for sid in {e.stream_id for e in events[landed:]}:
                    self._p.resume(sid)
                self.published += landed
                raise PartialPublish(landed, r)
            landed += len(message)
            self.messages += 1
        self.published += len(events)

    async def close(self) -> None:
        """Flushes whatever the client still batches, then stops it."""
        await asyncio.to_thread(self._p.close)
