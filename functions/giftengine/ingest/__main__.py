"""Container entry point (infra/Dockerfile): `python -m giftengine.ingest`."""

from __future__ import annotations

import asyncio
import signal
import sys

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
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
