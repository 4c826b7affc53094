"""HTTP routes of creator-vs-creator battles (mounted on the public `api` function): parse,
call service/battles.py, map errors. docs/engagement.md, "Battles"."""

from __future__ import annotations

from flask import Request

from giftengine.bootstrap import battles_repo, deps, ownership
from giftengine.domain import access, eventlog
from giftengine.domain.events import EngagementEvent
from giftengine.entrypoints.http import ApiError, Router, authenticate, json_body
from giftengine.service import battles, pipeline, streams


def _actor(request: Request) -> access.Actor:
    who = authenticate(request, deps().settings.project_id)
    return access.Actor.from_claims(who.uid, who.claims)


def _call(fn, *args):
    try:
        return fn(*args)
    except battles.Invalid as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except access.Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except streams.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except battles.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None


def _record(events: list[EngagementEvent]) -> bool:
    """Record the API's own events like a delivered message (idempotent by event id) and
    trigger the stream's rollup."""
    d = deps()
    data = eventlog.encode_message(events)
    got = pipeline.record_engagement(data, events[0].event_id, {}, d)
    if got.outcome == "dead_letter":  # the API built it: a bug, not bad input
        raise RuntimeError(f"battle start event rejected: {got.reason}")
    return got.outcome == "recorded"


def post_battle(request: Request):
    actor = _actor(request)
    body = json_body(request)
    doc, created = _call(battles.invite, body, actor, battles_repo(), ownership(), deps().clock())
    return battles.view(doc), 201 if created else 200


def get_battle(request: Request, battle_id: str):
    authenticate(request, deps().settings.project_id)
    return _call(battles.get, battle_id, battles_repo())


def post_accept(request: Request, battle_id: str):
    actor = _actor(request)
    s = deps().settings
    cfg = battles.BattleSettings(grace_s=s.battle_grace_s, start_delay_s=s.battle_start_delay_s)
    return _call(
        battles.accept,
        battle_id,
        actor,
        battles_repo(),
        ownership(),
        _record,
        deps().clock(),
        cfg,
    )


def post_decline(request: Request, battle_id: str):
    actor = _actor(request)
    return _call(battles.decline, battle_id, actor, battles_repo(), ownership(), deps().clock())


def post_cancel(request: Request, battle_id: str):
    actor = _actor(request)
    return _call(battles.cancel, battle_id, actor, battles_repo(), ownership(), deps().clock())


def install(router: Router) -> None:
    router.route("POST", "/battles")(post_battle)
    router.route("GET", "/battles/{battle_id}")(get_battle)
    router.route("POST", "/battles/{battle_id}/accept")(post_accept)
    router.route("POST", "/battles/{battle_id}/decline")(post_decline)
    router.route("POST", "/battles/{battle_id}/cancel")(post_cancel)
