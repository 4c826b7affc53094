"""Container entry point (infra/Dockerfile): `python -m giftengine.ingest`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading

from giftengine import bootstrap
from giftengine.ingest import logs
from giftengine.ingest.health import HealthServer


async def serve() -> None:
    worker = bootstrap.ingest_worker()
    health = HealthServer(bootstrap.settings().ingest.port, lambda: worker.ready, worker.info)
    await health.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.request_stop)
    try:
        await worker.run()
    finally:
        await health.stop()


def main() -> int:
    s = bootstrap.settings()
    logs.setup(s.project_id, s.log_level)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(serve())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()  # does not wait for the executor's threads (asyncio.run would)
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        # A Firestore or Pub/Sub call still blocked in a thread (the database unreachable)
        # would hold the exit until the platform's SIGKILL: the worker has drained within
        # its grace period, so leave now, logs flushed.
        logging.shutdown()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
