"""Ingest worker settings, read once from the environment (docs/ingest.md lists them).

Production sets them on the Cloud Run service; the sign-server API key comes from Secret
Manager as the `TIKTOK_SIGN_API_KEY` environment variable. Tests shorten every interval.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value in (None, "") else value


@dataclass(frozen=True)
class IngestSettings:
    instance_id: str
    port: int = 8080
    max_creators: int = 50
    # Leases: a crashed instance's creators are free after `lease_ttl_s`, and another instance
    # picks them up within `lease_ttl_s + scan_interval_s`.
    lease_ttl_s: float = 30.0
    heartbeat_interval_s: float = 10.0
    scan_interval_s: float = 10.0
    # Connection life
    poll_interval_s: float = 60.0  # wait-until-live polling of an offline creator
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    rate_limit_default_s: float = 60.0  # when the sign server gives no retry hint
    stable_after_s: float = 30.0  # a connection up this long resets the backoff
    # Exactly once: message ids remembered per creator across reconnects
    dedupe_window: int = 5_000
    # Observability and shutdown
    stats_interval_s: float = 5.0
    shutdown_grace_s: float = 8.0  # Cloud Run sends SIGKILL 10 s after SIGTERM
    publish_batch: int = 500  # events taken from a session's queue per publish round
    # Batch messages (docs/decisions/004): up to `publish_max_events` events of a stream per
    # message; a busy stream's events gather for up to `publish_linger_ms` after its last
    # message, a quiet stream's event goes at once.
    publish_max_events: int = 100
    publish_linger_ms: float = 250.0
    # TikTok endpoints (overridable for local fakes); None = the library's defaults
    tiktok_app_url: str | None = None
    tiktok_webcast_url: str | None = None
    sign_api_url: str | None = None
    sign_api_key: str | None = None
    fetch_room_info: bool = True  # needed to tell an age-restricted LIVE apart


def load() -> IngestSettings:
    f = float
    return IngestSettings(
        instance_id=_env(
            "GIFTENGINE_INGEST_INSTANCE", f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        ),
        port=int(_env("PORT", "8080")),
        max_creators=int(_env("GIFTENGINE_INGEST_MAX_CREATORS", "50")),
        lease_ttl_s=f(_env("GIFTENGINE_INGEST_LEASE_TTL_S", "30")),
        heartbeat_interval_s=f(_env("GIFTENGINE_INGEST_HEARTBEAT_S", "10")),
        scan_interval_s=f(_env("GIFTENGINE_INGEST_SCAN_S", "10")),
        poll_interval_s=f(_env("GIFTENGINE_INGEST_POLL_S", "60")),
        backoff_base_s=f(_env("GIFTENGINE_INGEST_BACKOFF_BASE_S", "2")),
        backoff_max_s=f(_env("GIFTENGINE_INGEST_BACKOFF_MAX_S", "300")),
        rate_limit_default_s=f(_env("GIFTENGINE_INGEST_RATE_LIMIT_S", "60")),
        stable_after_s=f(_env("GIFTENGINE_INGEST_STABLE_AFTER_S", "30")),
        dedupe_window=int(_env("GIFTENGINE_INGEST_DEDUPE_WINDOW", "5000")),
        stats_interval_s=f(_env("GIFTENGINE_INGEST_STATS_S", "5")),
        shutdown_grace_s=f(_env("GIFTENGINE_INGEST_SHUTDOWN_GRACE_S", "8")),
        publish_batch=int(_env("GIFTENGINE_INGEST_PUBLISH_BATCH", "500")),
        publish_max_events=int(_env("GIFTENGINE_PUBLISH_MAX_EVENTS", "100")),
        publish_linger_ms=f(_env("GIFTENGINE_PUBLISH_LINGER_MS", "250")),
        tiktok_app_url=os.environ.get("GIFTENGINE_TIKTOK_APP_URL") or None,
        tiktok_webcast_url=os.environ.get("GIFTENGINE_TIKTOK_WEBCAST_URL") or None,
        sign_api_url=os.environ.get("GIFTENGINE_SIGN_API_URL") or None,
        sign_api_key=(
            os.environ.get("TIKTOK_SIGN_API_KEY") or os.environ.get("SIGN_API_KEY") or None
        ),
        fetch_room_info=_env("GIFTENGINE_INGEST_FETCH_ROOM_INFO", "1") not in ("0", "false"),
    )
