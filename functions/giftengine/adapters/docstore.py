"""The document `Store` (service/docstore.py) on Firestore: serializable transactions with
retry on contention. The wallet and the live interactions run on it.

Firestore (and its emulator) abort a transaction whose reads were overwritten before commit;
the client library re-runs the function. Two devices spending the last coins therefore run
one after the other: the second re-reads the debited wallet and is refused (402).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore

from giftengine.service.docstore import Contention, Doc

T = TypeVar("T")


class _FsTx:
    def __init__(self, client: firestore.Client, tx: firestore.Transaction):
        self._c, self._tx = client, tx

    def get(self, path: str) -> Doc | None:
        snap = self._c.document(path).get(transaction=self._tx)
        return snap.to_dict() if snap.exists else None

    def get_all(self, paths: list[str]) -> dict[str, Doc | None]:
        refs = [self._c.document(p) for p in dict.fromkeys(paths)]
        out: dict[str, Doc | None] = dict.fromkeys(paths)
        for snap in self._c.get_all(refs, transaction=self._tx):
            out[snap.reference.path] = snap.to_dict() if snap.exists else None
        return out

    def list(self, collection: str) -> list[tuple[str, Doc]]:
        snaps = self._c.collection(collection).get(transaction=self._tx)
        return [(snap.id, snap.to_dict()) for snap in snaps]

    def set(self, path: str, data: Doc, merge: bool = False) -> None:
        self._tx.set(self._c.document(path), data, merge=merge)

    def increment(self, path: str, deltas: dict[str, int]) -> None:
        self._tx.set(
            self._c.document(path),
            {k: firestore.Increment(v) for k, v in deltas.items()},
            merge=True,
        )


class FirestoreDocStore:
    # How long one request keeps retrying a contended transaction before it answers 409
    # `contention` (safe to retry): a burst on one document (a dozen stakes of one viewer
    # sent at once) otherwise held every worker thread of the function for minutes, on the
    # emulator's lock waits, and the function answered nothing else meanwhile.
    DEADLINE_S = 20.0

    def __init__(
        self, client: firestore.Client, max_attempts: int = 30, deadline_s: float = DEADLINE_S
    ):
        self.client, self.max_attempts, self.deadline_s = client, max_attempts, deadline_s

    def transact(self, fn: Callable[[Any], T]) -> T:
        """Run `fn` in a transaction. The client library retries an aborted commit, but a read
        aborted by a competing transaction (the emulator and production both do this under
        contention) surfaces as Aborted: retry the whole function with jittered backoff, for
        at most `max_attempts` tries and `deadline_s` seconds."""

        @firestore.transactional
        def run(tx: firestore.Transaction) -> T:
            return fn(_FsTx(self.client, tx))

        delay, started = 0.01, time.monotonic()
        for attempt in range(self.max_attempts):
            try:
                return self._attempt(run)
            except (gexc.Aborted, gexc.Conflict, gexc.DeadlineExceeded):
                pass
            except ValueError as exc:  # the library's "failed to commit within N attempts"
                if "attempts" not in str(exc):
                    raise
            if time.monotonic() - started >= self.deadline_s:
                break
            if attempt + 1 < self.max_attempts:
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, 1.0)
        raise Contention("too many concurrent updates to the same documents; retry")

    def _attempt(self, run: Callable[[firestore.Transaction], T]) -> T:
        return run(self.client.transaction(max_attempts=5))

    def get(self, path: str) -> Doc | None:
        snap = self.client.document(path).get()
        return snap.to_dict() if snap.exists else None

    def set(self, path: str, data: Doc, merge: bool = False) -> None:
        self.client.document(path).set(data, merge=merge)

    def list(self, collection: str) -> Iterator[tuple[str, Doc]]:
        for snap in self.client.collection(collection).stream():
            yield snap.id, snap.to_dict()

    def where(self, collection: str, field: str, op: str, value: Any) -> Iterator[tuple[str, Doc]]:
        q = self.client.collection(collection).where(filter=firestore.FieldFilter(field, op, value))
        for snap in q.stream():
            yield snap.id, snap.to_dict()

    def page(
        self,
        collection: str,
        order: list[tuple[str, str]],
        limit: int,
        equal: tuple[str, Any] | None = None,
        after: list[Any] | None = None,
    ) -> list[tuple[str, Doc]]:
        q: Any = self.client.collection(collection)
        if equal is not None:
            q = q.where(filter=firestore.FieldFilter(equal[0], "==", equal[1]))
        for f, o in order:
            direction = firestore.Query.DESCENDING if o == "desc" else firestore.Query.ASCENDING
            q = q.order_by(f, direction=direction)
        if after is not None:
            q = q.start_after(dict(zip([f for f, _ in order], after, strict=True)))
        return [(snap.id, snap.to_dict()) for snap in q.limit(limit).stream()]
