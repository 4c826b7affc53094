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

from giftengine.domain.events import EngagementEvent
from giftengine.moderation import chat_log, reactions, strikes
from giftengine.moderation import keywords as kw
from giftengine.moderation.bucket import BucketSpec
from giftengine.moderation.classify import CATEGORIES, classify, worst
from giftengine.moderation.policy import (
    Actor,
    ChatSettings,
    Forbidden,
    StreamAccess,
    require_moderator,
)
from giftengine.moderation.rules import ACTIONS, LEVELS, ModerationConfig, Verdict, decide
from giftengine.moderation.sanitize import InvalidMessage, sanitize
from giftengine.moderation.store import ChatStore, OutboxWrite, StandingWrite, ts
from giftengine.service import outbox as outbox_mod
from giftengine.service import streams
from giftengine.service.streams import OwnershipRepo

PUBLIC_FIELDS = (
    "message_id",
    "stream_id",
    "uid",
    "name",
    "text",
    "html",
    "source",
    "action",
    "created_at",
)
# What moderators see beside a held message and in its flag: why it was held.
WHY_FIELDS = ("category", "score", "term", "reason", "keyword")
MAX_BAN_S = 30 * 86400
# A standing write loses to a concurrent write on the same user: read again, decide again.
STANDING_ATTEMPTS = 5


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


class Unavailable(Exception):
    """A dependency failed (the event could not be published): retry with the same key."""


@dataclass
class Deps:
    repo: ChatStore
    owners: OwnershipRepo  # stream ownership records and creators' moderators
    settings: ChatSettings = field(default_factory=ChatSettings)
    clock: Callable[[], float] = time.time
    shard: Callable[[int], int] = random.randrange
    ip_hash_key: bytes = b"giftengine"
    # Visible app messages go to the stream's event log through it (chat_log, decision 092);
    # None: moderation alone, nothing published (tests of the chat rules).
    outbox: outbox_mod.Outbox | None = None
    # App reactions' like events go straight to the topic (no outbox: decision 094).
    publish: Callable[[EngagementEvent], None] | None = None

    def user_spec(self) -> BucketSpec:
        return BucketSpec(capacity=self.settings.user_burst, rate=self.settings.user_rate)

    def reaction_spec(self) -> BucketSpec:
        s = self.settings
        return BucketSpec(capacity=s.reaction_burst, rate=s.reaction_rate)

    def strike_policy(self) -> strikes.StrikePolicy:
        s = self.settings
        return strikes.StrikePolicy(
            ban_at=s.strike_ban_at,
            half_life_s=s.strike_half_life_s,
            ban_ladder_s=s.ban_ladder_s,
            forgive_after_s=s.ban_forgive_s,
        )

    def stream_spec(self) -> BucketSpec:
        n = self.settings.stream_shards
        return BucketSpec(
            capacity=self.settings.stream_burst / n, rate=self.settings.stream_rate / n
        )


def _access(deps: Deps, stream_id: str) -> StreamAccess:
    """Who holds powers on the stream: its ownership record and the creator's moderators."""
    return streams.stream_access(deps.owners, stream_id)


def stream_access(deps: Deps, stream_id: str) -> StreamAccess:
    return _access(deps, stream_id)


def _sha(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _audit(
    deps: Deps,
    actor_uid: str,
    role: str,
    action: str,
    stream_id: str | None,
    target_type: str,
    target_id: str,
    **details: Any,
) -> None:
    deps.repo.audit(
        {
            "at": ts(deps.clock()),
            "actor_uid": actor_uid,
            "actor_role": role,
            "action": action,
            "stream_id": stream_id,
            "target_type": target_type,
            "target_id": target_id,
            "details": details,
        }
    )


# ---- throttling -------------------------------------------------------------------------
def ip_key(ip: str, key: bytes, now: float) -> str:
    """Keyed hash of the IP, rotating daily: no raw IP is stored, and keys of different days
    cannot be linked."""
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    return hmac.new(key, f"{day}|{ip}".encode(), hashlib.sha256).hexdigest()[:40]


def check_ip(deps: Deps, ip: str, reactions: bool = False) -> None:
    """The per-IP limiter: the chat's budget, or the reactions' own (`reactions`) on a
    bucket of its own, so taps never spend the chat's 100 requests."""
    now = deps.clock()
    s = deps.settings
    count = s.reaction_ip_requests if reactions else s.ip_requests
    spec = BucketSpec.per_window(count, s.ip_window_s)
    key = ip_key(ip, deps.ip_hash_key, now)
    result = deps.repo.take_ip(f"reactions-{key}" if reactions else key, spec, now)
    if not result.allowed:
        raise RateLimited("ip", result.retry_after_s)


# ---- assessing a message ------------------------------------------------------------------
def assess(deps: Deps, stream_id: str, text: str) -> Verdict:
    entries, config = deps.repo.stream_rules(stream_id)
    hit = kw.KeywordFilter.build(entries).match(text) if entries else None
    return decide(classify(text), hit, ModerationConfig.from_doc(config))


def _why(verdict: Verdict) -> dict[str, Any]:
    return {
        "category": verdict.category,
        "score": verdict.score,
        "term": verdict.term,
        "reason": verdict.reason,
        "keyword": verdict.keyword,
    }


def _flag(
    flag_id: str,
    stream_id: str,
    reporter: str,
    target_type: str,
    target_id: str,
    reason: str,
    score_: float | None,
    action: str,
    now: float,
    **extra: Any,
) -> dict:
    return {
        "flag_id": flag_id,
        "stream_id": stream_id,
        "reporter": reporter,
        "target_type": target_type,
        "target_id": target_id,
        "reason": reason,
        "score": score_,
        "action": action,
        "status": "pending",
        "created_at": ts(now),
        "updated_at": ts(now),
        "resolution": None,
        "resolved_by": None,
        **extra,
    }


def _notice(message_id: str, kind: str, reason: str, now: float, **extra: Any) -> dict:
    return {
        "notice_id": f"{message_id}-{kind}",
        "type": kind,
        "message_id": message_id,
        "reason": reason,
        "at": ts(now),
        **extra,
    }


def _log_entry(
    deps: Deps, message: dict, visible: bool, creator_id: Callable[[], str | None]
) -> OutboxWrite | None:
    """The outbox entry that puts `message` in its stream's event log, if it enters it."""
    if deps.outbox is None or not chat_log.enters_log(message, visible):
        return None
    event = chat_log.comment_event(message, creator_id())
    now = deps.clock()
    doc = outbox_mod.entry(
        event,
        now,
        stream_id=message["stream_id"],
        expire_at=ts(now + chat_log.OUTBOX_RETENTION_S),
    )
    return OutboxWrite(deps.outbox.path(message["message_id"]), doc)


def _publish(deps: Deps, message_id: str, entry: OutboxWrite | None) -> None:
    """After the commit: publish the entry's event (a failure leaves it to the outbox job)."""
    if entry is not None and deps.outbox is not None:
        deps.outbox.publish(message_id, entry.doc["event"])


def _owner_of(deps: Deps, stream_id: str) -> str | None:
    owner = deps.owners.get(stream_id)
    return owner.creator_id if owner else None


# ---- use cases ------------------------------------------------------------------------------
def send(
    deps: Deps, actor: Actor, stream_id: str, raw_text: str, client_id: str | None, name: str
) -> tuple[dict, bool]:
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
        flood = deps.repo.take_stream(
            stream_id, (shard + 1 + deps.shard(n - 1)) % n, deps.stream_spec(), now
        )
    if not flood.allowed:
        raise RateLimited("stream", flood.retry_after_s)

    verdict = assess(deps, stream_id, clean.text)
    message = {
        "message_id": message_id,
        "stream_id": stream_id,
        "uid": actor.uid,
        "name": name,
        "text": clean.text,
        "html": clean.html,
        "source": "app",
        "action": verdict.action,
        "created_at": ts(now),
    }
    if actor.tiktok_id:  # its event votes as that TikTok viewer (moderation/chat_log.py)
        message["linked_tiktok_id"] = actor.tiktok_id
    outcome: dict[str, Any] = {
        "message_id": message_id,
        "visible": verdict.visible,
        "action": verdict.action,
        "reason": verdict.reason,
        "category": verdict.category,
    }
    notice = flag = None
    if verdict.action == "warn":
        notice = _notice(message_id, "warning", verdict.reason, now)
    elif not verdict.visible:
        message.update(_why(verdict))
        notice = _notice(message_id, "held", verdict.reason, now)
    if verdict.action == "block":
        flag = _flag(
            f"auto-{message_id}",
            stream_id,
            "system",
            "message",
            message_id,
            verdict.reason,
            verdict.score,
            "block",
            now,
            target_uid=actor.uid,
            text=clean.text,
            source="app",
            category=verdict.category,
            term=verdict.term,
            strike=verdict.strike,
        )
        message["flag_id"] = flag["flag_id"]
    entry = _log_entry(deps, message, verdict.visible, lambda: _owner_of(deps, stream_id))
    for _ in range(STANDING_ATTEMPTS):
        write, ban_until = _strike(deps, stream_id, actor.uid, verdict.strike, now)
        if ban_until is not None:
            outcome["banned_until"] = ts(ban_until)
            notice = _notice(message_id, "blocked", verdict.reason, now, banned_until=ts(ban_until))
        elif verdict.action == "block":
            notice = _notice(message_id, "blocked", verdict.reason, now)
        if flag is not None:
            flag["ban_until"] = ts(ban_until) if ban_until is not None else None
        recorded = deps.repo.record(
            stream_id, message_id, verdict.visible, message, notice, flag, write, entry
        )
        if recorded != "conflict":
            break
    else:
        raise RateLimited("user", 1.0)  # the sender's document kept changing: retry later
    if recorded == "duplicate":
        existing = _existing(deps, stream_id, message_id)
        if existing["visible"] and deps.outbox is not None:
            deps.outbox.publish_pending(message_id)  # the first attempt may have stopped short
        return existing, False
    _publish(deps, message_id, entry)
    if ban_until is not None:
        _audit(
            deps,
            "system",
            "system",
            "auto_block_and_ban",
            stream_id,
            "user",
            actor.uid,
            message_id=message_id,
            category=verdict.category,
            score=verdict.score,
            banned_until=outcome["banned_until"],
        )
    return outcome, True


def react(
    deps: Deps, actor: Actor, stream_id: str, request: reactions.ReactionRequest, name: str
) -> tuple[dict, bool]:
    """An app viewer's reaction taps: one `like` event of the stream, published once per
    key (moderation/reactions.py, decision 094). Returns (outcome, created: a new key).
    Raises NotFound (no such stream), Banned, RateLimited, Conflict (the key was used for
    another reaction or count), Unavailable (not published: retry with the same key)."""
    owner = deps.owners.get(stream_id)
    if owner is None:
        raise NotFound(f"no stream {stream_id}")
    now = deps.clock()
    taken, banned_until = deps.repo.take_user(
        stream_id, actor.uid, deps.reaction_spec(), now, bucket="reactions"
    )
    if taken is None:
        raise Banned(banned_until or now)
    if not taken.allowed:
        raise RateLimited("reactions", taken.retry_after_s)
    event = reactions.like_event(stream_id, actor.uid, name, owner.creator_id, request, now)
    record = deps.repo.claim_reaction(
        stream_id, actor.uid, request.key, reactions.key_record(event, request.key, now)
    )
    if record is not None:
        if not reactions.same_request(record, request):
            raise Conflict(f"key {request.key} was used for another reaction or count")
        event = reactions.recorded_event(record)  # the retry publishes the first event
    if deps.publish is None:
        raise Unavailable("reactions are not published here")
    try:
        deps.publish(event)
    except Exception as exc:
        raise Unavailable("the reaction could not be published; retry with the same key") from exc
    outcome = {
        "event_id": event.event_id,
        "reaction": event.reaction,
        "count": event.count,
        "duplicate": record is not None,
    }
    return outcome, record is None


def _strike(
    deps: Deps, stream_id: str, uid: str, points: int, now: float
) -> tuple[StandingWrite | None, float | None]:
    """The sender's standing after a blocked message's strike points (None: nothing to
    write), and the end of the ban they trigger."""
    if points <= 0:
        return None, None
    standing, version = deps.repo.standing(stream_id, uid)
    after, ban_until = strikes.strike(standing, points, now, deps.strike_policy())
    note = (
        {"ban_reason": "automatic: strikes for blocked messages", "banned_by": "system"}
        if ban_until is not None
        else {}
    )
    return StandingWrite(uid, after, version, note), ban_until


def _existing(deps: Deps, stream_id: str, message_id: str) -> dict:
    found = deps.repo.get_message(stream_id, message_id)
    if found is None:  # created and moved by a moderator in between: report as held
        return {"message_id": message_id, "visible": False, "action": "hold", "reason": ""}
    where, data = found
    return {
        "message_id": message_id,
        "visible": where == "visible",
        "action": data.get("action"),
        "reason": data.get("reason") or "",
    }


def ingest_comment(deps: Deps, event) -> dict | None:
    """A TikTok comment (EngagementEvent kind=comment): same scoring, but TikTok users cannot
    be banned here; what would be blocked or held is hidden from our overlays and flagged.
    An app comment in the log was scored when it was sent: not again (chat_log)."""
    if not chat_log.moderate_from_log(event) or event.user is None:
        return None
    try:
        clean = sanitize(event.text[: deps.settings.max_chars * 2], deps.settings.max_chars)
    except InvalidMessage:
        return None  # nothing displayable
    # Per stream: a redelivered comment lands on the same message, and its flag (a global
    # collection) never collides with another stream's comment of the same event id.
    message_id = "tt-" + _sha(event.stream_id, event.event_id)
    now = deps.clock()
    verdict = assess(deps, event.stream_id, clean.text)
    uid = f"tiktok:{event.user.id}"
    message = {
        "message_id": message_id,
        "stream_id": event.stream_id,
        "uid": uid,
        "name": event.user.name or event.user.handle,
        "text": clean.text,
        "html": clean.html,
        "source": "tiktok",
        "action": verdict.action,
        "created_at": ts(now),
        "occurred_at": event.occurred_at,
    }
    flag = None
    if not verdict.visible:
        message.update(_why(verdict), action="hide")
        flag = _flag(
            f"auto-{message_id}",
            event.stream_id,
            "system",
            "message",
            message_id,
            verdict.reason,
            verdict.score,
            "hide",
            now,
            target_uid=uid,
            text=clean.text,
            source="tiktok",
            keyword=verdict.keyword,
            category=verdict.category,
            term=verdict.term,
        )
        message["flag_id"] = flag["flag_id"]
    deps.repo.record(event.stream_id, message_id, verdict.visible, message, None, flag)
    return {"message_id": message_id, "visible": verdict.visible, "action": message["action"]}


def report(
    deps: Deps, actor: Actor, stream_id: str, target_type: str, target_id: str, reason: str
) -> tuple[dict, bool]:
    """A user report: a pending flag for the review queue (one per reporter and target)."""
    now = deps.clock()
    extra: dict[str, Any] = {"source": "report"}
    score_ = None
    if target_type == "message":
        found = deps.repo.get_message(stream_id, target_id)
        if found is None:
            raise NotFound(f"no message {target_id} in stream {stream_id}")
        _, data = found
        top = worst(list(classify(data.get("text") or "")))
        score_ = top.score if top else 0.0
        extra["category"] = top.category if top else None
        extra.update(target_uid=data.get("uid"), text=data.get("text"))
    elif target_type == "user":
        extra["target_uid"] = target_id
    flag_id = "r-" + _sha(actor.uid, stream_id, target_type, target_id)
    flag = _flag(
        flag_id, stream_id, actor.uid, target_type, target_id, reason, score_, "none", now, **extra
    )
    created = deps.repo.create_flag(flag)
    return {"flag_id": flag_id, "status": "pending" if created else "duplicate"}, created


def _restored(m: dict) -> dict:
    """A held message as it shows once a moderator restores it."""
    return {**{k: m.get(k) for k in PUBLIC_FIELDS}, "action": "allow"}


def _flag_for(deps: Deps, actor: Actor, flag_id: str) -> tuple[dict, str]:
    flag = deps.repo.get_flag(flag_id)
    if flag is None:
        raise NotFound(f"no flag {flag_id}")
    role = require_moderator(actor, _access(deps, flag["stream_id"]))
    return flag, role


def list_flags(
    deps: Deps, actor: Actor, status: str | None, stream_id: str | None, limit: int
) -> list[dict]:
    if not actor.is_staff:
        if not stream_id:
            raise Forbidden("creators list the flags of one of their streams: pass stream_id")
        require_moderator(actor, _access(deps, stream_id))
    return deps.repo.list_flags(status, stream_id, limit)


def resolve_flag(deps: Deps, actor: Actor, flag_id: str, status: str, note: str) -> dict:
    flag, role = _flag_for(deps, actor, flag_id)
    now = deps.clock()
    fields = {
        "status": status,
        "updated_at": ts(now),
        "resolved_by": actor.uid,
        "resolution": "upheld" if status == "resolved" else None,
        "note": note,
    }
    deps.repo.update_flag(flag_id, fields)
    _audit(deps, actor.uid, role, f"flag_{status}", flag["stream_id"], "flag", flag_id, note=note)
    return {**flag, **fields}


def override_flag(
    deps: Deps, actor: Actor, flag_id: str, action: str, duration_s: int | None, note: str
) -> dict:
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
            entry = _log_entry(deps, _restored(found[1]), True, lambda: _owner_of(deps, stream_id))
            moved = deps.repo.move_message(stream_id, flag["target_id"], True, _restored, entry)
            if moved:
                _publish(deps, flag["target_id"], entry)
        else:
            moved = deps.repo.move_message(
                stream_id,
                flag["target_id"],
                False,
                lambda m: {
                    **m,
                    "action": "hide",
                    "reason": "hidden by a moderator",
                    "flag_id": flag_id,
                    "score": flag.get("score"),
                },
            )
        if not moved:
            raise Conflict(f"nothing to {action}: the message is not where it should be")
    else:
        uid = flag.get("target_uid") or (
            flag["target_id"] if flag["target_type"] == "user" else None
        )
        if not uid:
            raise Conflict(f"{action} needs a flag that names a user")
        if action == "unban":
            detail["lifted"] = _unban(deps, stream_id, uid, now, actor.uid)
        else:
            after = _ban(deps, stream_id, uid, now, duration_s, f"flag {flag_id}", actor.uid)
            detail["banned_until"] = ts(after.banned_until or now)
        detail["uid"] = uid
    fields = {
        "status": "resolved",
        "updated_at": ts(now),
        "resolved_by": actor.uid,
        "resolution": f"override:{action}",
        "note": note,
    }
    deps.repo.update_flag(flag_id, fields)
    _audit(
        deps,
        actor.uid,
        role,
        f"flag_override_{action}",
        stream_id,
        "flag",
        flag_id,
        note=note,
        **detail,
    )
    return {**flag, **fields, **detail}


def get_keywords(deps: Deps, actor: Actor, stream_id: str) -> dict:
    require_moderator(actor, _access(deps, stream_id))
    return {
        "stream_id": stream_id,
        "keywords": deps.repo.keywords(stream_id),
        "max_keywords": deps.settings.max_keywords,
    }


def set_keywords(deps: Deps, actor: Actor, stream_id: str, entries: list[str]) -> dict:
    role = require_moderator(actor, _access(deps, stream_id))
    cleaned = kw.clean_entries(entries, deps.settings.max_keywords)
    deps.repo.set_keywords(stream_id, cleaned, actor.uid, deps.clock())
    _audit(
        deps, actor.uid, role, "keywords_set", stream_id, "stream", stream_id, count=len(cleaned)
    )
    return {"stream_id": stream_id, "keywords": cleaned, "max_keywords": deps.settings.max_keywords}


def _ban(
    deps: Deps, stream_id: str, uid: str, now: float, duration_s: int | None, reason: str, by: str
) -> strikes.Standing:
    for _ in range(STANDING_ATTEMPTS):
        standing, version = deps.repo.standing(stream_id, uid)
        after = strikes.ban(standing, now, deps.strike_policy(), duration_s)
        note = {"ban_reason": reason, "banned_by": by}
        if deps.repo.save_standing(stream_id, StandingWrite(uid, after, version, note)):
            return after
    raise Conflict("the user's record kept changing; try again")


def _unban(deps: Deps, stream_id: str, uid: str, now: float, by: str) -> bool:
    for _ in range(STANDING_ATTEMPTS):
        standing, version = deps.repo.standing(stream_id, uid)
        after, lifted = strikes.unban(standing, now)
        if not lifted:
            return False
        note = {"unbanned_by": by, "unbanned_at": ts(now)}
        if deps.repo.save_standing(stream_id, StandingWrite(uid, after, version, note)):
            return True
    raise Conflict("the user's record kept changing; try again")


def ban_user(
    deps: Deps, actor: Actor, stream_id: str, uid: str, duration_s: int | None, reason: str
) -> dict:
    acc = _access(deps, stream_id)
    role = require_moderator(actor, acc)
    if uid == acc.creator_id:
        raise Forbidden("the stream's creator cannot be banned from their own chat")
    now = deps.clock()
    after = _ban(
        deps, stream_id, uid, now, duration_s, reason or "banned by a moderator", actor.uid
    )
    until = after.banned_until or now
    deps.repo.add_notice(
        stream_id, uid, _notice(uuid.uuid4().hex, "banned", reason, now, banned_until=ts(until))
    )
    _audit(
        deps,
        actor.uid,
        role,
        "ban",
        stream_id,
        "user",
        uid,
        reason=reason,
        banned_until=ts(until),
        ban_number=after.ban_count,
    )
    return {
        "stream_id": stream_id,
        "uid": uid,
        "banned_until": ts(until),
        "ban_number": after.ban_count,
    }


def unban_user(deps: Deps, actor: Actor, stream_id: str, uid: str) -> dict:
    role = require_moderator(actor, _access(deps, stream_id))
    lifted = _unban(deps, stream_id, uid, deps.clock(), actor.uid)
    _audit(deps, actor.uid, role, "unban", stream_id, "user", uid, lifted=lifted)
    return {"stream_id": stream_id, "uid": uid, "lifted": lifted}


def get_moderation(deps: Deps, actor: Actor, stream_id: str) -> dict:
    require_moderator(actor, _access(deps, stream_id))
    _, doc = deps.repo.stream_rules(stream_id)
    return {
        "stream_id": stream_id,
        **ModerationConfig.from_doc(doc).to_doc(),
        "levels": list(LEVELS),
        "categories": list(CATEGORIES),
        "actions": list(ACTIONS),
    }


def set_moderation(
    deps: Deps, actor: Actor, stream_id: str, level: str | None, overrides: dict[str, str] | None
) -> dict:
    """The creator's strictness level and per-category overrides (raises InvalidConfig)."""
    role = require_moderator(actor, _access(deps, stream_id))
    config = ModerationConfig.parse(level, overrides)
    deps.repo.set_moderation(stream_id, config.to_doc(), actor.uid, deps.clock())
    _audit(
        deps, actor.uid, role, "moderation_set", stream_id, "stream", stream_id, **config.to_doc()
    )
    return {
        "stream_id": stream_id,
        **config.to_doc(),
        "levels": list(LEVELS),
        "categories": list(CATEGORIES),
        "actions": list(ACTIONS),
    }


def list_bans(deps: Deps, actor: Actor, stream_id: str) -> list[dict]:
    require_moderator(actor, _access(deps, stream_id))
    now = deps.clock()
    return [
        {
            "uid": b["uid"],
            "banned_until": b.get("banned_until"),
            "reason": b.get("ban_reason"),
            "banned_by": b.get("banned_by"),
            "ban_count": b.get("ban_count", 0),
        }
        for b in deps.repo.active_bans(stream_id, now)
    ]


def feed(deps: Deps, stream_id: str, include_held: bool, limit: int = 50) -> dict:
    """The chat as clients read it: visible messages (public fields only), newest first; for
    moderators also the held ones with score, action and reason."""
    visible = [
        {k: m.get(k) for k in PUBLIC_FIELDS}
        for m in deps.repo.list_messages(stream_id, False, limit)
    ]
    out: dict[str, Any] = {"stream_id": stream_id, "messages": visible}
    if include_held:
        out["held"] = [
            {
                **{k: m.get(k) for k in PUBLIC_FIELDS},
                **{k: m.get(k) for k in WHY_FIELDS},
                "flag_id": m.get("flag_id"),
            }
            for m in deps.repo.list_messages(stream_id, True, limit)
        ]
    return out


def is_banned(deps: Deps, stream_id: str, uid: str) -> float | None:
    standing, _ = deps.repo.standing(stream_id, uid)
    return standing.banned_until if standing.banned(deps.clock()) else None
