"""Moderation decisions and who may make them (pure).

Thresholds and ban durations come from `ChatSettings` (environment), with the seed values
as defaults: score >= 0.6 warns the sender, score >= 0.9 blocks the message and bans the
sender for a while. A creator keyword hit holds the message back without a ban.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from giftengine.domain.access import (  # noqa: F401  (re-exported: the moderation API)
    Actor,
    Forbidden,
    StreamAccess,
    require_stream_moderator,
)

Action = Literal["allow", "warn", "hold", "block"]


@dataclass(frozen=True)
class ChatSettings:
    warn_threshold: float = 0.6
    block_threshold: float = 0.9
    # Temporary bans escalate: the n-th automatic ban in a stream lasts ban_ladder_s[n-1]
    # (the last step repeats).
    ban_ladder_s: tuple[int, ...] = (600, 3600, 86400)
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
    # How many X-Forwarded-For entries, counted from the right, were added by trusted proxies
    # (Google's front end adds one in front of Cloud Functions gen2 / Cloud Run).
    trusted_proxy_hops: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.warn_threshold <= self.block_threshold <= 1.0:
            raise ValueError("need 0 < warn_threshold <= block_threshold <= 1")
        if not self.ban_ladder_s or min(self.ban_ladder_s) <= 0:
            raise ValueError("ban_ladder_s needs positive durations")
        if min(self.user_burst, self.stream_burst, self.stream_shards, self.ip_requests) < 1:
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
            warn_threshold=get("WARN_THRESHOLD", d.warn_threshold, float),
            block_threshold=get("BLOCK_THRESHOLD", d.block_threshold, float),
            ban_ladder_s=get("BAN_LADDER_S", d.ban_ladder_s,
                             lambda v: tuple(int(x) for x in v.split(",") if x.strip())),
            max_chars=get("MAX_CHARS", d.max_chars, int),
            max_keywords=get("MAX_KEYWORDS", d.max_keywords, int),
            user_burst=get("USER_BURST", d.user_burst, int),
            user_rate=get("USER_RATE", d.user_rate, float),
            stream_rate=get("STREAM_RATE", d.stream_rate, float),
            stream_burst=get("STREAM_BURST", d.stream_burst, int),
            stream_shards=get("STREAM_SHARDS", d.stream_shards, int),
            ip_requests=get("IP_REQUESTS", d.ip_requests, int),
            ip_window_s=get("IP_WINDOW_S", d.ip_window_s, float),
            trusted_proxy_hops=get("TRUSTED_PROXY_HOPS", d.trusted_proxy_hops, int),
        )


@dataclass(frozen=True)
class Verdict:
    action: Action
    score: float
    reason: str  # "" when allowed; shown to the sender when held or warned
    keyword: str | None = None

    @property
    def visible(self) -> bool:
        return self.action in ("allow", "warn")


def decide(score: float, keyword: str | None, s: ChatSettings) -> Verdict:
    if score >= s.block_threshold:
        return Verdict("block", score, "message blocked: abusive or profane language", keyword)
    if keyword is not None:
        return Verdict("hold", score, "message held: it matches this stream's keyword filter",
                       keyword)
    if score >= s.warn_threshold:
        return Verdict("warn", score, "warning: please keep the chat friendly")
    return Verdict("allow", score, "")


def ban_duration_s(prior_bans: int, s: ChatSettings) -> int:
    return s.ban_ladder_s[min(max(prior_bans, 0), len(s.ban_ladder_s) - 1)]


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


def can_moderate(actor: Actor, stream: StreamAccess | str | None) -> bool:
    try:
        require_moderator(actor, stream)
    except Forbidden:
        return False
    return True


def require_staff(actor: Actor) -> str:
    if actor.admin:
        return "admin"
    if actor.moderator:
        return "moderator"
    raise Forbidden("only moderators and admins may do this")
