"""asyncio face of the shared EventPublisher (adapters/pubsub.py): ordering key = stream_id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent


class PartialPublish(Exception):
    """Some events of a batch did not land; the first `landed` did (in order)."""

    def __init__(self, landed: int, cause: BaseException):
        super().__init__(f"{landed} published before {type(cause).__name__}: {cause}")
        self.landed = landed


class AsyncPublisher:
    def __init__(self, publisher: EventPublisher):
        self._p = publisher
        self.published = 0

    async def publish_batch(self, events: Sequence[EngagementEvent]) -> None:
        futures = [asyncio.wrap_future(self._p.publish(e)) for e in events]
        results = await asyncio.gather(*futures, return_exceptions=True)
        for i, r in enumerate(results):
            if isinstance(r, BaseException):
                # The ordering key is paused after a failure; resume it so the retry can publish.
                for sid in {e.stream_id for e in events[i:]}:
                    self._p.resume(sid)
                self.published += i
                raise PartialPublish(i, r)
        self.published += len(events)

    async def close(self) -> None:
        """Flushes whatever the client still batches, then stops it."""
        await asyncio.to_thread(self._p.close)
