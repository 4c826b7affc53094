"""The deploy manifest (manifest.yaml): one source of truth for every deployable name."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")


@dataclass(frozen=True)
class Function:
    name: str
    entry_point: str
    trigger: str  # "pubsub" | "http"
    topic: str | None = None  # manifest topic key, for pubsub triggers
    public: bool = False
    description: str = ""
    roles: tuple[str, ...] = ()  # project IAM roles of this function's own service account
    secrets: tuple[str, ...] = ()  # Secret Manager secret ids it may read (env var = id)
    timeout_s: int = 60  # deployed timeout; Scheduler's attempt deadline follows it
    # Memory of one instance, set from a measurement (giftengine_dev.bench.memory, decision 040)
    memory_mb: int = 256


@dataclass(frozen=True)
class Service:
    """A long-lived Cloud Run service (e.g. the TikTok ingest worker)."""

    name: str
    command: tuple[str, ...]
    description: str = ""
    roles: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    min_instances: int = 0
    max_instances: int = 10
    scaled_by: str | None = None  # the function that sets its instance count (manual scaling)


@dataclass(frozen=True)
class Schedule:
    """A Cloud Scheduler job that calls an HTTP function."""

    name: str
    cron: str
    target: str  # function name
    path: str = "/"
    description: str = ""
    time_zone: str = "Etc/UTC"


@dataclass(frozen=True)
class Subscription:
    name: str
    topic: str  # manifest topic key
    push_to: str | None = None  # function name
    ack_deadline_seconds: int = 60
    dead_letter_topic: str | None = None
    max_delivery_attempts: int | None = None
    filter: str | None = None  # Pub/Sub subscription filter on message attributes


@dataclass(frozen=True)
class Queue:
    name: str
    target: str  # function name
    max_dispatches_per_second: int = 500
    max_attempts: int = 100


@dataclass(frozen=True)
class Manifest:
    project_id_default: str
    region: str
    topics: dict[str, str]  # key -> topic name
    subscriptions: dict[str, Subscription]
    queues: dict[str, Queue]
    buckets: dict[str, dict[str, Any]]
    functions: dict[str, Function] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    python_runtime: str = "python311"  # Cloud Functions runtime id; the worker image's Python

    def topic(self, key: str) -> str:
        return self.topics[key]

    def http_functions(self) -> list[Function]:
        return [f for f in self.functions.values() if f.trigger == "http"]


def parse(raw: dict[str, Any]) -> Manifest:
    m = Manifest(
        project_id_default=raw["project_id_default"],
        region=raw["region"],
        topics=dict(raw["topics"]),
        subscriptions={k: Subscription(name=k, **v) for k, v in raw["subscriptions"].items()},
        queues={k: Queue(name=k, **v) for k, v in raw["queues"].items()},
        buckets=dict(raw.get("buckets") or {}),
        functions={k: Function(name=k, **_tuples(v)) for k, v in raw["functions"].items()},
        services={k: Service(name=k, **_tuples(v)) for k, v in (raw.get("services") or {}).items()},
        schedules={k: Schedule(name=k, **v) for k, v in (raw.get("schedules") or {}).items()},
        python_runtime=raw.get("python_runtime", "python311"),
    )
    _check(m)
    return m


def _tuples(v: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(x) if isinstance(x, list) else x for k, x in v.items()}


def _check(m: Manifest) -> None:
    """Fail at load time on a dangling reference rather than at deploy time."""
    for s in m.subscriptions.values():
        if s.topic not in m.topics:
            raise ValueError(f"subscription {s.name}: unknown topic key {s.topic!r}")
        if s.dead_letter_topic and s.dead_letter_topic not in m.topics:
            raise ValueError(
                f"subscription {s.name}: unknown dead-letter topic {s.dead_letter_topic!r}"
            )
        if s.push_to and s.push_to not in m.functions:
            raise ValueError(f"subscription {s.name}: unknown function {s.push_to!r}")
    for q in m.queues.values():
        if q.target not in m.functions:
            raise ValueError(f"queue {q.name}: unknown target function {q.target!r}")
    for f in m.functions.values():
        if f.trigger not in ("pubsub", "http"):
            raise ValueError(f"function {f.name}: unknown trigger {f.trigger!r}")
        if f.trigger == "pubsub" and f.topic not in m.topics:
            raise ValueError(f"function {f.name}: unknown topic key {f.topic!r}")
        if not isinstance(f.memory_mb, int) or f.memory_mb < 128:
            raise ValueError(f"function {f.name}: memory_mb must be an integer >= 128")
    for sv in m.services.values():
        if sv.scaled_by and sv.scaled_by not in m.functions:
            raise ValueError(f"service {sv.name}: unknown scaling function {sv.scaled_by!r}")
    for j in m.schedules.values():
        if j.target not in m.functions or m.functions[j.target].trigger != "http":
            raise ValueError(f"schedule {j.name}: target {j.target!r} is not an http function")


@lru_cache(maxsize=1)
def load(path: Path = MANIFEST_PATH) -> Manifest:
    return parse(yaml.safe_load(path.read_text()))
