"""A local fake of TikTok's servers for the ingest worker, so the real TikTokLive 7.0.1 client runs
its whole path offline: the live page (SIGI_STATE), the room-alive and room-info routes, the
sign server's /webcast/fetch (protobuf ProtoMessageFetchResult, 429 rate limits) and the push
websocket (WebcastPushFrame of gzip-free ProtoMessageFetchResult). Frames are built with
TikTokLiveProto classes, never by hand.

Point the library at it with GIFTENGINE_TIKTOK_APP_URL=fake.app_url,
GIFTENGINE_TIKTOK_WEBCAST_URL=fake.webcast_url, GIFTENGINE_SIGN_API_URL=fake.sign_url.
It runs on its own event loop in a thread; every public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from giftengine.ingest.source import prime_proto_metadata  # noqa: F401  (quirk: prime first)
from TikTokLive.proto import ProtoMessageFetchResult, WebcastPushFrame
from TikTokLiveProto.v3.webcast.im import ControlAction
from TikTokLiveProto.v3.webcast.model import Gift
from TikTokLiveProto.v3.webcast.model.base.user import User
from TikTokLiveProto.v3.webcast.model.message import (
    WebcastChatMessage,
    WebcastControlMessage,
    WebcastGiftMessage,
    WebcastLikeMessage,
    WebcastMemberMessage,
    WebcastRoomUserSeqMessage,
    WebcastSocialMessage,
)
from TikTokLiveProto.v3.webcast.model.message.common import Text
from TikTokLiveProto.v3.webcast.shared.message import BaseProtoMessage, CommonMessageData
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

_ids = itertools.count(7_400_000_000_000_000_000)


# ---- message builders (TikTokLiveProto classes) -------------------------------------------------
def _common(method: str, room_id: int, msg_id: int | None, display_key: str = ""):
    return CommonMessageData(
        method=method,
        msg_id=msg_id or next(_ids),
        room_id=room_id,
        create_time=int(time.time() * 1000),
        display_text=Text(key=display_key) if display_key else None,
    )


def _wrap(method: str, msg) -> BaseProtoMessage:
    return BaseProtoMessage(method=method, payload=bytes(msg))


def viewer(uid: int, handle: str | None = None) -> User:
    return User(id=uid, nickname=f"Viewer {uid}", display_id=handle or f"viewer{uid}")


def gift(
    room_id: int,
    uid: int,
    gift_id: int = 5655,
    name: str = "Rose",
    diamonds: int = 1,
    streakable: bool = True,
    repeat_count: int = 1,
    repeat_end: bool = True,
    group_id: int = 0,
    msg_id: int | None = None,
) -> BaseProtoMessage:
    m = "WebcastGiftMessage"
    return _wrap(
        m,
        WebcastGiftMessage(
            common=_common(m, room_id, msg_id),
            user=viewer(uid),
            gift_id=gift_id,
            gift=Gift(id=gift_id, name=name, diamond_count=diamonds, type=1 if streakable else 2),
            repeat_count=repeat_count,
            repeat_end=1 if repeat_end else 0,
            group_id=group_id,
        ),
    )


def like(room_id: int, uid: int, count: int = 5, msg_id: int | None = None):
    m = "WebcastLikeMessage"
    return _wrap(
        m,
        WebcastLikeMessage(
            common=_common(m, room_id, msg_id), user=viewer(uid), count=count, total=count
        ),
    )


def comment(room_id: int, uid: int, text: str, msg_id: int | None = None):
    m = "WebcastChatMessage"
    return _wrap(
        m, WebcastChatMessage(common=_common(m, room_id, msg_id), user=viewer(uid), content=text)
    )


def follow(room_id: int, uid: int, msg_id: int | None = None):
    m = "WebcastSocialMessage"
    return _wrap(
        m,
        WebcastSocialMessage(
            common=_common(m, room_id, msg_id, "pm_main_follow_message_viewer_2"),
            user=viewer(uid),
            action=1,
            follow_count=1,
        ),
    )


def share(room_id: int, uid: int, msg_id: int | None = None):
    m = "WebcastSocialMessage"
    return _wrap(
        m,
        WebcastSocialMessage(
            common=_common(m, room_id, msg_id, "pm_mt_guidance_share"),
            user=viewer(uid),
            action=3,
            share_count=1,
        ),
    )


def join(room_id: int, uid: int, msg_id: int | None = None):
    m = "WebcastMemberMessage"
    return _wrap(
        m,
        WebcastMemberMessage(common=_common(m, room_id, msg_id), user=viewer(uid), member_count=10),
    )


def viewers(room_id: int, total: int, msg_id: int | None = None):
    m = "WebcastRoomUserSeqMessage"
    return _wrap(
        m,
        WebcastRoomUserSeqMessage(
            common=_common(m, room_id, msg_id), total=total, total_user=total
        ),
    )


def live_end(room_id: int, msg_id: int | None = None):
    m = "WebcastControlMessage"
    return _wrap(
        m,
        WebcastControlMessage(
            common=_common(m, room_id, msg_id), action=ControlAction.STREAM_ENDED
        ),
    )


def msg_id_of(msg: BaseProtoMessage) -> int:
    """The msg_id a builder put in the payload (for expected event ids)."""
    cls = {
        "WebcastGiftMessage": WebcastGiftMessage,
        "WebcastLikeMessage": WebcastLikeMessage,
        "WebcastChatMessage": WebcastChatMessage,
        "WebcastSocialMessage": WebcastSocialMessage,
        "WebcastMemberMessage": WebcastMemberMessage,
        "WebcastRoomUserSeqMessage": WebcastRoomUserSeqMessage,
        "WebcastControlMessage": WebcastControlMessage,
    }[msg.method]
    return cls().parse(msg.payload).common.msg_id


# ---- the fake servers ----------------------------------------------------------------------------
@dataclass
class FakeCreator:
    unique_id: str
    state: str = "offline"  # offline | live | missing | age_restricted | blocked
    room_id: int = 0
    history: list[BaseProtoMessage] = field(default_factory=list)
    replay_last: int = 0  # messages replayed in the first fetch after a (re)connect
    conns: set = field(default_factory=set)
    connects: int = 0
    max_concurrent: int = 0
    page_hits: int = 0


class FakeTikTok:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.creators: dict[str, FakeCreator] = {}
        self.sign_requests = 0
        self.sign_429_left = 0
        self.sign_retry_after_s = 1
        self.sign_times: list[float] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
        self._lock = threading.Lock()

    # lifecycle
    def start(self) -> FakeTikTok:
        self._thread.start()
        self._call(self._start())
        return self

    async def _start(self):
        self._server = await serve(
            self._ws_handler, self.host, self.port, process_request=self._http, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def _stop():
            for c in self.creators.values():
                for ws in list(c.conns):
                    ws.transport.abort()
            self._server.close()
            await self._server.wait_closed()

        self._call(_stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    webcast_url = property(lambda self: f"{self.app_url}/webcast")
    sign_url = property(lambda self: self.app_url)

    def env(self) -> dict[str, str]:
        return {
            "GIFTENGINE_TIKTOK_APP_URL": self.app_url,
            "GIFTENGINE_TIKTOK_WEBCAST_URL": self.webcast_url,
            "GIFTENGINE_SIGN_API_URL": self.sign_url,
        }

    # scenario controls
    def creator(self, unique_id: str) -> FakeCreator:
        with self._lock:
            return self.creators.setdefault(unique_id, FakeCreator(unique_id))

    def set_state(
        self, unique_id: str, state: str, room_id: int | None = None, replay_last: int | None = None
    ) -> FakeCreator:
        c = self.creator(unique_id)
        if room_id is not None and room_id != c.room_id:
            c.room_id, c.history = room_id, []
        if replay_last is not None:
            c.replay_last = replay_last
        c.state = state
        return c

    def push(self, unique_id: str, *msgs: BaseProtoMessage, record: bool = True) -> None:
        """Send one push frame with `msgs` to every open connection of the creator's room."""
        c = self.creator(unique_id)
        if record:
            c.history.extend(msgs)
        frame = WebcastPushFrame(
            payload_type="msg",
            payload_encoding="pb",
            log_id=next(_ids),
            payload=bytes(
                ProtoMessageFetchResult(
                    messages=list(msgs),
                    cursor=str(time.time_ns()),
                    need_ack=True,
                    internal_ext="fake",
                )
            ),
        )

        async def _send():
            for ws in list(c.conns):
                await ws.send(bytes(frame))

        self._call(_send())

    def drop(self, unique_id: str) -> None:
        """Cut every connection of the creator without a close handshake (a network drop)."""
        c = self.creator(unique_id)

        async def _drop():
            for ws in list(c.conns):
                ws.transport.abort()

        self._call(_drop())

    def open_connections(self, unique_id: str) -> int:
        return len(self.creator(unique_id).conns)

    # HTTP routes
    def _json(self, status: int, body: dict, headers: dict | None = None) -> Response:
        return self._resp(status, json.dumps(body).encode(), "application/json", headers)

    @staticmethod
    def _resp(status: int, body: bytes, ctype: str, headers: dict | None = None) -> Response:
        h = Headers(
            {
                "Content-Type": ctype,
                "Content-Length": str(len(body)),
                "Connection": "close",
                **(headers or {}),
            }
        )
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
        return Response(status, reason.get(status, "OK"), h, body)

    def _http(self, connection: ServerConnection, request: Request):
        url = urlsplit(request.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path.startswith("/ws/"):
            room = int(path.rsplit("/", 1)[1])
            c = self._by_room(room)
            if c is None or c.state == "blocked":
                return self._resp(400, b"", "text/plain", {"Handshake-Msg": "blocked by fake"})
            return None  # upgrade to websocket
        if path.startswith("/@") and path.endswith("/live"):
            c = self.creator(path[2:-5])
            c.page_hits += 1
            return self._resp(200, self._live_html(c).encode(), "text/html")
        if path == "/api-live/user/room/":
            c = self.creator(q.get("uniqueId", ""))
            if c.state == "missing":
                return self._json(200, {"message": "user_not_found", "data": {}})
            return self._json(
                200,
                {
                    "message": "",
                    "data": {
                        "user": {"roomId": str(c.room_id)},
                        "liveRoom": {"status": 2 if c.state != "offline" else 4},
                    },
                },
            )
        if path == "/webcast/room/check_alive/":
            ids = [int(x) for x in q.get("room_ids", "0").split(",")]
            return self._json(
                200,
                {
                    "data": [
                        {
                            "alive": bool((c := self._by_room(i)) and c.state != "offline"),
                            "room_id": i,
                        }
                        for i in ids
                    ]
                },
            )
        if path == "/webcast/room/info/":
            c = self._by_room(int(q.get("room_id", "0")))
            if c is not None and c.state == "age_restricted":
                return self._json(200, {"data": {"prompts": "This LIVE is 18+"}})
            return self._json(
                200,
                {
                    "data": {
                        "status": 2,
                        "id_str": q.get("room_id", ""),
                        "owner": {"display_id": c and c.unique_id},
                    }
                },
            )
        if path == "/webcast/fetch":
            return self._sign(q)
        return self._json(404, {"message": f"fake: no route {path}"})

    def _sign(self, q: dict) -> Response:
        self.sign_requests += 1
        self.sign_times.append(time.monotonic())
        if self.sign_429_left > 0:
            self.sign_429_left -= 1
            return self._json(
                429,
                {"message": "Too many connections", "limit_label": "fake"},
                {
                    "RateLimit-Remaining": str(self.sign_retry_after_s),
                    "RateLimit-Reset": str(int(time.time()) + self.sign_retry_after_s),
                },
            )
        c = self._by_room(int(q.get("room_id", "0") or 0))
        if c is None or c.state == "offline":
            return self._json(404, {"message": "room not live"})
        replay = c.history[-c.replay_last :] if c.replay_last else []
        body = bytes(
            ProtoMessageFetchResult(
                messages=list(replay),
                cursor=str(time.time_ns()),
                fetch_interval=1000,
                internal_ext="fake-first",
                is_first=True,
                need_ack=False,
                push_server=f"ws://{self.host}:{self.port}/ws/{c.room_id}",
                route_params={"fake_room": str(c.room_id)},
            )
        )
        return self._resp(
            200, body, "application/protobuf", {"X-Set-TT-Cookie": "ttwid=fake; Path=/"}
        )

    def _by_room(self, room_id: int) -> FakeCreator | None:
        return next((c for c in self.creators.values() if c.room_id == room_id and room_id), None)

    @staticmethod
    def _live_html(c: FakeCreator) -> str:
        if c.state == "missing":
            state: dict = {"AppContext": {}}
        else:
            state = {
                "LiveRoom": {
                    "liveRoomUserInfo": {
                        "user": {
                            "roomId": str(c.room_id),
                            "uniqueId": c.unique_id,
                            "status": 4 if c.state == "offline" else 2,
                        }
                    }
                }
            }
        return (
            '<html><body><script id="SIGI_STATE" type="application/json">'
            f"{json.dumps(state)}</script></body></html>"
        )

    # websocket
    async def _ws_handler(self, ws: ServerConnection) -> None:
        room = int(urlsplit(ws.request.path).path.rsplit("/", 1)[1])
        c = self._by_room(room)
        if c is None:
            await ws.close()
            return
        c.conns.add(ws)
        c.connects += 1
        c.max_concurrent = max(c.max_concurrent, len(c.conns))
        try:
            async for _ in ws:  # im_enter_room, heartbeats and acks from the client
                pass
        except Exception:
            pass
        finally:
            c.conns.discard(ws)
