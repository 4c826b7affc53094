"""Real Firebase ID tokens from the Auth emulator, for the demo, benchmarks and tests.

The user is created on demand and its custom claims set; a custom token is exchanged for
an ID token at the emulator's signInWithCustomToken endpoint, exactly as a client SDK
would. Only for the local cloud: it needs FIREBASE_AUTH_EMULATOR_HOST.
"""

from __future__ import annotations

import contextlib
import os
import threading

import requests

_app_lock = threading.Lock()


def admin_app(project_id: str):
    """The firebase-admin app these helpers use for `project_id` (created once)."""
    import firebase_admin

    name = f"emulator-tokens-{project_id}"
    with _app_lock:  # callers on several threads: one app per project
        try:
            return firebase_admin.get_app(name)
        except ValueError:
            return firebase_admin.initialize_app(options={"projectId": project_id}, name=name)


def emulator_id_token(
    uid: str, project_id: str, claims: dict | None = None, display_name: str | None = None
) -> str:
    from firebase_admin import auth

    host = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    if not host:
        raise RuntimeError(
            "FIREBASE_AUTH_EMULATOR_HOST is not set: this helper is for the "
            "local cloud's Auth emulator only"
        )
    app = admin_app(project_id)
    try:
        auth.get_user(uid, app=app)
    except auth.UserNotFoundError:
        # a concurrent caller may create it between the two calls
        with contextlib.suppress(auth.UidAlreadyExistsError):
            auth.create_user(uid=uid, display_name=display_name, app=app)
    if claims is not None:
        auth.set_custom_user_claims(uid, claims, app=app)
    custom = auth.create_custom_token(uid, app=app).decode()
    r = requests.post(
        f"http://{host}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken"
        "?key=emulator-api-key",
        json={"token": custom, "returnSecureToken": True},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()["idToken"]
