"""Helpers shared by emulator and end-to-end tests: listeners, publishers, auth tokens."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable


def wait_for_doc(doc_ref, predicate: Callable[[dict], bool], timeout: float = 30.0) -> dict:
    """Block until the document, as a Firestore listener sees it, satisfies `predicate`."""
    seen: dict = {}
    done = threading.Event()

    def on_snapshot(snaps, changes, read_time):
        for snap in snaps:
            data = snap.to_dict() or {}
            seen["last"] = data
            if snap.exists and predicate(data):
                done.set()

    watch = doc_ref.on_snapshot(on_snapshot)
    try:
        if not done.wait(timeout):
            raise AssertionError(
                f"timed out after {timeout}s waiting for {doc_ref.path}; "
                f"last seen: {json.dumps(seen.get('last'), default=str)[:2000]}"
            )
        return seen["last"]
    finally:
        watch.unsubscribe()


def wait_for_query(query, predicate: Callable[[list[dict]], bool], timeout: float = 30.0):
    seen: dict = {}
    done = threading.Event()

    def on_snapshot(snaps, changes, read_time):
        docs = [s.to_dict() for s in snaps]
        seen["last"] = docs
        if predicate(docs):
            done.set()

    watch = query.on_snapshot(on_snapshot)
    try:
        if not done.wait(timeout):
            raise AssertionError(
                f"timed out after {timeout}s; last seen: "
                f"{json.dumps(seen.get('last'), default=str)[:2000]}"
            )
        return seen["last"]
    finally:
        watch.unsubscribe()


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
    from giftengine.devcloud.tokens import emulator_id_token

    return emulator_id_token(uid, project_id or os.environ["GIFTENGINE_PROJECT"], claims or {})
