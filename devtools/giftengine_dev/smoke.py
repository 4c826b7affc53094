"""`giftengine smoke`: after a deploy, prove the deployed system answers end to end.

Steps, each reported as it runs (name, ok, detail, seconds):
1. `sign_in`: signs up a throw-away email/password user at the Identity Toolkit endpoint
   (the Auth emulator's locally) and keeps its Firebase ID token.
2. `publish_gift`: publishes one gift EngagementEvent to the engagement topic, on a stream
   of its own (`smoke-<run>`).
3. `read_back`: reads the stream's live document through Firestore until the gift is
   counted (totals.gifts == 1, totals.coins == 1).
4. `endpoint:<function>`: calls each public function once through the production path
   shape `/<function>/...` and checks the documented answer (docs/openapi.yaml).
5. `cleanup`: deletes the test user.
The first failing step stops the run (later steps depend on it), except the endpoint calls,
which all run.

Where: the local cloud when FIRESTORE_EMULATOR_HOST is set (or a `giftengine dev up` stack
runs): functions at their GIFTENGINE_URL_<NAME>. Otherwise the real project: application-
default credentials for Pub/Sub and Firestore, functions through the Firebase Hosting site
`https://PROJECT.web.app` (its rewrites, firebase.json), the web API key from `--api-key`,
GIFTENGINE_WEB_API_KEY or the site's /config.json.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

IDENTITY_TOOLKIT = "https://identitytoolkit.googleapis.com/v1"
LOCAL_API_KEY = "smoke-local-key"  # the Auth emulator accepts any key


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class Target:
    project: str
    region: str
    local: bool
    # Function key -> base URL the function's paths (`/<key>/...`) are appended to.
    bases: dict[str, str]
    api_key: str
    auth_base: str
    read_timeout_s: float = 60.0


@dataclass
class Endpoint:
    """One documented call per public function and the statuses that prove it is served."""

    function: str
    method: str
    path: str
    expect: frozenset[int]
    auth: bool = False
    body: dict[str, Any] | None = None


# A 4xx with the documented reason proves the function runs, routes and validates as much as
# a 200 does, without side effects on real data.
ENDPOINTS = [
    Endpoint("api", "GET", "/api/health", frozenset({200})),
    Endpoint("wallet_api", "GET", "/wallet_api/wallet", frozenset({200}), auth=True),
    Endpoint("payments_webhook", "POST", "/payments_webhook/stripe", frozenset({400}), body={}),
    Endpoint("chat_api", "GET", "/chat_api/flags", frozenset({403}), auth=True),
    Endpoint("ingest_targets", "GET", "/ingest_targets/{creator}", frozenset({403}), auth=True),
]


@dataclass
class Run:
    target: Target
    report: Callable[[Step], None] = lambda step: None
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    steps: list[Step] = field(default_factory=list)
    id_token: str = ""

    @property
    def stream_id(self) -> str:
        return f"smoke-{self.run_id}"

    def step(self, name: str, fn: Callable[[], str]) -> bool:
        start = time.monotonic()
        try:
            detail, ok = fn(), True
        except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
            detail, ok = f"{type(e).__name__}: {e}", False
        s = Step(name, ok, detail, round(time.monotonic() - start, 3))
        self.steps.append(s)
        self.report(s)
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def as_json(self) -> dict[str, Any]:
        t = self.target
        return {
            "ok": self.ok,
            "project": t.project,
            "region": t.region,
            "local": t.local,
            "stream_id": self.stream_id,
            "steps": [asdict(s) for s in self.steps],
        }


def run(target: Target, report: Callable[[Step], None] = lambda s: None) -> Run:
    r = Run(target, report)
    if not r.step("sign_in", lambda: _sign_in(r)):
        return r
    if r.step("publish_gift", lambda: _publish(r)):
        r.step("read_back", lambda: _read_back(r))
    for e in ENDPOINTS:
        if e.function in target.bases:
            r.step(f"endpoint:{e.function}", lambda e=e: _call(r, e))
    r.step("cleanup", lambda: _delete_user(r))
    return r


def _sign_in(r: Run) -> str:
    t = r.target
    email = f"smoke-{r.run_id}@example.com"
    resp = requests.post(
        f"{t.auth_base}/accounts:signUp?key={t.api_key}",
        json={"email": email, "password": secrets.token_urlsafe(18), "returnSecureToken": True},
        timeout=15,
    )
    if resp.status_code != 200:
        raise RuntimeError(f"signUp answered {resp.status_code}: {resp.text[:200]}")
    r.id_token = resp.json()["idToken"]
    return f"signed up {email}"


def _publish(r: Run) -> str:
    from giftengine.adapters.pubsub import EventPublisher
    from giftengine.domain.events import EngagementEvent

    event = EngagementEvent.model_validate(
        {
            "event_id": f"smoke-{r.run_id}-1",
            "source": "app",
            "stream_id": r.stream_id,
            "kind": "gift",
            "occurred_at": datetime.now(UTC).isoformat(),
            "user": {"id": f"smoke-{r.run_id}", "handle": "@smoke", "name": "Smoke"},
            "gift": {"id": "rose", "name": "Rose", "coins": 1, "streakable": False},
            "repeat_count": 1,
            "repeat_end": True,
        }
    )
    publisher = EventPublisher(r.target.project)
    try:
        ids = publisher.publish_all([event], timeout=30)
    finally:
        publisher.close()
    return f"published {event.event_id} to {publisher.topic_path} (message {ids[0]})"


def _read_back(r: Run) -> str:
    from giftengine.adapters.clients import firestore_client

    doc = firestore_client(r.target.project).collection("streams").document(r.stream_id)
    deadline = time.monotonic() + r.target.read_timeout_s
    totals: dict[str, Any] = {}
    while time.monotonic() < deadline:
        snap = doc.get()
        totals = (snap.to_dict() or {}).get("totals") or {} if snap.exists else {}
        if totals.get("gifts", 0) >= 1:
            if (totals.get("gifts"), totals.get("coins")) != (1, 1):
                raise RuntimeError(f"streams/{r.stream_id} totals {totals}, want 1 gift, 1 coin")
            return f"streams/{r.stream_id}: gifts=1 coins=1"
        time.sleep(0.5)
    raise TimeoutError(f"streams/{r.stream_id} did not count the gift: totals {totals}")


def _call(r: Run, e: Endpoint) -> str:
    url = r.target.bases[e.function].rstrip("/") + e.path.format(creator=f"smoke_{r.run_id}")
    headers = {"Authorization": f"Bearer {r.id_token}"} if e.auth else {}
    resp = requests.request(e.method, url, json=e.body, headers=headers, timeout=30)
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code not in e.expect:
        raise RuntimeError(f"{e.method} {url} answered {resp.status_code}: {resp.text[:200]}")
    if resp.status_code >= 400 and not (isinstance(body, dict) and body.get("reason")):
        raise RuntimeError(f"{e.method} {url} answered {resp.status_code} without a reason")
    return f"{e.method} {e.path} -> {resp.status_code}"


def _delete_user(r: Run) -> str:
    t = r.target
    resp = requests.post(
        f"{t.auth_base}/accounts:delete?key={t.api_key}", json={"idToken": r.id_token}, timeout=15
    )
    if resp.status_code != 200:
        raise RuntimeError(f"delete answered {resp.status_code}: {resp.text[:200]}")
    return "test user deleted"


def public_functions() -> list[str]:
    from giftengine import manifest

    m = manifest.load()
    return sorted(k for k, f in m.functions.items() if f.trigger == "http" and f.public)


def local_target(project: str, region: str, base_url: str | None = None) -> Target:
    """The local cloud: the emulators named by the environment, functions at their URLs."""
    host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
    bases = {}
    for key in public_functions():
        url = base_url or os.environ.get(f"GIFTENGINE_URL_{key.upper()}")
        if url:
            bases[key] = url
    return Target(
        project=project,
        region=region,
        local=True,
        bases=bases,
        api_key=LOCAL_API_KEY,
        auth_base=f"http://{host}/identitytoolkit.googleapis.com/v1",
    )


def cloud_target(
    project: str, region: str, base_url: str | None = None, api_key: str | None = None
) -> Target:
    """A deployed project: every public function behind the Hosting site's rewrites."""
    site = (base_url or f"https://{project}.web.app").rstrip("/")
    key = api_key or os.environ.get("GIFTENGINE_WEB_API_KEY")
    if not key:
        resp = requests.get(f"{site}/config.json", timeout=15)
        resp.raise_for_status()
        key = ((resp.json() or {}).get("firebase") or {}).get("apiKey")
        if not key:
            raise RuntimeError(f"{site}/config.json has no firebase.apiKey: pass --api-key")
    return Target(
        project=project,
        region=region,
        local=False,
        bases={k: site for k in public_functions()},
        api_key=key,
        auth_base=IDENTITY_TOOLKIT,
    )
