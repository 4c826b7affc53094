"""HTTP routes of rewards (mounted on the public `api` function): a viewer's XP, level,
badges and points with a creator, and redeeming the creator's points rewards. Parse, call
service/rewards.py, map errors. docs/engagement.md, "Loyalty points"."""

from __future__ import annotations

from flask import Request

from giftengine.bootstrap import deps, rewards_store
from giftengine.domain import access
from giftengine.entrypoints.http import ApiError, Router, authenticate, parse_body
from giftengine.service import rewards


def _actor(request: Request) -> access.Actor:
    who = authenticate(request, deps().settings.project_id)
    return access.Actor.from_claims(who.uid, who.claims)


def _call(fn, *args):
    try:
        return fn(*args)
    except rewards.Invalid as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except rewards.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except rewards.Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None


def get_viewer(request: Request, uid: str, creator_id: str):
    actor = _actor(request)
    return _call(rewards.viewer_view, rewards_store(), uid, creator_id, actor)


def post_redeem(request: Request, creator_id: str, reward_id: str):
    actor = _actor(request)
    body = parse_body(request, rewards.RedeemRequest)
    entry, created = _call(rewards.redeem, rewards_store(), actor, creator_id, reward_id, body)
    return {**entry, "at": entry["at"].isoformat().replace("+00:00", "Z")}, 201 if created else 200


def install(router: Router) -> None:
    router.route("GET", "/viewers/{uid}/creators/{creator_id}")(get_viewer)
    router.route("POST", "/creators/{creator_id}/rewards/{reward_id}/redeem")(post_redeem)
