"""Cloud Run probes: `GET /healthz` (liveness: the event loop answers) and `GET /readyz`
(readiness: first scan done and not draining). A few lines of asyncio; no web framework."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable


class HealthServer:
    def __init__(
        self, port: int, ready: Callable[[], bool], info: Callable[[], dict], host: str = "0.0.0.0"
    ):
        self.port, self.host, self._ready, self._info = port, host, ready, info
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
            while await asyncio.wait_for(reader.readline(), timeout=5) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            parts = line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else "/"
            if path == "/healthz":
                status, body = 200, {"ok": True}
            elif path in ("/readyz", "/ready"):
                ok = self._ready()
                status, body = (200 if ok else 503), {"ready": ok, **self._info()}
            else:
                status, body = 404, {"error": "not_found", "reason": f"no route {path}"}
            data = json.dumps(body, default=str).encode()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
