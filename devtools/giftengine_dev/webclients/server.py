"""A small static server for one web client, plus its runtime config and an API proxy.

    GET /                 -> dist/<app>/index.html (the app's page; query strings pass through)
    GET /assets/...       -> the built, hashed assets (cached for a year)
    GET /config.json      -> the app's runtime config (emulator hosts, project id, functions)
    *   /fn/<name>/<path> -> the function <name>'s endpoint + /<path> (same origin: the
                             functions send no CORS headers, so the dashboard calls them here)

Local only (`giftengine dev up`); in production the same dist/ is hosted on Firebase Hosting
with a config.json and rewrites to the functions (docs/web-clients.md).
"""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

APPS = ("overlay", "dashboard")
MAX_BODY = 1_000_000
PROXY_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept")
PROXY_RESPONSE_HEADERS = ("Content-Type", "Retry-After", "Location")
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def public_config(
    project_id: str,
    emulators: dict[str, str] | None,
    functions: dict[str, str],
    overlay_url: str | None,
    dashboard_url: str | None,
    firebase: dict | None = None,
) -> dict:
    """What /config.json answers: everything the browser needs, nothing it must not see."""
    return {
        "projectId": project_id,
        "firebase": firebase,
        "emulators": emulators,
        "functions": {name: f"/fn/{name}" for name in sorted(functions)},
        "overlayUrl": overlay_url,
        "dashboardUrl": dashboard_url,
    }


def make_handler(app: str, dist: Path, config: dict, upstreams: dict[str, str]):
    if app not in APPS:
        raise ValueError(f"app must be one of {APPS}")
    dist = dist.resolve()
    config_body = json.dumps(config).encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "giftengine-web"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # one line per request in the component's log
            print(f"{self.address_string()} {fmt % args}", flush=True)

        # ---- responses
        def _send(self, code: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, code: int, error: str, reason: str) -> None:
            body = json.dumps({"error": error, "reason": reason}).encode()
            self._send(code, body, "application/json")

        # ---- static
        def _static(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if path == "/config.json":
                return self._send(
                    200, config_body, "application/json", {"Cache-Control": "no-store"}
                )
            if path in ("/", "/index.html", f"/{app}", f"/{app}/"):
                path = f"/{app}/index.html"
            target = (dist / path.lstrip("/")).resolve()
            if not target.is_relative_to(dist) or not target.is_file():
                return self._error(404, "not_found", f"no such file: {path}")
            ctype = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
            cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
            self._send(
                200,
                target.read_bytes(),
                ctype or "application/octet-stream",
                {"Cache-Control": cache},
            )

        # ---- proxy
        def _proxy(self) -> None:
            parts = urlsplit(self.path)
            _, _, name, *rest = parts.path.split("/", 3)
            base = upstreams.get(name)
            if not base:
                return self._error(404, "not_available", f"function {name!r} is not available")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._error(413, "too_large", f"body over {MAX_BODY} bytes")
            body = self.rfile.read(length) if length else None
            url = f"{base.rstrip('/')}/{rest[0] if rest else ''}"
            if parts.query:
                url += f"?{parts.query}"
            headers = {h: self.headers[h] for h in PROXY_REQUEST_HEADERS if self.headers.get(h)}
            req = urllib.request.Request(url, data=body, method=self.command, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - local URL
                    code, data, got = resp.status, resp.read(), resp.headers
            except urllib.error.HTTPError as e:
                code, data, got = e.code, e.read(), e.headers
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                return self._error(502, "upstream_unreachable", f"{name}: {e}")
            extra = {h: got[h] for h in PROXY_RESPONSE_HEADERS[1:] if got.get(h)}
            self._send(code, data, got.get("Content-Type") or "application/octet-stream", extra)

        def _route(self) -> None:
            if self.path.startswith("/fn/"):
                return self._proxy()
            if self.command not in ("GET", "HEAD"):
                return self._error(405, "method_not_allowed", f"{self.command} on a static file")
            return self._static()

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _route

    return Handler


def serve(app: str, host: str, port: int, dist: Path, config: dict, upstreams: dict[str, str]):
    httpd = ThreadingHTTPServer((host, port), make_handler(app, dist, config, upstreams))
    httpd.daemon_threads = True
    print(f"giftengine web: {app} on http://{host}:{port}/ from {dist}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
