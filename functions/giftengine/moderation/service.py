"""Chat and moderation use cases: send, TikTok comments, reports, review queue, keyword
filters, bans, the feed. Each reads like the story: check, decide (policy), record (repo)."""

from __future__ import annotations

import hashlib
import hmac
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from giftengine.moderation import keywords as kw
from giftengine.moderation.bucket import BucketSpec
from giftengine.moderation.policy import (
    Actor,
    ChatSettings,
    Forbidden,
    StreamAccess,
    Verdict,
    ban_duration_s,
    decide,
    require_moderator,
)
from giftengine.moderation.repo import ChatRepo, epoch, ts
from giftengine.moderation.sanitize import InvalidMessage, sanitize
from giftengine.moderation.scoring import Scorer, score
from giftengine.service import streams
from giftengine.service.streams import OwnershipRepo

PUBLIC_FIELDS = ("message_id", "stream_id", "uid", "name", "text", "html", "source", "action",
                 "created_at")
MAX_BAN_S = 30 * 86400


class RateLimited(Exception):
    def __init__(self, scope: str, retry_after_s: float):
        super().__init__(f"too many requests ({scope}); retry in {retry_after_s:.1f} s")
        self.scope, self.retry_after_s = scope, retry_after_s


class Banned(Exception):
    def __init__(self, until: float):
        super().__init__("you are temporarily banned from this chat")
        self.until = until


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


@dataclass
class Deps:
    repo: ChatRepo
    scorer: Scorer
    settings: ChatSettings = field(default_factory=ChatSettings)
    clock: Callable[[], float] = time.time
    shard: Callable[[int], int] = random.randrange
    ip_hash_key: bytes = b"giftengine"
    owners: OwnershipRepo | None = None  # stream ownership records (default: Firestore)

    def ownership(self) -> OwnershipRepo:
        if self.owners is None:
            from giftengine.adapters.ownership import FirestoreOwnership

            self.owners = FirestoreOwnership(self.repo.db)
        return self.owners

    def user_spec(self) -> BucketSpec:
        return BucketSpec(capacity=self.settings.user_burst, rate=self.settings.user_rate)

    def stream_spec(self) -> BucketSpec:
        n = self.settings.stream_shards
        return BucketSpec(capacity=self.settings.stream_burst / n,
                          rate=self.settings.stream_rate / n)


def _access(deps: Deps, stream_id: str) -> StreamAccess:
    """Who holds powers on the stream: its ownership record and the creator's moderators."""
    return streams.stream_access(deps.ownership(), stream_id)


def stream_access(deps: Deps, stream_id: str) -> StreamAccess:
    return _access(deps, stream_id)


def _sha(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _audit(deps: Deps, actor_uid: str, role: str, action: str, stream_id: str | None,
           target_type: str, target_id: str, **details: Any) -> None:
    deps.repo.audit({"at": ts(deps.clock()), "actor_uid": actor_uid, "actor_role": role,
                     "action": action, "stream_id": stream_id, "target_type": target_type,
                     "target_id": target_id, "details": details})


# ---- throttling -------------------------------------------------------------------------
def ip_key(ip: str, key: bytes, now: float) -> str:
    """Keyed hash of the IP, rotating daily: no raw IP is stored, and keys of different days
    cannot be linked."""
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    return hmac.new(key, f"{day}|{ip}".encode(), hashlib.sha256).hexdigest()[:40]


def check_ip(deps: Deps, ip: str) -> None:
    now = deps.clock()
    spec = BucketSpec.per_window(deps.settings.ip_requests, deps.settings.ip_window_s)
    result = deps.repo.take_ip(ip_key(ip, deps.ip_hash_key, now), spec, now)
    if not result.allowed:
        raise RateLimited("ip", result.retry_after_s)


# ---- assessing a message ------------------------------------------------------------------
def assess(deps: Deps, stream_id: str, text: str) -> Verdict:
    entries = deps.repo.keywords(stream_id)
    hit = kw.KeywordFilter.build(entries).match(text) if entries else None
    return decide(score(deps.scorer, text), hit, deps.settings)


def _flag(flag_id: str, stream_id: str, reporter: str, target_type: str, target_id: str,
          reason: str, score_: float | None, action: str, now: float, **extra: Any) -> dict:
    return {"flag_id": flag_id, "stream_id": stream_id, "reporter": reporter,
            "target_type": target_type, "target_id": target_id, "reason": reason,
            "score": score_, "action": action, "status": "pending", "created_at": ts(now),
            "updated_at": ts(now), "resolution": None, "resolved_by": None, **extra}


def _notice(message_id: str, kind: str, reason: str, now: float, **extra: Any) -> dict:
    return {"notice_id": f"{message_id}-{kind}", "type": kind, "message_id": message_id,
            "reason": reason, "at": ts(now), **extra}


# ---- use cases ------------------------------------------------------------------------------
def send(deps: Deps, actor: Actor, stream_id: str, raw_text: str, client_id: str | None,
         name: str) -> tuple[dict, bool]:
    """Post a chat message. Returns (outcome, created). Raises InvalidMessage, Banned,
    RateLimited."""
    clean = sanitize(raw_text, deps.settings.max_chars)
    message_id = _sha(stream_id, actor.uid, client_id) if client_id else uuid.uuid4().hex
    now = deps.clock()
    taken, banned_until = deps.repo.take_user(stream_id, actor.uid, deps.user_spec(), now)
    if taken is None:
        raise Banned(banned_until or now)
    if not taken.allowed:
        raise RateLimited("user", taken.retry_after_s)
    n = deps.settings.stream_shards
    shard = deps.shard(n)
    flood = deps.repo.take_stream(stream_id, shard, deps.stream_spec(), now)
    if not flood.allowed and n > 1:  # one more shard: an unlucky pick is not a flood
        flood = deps.repo.take_stream(stream_id, (shard + 1 + deps.shard(n - 1)) % n,
                                      deps.stream_spec(), now)
    if not flood.allowed:
        raise RateLimited("stream", flood.retry_after_s)

    verdict = assess(deps, stream_id, clean.text)
    message = {"message_id": message_id, "stream_id": stream_id, "uid": actor.uid,
               "name": name, "text": clean.text, "html": clean.html, "source": "app",
               "action": verdict.action, "created_at": ts(now)}
    outcome: dict[str, Any] = {"message_id": message_id, "visible": verdict.visible,
                               "action": verdict.action, "reason": verdict.reason}
    notice = flag = None
    if verdict.action == "warn":
        notice = _notice(message_id, "warning", verdict.reason, now)
    elif not verdict.visible:
        message.update(score=verdict.score, reason=verdict.reason, keyword=verdict.keyword)
        notice = _notice(message_id, "held", verdict.reason, now)
    if verdict.action == "block":
        until, nth = deps.repo.ban(stream_id, actor.uid, now,
                                   lambda n: ban_duration_s(n, deps.settings),
                                   "automatic: blocked message", "system")
        outcome["banned_until"] = ts(until)
        notice = _notice(message_id, "blocked", verdict.reason, now, banned_until=ts(until))
        flag = _flag(f"auto-{message_id}", stream_id, "system", "message", message_id,
                     verdict.reason, verdict.score, "block", now, target_uid=actor.uid,
                     text=clean.text, source="app", ban_number=nth)
        message["flag_id"] = flag["flag_id"]
    if not deps.repo.record(stream_id, message_id, verdict.visible, message, notice, flag):
        return _existing(deps, stream_id, message_id), False
    if flag is not None:
        _audit(deps, "system", "system", "auto_block_and_ban", stream_id, "user", actor.uid,
               message_id=message_id, score=verdict.score, banned_until=outcome["banned_until"])
    return outcome, True


def _existing(deps: Deps, stream_id: str, message_id: str) -> dict:
    found = deps.repo.get_message(stream_id, message_id)
    if found is None:  # created and moved by a moderator in between: report as held
        return {"message_id": message_id, "visible": False, "action": "hold", "reason": ""}
    where, data = found
    return {"message_id": message_id, "visible": where == "visible",
            "action": data.get("action"), "reason": data.get("reason") or ""}


def ingest_comment(deps: Deps, event) -> dict | None:
    """A TikTok comment (EngagementEvent kind=comment): same scoring, but TikTok users cannot
    be banned here; what would be blocked or held is hidden from our overlays and flagged."""
    if event.kind != "comment" or event.user is None:
        return None
    try:
        clean = sanitize(event.text[: deps.settings.max_chars * 2], deps.settings.max_chars)
    except InvalidMessage:
        return None  # nothing displayable
    message_id = "tt-" + _sha(event.event_id)
    now = deps.clock()
    verdict = assess(deps, event.stream_id, clean.text)
    uid = f"tiktok:{event.user.id}"
    message = {"message_id": message_id, "stream_id": event.stream_id, "uid": uid,
               "name": event.user.name or event.user.handle, "text": clean.text,
               "html": clean.html, "source": "tiktok", "action": verdict.action,
               "created_at": ts(now), "occurred_at": event.occurred_at}
    flag = None
    if not verdict.visible:
        message.update(score=verdict.score, reason=verdict.reason, keyword=verdict.keyword,
                       action="hide")
        flag = _flag(f"auto-{message_id}", event.stream_id, "system", "message", message_id,
                     verdict.reason, verdict.score, "hide", now, target_uid=uid,
                     text=clean.text, source="tiktok", keyword=verdict.keyword)
        message["flag_id"] = flag["flag_id"]
    deps.repo.record(event.stream_id, message_id, verdict.visible, message, None, flag)
    return {"message_id": message_id, "visible": verdict.visible, "action": message["action"]}


def report(deps: Deps, actor: Actor, stream_id: str, target_type: str, target_id: str,
           reason: str) -> tuple[dict, bool]:
    """A user report: a pending flag for the review queue (one per reporter and target)."""
    now = deps.clock()
    extra: dict[str, Any] = {"source": "report"}
    score_ = None
    if target_type == "message":
        found = deps.repo.get_message(stream_id, target_id)
        if found is None:
            raise NotFound(f"no message {target_id} in stream {stream_id}")
        _, data = found
        score_ = score(deps.scorer, data.get("text") or "")
        extra.update(target_uid=data.get("uid"), text=data.get("text"))
    elif target_type == "user":
        extra["target_uid"] = target_id
    flag_id = "r-" + _sha(actor.uid, stream_id, target_type, target_id)
    flag = _flag(flag_id, stream_id, actor.uid, target_type, target_id, reason, score_, "none",
                 now, **extra)
    created = deps.repo.create_flag(flag)
    return {"flag_id": flag_id, "status": "pending" if created else "duplicate"}, created


def _flag_for(deps: Deps, actor: Actor, flag_id: str) -> tuple[dict, str]:
    flag = deps.repo.get_flag(flag_id)
    if flag is None:
        raise NotFound(f"no flag {flag_id}")
    role = require_moderator(actor, _access(deps, flag["stream_id"]))
    return flag, role


def list_flags(deps: Deps, actor: Actor, status: str | None, stream_id: str | None,
               limit: int) -> list[dict]:
    if not actor.is_staff:
        if not stream_id:
            raise Forbidden("creators list the flags of one of their streams: pass stream_id")
        require_moderator(actor, _access(deps, stream_id))
    return deps.repo.list_flags(status, stream_id, limit)


def resolve_flag(deps: Deps, actor: Actor, flag_id: str, status: str, note: str) -> dict:
    flag, role = _flag_for(deps, actor, flag_id)
    now = deps.clock()
    fields = {"status": status, "updated_at": ts(now), "resolved_by": actor.uid,
              "resolution": "upheld" if status == "resolved" else None, "note": note}
    deps.repo.update_flag(flag_id, fields)
    _audit(deps, actor.uid, role, f"flag_{status}", flag["stream_id"], "flag", flag_id,
           note=note)
    return {**flag, **fields}


def override_flag(deps: Deps, actor: Actor, flag_id: str, action: str,
                  duration_s: int | None, note: str) -> dict:
    """Change the outcome behind a flag (restore or hide its message, ban or unban its user)
    and resolve it."""
    flag, role = _flag_for(deps, actor, flag_id)
    stream_id, now = flag["stream_id"], deps.clock()
    detail: dict[str, Any] = {}
    if action in ("restore", "hide"):
        if flag["target_type"] != "message":
            raise Conflict(f"{action} applies to message flags")
        if action == "restore":
            found = deps.repo.get_message(stream_id, flag["target_id"])
            if found is None or found[0] != "held":
                raise Conflict("the message is not held")
            moved = deps.repo.move_message(stream_id, flag["target_id"], True, lambda m: {
                **{k: m.get(k) for k in PUBLIC_FIELDS}, "action": "allow"})
        else:
            moved = deps.repo.move_message(stream_id, flag["target_id"], False, lambda m: {
                **m, "action": "hide", "reason": "hidden by a moderator", "flag_id": flag_id,
                "score": flag.get("score")})
        if not moved:
            raise Conflict(f"nothing to {action}: the message is not where it should be")
    else:
        uid = flag.get("target_uid") or (flag["target_id"] if flag["target_type"] == "user"
                                         else None)
        if not uid:
            raise Conflict(f"{action} needs a flag that names a user")
        if action == "unban":
            detail["lifted"] = deps.repo.unban(stream_id, uid, now, actor.uid)
        else:
            until, _ = deps.repo.ban(stream_id, uid, now,
                                     lambda n: duration_s or ban_duration_s(n, deps.settings),
                                     f"flag {flag_id}", actor.uid)
            detail["banned_until"] = ts(until)
        detail["uid"] = uid
    fields = {"status": "resolved", "updated_at": ts(now), "resolved_by": actor.uid,
              "resolution": f"override:{action}", "note": note}
    deps.repo.update_flag(flag_id, fields)
    _audit(deps, actor.uid, role, f"flag_override_{action}", stream_id, "flag", flag_id,
           note=note, **detail)
    return {**flag, **fields, **detail}


def get_keywords(deps: Deps, actor: Actor, stream_id: str) -> dict:
    require_moderator(actor, _access(deps, stream_id))
    return {"stream_id": stream_id, "keywords": deps.repo.keywords(stream_id),
            "max_keywords": deps.settings.max_keywords}


def set_keywords(deps: Deps, actor: Actor, stream_id: str, entries: list[str]) -> dict:
    role = require_moderator(actor, _access(deps, stream_id))
    cleaned = kw.clean_entries(entries, deps.settings.max_keywords)
    deps.repo.set_keywords(stream_id, cleaned, actor.uid, deps.clock())
    _audit(deps, actor.uid, role, "keywords_set", stream_id, "stream", stream_id,
           count=len(cleaned))
    return {"stream_id": stream_id, "keywords": cleaned,
            "max_keywords": deps.settings.max_keywords}


def ban_user(deps: Deps, actor: Actor, stream_id: str, uid: str, duration_s: int | None,
             reason: str) -> dict:
    role = require_moderator(actor, _access(deps, stream_id))
    now = deps.clock()
    until, nth = deps.repo.ban(stream_id, uid, now,
                               lambda n: duration_s or ban_duration_s(n, deps.settings),
                               reason or "banned by a moderator", actor.uid)
    deps.repo.add_notice(stream_id, uid, _notice(uuid.uuid4().hex, "banned", reason, now,
                                                 banned_until=ts(until)))
    _audit(deps, actor.uid, role, "ban", stream_id, "user", uid, reason=reason,
           banned_until=ts(until), ban_number=nth)
    return {"stream_id": stream_id, "uid": uid, "banned_until": ts(until), "ban_number": nth}


def unban_user(deps: Deps, actor: Actor, stream_id: str, uid: str) -> dict:
    role = require_moderator(actor, _access(deps, stream_id))
    lifted = deps.repo.unban(stream_id, uid, deps.clock(), actor.uid)
    _audit(deps, actor.uid, role, "unban", stream_id, "user", uid, lifted=lifted)
    return {"stream_id": stream_id, "uid": uid, "lifted": lifted}


def list_bans(deps: Deps, actor: Actor, stream_id: str) -> list[dict]:
    require_moderator(actor, _access(deps, stream_id))
    now = deps.clock()
    return [{"uid": b["uid"], "banned_until": b.get("banned_until"),
             "reason": b.get("ban_reason"), "banned_by": b.get("banned_by"),
             "ban_count": b.get("ban_count", 0)}
            for b in deps.repo.active_bans(stream_id, now)]


def feed(deps: Deps, stream_id: str, include_held: bool, limit: int = 50) -> dict:
    """The chat as clients read it: visible messages (public fields only), newest first; for
    moderators also the held ones with score, action and reason."""
    visible = [{k: m.get(k) for k in PUBLIC_FIELDS} for m in
               deps.repo.list_messages(stream_id, False, limit)]
    out: dict[str, Any] = {"stream_id": stream_id, "messages": visible}
    if include_held:
        out["held"] = [{**{k: m.get(k) for k in PUBLIC_FIELDS},
                        "score": m.get("score"), "reason": m.get("reason"),
                        "keyword": m.get("keyword"), "flag_id": m.get("flag_id")}
                       for m in deps.repo.list_messages(stream_id, True, limit)]
    return out


def is_banned(deps: Deps, stream_id: str, uid: str) -> float | None:
    until = epoch(deps.repo.chat_user(stream_id, uid).get("banned_until"))
    return until if until is not None and until > deps.clock() else None
