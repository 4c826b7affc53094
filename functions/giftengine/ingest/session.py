"""One followed creator: the connection life (wait until live, connect, reconnect politely) and
the path from decoded TikTok messages to Pub/Sub, exactly once per message id.

decoded event -> normalize -> dedupe window -> queue -> publisher pump (ordered per stream)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from giftengine.domain import eventlog
from giftengine.domain.events import EngagementEvent
from giftengine.ingest.backoff import Backoff, SignGate
from giftengine.ingest.dedupe import SeenWindow
from giftengine.ingest.model import Failure, Normalized, stream_id, stream_marker
from giftengine.ingest.settings import IngestSettings

log = logging.getLogger("giftengine.ingest.session")


class Connection(Protocol):
    """One connection attempt to a creator's LIVE (the TikTokLive adapter, `source.Connection`):
    `open` returns the room id or raises Failure; `wait` returns "ended" (LIVE ended) or
    "dropped", or raises a permanent Failure."""

    async def open(self) -> int: ...

    async def wait(self) -> str: ...

    async def close(self) -> None: ...


EventSink = Callable[[Any, int], None]  # (decoded TikTok message, room_id)
ConnectionFactory = Callable[[str, EventSink], Connection]
# A decoded message -> its EngagementEvent and dedupe keys, or None for what the product ignores
# (the TikTokLive adapter `normalize.normalize`); raises on a message it cannot accept.
Normalizer = Callable[[Any, int, str], Normalized | None]
PublishBatch = Callable[[list[EngagementEvent]], Awaitable[None]]


@dataclass
class Stats:
    status: str = "starting"  # starting|offline|connecting|live|backoff|rate_limited|failed|stopped
    room_id: int | None = None
    events_total: int = 0
    duplicates_dropped: int = 0
    skipped_bad: int = 0  # messages the normalizer rejected (logged, skipped)
    by_kind: Counter = field(default_factory=Counter)
    reconnects: int = 0
    rate_limited: int = 0
    last_message_at: float | None = None  # wall clock
    error: dict | None = None
    recent: deque = field(default_factory=lambda: deque(maxlen=8))
    _rate_mark: tuple[float, int] = (0.0, 0)

    def events_per_s(self, now: float | None = None) -> float:
        """Events/s since the previous call (the stats writer calls it once per interval)."""
        now = now or time.monotonic()
        t0, n0 = self._rate_mark
        self._rate_mark = (now, self.events_total)
        if t0 == 0.0 or now <= t0:
            return 0.0
        return round((self.events_total - n0) / (now - t0), 2)

    def snapshot(self, events_per_s: float) -> dict[str, Any]:
        now = time.time()
        return {
            "status": self.status,
            "room_id": str(self.room_id) if self.room_id else None,
            "stream_id": stream_id(self.room_id) if self.room_id else None,
            "error": self.error,
            "stats": {
                "events_total": self.events_total,
                "events_per_s": events_per_s,
                "by_kind": dict(self.by_kind),
                "duplicates_dropped": self.duplicates_dropped,
                "skipped_bad": self.skipped_bad,
                "reconnects": self.reconnects,
                "rate_limited": self.rate_limited,
                "last_message_at": (
                    datetime.fromtimestamp(self.last_message_at, UTC)
                    if self.last_message_at
                    else None
                ),
                "last_message_age_s": (
                    round(now - self.last_message_at, 1) if self.last_message_at else None
                ),
            },
        }


class CreatorSession:
    def __init__(
        self,
        creator_id: str,
        settings: IngestSettings,
        connect: ConnectionFactory,
        publish: PublishBatch,
        gate: SignGate,
        rng: random.Random | None = None,
        *,
        normalize: Normalizer,
    ):
        self.creator_id = creator_id
        self.settings = settings
        self._connect = connect
        self._normalize = normalize
        self._publish = publish
        self._gate = gate
        self._rng = rng or random.Random()
        self.window = SeenWindow(settings.dedupe_window)
        self.stats = Stats()
        self.trace = uuid.uuid4().hex  # one trace per session: every log line of it correlates
        self.log = logging.LoggerAdapter(log, {"creator": creator_id, "trace": self.trace})
        self._queue: list[EngagementEvent] = []
        self._queued = asyncio.Event()
        self._last_publish: float | None = None  # monotonic time of the last publish round
        self._stop = asyncio.Event()
        self._conn: Connection | None = None
        self._open_room: int | None = None  # a room we published stream_start for, not ended
        self.failure: Failure | None = None

    # ---- events in ---------------------------------------------------------------------------
    def on_event(self, event: Any, room_id: int) -> None:
        """Called synchronously by the library for each decoded event, in wire order. A
        message the normalizer rejects is logged and skipped: raising here would make the
        library drop the connection and the rest of the frame (and, inside TikTok's replay
        window, reconnect forever)."""
        self.stats.last_message_at = time.time()
        try:
            n = self._normalize(event, room_id, self.creator_id)
        except Exception as exc:
            self.stats.skipped_bad += 1
            self.log.warning(
                "skipped a message the normalizer rejected (%s: %s)",
                type(exc).__name__,
                str(exc)[:300],
                extra={"stream": stream_id(room_id)},
            )
            return
        if n is None:
            return
        self._admit(n.event, n.keys)

    def _admit(self, ev: EngagementEvent, keys: tuple[str, ...]) -> None:
        if not self.window.admit(keys):
            self.stats.duplicates_dropped += 1
            return
        if (
            ev.kind == "stream_end"
            and self._open_room
            and ev.stream_id == stream_id(self._open_room)
        ):
            self._open_room = None
        self._queue.append(ev)
        self.stats.events_total += 1
        self.stats.by_kind[ev.kind] += 1
        if ev.kind != "viewers":
            self.stats.recent.append(ev)
        self._queued.set()

    def _marker(self, kind: str, room_id: int) -> None:
        ev = stream_marker(kind, room_id, self.creator_id, datetime.now(UTC))
        self._admit(ev, (ev.event_id,))

    # ---- publishing ---------------------------------------------------------------------------
    async def pump(self) -> None:
        """Drains the queue in order; a failed batch is retried (same event ids) until it lands."""
        backoff = Backoff(0.2, 5.0, self._rng)
        while True:
            if not self._queue:
                if self._stop.is_set():
                    return
                self._queued.clear()
                stop = asyncio.create_task(self._stop.wait())
                got = asyncio.create_task(self._queued.wait())
                await asyncio.wait({stop, got}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                got.cancel()
                continue
            wait = eventlog.send_after(
                len(self._queue),
                None if self._last_publish is None else time.monotonic() - self._last_publish,
                self.settings.publish_max_events,
                self.settings.publish_linger_ms / 1000,
            )
            if wait > 0 and not self._stop.is_set():  # a busy stream: let a batch gather
                await self._sleep_or_full(wait)
            batch = self._queue[: self.settings.publish_batch]
            self._last_publish = time.monotonic()
            try:
                await self._publish(batch)
            except Exception as exc:  # Pub/Sub unavailable: keep the events, retry in order
                del self._queue[: getattr(exc, "landed", 0)]
                self.log.warning("publish failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            del self._queue[: len(batch)]

    async def _sleep_or_full(self, seconds: float) -> None:
        """Wait up to `seconds` while the queue holds less than a full message."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self._stop.is_set():
            if len(self._queue) >= self.settings.publish_max_events:
                return
            self._queued.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queued.wait(), timeout=left)

    @property
    def pending(self) -> int:
        return len(self._queue)

    # ---- connection life ------------------------------------------------------------------------
    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; returns False when the session must stop."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, seconds))
            return False
        except TimeoutError:
            return True

    def _jitter(self, seconds: float) -> float:
        return seconds * self._rng.uniform(0.8, 1.2)

    async def run(self) -> None:
        pump = asyncio.create_task(self.pump(), name=f"pump-{self.creator_id}")
        try:
            await self._life()
        finally:
            self._stop.set()
            await pump

    async def _life(self) -> None:
        s = self.settings
        backoff = Backoff(s.backoff_base_s, s.backoff_max_s, self._rng)
        first = True
        while not self._stop.is_set():
            if (wait := self._gate.wait_s()) > 0:
                self.stats.status = "rate_limited"
                if not await self._sleep(wait + self._rng.uniform(0, 1)):
                    return
            self.stats.status = "connecting"
            conn = self._connect(self.creator_id, self.on_event)
            self._conn = conn
            try:
                room_id = await conn.open()
            except Failure as f:
                self._conn = None
                if not await self._on_failure(f, backoff):
                    return
                continue
            if not first:
                self.stats.reconnects += 1
            first = False
            self.stats.status, self.stats.error = "live", None
            self.stats.room_id = room_id
            if self._open_room and self._open_room != room_id:
                self._marker("stream_end", self._open_room)  # a new room: the old one ended
            if self._open_room != room_id:
                self._marker("stream_start", room_id)
                self._open_room = room_id
            self.log.info("connected to room %s", room_id, extra={"stream": stream_id(room_id)})
            up_since = time.monotonic()
            try:
                outcome = await self._wait_or_stop(conn)
            except Failure as f:
                self._conn = None
                if not await self._on_failure(f, backoff):
                    return
                continue
            self._conn = None
            if outcome == "stopped":
                return
            if outcome == "ended":
                self.log.info("LIVE ended", extra={"stream": stream_id(room_id)})
                if self._open_room == room_id:
                    self._marker("stream_end", room_id)
                backoff.reset()
                self.stats.status = "offline"
                if not await self._sleep(self._jitter(s.poll_interval_s)):
                    return
                continue
            if time.monotonic() - up_since >= s.stable_after_s:
                backoff.reset()
            delay = backoff.next_delay()
            self.stats.status = "backoff"
            self.log.info("connection dropped; reconnecting in %.2fs", delay)
            if not await self._sleep(delay):
                return

    async def _wait_or_stop(self, conn: Connection) -> str:
        waiter = asyncio.create_task(conn.wait())
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            await conn.close()
            try:
                await asyncio.wait_for(waiter, timeout=5)
            except (TimeoutError, Exception):
                waiter.cancel()
            stop.cancel()
            return "stopped"
        stop.cancel()
        await conn.close()
        return waiter.result()

    async def _on_failure(self, f: Failure, backoff: Backoff) -> bool:
        s = self.settings
        if f.kind == "offline":
            if self._open_room:  # went offline while we were away: that room has ended
                self._marker("stream_end", self._open_room)
            self.stats.status, self.stats.error = "offline", None
            backoff.reset()
            return await self._sleep(self._jitter(s.poll_interval_s))
        if f.kind == "rate_limited":
            retry = f.retry_after_s or s.rate_limit_default_s
            self._gate.block_for(retry)
            self.stats.rate_limited += 1
            self.stats.status = "rate_limited"
            self.log.warning("sign server rate limit; waiting %.1fs", retry)
            return await self._sleep(retry + self._rng.uniform(0, min(1.0, retry)))
        if f.kind == "permanent":
            self.failure = f
            self.stats.status = "failed"
            self.stats.error = {"code": f.code, "reason": f.reason, "at": datetime.now(UTC)}
            self.log.error("permanent failure: %s", f)
            return False
        delay = backoff.next_delay()
        self.stats.status = "backoff"
        self.stats.error = {"code": f.code, "reason": f.reason, "at": datetime.now(UTC)}
        self.log.warning("connect failed (%s); retrying in %.2fs", f.code, delay)
        return await self._sleep(delay)

    async def stop(self) -> None:
        """Stop ingesting (closes the connection); `run` returns once the queue is published."""
        self._stop.set()
        if self._conn is not None:
            await self._conn.close()
