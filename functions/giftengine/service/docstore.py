"""The transactional document store the wallet and the live interactions run on (a Protocol),
and an in-memory implementation.

Their services need a small slice of Firestore: serializable transactions over documents named
by path (all reads before writes, as Firestore requires), increments, and collection scans for
the jobs. `adapters/docstore.FirestoreDocStore` is the production adapter; `MemoryStore` runs the
same service code in memory for fast tests and property tests, and enforces the same
reads-before-writes rule so a service bug shows up here before the emulator does.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Doc = dict[str, Any]


class Tx(Protocol):
    def get(self, path: str) -> Doc | None: ...
    def get_all(self, paths: list[str]) -> dict[str, Doc | None]: ...
    def set(self, path: str, data: Doc, merge: bool = False) -> None: ...
    def increment(self, path: str, deltas: dict[str, int]) -> None: ...
    def list(self, collection: str) -> list[tuple[str, Doc]]: ...


class Store(Protocol):
    def transact(self, fn: Callable[[Tx], T]) -> T: ...
    def get(self, path: str) -> Doc | None: ...
    def set(self, path: str, data: Doc, merge: bool = False) -> None: ...
    def list(self, collection: str) -> Iterator[tuple[str, Doc]]: ...
    def where(
        self, collection: str, field: str, op: str, value: Any
    ) -> Iterator[tuple[str, Doc]]: ...
    def page(
        self,
        collection: str,
        order: list[tuple[str, str]],
        limit: int,
        equal: tuple[str, Any] | None = None,
        after: list[Any] | None = None,
    ) -> list[tuple[str, Doc]]:
        """At most `limit` documents ordered by `order` ((field, "asc"|"desc"), ...), those
        with `equal` = (field, value) only, starting after the position `after` (one value
        per order field). Documents missing an order field are left out, as Firestore does."""
        ...


class Contention(Exception):
    """`Store.transact` kept losing to concurrent writers; safe to retry (answered as a 409)."""

    status, code = 409, "contention"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ReadAfterWrite(RuntimeError):
    """Firestore transactions must do all reads before any write."""


def _merge(old: Doc, new: Doc) -> Doc:
    out = dict(old)
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _field(doc: Doc, dotted: str) -> Any:
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _page_key(order: list[tuple[str, str]]) -> Callable[[Doc], tuple]:
    def key(d: Doc) -> tuple:
        return tuple(_Desc(_field(d, f)) if o == "desc" else _field(d, f) for f, o in order)

    return key


class _Desc:
    """Reverses the order of one sort key (for descending fields in a tuple key)."""

    __slots__ = ("v",)

    def __init__(self, v: Any):
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.v == self.v


class _MemTx:
    def __init__(self, docs: dict[str, Doc]):
        self._docs = docs
        self._writes: list[tuple[str, str, Doc]] = []

    def _read(self, path: str) -> Doc | None:
        if self._writes:
            raise ReadAfterWrite(f"read of {path} after a write in the same transaction")
        d = self._docs.get(path)
        return copy.deepcopy(d) if d is not None else None

    def get(self, path: str) -> Doc | None:
        return self._read(path)

    def get_all(self, paths: list[str]) -> dict[str, Doc | None]:
        return {p: self._read(p) for p in paths}

    def list(self, collection: str) -> list[tuple[str, Doc]]:
        if self._writes:
            raise ReadAfterWrite(f"list of {collection} after a write in the same transaction")
        depth = collection.count("/") + 1
        return [
            (p.rsplit("/", 1)[1], copy.deepcopy(d))
            for p, d in sorted(self._docs.items())
            if p.startswith(collection + "/") and p.count("/") == depth
        ]

    def set(self, path: str, data: Doc, merge: bool = False) -> None:
        self._writes.append(("merge" if merge else "set", path, copy.deepcopy(data)))

    def increment(self, path: str, deltas: dict[str, int]) -> None:
        self._writes.append(("inc", path, dict(deltas)))

    def commit(self) -> None:
        for op, path, data in self._writes:
            if op == "set":
                self._docs[path] = data
            elif op == "merge":
                self._docs[path] = _merge(self._docs.get(path, {}), data)
            else:
                cur = dict(self._docs.get(path, {}))
                for k, v in data.items():
                    cur[k] = cur.get(k, 0) + v
                self._docs[path] = cur


class MemoryStore:
    """Serializable in-memory store (one lock): for service tests and property tests."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self._lock = threading.RLock()
        self.fail_next_commit: Exception | None = None  # fault injection for tests

    def transact(self, fn: Callable[[Tx], T]) -> T:
        with self._lock:
            tx = _MemTx(self.docs)
            result = fn(tx)
            if self.fail_next_commit is not None:
                exc, self.fail_next_commit = self.fail_next_commit, None
                raise exc
            tx.commit()
            return result

    def get(self, path: str) -> Doc | None:
        with self._lock:
            d = self.docs.get(path)
            return copy.deepcopy(d) if d is not None else None

    def set(self, path: str, data: Doc, merge: bool = False) -> None:
        with self._lock:
            old = self.docs.get(path, {})
            self.docs[path] = _merge(old, data) if merge else copy.deepcopy(data)

    def list(self, collection: str) -> Iterator[tuple[str, Doc]]:
        depth = collection.count("/") + 1
        with self._lock:
            items = [
                (p.rsplit("/", 1)[1], copy.deepcopy(d))
                for p, d in sorted(self.docs.items())
                if p.startswith(collection + "/") and p.count("/") == depth
            ]
        yield from items

    def where(self, collection: str, field: str, op: str, value: Any) -> Iterator[tuple[str, Doc]]:
        for doc_id, d in self.list(collection):
            v = _field(d, field)
            if v is not None and _OPS[op](v, value):
                yield doc_id, d

    def page(
        self,
        collection: str,
        order: list[tuple[str, str]],
        limit: int,
        equal: tuple[str, Any] | None = None,
        after: list[Any] | None = None,
    ) -> list[tuple[str, Doc]]:
        key = _page_key(order)
        rows = [
            (i, d)
            for i, d in self.list(collection)
            if all(_field(d, f) is not None for f, _ in order)
            and (equal is None or _field(d, equal[0]) == equal[1])
        ]
        rows.sort(key=lambda r: key(r[1]))
        if after is not None:
            start = key(dict(zip([f for f, _ in order], after, strict=True)))
            rows = [r for r in rows if start < key(r[1])]
        return rows[:limit]
