"""A bounded memory of message keys already published for one creator.

TikTok replays recent messages when a client (re)connects; the window outlives connections
(it belongs to the creator's session in this process), so a replay is dropped here. Across
processes (restart, takeover) the deterministic event ids keep downstream effects exactly-once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class SeenWindow:
    def __init__(self, capacity: int = 20_000):
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def seen_any(self, keys: Iterable[str]) -> bool:
        return any(k in self._keys for k in keys)

    def add(self, keys: Iterable[str]) -> None:
        for k in keys:
            self._keys[k] = None
            self._keys.move_to_end(k)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def admit(self, keys: tuple[str, ...]) -> bool:
        """True (and remembered) if none of `keys` was seen; False for a duplicate."""
        if self.seen_any(keys):
            return False
        self.add(keys)
        return True
