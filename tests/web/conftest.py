"""Browser tests of the overlay and dashboard against the local cloud (`cloud` fixture).

The apps are served by the stack itself (`dev up` lists them as endpoints "overlay" and
"dashboard"); against a stack started without them (an older reused stack) they are built and
served here, in threads, with the same server and settings.
Screenshots go to artifacts/web/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent
from giftengine_dev.devcloud.layout import HOST, ROOT
from giftengine_dev.webclients import build, component
from giftengine_dev.webclients.browser import Browser, unavailable_reason

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
        urls, servers = component.serve_in_threads(cloud, HOST, FALLBACK_PORTS)
    except build.BuildError as e:
        pytest.fail(f"the web clients do not build: {e}")
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


@pytest.fixture(autouse=True)
def _close_pages_after_each_test(request):
    """Every browser test starts with no page left open by an earlier one (Browser.close_pages:
    open pages' listener connections would starve the next pages' listeners)."""
    yield
    if "browser" in request.fixturenames:
        request.getfixturevalue("browser").close_pages()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")  # test output, never committed
    return ARTIFACTS


@pytest.fixture
def publish(cloud):
    p = EventPublisher(cloud["project_id"])

    def send(*events: dict) -> None:
        p.publish_all([EngagementEvent.model_validate(e) for e in events])

    yield send
    p.close()


def event(stream_id, event_id, user, name=None, kind="gift", creator=None, **gift_args):
    e = {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream_id,
        "kind": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "user": {"id": user, "handle": f"@{user}", "name": name or user.title()},
    }
    if creator:
        e["creator_id"] = creator
    if kind == "gift":
        e["gift"] = {
            "id": gift_args.get("gift_id", "5655"),
            "name": gift_args.get("gift_name", "Rose"),
            "coins": gift_args.get("coins", 1),
            "streakable": gift_args.get("streakable", False),
        }
        e["repeat_count"] = gift_args.get("count", 1)
        e["repeat_end"] = gift_args.get("end", True)
        e["group_id"] = gift_args.get("group", "")
    return e
