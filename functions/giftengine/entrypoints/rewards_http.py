"""HTTP routes of rewards (mounted on the public `api` function): a viewer's XP, level,
badges and points with a creator, and redeeming the creator's points rewards. Parse, call
service/rewards.py, map errors. docs/engagement.md, "Loyalty points"."""

from __future__ import annotations

from flask import Request
from pydantic import ValidationError

from giftengine.bootstrap import deps, reward_outbox, rewards_store
from giftengine.domain import access
from giftengine.domain.events import validation_reason
from giftengine.entrypoints.http import ApiError, Router, authenticate, parse_body
from giftengine.service import rewards


def _actor(request: Request) -> access.Actor:
    who = authenticate(request, deps().settings.project_id)
    return access.Actor.from_claims(who.uid, who.claims)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except rewards.Invalid as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except rewards.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except rewards.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except rewards.Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None


def get_viewer(request: Request, uid: str, creator_id: str):
    actor = _actor(request)
    return _call(rewards.viewer_view, rewards_store(), uid, creator_id, actor)


def post_redeem(request: Request, creator_id: str, reward_id: str):
    who = authenticate(request, deps().settings.project_id)
    actor = access.Actor.from_claims(who.uid, who.claims)
    body = parse_body(request, rewards.RedeemRequest)
    name = who.claims.get("name")
    entry, created = _call(
        rewards.redeem,
        rewards_store(),
        actor,
        creator_id,
        reward_id,
        body,
        outbox=reward_outbox(),
        name=name if isinstance(name, str) else "",
    )
    return {**entry, "at": entry["at"].isoformat().replace("+00:00", "Z")}, 201 if created else 200


def get_queue(request: Request, creator_id: str):
    actor = _actor(request)
    try:
        q = rewards.QueueQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", validation_reason(exc)) from None
    return _call(rewards.list_queue, rewards_store(), actor, creator_id, q)


def post_handle(request: Request, creator_id: str, redemption_id: str, action: str):
    actor = _actor(request)
    if action not in rewards.ACTIONS:
        raise ApiError(404, "not_found", f"no route for POST .../{action}: fulfil or reject")
    body = (
        parse_body(request, rewards.HandleRequest)
        if request.content_length
        else rewards.HandleRequest()
    )
    entry, changed = _call(
        rewards.handle_redemption, rewards_store(), actor, creator_id, redemption_id, action, body
    )
    return {**rewards.public_entry(entry), "changed": changed}


def install(router: Router) -> None:
    router.route("GET", "/viewers/{uid}/creators/{creator_id}")(get_viewer)
    router.route("POST", "/creators/{creator_id}/rewards/{reward_id}/redeem")(post_redeem)
    router.route("GET", "/creators/{creator_id}/reward_queue")(get_queue)
    router.route("POST", "/creators/{creator_id}/reward_queue/{redemption_id}/{action}")(
        post_handle
    )
