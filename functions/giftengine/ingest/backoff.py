"""Reconnect delays: exponential backoff with full jitter, and a process-wide sign-server gate."""

from __future__ import annotations

import random
import time


class Backoff:
    """Delay n = uniform(base * 2**n / 2, base * 2**n), capped at `cap` ("equal jitter"), so
    many creators dropped at once do not reconnect in lockstep."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None):
        self.base, self.cap = base, cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


class SignGate:
    """All creators share one sign-server key: when the server answers 429, every creator
    waits until its reset time instead of each finding out on its own. Within a process this
    object is the gate; across instances the worker mirrors it into Firestore
    (`ingest_gates/sign`, see SharedGate in leases.py) with `until_wall` / `hold_until_wall`."""

    def __init__(self, clock=time.monotonic, wall=time.time):
        self._clock, self._wall = clock, wall
        self._open_at = 0.0
        self.rate_limited = 0

    def until_wall(self) -> float:
        """Wall-clock instant the gate opens (0 when open)."""
        wait = self.wait_s()
        return self._wall() + wait if wait > 0 else 0.0

    def hold_until_wall(self, until: float) -> None:
        """Another instance was rate limited: keep this process's creators waiting too."""
        if until > self._wall():
            self._open_at = max(self._open_at, self._clock() + (until - self._wall()))

    def block_for(self, seconds: float) -> None:
        self.rate_limited += 1
        self._open_at = max(self._open_at, self._clock() + max(0.0, seconds))

    def wait_s(self) -> float:
        return max(0.0, self._open_at - self._clock())
