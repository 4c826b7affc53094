"""Browser tests of the overlay and dashboard against the local cloud (`cloud` fixture).

The apps are served by the stack itself (`dev up` lists them as endpoints "overlay" and
"dashboard"); against a stack started without them (an older reused stack) they are built and
served here, in threads, with the same server and settings.
Screenshots go to artifacts/web/.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from giftengine.devcloud.layout import HOST, ROOT
from giftengine.webclients import build, component, server
from giftengine.webclients.browser import Browser, unavailable_reason

ARTIFACTS = ROOT / "artifacts" / "web"
FALLBACK_PORTS = {"overlay": 9990, "dashboard": 9991}


@pytest.fixture(scope="session")
def web(cloud) -> dict[str, str]:
    """{"overlay": url, "dashboard": url} of the running web clients."""
    eps = cloud["endpoints"]
    if "overlay" in eps and "dashboard" in eps:
        yield {"overlay": eps["overlay"], "dashboard": eps["dashboard"]}
        return
    try:
        dist = build.ensure_built()
    except build.BuildError as e:
        pytest.fail(f"the web clients do not build: {e}")
    urls = {app: f"http://{HOST}:{port}/" for app, port in FALLBACK_PORTS.items()}
    servers = []
    for app, port in FALLBACK_PORTS.items():
        s = component.settings(
            app, HOST, port, project_id=cloud["project_id"], emulators=cloud["emulators"],
            endpoints=eps, urls=urls, openapi=Path(cloud["openapi"]), dist=dist,
        )
        httpd = server.ThreadingHTTPServer(
            (HOST, port), server.make_handler(app, dist, s["config"], s["upstreams"])
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
    yield urls
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"browser tests need headless Chromium: {reason}")
    with Browser() as b:
        yield b


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")  # test output, never committed
    return ARTIFACTS
