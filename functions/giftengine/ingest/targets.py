"""Ingest targets: which TikTok creators the workers follow.

`ingest_targets/{creator_id}` (creator_id = the TikTok username, lower case, no "@"):
{creator_id, owner_uid, created_by, created_at, updated_at, status, error, ingest: {...}}.
Created, read and deleted through the `ingest_targets` HTTPS function by the creator (a Firebase
user whose uid or `creator_id` custom claim is that username) or an admin. Workers write
`status`, `error` and `ingest.*` (fenced by their lease); clients only read (firestore.rules).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Request
from google.api_core import exceptions as gexc
from google.cloud import firestore
from pydantic import BaseModel, ConfigDict, Field

from giftengine.adapters.auth import Principal
from giftengine.domain import access
from giftengine.domain.ids import DocId
from giftengine.entrypoints.http import ApiError, Router, authenticate, parse_body

TARGETS = "ingest_targets"
USERNAME = re.compile(r"^[a-z0-9._]{2,24}$")
FAILED = "failed"


def normalize_creator_id(raw: str) -> str:
    """TikTok usernames are case-insensitive: '@Ana.Live' and 'ana.live' are one creator."""
    cid = raw.strip().removeprefix("@").lower()
    if not USERNAME.match(cid) or set(cid) == {"."}:
        raise ValueError(f"{raw!r} is not a TikTok username (2-24 of a-z 0-9 . _)")
    return cid


def may_manage(p: Principal, creator_id: str, owner_uid: str | None = None) -> bool:
    return access.may_manage_ingest_target(access.Actor.from_claims(p.uid, p.claims), p.claims,
                                           creator_id, owner_uid)


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_uid: DocId | None = Field(default=None, min_length=1, max_length=128,
                                  description="Admins only: the creator's Firebase uid.")


class Contention(Exception):
    """Concurrent writes to one target outlasted the transaction's retries (409 + Retry-After;
    the caller retries)."""


class TargetRepo:
    def __init__(self, db: firestore.Client):
        self.db = db

    def _ref(self, creator_id: str):
        return self.db.collection(TARGETS).document(creator_id)

    def get(self, creator_id: str) -> dict[str, Any] | None:
        snap = self._ref(creator_id).get()
        return snap.to_dict() if snap.exists else None

    def put(self, creator_id: str, owner_uid: str, by: str) -> tuple[dict[str, Any], bool]:
        """Create the target or re-enable it (a failed one is retried). Returns (doc, created)."""
        ref = self._ref(creator_id)

        @firestore.transactional
        def txn_fn(txn) -> bool:
            snap = ref.get(transaction=txn)
            now = datetime.now(UTC)
            if snap.exists:
                txn.update(ref, {"status": "pending", "error": None, "updated_at": now})
                return False
            txn.set(ref, {"creator_id": creator_id, "owner_uid": owner_uid, "created_by": by,
                          "created_at": now, "updated_at": now, "status": "pending",
                          "error": None, "ingest": {}})
            return True

        try:
            created = txn_fn(self.db.transaction())
        except (gexc.Aborted, gexc.Conflict, gexc.DeadlineExceeded, gexc.ServiceUnavailable,
                gexc.TooManyRequests) as exc:
            raise Contention(f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # google-cloud-firestore: "Failed to commit ... attempts"
            raise Contention(str(exc)) from None
        return self.get(creator_id) or {}, created

    def delete(self, creator_id: str) -> bool:
        ref = self._ref(creator_id)
        if not ref.get().exists:
            return False
        ref.delete()
        return True

    def active_ids(self) -> list[str]:
        """Targets a worker should follow: every one not marked failed."""
        return [s.id for s in self.db.collection(TARGETS).select(["status"]).stream()
                if (s.to_dict() or {}).get("status") != FAILED]

    def status(self, creator_id: str) -> str | None:
        doc = self.get(creator_id)
        return doc.get("status") if doc else None


# ---- HTTPS endpoint ---------------------------------------------------------------------------

router = Router("ingest_targets")


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "ingest"} | {"ingest": doc.get("ingest") or {}}


def _creator(raw: str) -> str:
    try:
        return normalize_creator_id(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None


class _Deps:
    project_id: str = ""
    repo: TargetRepo | None = None


deps = _Deps()


def _repo() -> TargetRepo:
    if deps.repo is None:
        from giftengine import config
        from giftengine.adapters.clients import firestore_client

        deps.project_id = config.load().project_id
        deps.repo = TargetRepo(firestore_client(deps.project_id))
    return deps.repo


def _principal(request: Request) -> Principal:
    _repo()  # resolves the project id on first use
    return authenticate(request, deps.project_id)


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
        doc, created = _repo().put(cid, owner, p.uid)
    except Contention:
        raise ApiError(409, "conflict", f"@{cid} is being changed by another request; retry",
                       {"Retry-After": "1"}) from None
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
