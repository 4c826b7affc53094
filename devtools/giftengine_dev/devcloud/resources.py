"""Create every manifest resource in the emulators (idempotent: existing ones are kept).

Pub/Sub and Storage go through the emulators' REST APIs and Cloud Tasks through its gRPC
API, with explicit endpoints, so nothing here depends on (or changes) this process's
emulator environment variables.
"""

from __future__ import annotations

import requests
from giftengine import naming

from giftengine_dev.devcloud.layout import Layout

TIMEOUT = 10


def create_all(layout: Layout) -> dict[str, list[str]]:
    notes: list[str] = []
    pushed = {s.push_to for s in layout.manifest.subscriptions.values()}
    for f in layout.manifest.functions.values():
        if f.trigger == "pubsub" and f.name not in pushed:
            notes.append(f"function {f.name} has no push subscription: nothing delivers to it")
    made = {
        "topics": create_topics(layout),
        "subscriptions": create_subscriptions(layout, notes),
        "queues": create_queues(layout),
        "buckets": create_buckets(layout),
    }
    made["notes"] = notes
    return made


def _ok(resp: requests.Response, what: str) -> None:
    if resp.status_code not in (200, 409):  # 409: already exists
        raise RuntimeError(f"creating {what}: HTTP {resp.status_code} {resp.text[:300]}")


def create_topics(layout: Layout) -> list[str]:
    base = f"http://{layout.emulators()['pubsub']}/v1"
    paths = []
    for topic in layout.manifest.topics.values():
        path = naming.topic_path(layout.project_id, topic)
        _ok(requests.put(f"{base}/{path}", json={}, timeout=TIMEOUT), path)
        paths.append(path)
    return paths


def create_subscriptions(layout: Layout, notes: list[str]) -> list[str]:
    m = layout.manifest
    base = f"http://{layout.emulators()['pubsub']}/v1"
    paths = []
    for sub in m.subscriptions.values():
        path = naming.subscription_path(layout.project_id, sub.name)
        body: dict = {
            "topic": naming.topic_path(layout.project_id, m.topic(sub.topic)),
            "ackDeadlineSeconds": sub.ack_deadline_seconds,
        }
        if sub.push_to:
            endpoint = layout.push_endpoint(sub.push_to, m.topic(sub.topic))
            body["pushConfig"] = {"pushEndpoint": endpoint}
        # Optional manifest fields, passed through when the manifest has them.
        if getattr(sub, "filter", None):
            body["filter"] = sub.filter
        if getattr(sub, "enable_message_ordering", None):
            body["enableMessageOrdering"] = True
        if sub.dead_letter_topic:
            dead_letter = m.topic(sub.dead_letter_topic)
            body["deadLetterPolicy"] = {
                "deadLetterTopic": naming.topic_path(layout.project_id, dead_letter),
                "maxDeliveryAttempts": sub.max_delivery_attempts or 5,
            }
        resp = requests.put(f"{base}/{path}", json=body, timeout=TIMEOUT)
        if resp.status_code == 400 and "deadLetterPolicy" in body:
            notes.append(f"{sub.name}: emulator refused the dead-letter policy: {resp.text[:200]}")
            del body["deadLetterPolicy"]
            resp = requests.put(f"{base}/{path}", json=body, timeout=TIMEOUT)
        _ok(resp, path)
        paths.append(path)
    return paths


def tasks_client(layout: Layout):
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    channel = grpc.insecure_channel(layout.emulators()["tasks"])
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))


def create_queues(layout: Layout) -> list[str]:
    from google.cloud import tasks_v2

    m = layout.manifest
    client = tasks_client(layout)
    parent = f"projects/{layout.project_id}/locations/{m.region}"
    existing = {q.name for q in client.list_queues(parent=parent, timeout=TIMEOUT)}
    paths = []
    for q in m.queues.values():
        path = naming.queue_path(layout.project_id, m.region, q.name)
        if path not in existing:
            queue = tasks_v2.Queue(
                name=path,
                rate_limits=tasks_v2.RateLimits(
                    max_dispatches_per_second=q.max_dispatches_per_second
                ),
                retry_config=tasks_v2.RetryConfig(max_attempts=q.max_attempts),
            )
            client.create_queue(parent=parent, queue=queue, timeout=TIMEOUT)
        paths.append(path)
    return paths


def create_buckets(layout: Layout) -> list[str]:
    base = f"http://{layout.emulators()['storage']}/storage/v1/b"
    names = []
    for key in layout.manifest.buckets:
        name = naming.bucket_name(layout.project_id, key)
        resp = requests.post(
            base, params={"project": layout.project_id}, json={"name": name}, timeout=TIMEOUT
        )
        _ok(resp, f"bucket {name}")
        names.append(name)
    return names
