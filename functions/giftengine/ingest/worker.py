"""The ingest worker: one process follows many creators; instances share them through leases.

Loop (one asyncio task): heartbeat leases, scan ingest targets and lease free ones up to
capacity, write per-creator status at most every `stats_interval_s`, reap sessions that ended.
SIGTERM: stop taking leases, stop every session, flush the publisher, release the leases, all
within `shutdown_grace_s` (Cloud Run kills the container 10 s after SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from giftengine.domain.events import EngagementEvent
from giftengine.ingest.backoff import SignGate
from giftengine.ingest.model import Lease, stream_id
from giftengine.ingest.session import ConnectionFactory, CreatorSession, Normalizer
from giftengine.ingest.settings import IngestSettings
from giftengine.service import streams
from giftengine.service.streams import OwnershipRepo

log = logging.getLogger("giftengine.ingest.worker")


# What the worker runs on; the bootstrap wires the Firestore and Pub/Sub adapters
# (`leases.LeaseStore`, `leases.SharedGate`, `target_store.TargetRepo`,
# `publisher.AsyncPublisher`, `adapters.live_pointers`).
class LeaseRepo(Protocol):
    """Leases on creators (at most one instance ingests a creator) and the creator's status,
    written only while the lease read is still ours ("ok" | "fenced" | "gone")."""

    def acquire(self, creator_id: str) -> Lease | None: ...

    def renew(self, lease: Lease) -> Lease | None: ...

    def release(self, lease: Lease) -> bool: ...

    def fenced_target_update(self, lease: Lease, fields: dict[str, Any]) -> str: ...


class Targets(Protocol):
    """The creators to follow (ingest_targets)."""

    def active_ids(self) -> list[str]: ...

    def get(self, creator_id: str) -> dict[str, Any] | None: ...


class SharedSignGate(Protocol):
    """The sign server's rate-limit gate shared by every instance (wall-clock seconds)."""

    def until(self) -> float: ...

    def raise_to(self, until: float) -> float: ...


class Publisher(Protocol):
    async def publish_batch(self, events: Sequence[EngagementEvent]) -> None: ...

    async def close(self) -> None: ...


# Point the owner's overlays at a stream that is live now: (owner_uid, stream_id).
PointLive = Callable[[str, str], None]


@dataclass
class Running:
    session: CreatorSession
    task: asyncio.Task
    lease: Lease
    last_stats: float = 0.0
    recorded_room: int | None = None  # the room whose stream ownership record is written


class Worker:
    def __init__(
        self,
        settings: IngestSettings,
        *,
        leases: LeaseRepo,
        targets: Targets,
        owners: OwnershipRepo,
        shared_gate: SharedSignGate,
        publisher: Publisher,
        connect: ConnectionFactory,
        normalize: Normalizer,
        point_live: PointLive,
    ):
        self.settings = settings
        self.leases = leases
        self.targets = targets
        self.owners = owners
        self.publisher = publisher
        self.gate = SignGate()
        self.shared_gate = shared_gate
        self._connect = connect
        self._normalize = normalize
        self._point_live = point_live
        self.running: dict[str, Running] = {}
        self.ready = False
        self.draining = False
        self.released_while_draining = 0
        self._stop = asyncio.Event()
        self.log = logging.LoggerAdapter(log, {"instance": settings.instance_id})

    def request_stop(self) -> None:
        if not self._stop.is_set():
            self.log.info("stop requested: draining")
        self.draining = True
        self.ready = False
        self._stop.set()

    def info(self) -> dict[str, Any]:
        return {
            "instance": self.settings.instance_id,
            "creators": sorted(self.running),
            "draining": self.draining,
        }

    # ---- main loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        s = self.settings
        last_hb = last_scan = 0.0
        tick = max(
            0.05,
            min(1.0, s.heartbeat_interval_s / 2, s.scan_interval_s / 2, s.stats_interval_s / 2),
        )
        stopped = asyncio.ensure_future(self._stop.wait())
        while not self._stop.is_set():
            now = time.monotonic()
            do_hb = now - last_hb >= s.heartbeat_interval_s
            do_scan = now - last_scan >= s.scan_interval_s and not self.draining
            last_hb, last_scan = (now if do_hb else last_hb), (now if do_scan else last_scan)
            # Raced against the stop: a Firestore call that hangs (the database unreachable,
            # its client retrying for a minute) must not hold SIGTERM past the grace period.
            step = asyncio.ensure_future(self._iteration(do_hb, do_scan))
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()  # the thread under it finishes on its own; nothing waits for it
                break
            if step.exception() is not None:  # Firestore hiccup: log, keep the loop
                self.log.error("worker loop iteration failed", exc_info=step.exception())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stopped), timeout=tick)
        stopped.cancel()
        await self.shutdown()

    async def _iteration(self, heartbeat: bool, scan: bool) -> None:
        """One turn of the loop; leases expire on their own if these keep failing."""
        if heartbeat:
            await self.heartbeat()
        await self.reap()
        if scan:
            await self.scan()
            self.ready = True
        await self.write_stats()

    async def scan(self) -> None:
        active = await asyncio.to_thread(self.targets.active_ids)
        for cid in [c for c in self.running if c not in active]:  # deleted or failed
            await self._end(cid, release=True, status=None)
        free = [c for c in active if c not in self.running]
        random.shuffle(free)  # instances scanning together contend on different creators first
        for cid in free:
            if self.draining or len(self.running) >= self.settings.max_creators:
                break
            lease = await asyncio.to_thread(self.leases.acquire, cid)
            if lease is not None:
                self._start(cid, lease)

    def _start(self, cid: str, lease: Lease) -> None:
        session = CreatorSession(
            cid,
            self.settings,
            self._connect,
            self.publisher.publish_batch,
            self.gate,
            normalize=self._normalize,
        )
        task = asyncio.create_task(session.run(), name=f"session-{cid}")
        self.running[cid] = Running(session, task, lease)
        self.log.info(
            "leased @%s (token %d)",
            cid,
            lease.token,
            extra={"creator": cid, "trace": session.trace},
        )

    def _sync_gate(self) -> None:
        """Mirror the sign-server gate across instances: publish ours if it is later than the
        shared one, and hold our creators until the shared one opens."""
        mine = self.gate.until_wall()
        shared = self.shared_gate.until()
        if mine > shared + 0.5:
            shared = self.shared_gate.raise_to(mine)
        self.gate.hold_until_wall(shared)

    async def heartbeat(self) -> None:
        try:
            await asyncio.to_thread(self._sync_gate)
        except Exception:  # the local gate still holds this process's creators
            self.log.warning("could not sync the shared sign gate", exc_info=True)
        for cid, r in list(self.running.items()):
            try:
                renewed = await asyncio.to_thread(self.leases.renew, r.lease)
            except Exception:
                renewed = r.lease if time.time() < r.lease.expires_at else None
                self.log.warning("lease renewal of @%s failed", cid, exc_info=True)
            if renewed is None:
                self.log.warning("lost the lease of @%s; stopping it", cid, extra={"creator": cid})
                await self._end(cid, release=False, status=None)
            else:
                r.lease = renewed

    def _record_room(self, cid: str, room_id: int) -> None:
        """The stream of a TikTok room belongs to the creator linked to the account
        (ingest_targets.owner_uid): write its ownership record once."""
        owner_uid = (self.targets.get(cid) or {}).get("owner_uid")
        if owner_uid:
            stream = stream_id(room_id)
            streams.record_tiktok_stream(self.owners, stream, owner_uid, cid)
            # The room's first rollup may have run before this record (it then keyed the live
            # pointer by the username): point the owner's overlays at it now (decision 060).
            self._point_live(owner_uid, stream)

    async def write_stats(self, force: bool = False) -> None:
        now = time.monotonic()
        for cid, r in list(self.running.items()):
            room = r.session.stats.room_id
            if room and r.recorded_room != room:
                try:
                    await asyncio.to_thread(self._record_room, cid, room)
                    r.recorded_room = room
                except Exception:  # retried at the next loop iteration
                    self.log.warning("could not record the stream of room %s", room, exc_info=True)
            if not force and now - r.last_stats < self.settings.stats_interval_s:
                continue
            r.last_stats = now
            result = await asyncio.to_thread(
                self.leases.fenced_target_update, r.lease, self._fields(r.session)
            )
            if result == "fenced":
                await self._end(cid, release=False, status=None)
            elif result == "gone":
                await self._end(cid, release=True, status=None)

    @staticmethod
    def _fields(session: CreatorSession, status: str | None = None) -> dict[str, Any]:
        snap = session.stats.snapshot(session.stats.events_per_s())
        return {
            "status": status or snap["status"],
            "error": snap["error"],
            "ingest.room_id": snap["room_id"],
            "ingest.stream_id": snap["stream_id"],
            "ingest.stats": snap["stats"],
        }

    async def reap(self) -> None:
        for cid, r in list(self.running.items()):
            if r.task.done():
                failed = r.session.failure is not None
                await self._end(cid, release=True, status="failed" if failed else "stopped")

    async def _end(self, cid: str, release: bool, status: str | None) -> None:
        r = self.running.pop(cid, None)
        if r is None:
            return
        await r.session.stop()
        try:
            await asyncio.wait_for(asyncio.shield(r.task), timeout=self.settings.shutdown_grace_s)
        except Exception:
            self.log.warning("session @%s did not stop cleanly", cid, exc_info=True)
        if status is not None:
            await asyncio.to_thread(
                self.leases.fenced_target_update, r.lease, self._fields(r.session, status)
            )
        if release:
            await asyncio.to_thread(self.leases.release, r.lease)
            if self.draining:  # the reaper may end a session after SIGTERM, before shutdown
                self.released_while_draining += 1

    # ---- shutdown --------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        t0 = time.monotonic()
        grace = self.settings.shutdown_grace_s
        self.draining, self.ready = True, False
        runs = list(self.running.values())
        await asyncio.gather(*(r.session.stop() for r in runs), return_exceptions=True)
        if runs:
            await asyncio.wait([r.task for r in runs], timeout=max(0.1, grace * 0.5))
        try:  # flush what the client still batches
            await asyncio.wait_for(
                self.publisher.close(), timeout=max(0.1, grace * 0.8 - (time.monotonic() - t0))
            )
        except Exception:
            self.log.error("publisher flush did not finish within the grace period")
        for r in runs:
            try:  # within what is left of the grace period: leases expire on their own
                left = max(0.1, grace - (time.monotonic() - t0))
                fields = self._fields(r.session, "stopped")
                await asyncio.wait_for(
                    asyncio.to_thread(self.leases.fenced_target_update, r.lease, fields), left
                )
                left = max(0.1, grace - (time.monotonic() - t0))
                await asyncio.wait_for(asyncio.to_thread(self.leases.release, r.lease), left)
            except Exception:
                self.log.warning("could not release @%s", r.session.creator_id, exc_info=True)
        self.running.clear()
        released = len(runs) + self.released_while_draining
        self.log.info("stopped in %.2fs; %d leases released", time.monotonic() - t0, released)
