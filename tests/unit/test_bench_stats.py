"""The arithmetic behind benchmark figures (BENCHMARKS.md)."""

from __future__ import annotations

import pytest
from giftengine_dev.bench.stats import (
    in_flight_fit,
    latency_figures,
    max_rate_in_window,
    percentile,
)


def test_in_flight_fit_recovers_the_window_and_service_time_of_a_queue():
    n, s0 = 2.0, 0.0015  # two requests in flight, 1.5 ms of the endpoint's own time
    sleeps = [0.0, 0.002, 0.005, 0.01, 0.02]
    rates = [n / (s + s0) for s in sleeps]  # Little's law
    got_n, got_s0 = in_flight_fit(sleeps, rates)
    assert got_n == pytest.approx(2.0)
    assert got_s0 == pytest.approx(0.0015)


def test_in_flight_fit_of_the_measured_rates_says_about_two():
    # giftengine bench --push-window, 2026-11-22T07:39:15Z (BENCHMARKS.md)
    n, s0 = in_flight_fit([0, 0.002, 0.005, 0.01, 0.02], [434.3, 370.5, 221.0, 141.3, 82.7])
    assert 1.8 < n < 2.2 and 0 < s0 < 0.006


def test_busiest_window_counts_writes_in_any_ten_seconds():
    once_a_second = [float(t) for t in range(60)]
    assert max_rate_in_window(once_a_second) == pytest.approx(1.1)  # [t, t+10] holds 11
    burst = once_a_second + [30.1, 30.2, 30.3]
    assert max_rate_in_window(burst) == pytest.approx(1.4)


def test_percentile_interpolates_and_handles_empty():
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([5.0], 99) == 5.0


def test_latency_ratio_is_the_alert_p50_over_push_plus_listener_p50():
    figures = latency_figures(
        {
            "push": [0.050, 0.060, 0.070],  # p50 60 ms
            "listener": [0.004, 0.005, 0.006],  # p50 5 ms
            "alert": [0.090, 0.130, 0.200],  # p50 130 ms
        }
    )
    assert figures["floor_latency_ms"]["p50"] == pytest.approx(65.0)
    assert figures["alert_latency_ms"] == {"p50": 130.0, "p99": pytest.approx(198.6), "n": 3}
    assert figures["latency_ratio_p50"] == 2.0


def test_latency_figures_without_samples_say_none_instead_of_failing():
    figures = latency_figures({"push": [], "listener": [0.004], "alert": [0.1]})
    assert figures["floor_latency_ms"]["p50"] is None
    assert figures["latency_ratio_p50"] is None
    assert (
        latency_figures({"push": [0.05], "listener": [0.004], "alert": []})["latency_ratio_p50"]
        is None
    )
