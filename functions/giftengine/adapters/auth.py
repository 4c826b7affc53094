"""Firebase Auth: verifying the ID tokens that apps send as `Authorization: Bearer ...`.

With FIREBASE_AUTH_EMULATOR_HOST set, firebase-admin accepts the Auth emulator's
unsigned tokens; in production it verifies Google's signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import firebase_admin
from firebase_admin import auth as fb_auth

from giftengine.domain.access import ADMIN, MODERATOR, has_role


class Unauthenticated(Exception):
    """No or invalid credentials (maps to 401)."""


@dataclass(frozen=True)
class Principal:
    uid: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return has_role(self.claims, ADMIN)

    @property
    def is_moderator(self) -> bool:
        return self.is_admin or has_role(self.claims, MODERATOR)


def _app(project_id: str) -> firebase_admin.App:
    try:
        return firebase_admin.get_app()
    except ValueError:
        return firebase_admin.initialize_app(options={"projectId": project_id})


def verify_bearer(
    authorization: str | None, project_id: str, check_revoked: bool = False
) -> Principal:
    """`check_revoked`: also ask Firebase Auth whether the account is disabled or its tokens
    were revoked (one lookup); used where money moves or moderation happens, so a disabled
    account cannot act for the rest of its token's hour."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("missing 'Authorization: Bearer <Firebase ID token>' header")
    token = authorization.removeprefix("Bearer ").strip()
    try:
        claims = fb_auth.verify_id_token(token, app=_app(project_id), check_revoked=check_revoked)
    except (fb_auth.RevokedIdTokenError, fb_auth.UserDisabledError) as exc:
        reason = f"the account is disabled or signed out: {type(exc).__name__}"
        raise Unauthenticated(reason) from None
    except Exception as exc:  # firebase-admin raises several types for bad tokens
        raise Unauthenticated(f"invalid ID token: {type(exc).__name__}") from None
    return Principal(uid=claims["uid"], claims=claims)
