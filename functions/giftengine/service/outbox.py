"""Events published after the commit that decided them: the outbox (decision 021).

A Firestore commit cannot include a Pub/Sub publish. So a use case that must produce an
EngagementEvent writes an outbox entry (`{collection}/{key}`: the event, `published:
false`) in the same commit as its own documents; after the commit it publishes the event
and marks the entry published. A crash or a failed publish between the two leaves the
entry unpublished: a retry of the request with the same key publishes it
(`publish_pending`), and the outbox job (`flush`, every minute) republishes entries older
than the grace period. Downstream, `on_engagement` records each event once by its
`event_id`, so publishing an event twice changes nothing: at-least-once publish plus an
idempotent consumer gives exactly-once effect.

The in-app gift (wallet, `wallet_outbox`), the app chat (moderation, `chat_outbox`,
decision 092) and points redemptions a command mapping names (service/rewards.py,
`reward_outbox`, decision 095) use this one mechanism; each owns its collection and keys.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from giftengine.domain.events import EngagementEvent

log = logging.getLogger("giftengine.outbox")
Doc = dict[str, Any]
Publish = Callable[[EngagementEvent], None]


class OutboxStore(Protocol):
    """The slice of a document store the outbox needs (`service.docstore.Store` has it)."""

    def get(self, path: str) -> Doc | None: ...
    def set(self, path: str, data: Doc, merge: bool = False) -> None: ...
    def where(
        self, collection: str, field: str, op: str, value: Any
    ) -> Iterator[tuple[str, Doc]]: ...


def _dt(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def _ts(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value or 0.0)


def entry(event: EngagementEvent, at: float, **extra: Any) -> Doc:
    """The outbox document to write in the commit that decided `event`."""
    return {
        **extra,
        "event": event.model_dump(mode="json", exclude_none=True),
        "published": False,
        "created_at": _dt(at),
    }


class Outbox:
    """Publishes the entries of one outbox collection and marks them published."""

    def __init__(
        self,
        store: OutboxStore,
        collection: str,
        publish: Publish | None,
        grace_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ):
        self.store, self.collection, self._publish_fn = store, collection, publish
        self.grace_s, self.clock = grace_s, clock

    def path(self, key: str) -> str:
        return f"{self.collection}/{key}"

    def publish(self, key: str, event: Doc) -> bool:
        """Publish the entry's event (its JSON form); mark it. A failure leaves it for a
        retry of the request or for the job."""
        if self._publish_fn is None:
            return False
        try:
            self._publish_fn(EngagementEvent.model_validate(event))
        except Exception:
            log.exception("publish of %s failed; the outbox job will retry", self.path(key))
            return False
        self._mark(key)
        return True

    def publish_pending(self, key: str) -> bool:
        """A retried request: publish the entry if its first attempt did not (one read)."""
        doc = self.store.get(self.path(key))
        if doc is None or doc.get("published"):
            return False
        return self.publish(key, doc["event"])

    def _mark(self, key: str) -> None:
        self.store.set(
            self.path(key), {"published": True, "published_at": _dt(self.clock())}, merge=True
        )

    def flush(self) -> dict[str, int]:
        """Republish events whose publish did not complete (crash between commit and
        publish), each stream's in batch messages when the publisher can (`many`)."""
        cutoff, sent, failed = self.clock() - self.grace_s, 0, 0
        due = [
            (key, doc)
            for key, doc in self.store.where(self.collection, "published", "==", False)
            if _ts(doc.get("created_at")) <= cutoff
        ]
        many = getattr(self._publish_fn, "many", None)
        if many is None or len(due) < 2:
            for key, doc in due:
                if self.publish(key, doc["event"]):
                    sent += 1
                else:
                    failed += 1
            return {"republished": sent, "failed": failed}
        by_stream: dict[str, list[tuple[str, EngagementEvent]]] = {}
        for key, doc in due:
            e = EngagementEvent.model_validate(doc["event"])
            by_stream.setdefault(e.stream_id, []).append((key, e))
        for entries in by_stream.values():
            try:
                many([e for _, e in entries])
            except Exception:
                log.exception("republishing %d outbox events failed", len(entries))
                failed += len(entries)
                continue
            for key, _ in entries:
                self._mark(key)
            sent += len(entries)
        return {"republished": sent, "failed": failed}
