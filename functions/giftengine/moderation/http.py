"""The `chat_api` HTTPS function and the `on_comment` Pub/Sub function: parse, call the
service, map errors. Every request first passes the per-IP limiter (100 per 15 minutes by
default); every throttle answers 429 with Retry-After."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Literal

from flask import Request
from pydantic import BaseModel, ConfigDict, Field

from giftengine import bootstrap
from giftengine.domain import ids
from giftengine.domain.events import parse_event
from giftengine.domain.ids import ID_PATTERN, DocId
from giftengine.entrypoints.http import (
    ApiError,
    Router,
    authenticate,
    error_response,
    parse_body,
    query_flag,
)
from giftengine.entrypoints.http import StorableText as Text
from giftengine.moderation import service
from giftengine.moderation.bucket import retry_after_header
from giftengine.moderation.keywords import InvalidKeywords
from giftengine.moderation.policy import Actor, Forbidden
from giftengine.moderation.reactions import ReactionRequest
from giftengine.moderation.repo import ts
from giftengine.moderation.rules import InvalidConfig
from giftengine.moderation.sanitize import InvalidMessage

log = logging.getLogger("giftengine.chat")


def _limit_ip(request: Request, reactions: bool = False):
    """The per-IP limiter, after the route and its ids are checked (no I/O for bad input);
    reactions take it with their own budget (`reactions`)."""
    try:
        service.check_ip(deps(), client_ip(request, deps().settings.trusted_proxy_hops), reactions)
    except service.RateLimited as exc:
        err = _too_many(exc)
        return error_response(err.status, err.code, err.reason, err.headers)
    return None


router = Router("chat_api", before=_limit_ip)
_ID = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
Id = DocId


def deps() -> service.Deps:
    return bootstrap.chat_deps()


def client_ip(request: Request, hops: int) -> str:
    """The caller's address: the entry `hops` from the right of X-Forwarded-For (entries
    further left are client-supplied and untrusted), else the socket peer."""
    forwarded = [
        p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()
    ]
    if hops > 0 and forwarded:
        return forwarded[-min(hops, len(forwarded))]
    return request.remote_addr or "unknown"


def _too_many(exc: service.RateLimited) -> ApiError:
    return ApiError(
        429, "rate_limited", f"{exc}", {"Retry-After": retry_after_header(exc.retry_after_s)}
    )


def _actor(request: Request) -> tuple[Actor, dict]:
    # Posting and moderating: disabled and revoked accounts are refused.
    principal = authenticate(request, deps().repo.db.project, check_revoked=True)
    return Actor.from_claims(principal.uid, principal.claims), principal.claims


def _call(fn, *args):
    try:
        return fn(*args)
    except service.RateLimited as exc:
        raise _too_many(exc) from None
    except service.Banned as exc:
        raise ApiError(
            403,
            "banned",
            f"{exc}; the ban ends at {ts(exc.until).isoformat()}",
            {"Retry-After": retry_after_header(exc.until - deps().clock())},
        ) from None
    except (InvalidMessage, InvalidKeywords, InvalidConfig) as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except service.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except service.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except service.Unavailable as exc:
        raise ApiError(503, "unavailable", str(exc), {"Retry-After": "1"}) from None


def chat_api(request: Request):
    return router.dispatch(request)


# ---- bodies -------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class SendBody(_Body):
    text: str = Field(min_length=1, max_length=5000)
    client_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    name: str | None = Field(default=None, max_length=64)


class ReportBody(_Body):
    stream_id: Id = _ID
    target_type: Literal["user", "stream", "message"]
    target_id: Id = _ID
    reason: Text = Field(min_length=1, max_length=500)


class ResolveBody(_Body):
    status: Literal["reviewed", "resolved"] = "resolved"
    note: Text = Field(default="", max_length=1000)


class OverrideBody(_Body):
    action: Literal["restore", "hide", "ban", "unban"]
    duration_s: int | None = Field(default=None, ge=1, le=service.MAX_BAN_S)
    note: Text = Field(default="", max_length=1000)


class KeywordsBody(_Body):
    keywords: list[Text] = Field(max_length=5000)


class ModerationBody(_Body):
    level: Literal["relaxed", "standard", "strict"] | None = None
    overrides: dict[str, Literal["allow", "warn", "hold", "block"]] | None = Field(
        default=None, max_length=20
    )


class BanBody(_Body):
    uid: Id = _ID
    duration_s: int | None = Field(default=None, ge=1, le=service.MAX_BAN_S)
    reason: Text = Field(default="", max_length=500)


def _valid_id(value: str, what: str = "stream id") -> str:
    try:
        return ids.check_id(value, what)
    except ids.InvalidId as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None


_stream = _valid_id


def _display_name(claims: dict, body_name: str | None, uid: str) -> str:
    """The name the server holds for the user (the Firebase Auth profile, carried in the
    verified token's `name` claim); a name in the request body is ignored, so nobody posts
    under a name they merely typed. The user sets that profile too, so the name passes the
    chat's built-in classifier at the standard level as a message would (a slur as a name
    would otherwise show on every message they send); one it would not show is replaced by
    `user-<uid prefix>`."""
    from giftengine.moderation.rules import shown_by_default
    from giftengine.moderation.sanitize import sanitize

    candidate = claims.get("name")
    if isinstance(candidate, str):
        try:
            name = sanitize(candidate, 64).text
        except InvalidMessage:
            name = ""
        if shown_by_default(name):
            return name
    return "user-" + uid[:6]


# ---- routes -------------------------------------------------------------------------------
@router.route("POST", "/streams/{stream_id}/messages")
def send_message(request: Request, stream_id: str):
    stream_id = _stream(stream_id)
    actor, claims = _actor(request)
    body = parse_body(request, SendBody)
    outcome, created = _call(
        service.send,
        deps(),
        actor,
        stream_id,
        body.text,
        body.client_id,
        _display_name(claims, body.name, actor.uid),
    )
    return outcome, 201 if created else 200


@router.route("POST", "/streams/{stream_id}/reactions", before=False)
def send_reaction(request: Request, stream_id: str):
    """Bad input is refused before any I/O; then the reactions' per-IP budget, the token."""
    body = parse_body(request, ReactionRequest)
    if (limited := _limit_ip(request, reactions=True)) is not None:
        return limited
    actor, claims = _actor(request)
    name = _display_name(claims, None, actor.uid)
    outcome, created = _call(service.react, deps(), actor, _stream(stream_id), body, name)
    return outcome, 201 if created else 200


@router.route("GET", "/streams/{stream_id}/messages")
def read_feed(request: Request, stream_id: str):
    stream_id = _stream(stream_id)
    include_held = query_flag(request, "held")
    if include_held:
        actor, _ = _actor(request)
        _call(service.require_moderator, actor, service.stream_access(deps(), stream_id))
    limit = _limit(request)
    return service.feed(deps(), stream_id, include_held, limit)


def _limit(request: Request) -> int:
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        raise ApiError(400, "invalid_request", "limit must be an integer") from None
    if not 1 <= limit <= 200:
        raise ApiError(400, "invalid_request", "limit must be 1..200")
    return limit


@router.route("POST", "/reports")
def create_report(request: Request):
    actor, _ = _actor(request)
    body = parse_body(request, ReportBody)
    result, created = _call(
        service.report, deps(), actor, body.stream_id, body.target_type, body.target_id, body.reason
    )
    return result, 201 if created else 200


@router.route("GET", "/flags")
def list_flags(request: Request):
    actor, _ = _actor(request)
    status = request.args.get("status") or None
    if status not in (None, "pending", "reviewed", "resolved"):
        raise ApiError(400, "invalid_request", "status must be pending, reviewed or resolved")
    stream_id = request.args.get("stream_id") or None
    if stream_id is not None:
        stream_id = _stream(stream_id)
    flags = _call(service.list_flags, deps(), actor, status, stream_id, _limit(request))
    return {"flags": flags}


@router.route("POST", "/flags/{flag_id}/resolve")
def resolve_flag(request: Request, flag_id: str):
    _valid_id(flag_id, "flag id")
    actor, _ = _actor(request)
    body = parse_body(request, ResolveBody)
    return _call(service.resolve_flag, deps(), actor, flag_id, body.status, body.note)


@router.route("POST", "/flags/{flag_id}/override")
def override_flag(request: Request, flag_id: str):
    _valid_id(flag_id, "flag id")
    actor, _ = _actor(request)
    body = parse_body(request, OverrideBody)
    return _call(
        service.override_flag, deps(), actor, flag_id, body.action, body.duration_s, body.note
    )


@router.route("GET", "/streams/{stream_id}/keywords")
def get_keywords(request: Request, stream_id: str):
    actor, _ = _actor(request)
    return _call(service.get_keywords, deps(), actor, _stream(stream_id))


@router.route("PUT", "/streams/{stream_id}/keywords")
def put_keywords(request: Request, stream_id: str):
    actor, _ = _actor(request)
    body = parse_body(request, KeywordsBody)
    return _call(service.set_keywords, deps(), actor, _stream(stream_id), body.keywords)


@router.route("GET", "/streams/{stream_id}/moderation")
def get_moderation(request: Request, stream_id: str):
    actor, _ = _actor(request)
    return _call(service.get_moderation, deps(), actor, _stream(stream_id))


@router.route("PUT", "/streams/{stream_id}/moderation")
def put_moderation(request: Request, stream_id: str):
    actor, _ = _actor(request)
    body = parse_body(request, ModerationBody)
    return _call(
        service.set_moderation, deps(), actor, _stream(stream_id), body.level, body.overrides
    )


@router.route("GET", "/streams/{stream_id}/bans")
def get_bans(request: Request, stream_id: str):
    actor, _ = _actor(request)
    return {"bans": _call(service.list_bans, deps(), actor, _stream(stream_id))}


@router.route("POST", "/streams/{stream_id}/bans")
def post_ban(request: Request, stream_id: str):
    actor, _ = _actor(request)
    body = parse_body(request, BanBody)
    return _call(
        service.ban_user, deps(), actor, _stream(stream_id), body.uid, body.duration_s, body.reason
    ), 201


@router.route("DELETE", "/streams/{stream_id}/bans/{uid}")
def delete_ban(request: Request, stream_id: str, uid: str):
    actor, _ = _actor(request)
    return _call(service.unban_user, deps(), actor, _stream(stream_id), _valid_id(uid, "uid"))


# ---- on_comment: Pub/Sub push of EngagementEvents ----------------------------------------
def on_comment(cloud_event) -> None:
    """Scores kind == "comment" events; ignores every other kind and undecodable messages
    (the gift pipeline dead-letters those). Errors while writing raise, so Pub/Sub retries;
    the message id makes the retry a no-op."""
    message = (cloud_event.data or {}).get("message") or {}
    attributes = message.get("attributes") or {}
    if attributes.get("kind") not in (None, "comment"):
        return
    try:
        event = parse_event(base64.b64decode(message.get("data") or "", validate=True))
    except (binascii.Error, ValueError, TypeError):
        return
    service.ingest_comment(deps(), event)
