"""Fixtures for the moderation tests: a Firestore client on the local cloud's emulator and
service dependencies with a controllable clock."""

from __future__ import annotations

import contextlib
import uuid

import pytest


@pytest.fixture(scope="session")
def chat_project(cloud) -> str:
    return cloud["project_id"]


@pytest.fixture(scope="session")
def chat_db(chat_project):
    from google.cloud import firestore

    return firestore.Client(project=chat_project)


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", pytest.param("firestore", marks=pytest.mark.emulator)])
def chat_store(request):
    """The service's store: the in-memory fake, and the Firestore adapter on the emulator
    (every service test runs on both, so the fake cannot drift from the adapter)."""
    if request.param == "memory":
        from giftengine.moderation.store import MemoryChatStore

        return MemoryChatStore()
    from giftengine.moderation.repo import ChatRepo

    return ChatRepo(request.getfixturevalue("chat_db"))


@pytest.fixture
def owners(chat_store):
    """Stream ownership records beside the store: in memory, or Firestore's stream_owners."""
    if hasattr(chat_store, "db"):
        from giftengine.adapters.ownership import FirestoreOwnership

        return FirestoreOwnership(chat_store.db)
    from giftengine.service.streams import MemoryOwnership

    return MemoryOwnership()


@pytest.fixture
def make_deps(chat_store, owners, clock):
    from giftengine.moderation.policy import ChatSettings
    from giftengine.moderation.service import Deps

    def make(**settings) -> Deps:
        return Deps(
            repo=chat_store,
            settings=ChatSettings(**settings),
            clock=clock,
            shard=lambda n: 0,
            owners=owners,
        )

    return make


@pytest.fixture
def store_stream(chat_store, owners) -> str:
    """A fresh stream owned by `creator-<id>` (its ownership record, and on Firestore also
    the live-state document)."""
    from datetime import UTC, datetime

    from giftengine.domain.access import StreamOwner

    stream_id = "s-" + uuid.uuid4().hex[:12]
    creator = f"creator-{stream_id}"
    if hasattr(chat_store, "db"):
        chat_store.db.collection("streams").document(stream_id).set(
            {"stream_id": stream_id, "creator_id": creator}
        )
    owners.create(StreamOwner(stream_id, creator), creator, datetime.now(UTC))
    return stream_id


@pytest.fixture
def stream(chat_db) -> str:
    """A fresh stream on the emulator whose creator is `creator-<id>` (end-to-end tests)."""
    stream_id = "s-" + uuid.uuid4().hex[:12]
    chat_db.collection("streams").document(stream_id).set(
        {"stream_id": stream_id, "creator_id": f"creator-{stream_id}"}
    )
    chat_db.collection("stream_owners").document(stream_id).set(
        {"stream_id": stream_id, "creator_id": f"creator-{stream_id}", "source": "app"}
    )
    return stream_id


def audit_actions(store, stream: str) -> list[str]:
    if hasattr(store, "audit_actions"):
        return store.audit_actions(stream)
    from google.cloud.firestore import FieldFilter

    return sorted(
        d.to_dict()["action"]
        for d in store.db.collection("moderation_audit")
        .where(filter=FieldFilter("stream_id", "==", stream))
        .stream()
    )


def notices(store, stream: str, uid: str) -> list[dict]:
    if hasattr(store, "notices"):
        return store.notices(stream, uid)
    return [d.to_dict() for d in store.user(stream, uid).collection("notices").stream()]


def rate_limit_ids(store) -> list[str]:
    if hasattr(store, "docs"):
        return [p.split("/", 1)[1] for p in store.docs if p.startswith("rate_limits/")]
    return [d.id for d in store.db.collection("rate_limits").stream()]


# ---- end-to-end helpers: real users on the Auth emulator, calls through chat_api ----------


class ChatClient:
    """Calls the local cloud's chat_api as one signed-in user from one IP."""

    def __init__(self, base: str, token: str | None, ip: str):
        self.base, self.token, self.ip = base, token, ip

    def headers(self) -> dict:
        h = {"X-Forwarded-For": self.ip}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def call(self, method: str, path: str, json=None, params=None, ip: str | None = None):
        import requests

        headers = self.headers()
        if ip:
            headers["X-Forwarded-For"] = ip
        return requests.request(
            method, self.base + path, json=json, params=params, headers=headers, timeout=30
        )

    def send(self, stream: str, text: str, **body):
        return self.call("POST", f"/streams/{stream}/messages", json={"text": text, **body})


def random_ip() -> str:
    # A documentation-prefix IPv6 address: only ever a header value, never a destination.
    h = uuid.uuid4().hex
    return f"2001:db8::{h[:4]}:{h[4:8]}:{h[8:12]}"


@pytest.fixture(scope="session")
def auth_app(cloud):
    import firebase_admin

    name = "moderation-tests"
    try:
        return firebase_admin.get_app(name)
    except ValueError:
        return firebase_admin.initialize_app(options={"projectId": cloud["project_id"]}, name=name)


@pytest.fixture(scope="session")
def sign_in(cloud, auth_app):
    """sign_in(uid, **claims) -> ID token of a real Auth-emulator user with those claims."""
    import requests
    from firebase_admin import auth

    host = cloud["emulators"]["auth"]

    def make(uid: str, **claims) -> str:
        email = f"{uid}@example.test"
        with contextlib.suppress(auth.UidAlreadyExistsError):
            auth.create_user(uid=uid, email=email, password="secret-pass", app=auth_app)
        auth.set_custom_user_claims(uid, claims or None, app=auth_app)
        r = requests.post(
            f"http://{host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword",
            params={"key": "fake-api-key"},
            json={"email": email, "password": "secret-pass", "returnSecureToken": True},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()["idToken"]

    return make


@pytest.fixture
def chat(cloud, sign_in):
    """chat(uid, **claims) -> ChatClient for that user, each with its own client IP."""
    base = cloud["endpoints"]["chat_api"]

    def make(uid: str | None, **claims) -> ChatClient:
        token = sign_in(uid, **claims) if uid else None
        return ChatClient(base, token, random_ip())

    return make
