"""Ingest targets: which TikTok creators the workers follow.

`ingest_targets/{creator_id}` (creator_id = the TikTok username, lower case, no "@"):
{creator_id, owner_uid, created_by, created_at, updated_at, status, error, ingest: {...}}.
Created, read and deleted through the `ingest_targets` HTTPS function by the creator (a Firebase
user whose uid or `creator_id` custom claim is that username) or an admin. Workers write
`status`, `error` and `ingest.*` (fenced by their lease); clients only read (firestore.rules).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Request
from pydantic import BaseModel, ConfigDict, Field

from giftengine import bootstrap
from giftengine.adapters.auth import Principal
from giftengine.domain import access
from giftengine.domain.ids import DocId
from giftengine.entrypoints.http import ApiError, Router, authenticate, parse_body
from giftengine.ingest.target_store import Contention, TargetRepo

USERNAME = re.compile(r"^[a-z0-9._]{2,24}$")


def normalize_creator_id(raw: str) -> str:
    """TikTok usernames are case-insensitive: '@Ana.Live' and 'ana.live' are one creator."""
    cid = raw.strip().removeprefix("@").lower()
    if not USERNAME.match(cid) or set(cid) == {"."}:
        raise ValueError(f"{raw!r} is not a TikTok username (2-24 of a-z 0-9 . _)")
    return cid


def may_manage(p: Principal, creator_id: str, owner_uid: str | None = None) -> bool:
    return access.may_manage_ingest_target(
        access.Actor.from_claims(p.uid, p.claims), p.claims, creator_id, owner_uid
    )


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_uid: DocId | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Admins only: the creator's Firebase uid (on an existing target, its new "
        "owner; left out, the owner stays).",
    )


# ---- HTTPS endpoint ---------------------------------------------------------------------------

router = Router("ingest_targets")


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "ingest"} | {"ingest": doc.get("ingest") or {}}


def _creator(raw: str) -> str:
    try:
        return normalize_creator_id(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None


def _repo() -> TargetRepo:
    return bootstrap.ingest_targets()


def _principal(request: Request) -> Principal:
    return authenticate(request, bootstrap.project_id())


@router.route("PUT", "/{creator}")
def put_target(request: Request, creator: str):
    p = _principal(request)
    cid = _creator(creator)
    body = parse_body(request, TargetIn) if request.get_data(cache=True) else TargetIn()
    if body.owner_uid and not p.is_admin:
        raise ApiError(403, "forbidden", "only an admin may set owner_uid")
    existing = _repo().get(cid)
    if not may_manage(p, cid, (existing or {}).get("owner_uid")):
        raise ApiError(403, "forbidden", f"only @{cid} or an admin may manage this ingest target")
    owner = body.owner_uid or (existing or {}).get("owner_uid") or p.uid
    try:
        doc, created = _repo().put(cid, owner, p.uid, set_owner=bool(body.owner_uid))
    except Contention:
        raise ApiError(
            409,
            "conflict",
            f"@{cid} is being changed by another request; retry",
            {"Retry-After": "1"},
        ) from None
    return _view(doc), 201 if created else 200


@router.route("GET", "/{creator}")
def get_target(request: Request, creator: str):
    p = _principal(request)
    cid = _creator(creator)
    doc = _repo().get(cid)
    if not may_manage(p, cid, (doc or {}).get("owner_uid")):
        raise ApiError(403, "forbidden", f"only @{cid} or an admin may read this ingest target")
    if doc is None:
        raise ApiError(404, "not_found", f"no ingest target for @{cid}")
    return _view(doc)


@router.route("DELETE", "/{creator}")
def delete_target(request: Request, creator: str):
    p = _principal(request)
    cid = _creator(creator)
    doc = _repo().get(cid)
    if not may_manage(p, cid, (doc or {}).get("owner_uid")):
        raise ApiError(403, "forbidden", f"only @{cid} or an admin may delete this ingest target")
    if doc is None or not _repo().delete(cid):
        raise ApiError(404, "not_found", f"no ingest target for @{cid}")
    return {"creator_id": cid, "deleted": True}


def handle(request: Request):
    """Entry for functions/main.py `ingest_targets`."""
    return router.dispatch(request)
