"""Production cost per million gifts from operations the benchmark counted.

One price table, the list prices of docs/deploy.md ("Costs": us-central1, regional
Firestore, free tiers ignored). The local cloud bills nothing; the benchmark counts what
production would bill (Pub/Sub bytes, invocations, Firestore reads and writes, Cloud
Tasks operations, log bytes) and this prices them.
"""

from __future__ import annotations

import math

# docs/deploy.md, "Costs" (keep the two in step).
PRICES = {
    "pubsub_per_byte": 40 / 2**40,  # $40 per TiB; each publish and delivery >= 1,000 B
    "invocation": 0.40 / 1e6,  # $0.40 per million requests
    "vcpu_second": 0.000024,
    "gib_second": 0.0000025,
    "firestore_write": 0.09 / 1e5,  # regional
    "firestore_read": 0.03 / 1e5,
    "tasks_operation": 0.40 / 1e6,  # create or dispatch attempt
    "log_byte": 0.50 / 2**30,  # $0.50 per GiB ingested
}
# A function instance as deployed (docs/deploy.md): 256 MiB, 0.167 vCPU, billed per 100 ms.
FUNCTION_VCPU = 0.167
FUNCTION_GIB = 0.25
BILLING_STEP_S = 0.1
PUBSUB_MIN_BYTES = 1000
# The platform writes one request log entry per invocation (docs/deploy.md: ~1 KB), except
# where an exclusion keeps it out of Cloud Logging (not ingested, not billed): the pipeline's
# successful requests (terraform/modules/giftengine/logging.tf; keep the two in step).
REQUEST_LOG_BYTES = 1000
REQUEST_LOGS_EXCLUDED = ("on_engagement", "rollup")


def billed_seconds(mean_seconds: float) -> float:
    """Billed time of one invocation: its duration rounded up to the 100 ms step."""
    return max(1, math.ceil(round(mean_seconds / BILLING_STEP_S, 6))) * BILLING_STEP_S


def pubsub_bytes(message_bytes: int, subscriptions: int) -> int:
    """Billed bytes of one message: its publish and one delivery per subscription, each
    counted as at least 1,000 bytes."""
    return max(PUBSUB_MIN_BYTES, message_bytes) * (1 + subscriptions)


def per_million_gifts(per_gift: dict[str, float]) -> dict[str, float]:
    """Dollars per million gifts by item, and `total`, from operations per gift:
    pubsub_bytes, invocations, invocation_seconds (billed), firestore_writes,
    firestore_reads, tasks_operations, log_bytes."""
    p = PRICES
    instance_second = FUNCTION_VCPU * p["vcpu_second"] + FUNCTION_GIB * p["gib_second"]
    items = {
        "pubsub": per_gift["pubsub_bytes"] * p["pubsub_per_byte"],
        "invocations": per_gift["invocations"] * p["invocation"]
        + per_gift["invocation_seconds"] * instance_second,
        "firestore_writes": per_gift["firestore_writes"] * p["firestore_write"],
        "firestore_reads": per_gift["firestore_reads"] * p["firestore_read"],
        "cloud_tasks": per_gift["tasks_operations"] * p["tasks_operation"],
        "logging": per_gift["log_bytes"] * p["log_byte"],
    }
    out = {k: round(v * 1e6, 4) for k, v in items.items()}
    out["total"] = round(sum(items.values()) * 1e6, 3)
    return out
