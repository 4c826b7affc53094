"""Token-bucket arithmetic (pure). Storage keeps `{tokens, at}`; this computes the next state.

One formula serves the per-user chat bucket, the per-stream flood shards and the per-IP API
limiter: `capacity` tokens, refilled continuously at `rate` tokens per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketSpec:
    capacity: float
    rate: float  # tokens per second

    @classmethod
    def per_window(cls, count: int, window_s: float) -> BucketSpec:
        """`count` requests per `window_s`, all usable at once (e.g. 100 per 15 minutes)."""
        return cls(capacity=float(count), rate=count / window_s)


@dataclass(frozen=True)
class BucketState:
    tokens: float
    at: float  # epoch seconds of `tokens`


@dataclass(frozen=True)
class Take:
    allowed: bool
    state: BucketState  # the state to store (only needs writing when allowed)
    retry_after_s: float  # 0 when allowed


def take(spec: BucketSpec, state: BucketState | None, now: float, cost: float = 1.0) -> Take:
    if state is None:
        tokens = spec.capacity
    else:
        elapsed = max(0.0, now - state.at)  # a clock step backwards never mints tokens
        tokens = min(spec.capacity, state.tokens + elapsed * spec.rate)
    refreshed = BucketState(tokens=tokens, at=now)
    if tokens >= cost:
        return Take(True, BucketState(tokens=tokens - cost, at=now), 0.0)
    missing = cost - tokens
    wait = missing / spec.rate if spec.rate > 0 else math.inf
    return Take(False, refreshed, wait)


def retry_after_header(seconds: float) -> str:
    """Retry-After is whole seconds; round up so a client that obeys it succeeds."""
    if math.isinf(seconds):
        return "3600"
    return str(max(1, math.ceil(seconds)))
