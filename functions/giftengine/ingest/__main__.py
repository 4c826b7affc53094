"""Container entry point (infra/Dockerfile): `python -m giftengine.ingest`."""

from __future__ import annotations

import asyncio
import signal
import sys

from giftengine import config
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.pubsub import EventPublisher
from giftengine.ingest import logs
from giftengine.ingest.health import HealthServer
from giftengine.ingest.publisher import AsyncPublisher
from giftengine.ingest.settings import load
from giftengine.ingest.source import configure_endpoints
from giftengine.ingest.worker import Worker


async def serve() -> None:
    settings = load()
    project = config.load().project_id
    configure_endpoints(settings)
    publisher = AsyncPublisher(EventPublisher(project), settings.publish_max_events)
    worker = Worker(settings, firestore_client(project), publisher)
    health = HealthServer(settings.port, lambda: worker.ready, worker.info)
    await health.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.request_stop)
    try:
        await worker.run()
    finally:
        await health.stop()


def main() -> int:
    import os

    logs.setup(config.load().project_id, os.environ.get("GIFTENGINE_LOG_LEVEL", "INFO"))
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
