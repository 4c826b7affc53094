"""Bodies of the Cloud Functions in functions/main.py: parse, call the service layer, map
errors. Nothing here decides business rules."""

from __future__ import annotations

import base64
import binascii
import logging

from flask import Request, Response
from pydantic import BaseModel, ConfigDict, Field

from giftengine.bootstrap import deps, overlay_media, overlay_store, ownership, settings_store
from giftengine.domain import access, ids
from giftengine.domain.ids import ID_PATTERN, DocId
from giftengine.domain.overlay import MEDIA_MAX_BYTES, OverlaySettings, TestAlert
from giftengine.domain.text import DisplayText
from giftengine.entrypoints import battles_http, rewards_http
from giftengine.entrypoints.http import (
    ApiError,
    Router,
    authenticate,
    error_response,
    json_body,
    json_response,
    parse_body,
)
from giftengine.live import http as live_http
from giftengine.service import controls, goals, overlay, pipeline, streams

log = logging.getLogger("giftengine.handlers")


# ---- on_engagement: Pub/Sub push -> CloudEvent ------------------------------------------------
def on_engagement(cloud_event) -> None:
    message = (cloud_event.data or {}).get("message") or {}
    message_id = str(message.get("messageId") or message.get("message_id") or "")
    attributes = dict(message.get("attributes") or {})
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        data = str(message.get("data"))[:10_000].encode()
    d = deps()
    with d.store.writes.invocation("on_engagement"):  # dev/bench counts (adapters/writelog.py)
        # Raises on transient failures so the platform redelivers; poison messages return.
        pipeline.record_engagement(data, message_id, attributes, d)


# ---- rollup: Cloud Tasks target -----------------------------------------------------------------
def rollup(request: Request):
    stream_id = request.args.get("stream_id") or ""
    if not stream_id:
        try:
            body = json_body(request)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.reason)
        stream_id = body.get("stream_id", "") if isinstance(body, dict) else ""
    if ids.id_problem(stream_id) is not None:
        return error_response(
            400,
            "invalid_request",
            "stream_id (query or JSON body) is required and must be a valid stream id",
        )
    try:
        with deps().store.writes.invocation("rollup"):  # dev/bench counts
            # `kind=f`: a follow-up a rollup asked for (adapters/tasks.py)
            followup = request.args.get("kind") == "f"
            result = pipeline.run_rollup(stream_id, deps(), followup=followup)
    except Exception:
        log.exception("rollup of %s failed", stream_id)
        return error_response(500, "internal", "rollup failed; the task will be retried")
    return json_response(
        {
            "stream_id": stream_id,
            "applied": result.applied,
            "wrote": bool(result.wrote),
            "next_at": result.next_at,
        }
    )


# ---- api: public HTTPS API ---------------------------------------------------------------------
router = Router("api")


def _mapped(fn, *args):
    try:
        return fn(*args)
    except (goals.Forbidden, access.Forbidden, overlay.Forbidden) as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except (goals.NotFound, streams.NotFound, overlay.NotFound) as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except overlay.Rejected as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except streams.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except controls.Invalid as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None


@router.route("GET", "/health")
def health(request: Request):
    return {"ok": True}


@router.route("POST", "/goals")
def post_goal(request: Request):
    who = authenticate(request, deps().settings.project_id)
    body = parse_body(request, goals.GoalRequest)
    return _mapped(goals.set_goal, body, who, settings_store(), deps().scheduler), 201


@router.route("DELETE", "/goals/{stream_id}/{goal_id}")
def delete_goal(request: Request, stream_id: str, goal_id: str):
    who = authenticate(request, deps().settings.project_id)
    _mapped(goals.delete_goal, stream_id, goal_id, who, settings_store(), deps().scheduler)
    return {"deleted": True}


@router.route("PUT", "/creators/{creator_id}/settings")
def put_creator_settings(request: Request, creator_id: str):
    who = authenticate(request, deps().settings.project_id)
    body = parse_body(request, goals.CreatorSettings)
    return _mapped(goals.set_creator_settings, creator_id, body, who, settings_store())


@router.route("GET", "/reports/{stream_id}")
def get_report(request: Request, stream_id: str):
    from giftengine.reports import http as reports

    who = authenticate(request, deps().settings.project_id)
    return _reports_mapped(reports.report, request, stream_id, who)


@router.route("GET", "/creators/{creator_id}/analytics")
def get_analytics(request: Request, creator_id: str):
    from giftengine.reports import http as reports

    who = authenticate(request, deps().settings.project_id)
    return _reports_mapped(reports.analytics, request, creator_id, who)


def _reports_mapped(fn, *args):
    from giftengine.reports import service as reports

    try:
        return fn(*args)
    except reports.Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except reports.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None


# ---- the creator's overlay customization (service/overlay.py, decision 062) -----------------
@router.route("PUT", "/creators/{creator_id}/overlay")
def put_overlay_settings(request: Request, creator_id: str):
    who = authenticate(request, deps().settings.project_id)
    body = parse_body(request, OverlaySettings)
    return _mapped(overlay.set_settings, creator_id, body, who, overlay_store(), overlay_media())


@router.route("POST", "/creators/{creator_id}/overlay/test")
def post_overlay_test(request: Request, creator_id: str):
    who = authenticate(request, deps().settings.project_id)
    body = parse_body(request, TestAlert) if request.get_data(cache=True) else TestAlert()
    return _mapped(overlay.send_test_alert, creator_id, body, who, overlay_store()), 201


@router.route("POST", "/creators/{creator_id}/overlay/media")
def post_overlay_media(request: Request, creator_id: str):
    who = authenticate(request, deps().settings.project_id)
    if (request.content_length or 0) > MEDIA_MAX_BYTES:
        raise ApiError(413, "too_large", f"the file is larger than {MEDIA_MAX_BYTES} bytes")
    data = request.stream.read(MEDIA_MAX_BYTES + 1)
    if len(data) > MEDIA_MAX_BYTES:
        raise ApiError(413, "too_large", f"the file is larger than {MEDIA_MAX_BYTES} bytes")
    ctype = request.headers.get("Content-Type", "")
    doc = _mapped(overlay.upload_media, creator_id, data, ctype, who, overlay_media())
    return doc, 201 if doc["created"] else 200


@router.route("GET", "/creators/{creator_id}/overlay/media/{file}", free=("file",))
def get_overlay_media(request: Request, creator_id: str, file: str):
    data, ctype = _mapped(overlay.read_media, creator_id, file, overlay_media())
    return Response(
        data,
        status=200,
        mimetype=ctype,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ---- stream ownership and creators' moderators (service/streams.py) ---------------------------
class StreamBody(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    stream_id: DocId | None = Field(default=None, min_length=1, max_length=200, pattern=ID_PATTERN)
    title: DisplayText = Field(default="", max_length=200)


def _actor(request: Request) -> access.Actor:
    who = authenticate(request, deps().settings.project_id)
    return access.Actor.from_claims(who.uid, who.claims)


@router.route("POST", "/streams")
def post_stream(request: Request):
    actor = _actor(request)
    body = parse_body(request, StreamBody) if request.get_data(cache=True) else StreamBody()
    doc, created = _mapped(streams.create_stream, ownership(), actor, body.stream_id, body.title)
    return doc, 201 if created else 200


@router.route("GET", "/streams/{stream_id}")
def get_stream(request: Request, stream_id: str):
    return _mapped(streams.get_stream, ownership(), stream_id)


@router.route("GET", "/creators/{creator_id}/moderators")
def get_moderators(request: Request, creator_id: str):
    actor = _actor(request)
    mods = _mapped(streams.list_moderators, ownership(), actor, creator_id)
    return {"creator_id": creator_id, "moderators": mods}


@router.route("PUT", "/creators/{creator_id}/moderators/{uid}")
def put_moderator(request: Request, creator_id: str, uid: str):
    actor = _actor(request)
    doc, created = _mapped(streams.appoint_moderator, ownership(), actor, creator_id, uid)
    return doc, 201 if created else 200


@router.route("DELETE", "/creators/{creator_id}/moderators/{uid}")
def delete_moderator(request: Request, creator_id: str, uid: str):
    actor = _actor(request)
    return _mapped(streams.dismiss_moderator, ownership(), actor, creator_id, uid)


# ---- stream features: commands and settings (service/controls.py) ------------------------------
@router.route("POST", "/streams/{stream_id}/controls")
def post_control(request: Request, stream_id: str):
    actor = _actor(request)
    body = parse_body(request, controls.ControlRequest)
    return _mapped(controls.issue_control, stream_id, body, actor, ownership(), deps()), 202


@router.route("PUT", "/creators/{creator_id}/features/{feature}")
def put_feature_settings(request: Request, creator_id: str, feature: str):
    actor = _actor(request)
    body = json_body(request)
    return _mapped(
        controls.set_feature_settings, creator_id, feature, body, actor, settings_store()
    )


battles_http.install(router)  # creator-vs-creator battles (docs/engagement.md)
rewards_http.install(router)  # XP, badges and loyalty points (docs/engagement.md)
live_http.install(router)  # polls and the other live interactions (docs/engagement.md)


def api(request: Request):
    return router.dispatch(request)
