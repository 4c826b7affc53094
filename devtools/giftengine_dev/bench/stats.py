"""Small, dependency-free statistics for benchmark reports."""

from __future__ import annotations

from collections import defaultdict


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict:
    ms = [x * 1000 for x in seconds]
    return {"p50": _r(percentile(ms, 50)), "p99": _r(percentile(ms, 99)), "n": len(ms)}


def latency_figures(samples: dict[str, list[float]]) -> dict:
    """alert_latency_ms, floor_latency_ms (push + listener, in seconds in `samples`) and the
    p50 ratio of alert to floor; a figure without samples is None, never a guess."""
    push, listener = samples["push"], samples["listener"]
    alert = summary_ms(samples["alert"])

    def floor_ms(p: float) -> float | None:
        a, b = percentile(push, p), percentile(listener, p)
        return None if a is None or b is None else _r((a + b) * 1000)

    floor_p50 = floor_ms(50)
    return {
        "alert_latency_ms": alert,
        "floor_latency_ms": {
            "p50": floor_p50,
            "p99": floor_ms(99),
            "push_delivery": summary_ms(push),
            "firestore_listener": summary_ms(listener),
        },
        "latency_ratio_p50": round(alert["p50"] / floor_p50, 2)
        if alert["p50"] and floor_p50
        else None,
    }


def max_rate_in_window(times: list[float], window: float = 10.0) -> float:
    """Highest number of events in any `window`-second interval, per second."""
    ts = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] < t - window:
            j += 1
        best = max(best, i - j + 1)
    return best / window


def busiest(writes: list[dict], window: float = 10.0) -> tuple[str | None, float]:
    by_path: dict[str, list[float]] = defaultdict(list)
    for w in writes:
        by_path[w["path"]].append(w["t"])
    best_path, best = None, 0.0
    for path, ts in by_path.items():
        r = max_rate_in_window(ts, window)
        if r > best:
            best_path, best = path, r
    return best_path, best


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def in_flight_fit(sleeps_s: list[float], rates: list[float]) -> tuple[float, float]:
    """Requests in flight N and the endpoint's own time s0 per message, from delivery rates
    measured with an endpoint that waits `sleep` before answering: by Little's law
    1/rate = (sleep + s0) / N, a straight line in sleep (least squares)."""
    ys = [1 / r for r in rates]
    mx, my = sum(sleeps_s) / len(sleeps_s), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(sleeps_s, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in sleeps_s
    )
    n = 1 / slope
    return n, (my - slope * mx) * n
