"""The benchmark's price table (docs/deploy.md) applied to counted operations."""

from __future__ import annotations

import pytest
from giftengine_dev.bench import cost

pytestmark = pytest.mark.unit


def test_billed_time_rounds_each_invocation_up_to_100_ms():
    assert cost.billed_seconds(0.001) == pytest.approx(0.1)
    assert cost.billed_seconds(0.1) == pytest.approx(0.1)
    assert cost.billed_seconds(0.1001) == pytest.approx(0.2)


def test_pubsub_bills_at_least_1000_bytes_per_publish_and_delivery():
    assert cost.pubsub_bytes(300, subscriptions=2) == 3000
    assert cost.pubsub_bytes(45_000, subscriptions=2) == 135_000


def test_the_per_gift_model_of_deploy_md_prices_as_it_says():
    """docs/deploy.md before batches: 2 x 1,000 B of Pub/Sub, one invocation billed 0.2 s,
    one write and ~1 KB of request log per gift: $2.77 per million gifts."""
    per_gift = {
        "pubsub_bytes": 2000,
        "invocations": 1,
        "invocation_seconds": 0.2,
        "firestore_writes": 1,
        "firestore_reads": 0,
        "tasks_operations": 0,
        "log_bytes": 1000,
    }
    assert cost.per_million_gifts(per_gift)["total"] == pytest.approx(2.765, abs=0.001)
