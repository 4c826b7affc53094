"""The TikTokLive adapter: opens one connection to one creator's LIVE and hands every decoded
event to a callback. TikTok's protocol (room lookup, signing, websocket frames, protobuf) is
entirely the library's; this module only configures it and classifies its failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
from TikTokLive.client.client import TikTokLiveClient
from TikTokLive.client.errors import (
    AgeRestrictedError,
    SignatureRateLimitError,
    UserNotFoundError,
    UserOfflineError,
    WebcastBlockedError,
)
from TikTokLive.client.web.web_settings import WebDefaults
from TikTokLive.events import ConnectEvent, DisconnectEvent, LiveEndEvent

from giftengine.ingest import normalize
from giftengine.ingest.model import Failure
from giftengine.ingest.settings import IngestSettings

log = logging.getLogger("giftengine.ingest.source")


def prime_proto_metadata() -> None:
    """TikTokLive 7.0.1 quirk: the event classes' proto metadata must be built before the plain
    Webcast*Message classes are used, or ExtendedUser/ExtendedGift fields (display_id, gift
    type) do not decode. Parsing an empty payload once per class builds it."""
    for cls in (*normalize.HANDLED, LiveEndEvent):
        cls().parse(b"")


prime_proto_metadata()


def classify(exc: BaseException, rate_limit_default_s: float = 60.0) -> Failure:
    reason = str(exc)[:500]
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, UserOfflineError):
        return Failure("offline", "offline", "the creator is not LIVE")
    if isinstance(exc, UserNotFoundError):
        return Failure(
            "permanent", "user_not_found", "TikTok has no LIVE-capable account with this username"
        )
    if isinstance(exc, AgeRestrictedError):
        return Failure(
            "permanent",
            "age_restricted",
            "the LIVE is age restricted and cannot be read anonymously",
        )
    if isinstance(exc, WebcastBlockedError):
        return Failure("permanent", "blocked", reason)
    if isinstance(exc, SignatureRateLimitError):
        try:
            retry = float(exc.retry_after)
        except Exception:  # header missing or malformed
            retry = rate_limit_default_s
        return Failure(
            "rate_limited",
            "sign_rate_limited",
            reason,
            retry if retry > 0 else rate_limit_default_s,
        )
    if isinstance(exc, TypeError) and _from_rate_limit_error(exc):
        # TikTokLive builds SignatureRateLimitError from the RateLimit-Remaining header and
        # raises TypeError (int(None)) when the sign server leaves it out: still a 429.
        return Failure(
            "rate_limited",
            "sign_rate_limited",
            "sign server answered 429 without RateLimit-Remaining",
            rate_limit_default_s,
        )
    return Failure("transient", type(exc).__name__, reason)


def _from_rate_limit_error(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "calculate_retry_after":
            return True
        tb = tb.tb_next
    return False


def configure_endpoints(settings: IngestSettings) -> None:
    """Point the library at other TikTok hosts (a local fake in tests). Process-wide."""
    if settings.tiktok_app_url:
        WebDefaults.tiktok_app_url = settings.tiktok_app_url.rstrip("/")
    if settings.tiktok_webcast_url:
        WebDefaults.tiktok_webcast_url = settings.tiktok_webcast_url.rstrip("/")


EventSink = Callable[[Any, int], None]  # (TikTokLive event, room_id)

# One TLS context for every creator's HTTP client: httpx would build (and load the CA bundle
# into) a new one per client, about half of a followed creator's memory.
_TLS = None


def _tls_context():
    global _TLS
    if _TLS is None:
        import ssl

        import certifi

        _TLS = ssl.create_default_context(cafile=certifi.where())
    return _TLS


class Connection:
    """One TikTokLive client for one connection attempt (the library allows one connect per
    client). `open` raises Failure; `wait` returns "ended" (LIVE ended) or "dropped"."""

    def __init__(self, unique_id: str, settings: IngestSettings, sink: EventSink):
        self.unique_id = unique_id
        self._settings = settings
        self._sink = sink
        self.ended = False
        self.room_id: int | None = None
        self._task: asyncio.Task | None = None
        self.client = TikTokLiveClient(
            unique_id,
            web_kwargs={
                "httpx_kwargs": {"timeout": httpx.Timeout(15.0), "verify": _tls_context()},
                "signer_kwargs": {
                    "sign_api_key": settings.sign_api_key,
                    "sign_api_base": settings.sign_api_url,
                },
            },
        )
        self.client.ignore_broken_payload = False
        for cls in normalize.HANDLED:
            self.client.add_listener(cls, self._on_event)
        self.client.add_listener(ConnectEvent, self._on_connect)
        self.client.add_listener(DisconnectEvent, self._on_disconnect)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, LiveEndEvent):
            self.ended = True
        room = self.room_id or self.client.room_id
        if room:
            self._sink(event, int(room))

    def _on_connect(self, event: ConnectEvent) -> None:
        self.room_id = int(event.room_id)

    def _on_disconnect(self, event: DisconnectEvent) -> None:
        log.debug("disconnected from @%s", self.unique_id)

    async def open(self) -> int:
        try:
            self._task = await self.client.start(
                fetch_room_info=self._settings.fetch_room_info, process_connect_events=True
            )
        except Exception as exc:  # every library failure is classified, none escapes raw
            await self.close()
            raise classify(exc, self._settings.rate_limit_default_s) from exc
        self.room_id = int(self.client.room_id or 0)
        return self.room_id

    async def wait(self) -> str:
        assert self._task is not None
        try:
            await self._task
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a drop: websockets raises ConnectionClosedError
            failure = classify(exc, self._settings.rate_limit_default_s)
            if failure.kind == "permanent":  # e.g. the websocket handshake was refused (blocked)
                raise failure from exc
            log.info("connection to @%s dropped: %s", self.unique_id, type(exc).__name__)
        return "ended" if self.ended else "dropped"

    async def close(self) -> None:
        # Not disconnect(close_client=True): 7.0.1's close() runs the loop synchronously and
        # fails inside a running loop. Close the HTTP clients ourselves instead.
        try:
            await self.client.disconnect()
            await self.client.web.close()
            await self.client.web.signer.client.aclose()
        except Exception:  # closing a half-open client must never fail the caller
            log.debug("error closing client for @%s", self.unique_id, exc_info=True)
