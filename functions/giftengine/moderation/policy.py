"""Chat settings and who may moderate (pure).

`ChatSettings` (environment) holds the throttles and the strike policy's numbers; what a
message earns is decided in `rules`, what strikes do in `strikes`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from giftengine.domain.access import (  # noqa: F401  (re-exported: the moderation API)
    Actor,
    Forbidden,
    StreamAccess,
    require_stream_moderator,
)


@dataclass(frozen=True)
class ChatSettings:
    # Strikes (strikes.py): a blocked message adds points (rules.py) that halve every
    # `strike_half_life_s`; at `strike_ban_at` points the sender is banned. Bans escalate:
    # the n-th ban in a stream lasts ban_ladder_s[n-1] (the last step repeats); the ladder
    # restarts after `ban_forgive_s` without a ban.
    strike_ban_at: float = 3.0
    strike_half_life_s: float = 3600.0
    ban_ladder_s: tuple[int, ...] = (600, 3600, 86400)
    ban_forgive_s: float = 30 * 86400.0
    max_chars: int = 300
    max_keywords: int = 500
    # Per user per stream: a burst of `user_burst`, then `user_rate` messages per second.
    user_burst: int = 5
    user_rate: float = 0.5
    # Per stream, whole chat: `stream_rate` messages per second over `stream_shards` documents
    # (30 shards: each shard document is written at most about once a second).
    stream_rate: float = 30.0
    stream_burst: int = 60
    stream_shards: int = 30
    # Per client IP (hashed), every chat_api request: the seed's 100 per 15 minutes.
    ip_requests: int = 100
    ip_window_s: float = 900.0
    # App reactions (POST /streams/{s}/reactions, decision 094): per viewer per stream a
    # burst of `reaction_burst`, then `reaction_rate` requests per second (an app batches its
    # taps, one request a second); per client IP their own budget of `reaction_ip_requests`
    # per `ip_window_s` (2 a second on average), instead of the chat's 100.
    reaction_burst: int = 5
    reaction_rate: float = 2.0
    reaction_ip_requests: int = 1800
    # How many X-Forwarded-For entries, counted from the right, were added by trusted proxies
    # (Google's front end adds one in front of Cloud Functions gen2 / Cloud Run).
    trusted_proxy_hops: int = 1

    def __post_init__(self) -> None:
        if min(self.strike_ban_at, self.strike_half_life_s, self.ban_forgive_s) <= 0:
            raise ValueError("strike_ban_at, strike_half_life_s and ban_forgive_s must be > 0")
        if not self.ban_ladder_s or min(self.ban_ladder_s) <= 0:
            raise ValueError("ban_ladder_s needs positive durations")
        if (
            min(
                self.user_burst,
                self.stream_burst,
                self.stream_shards,
                self.ip_requests,
                self.reaction_burst,
                self.reaction_ip_requests,
            )
            < 1
        ):
            raise ValueError("bursts, shards and request counts must be at least 1")
        if self.max_keywords < 200:
            raise ValueError("max_keywords must be at least 200 (TikTok's own limit)")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ChatSettings:
        env = dict(os.environ if env is None else env)
        d = cls()

        def get(name: str, default, conv):
            value = env.get(f"GIFTENGINE_CHAT_{name}")
            return default if value in (None, "") else conv(value)

        return cls(
            strike_ban_at=get("STRIKE_BAN_AT", d.strike_ban_at, float),
            strike_half_life_s=get("STRIKE_HALF_LIFE_S", d.strike_half_life_s, float),
            ban_forgive_s=get("BAN_FORGIVE_S", d.ban_forgive_s, float),
            ban_ladder_s=get(
                "BAN_LADDER_S",
                d.ban_ladder_s,
                lambda v: tuple(int(x) for x in v.split(",") if x.strip()),
            ),
            max_chars=get("MAX_CHARS", d.max_chars, int),
            max_keywords=get("MAX_KEYWORDS", d.max_keywords, int),
            user_burst=get("USER_BURST", d.user_burst, int),
            user_rate=get("USER_RATE", d.user_rate, float),
            stream_rate=get("STREAM_RATE", d.stream_rate, float),
            stream_burst=get("STREAM_BURST", d.stream_burst, int),
            stream_shards=get("STREAM_SHARDS", d.stream_shards, int),
            ip_requests=get("IP_REQUESTS", d.ip_requests, int),
            ip_window_s=get("IP_WINDOW_S", d.ip_window_s, float),
            reaction_burst=get("REACTION_BURST", d.reaction_burst, int),
            reaction_rate=get("REACTION_RATE", d.reaction_rate, float),
            reaction_ip_requests=get("REACTION_IP_REQUESTS", d.reaction_ip_requests, int),
            trusted_proxy_hops=get("TRUSTED_PROXY_HOPS", d.trusted_proxy_hops, int),
        )


# --- roles ---------------------------------------------------------------------------------
# One definition of each role, shared with the rest of the backend: giftengine.domain.access
# (claims count only when `== true`, as in firestore.rules; a stream's creator is the uid in
# its ownership record; creators appoint moderators for their own streams).


def require_moderator(actor: Actor, stream: StreamAccess | str | None) -> str:
    """Returns the role the action is taken in (for the audit log), or raises Forbidden.
    `stream` is the stream's access (owner and appointed moderators) or its creator's uid."""
    if not isinstance(stream, StreamAccess):
        stream = StreamAccess("", stream)
    return require_stream_moderator(actor, stream)


def require_staff(actor: Actor) -> str:
    if actor.admin:
        return "admin"
    if actor.moderator:
        return "moderator"
    raise Forbidden("only moderators and admins may do this")
