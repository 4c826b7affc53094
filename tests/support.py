"""Helpers shared by emulator and end-to-end tests: listeners, publishers, auth tokens."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable


def _wait_listener(watchable, view: Callable, predicate: Callable, timeout: float, what: str):
    """Listen to `watchable` until `predicate(view(snapshots))` holds; return that view."""
    seen: dict = {}
    done = threading.Event()

    def on_snapshot(snaps, changes, read_time):
        value = view(snaps)
        seen["last"] = value
        if value is not None and predicate(value):
            done.set()

    watch = watchable.on_snapshot(on_snapshot)
    try:
        if not done.wait(timeout):
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; "
                f"last seen: {json.dumps(seen.get('last'), default=str)[:2000]}"
            )
        return seen["last"]
    finally:
        watch.unsubscribe()


def wait_for_doc(doc_ref, predicate: Callable[[dict], bool], timeout: float = 30.0) -> dict:
    """Block until the document, as a Firestore listener sees it, satisfies `predicate`."""

    def view(snaps):
        snap = snaps[-1] if snaps else None
        return snap.to_dict() if snap is not None and snap.exists else None

    return _wait_listener(doc_ref, view, predicate, timeout, doc_ref.path)


def wait_for_query(query, predicate: Callable[[list[dict]], bool], timeout: float = 30.0):
    """Block until the query's documents, as a listener sees them, satisfy `predicate`."""
    return _wait_listener(
        query, lambda snaps: [s.to_dict() for s in snaps], predicate, timeout, "a query"
    )


def emulator_retry():
    """A retry for a test's own direct writes: under load the Firestore emulator now and then
    answers a commit with CANCELLED ("call already cancelled") or ABORTED while the pipeline's
    transactions hold the same document. Only for idempotent writes (a fixed value)."""
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry, if_exception_type

    return Retry(
        predicate=if_exception_type(gexc.Cancelled, gexc.Aborted, gexc.ServiceUnavailable),
        initial=0.2,
        maximum=2.0,
        timeout=30.0,
    )


def poll(fn: Callable[[], object], timeout: float = 20.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(every)


def id_token(uid: str, claims: dict | None = None, project_id: str | None = None) -> str:
    """A real ID token from the Auth emulator for `uid` (created on demand) with `claims`."""
    from giftengine_dev.devcloud.tokens import emulator_id_token

    return emulator_id_token(uid, project_id or os.environ["GIFTENGINE_PROJECT"], claims or {})


def stripe_post(endpoints: dict, evt: dict, record: bool = True, **kw):
    """Sign a Stripe event (tests/wallet/stripe_events.py) and deliver it to the local
    `payments_webhook`. A completion's session is recorded first (`record`), as `POST
    /wallet_api/checkout/stripe` would have: a completion of a session never started here
    credits nothing. `kw`: `se.signed`'s (secret, timestamp)."""
    import requests
    from giftengine.adapters.clients import firestore_client
    from giftengine.wallet.stripe_gateway import COMPLETION_TYPES

    from tests.wallet import stripe_events as se

    if record and evt["type"] in COMPLETION_TYPES:
        path, doc = se.checkout_record(evt)
        firestore_client(os.environ["GIFTENGINE_PROJECT"]).document(path).set(doc)
    body, header = se.signed(evt, **kw)
    return requests.post(
        f"{endpoints['payments_webhook']}/payments_webhook/stripe",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        timeout=30,
    )


def create_stream(cloud: dict, creator_uid: str, stream_id: str, title: str = "") -> dict:
    """The creator's POST /api/streams: the ownership record that gives them creator powers
    on `stream_id` (the first event's creator_id gives none)."""
    import requests

    r = requests.post(
        f"{cloud['endpoints']['api']}/streams",
        json={"stream_id": stream_id, "title": title},
        headers={"Authorization": f"Bearer {id_token(creator_uid)}"},
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def bearer(uid: str) -> dict[str, str]:
    """The Authorization header of `uid`'s emulator ID token."""
    return {"Authorization": f"Bearer {id_token(uid)}"}


def invite_battle(cloud: dict, tag: str, duration_s: int, windows: list[dict]) -> dict:
    """Two creators with a stream each, and the first one's battle invite to the second
    (POST /api/battles): {n (the random part of every id), alice, bob, sa, sb, body,
    battle_id}. Accepting is left to the test (it may open overlays first, or try the
    wrong creator)."""
    import uuid

    import requests

    n = uuid.uuid4().hex[:8]
    alice, bob = f"al-{n}", f"bo-{n}"
    sa, sb = f"s-{tag}a-{n}", f"s-{tag}b-{n}"
    create_stream(cloud, alice, sa)
    create_stream(cloud, bob, sb)
    body = {
        "stream_id": sa,
        "opponent_creator_id": bob,
        "opponent_stream_id": sb,
        "duration_s": duration_s,
        "windows": windows,
        "request_id": f"r-{n}",
    }
    r = requests.post(
        f"{cloud['endpoints']['api']}/battles", json=body, headers=bearer(alice), timeout=30
    )
    assert r.status_code == 201, r.text
    return {"n": n, "alice": alice, "bob": bob, "sa": sa, "sb": sb, "body": body, **r.json()}


def cli_viewer(viewer: str, creator: str) -> dict:
    """`giftengine viewer VIEWER --creator CREATOR --json` on the session's local cloud (the
    emulator variables the `cloud` fixture exported), parsed."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "giftengine_dev.cli.main", "viewer", viewer]
        + ["--creator", creator, "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)
