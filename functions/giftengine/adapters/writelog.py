"""Dev/bench instrumentation: one JSON line per Firestore document write, and counted
operations (document reads, refused writes, invocations, Cloud Tasks creates).

The emulator does not enforce Firestore's per-document write limits and bills nothing, so
the benchmark counts writes and operations itself from these logs. Enabled only when
GIFTENGINE_WRITE_LOG is set (`giftengine dev up` sets it); production leaves it off.
Write lines carry `path`; operation lines carry `op` and `n`.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator


class WriteLog:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()

    def record(self, paths: Iterable[str], kind: str) -> None:
        if not self.path:
            return
        now = time.time()
        lines = "".join(json.dumps({"t": now, "path": p, "kind": kind}) + "\n" for p in paths)
        with self._lock, open(self.path, "a") as f:
            f.write(lines)

    @contextlib.contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        """Counts one invocation of `function` and the seconds it took."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.count(f"invocation.{function}")
            self.count(f"seconds.{function}", time.perf_counter() - t0)

    def read(self, what: str, n: int = 1) -> None:
        """`n` Firestore documents read (a query that finds nothing is billed as one) by
        the operation `what` (lease, cursor, log, lookup, goals, state, ...), so the
        benchmark can say where a gift's reads come from."""
        self.count("read", n, what=what)

    def count(self, op: str, n: float = 1, **labels: str) -> None:
        """`n` operations of a kind: "read" (Firestore documents read; a query that finds
        nothing is billed as one), "write_refused", "invocation.<function>" and
        "seconds.<function>", "tasks_create"."""
        if not self.path:
            return
        line = json.dumps({"t": time.time(), "op": op, "n": n, **labels}) + "\n"
        with self._lock, open(self.path, "a") as f:
            f.write(line)


def read(directory: str) -> list[dict]:
    out: list[dict] = []
    if not os.path.isdir(directory):
        return out
    for name in os.listdir(directory):
        if name.endswith(".jsonl"):
            with open(os.path.join(directory, name)) as f:
                out.extend(json.loads(line) for line in f if line.strip())
    return out
