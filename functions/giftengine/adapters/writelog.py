"""Dev/bench instrumentation: one JSON line per Firestore document write.

The emulator does not enforce Firestore's per-document write limits, so the benchmark
counts writes itself from these logs. Enabled only when GIFTENGINE_WRITE_LOG is set
(`giftengine dev up` sets it); production leaves it off.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable


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


def read(directory: str) -> list[dict]:
    out: list[dict] = []
    if not os.path.isdir(directory):
        return out
    for name in os.listdir(directory):
        if name.endswith(".jsonl"):
            with open(os.path.join(directory, name)) as f:
                out.extend(json.loads(line) for line in f if line.strip())
    return out
