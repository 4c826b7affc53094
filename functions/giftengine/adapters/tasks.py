"""Cloud Tasks: the debounced rollup trigger.

A rollup task is named after its stream and its interval bucket, so however many gifts
arrive in one second, Cloud Tasks holds one task per stream for it (a duplicate name is
answered ALREADY_EXISTS). The local emulator does not reject duplicate names; the
per-process cache below avoids most repeats and the rollup itself refuses to run twice in
one bucket, so correctness never rests on the name check.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections import OrderedDict
from urllib.parse import quote

from google.api_core import exceptions as gexc
from google.protobuf import timestamp_pb2

from giftengine import manifest as manifest_mod
from giftengine.adapters.clients import tasks_client
from giftengine.config import Settings


class TaskScheduler:
    def __init__(self, settings: Settings, queue_key: str = "rollups", client=None, meter=None):
        self.settings = settings
        self._meter = meter  # dev/bench: counts create attempts (adapters/writelog.py)
        self.client = client or tasks_client()
        q = manifest_mod.load().queues[queue_key]
        self.parent = self.client.queue_path(settings.project_id, settings.region, q.name)
        self.target = q.target
        self._seen: OrderedDict[str, None] = OrderedDict()

    def schedule_rollup(self, stream_id: str, at: float, trailing: bool = True) -> None:
        """Event-driven trigger, leading and trailing edge: a task at `at` for the interval
        bucket that holds it (the first gift of a quiet stream is rolled up at once), and one
        at the start of the next bucket (whatever arrives after the leading rollup is picked
        up within one interval). Either may already exist; that is the point."""
        interval = self.settings.rollup_min_interval_s
        bucket = math.floor(at / interval)
        self._create(stream_id, "e", bucket, at)
        if trailing:
            self._create(stream_id, "e", bucket + 1, (bucket + 1) * interval)

    def schedule_followup(self, stream_id: str, at: float) -> None:
        """A rollup asking to run again at `at`, named by its tick (`followup_tick_s`):
        the rollup asks at least one tick ahead of itself, so the name was never used by a
        task that already ran. Its own name space: an event-driven task of that second may
        already have run, and a task name stays taken after its task ran."""
        self._create(stream_id, "f", math.floor(at / self.settings.followup_tick_s), at)

    def _create(self, stream_id: str, kind: str, bucket: int, at: float) -> None:
        digest = hashlib.sha1(stream_id.encode()).hexdigest()[:20]
        name = f"{self.parent}/tasks/rollup-{digest}-{kind}{bucket}"
        if name in self._seen:
            return
        ts = timestamp_pb2.Timestamp()
        ts.FromNanoseconds(int(at * 1e9))
        base = self.settings.endpoint(self.target)
        http_request = {
            "http_method": "POST",
            # kind: "e" event-driven, "f" a follow-up (tried without the lease first)
            "url": f"{base}?stream_id={quote(stream_id, safe='')}&kind={kind}",
            "headers": {"Content-Type": "application/json"},
        }
        if self.settings.tasks_invoker_service_account:
            # The audience is the function's URL without the query string, which is what
            # the receiving function checks.
            http_request["oidc_token"] = {
                "service_account_email": self.settings.tasks_invoker_service_account,
                "audience": base,
            }
        if self._meter is not None:
            self._meter("tasks_create")
        with contextlib.suppress(gexc.AlreadyExists):
            self.client.create_task(
                parent=self.parent,
                task={"name": name, "schedule_time": ts, "http_request": http_request},
            )
        self._seen[name] = None
        while len(self._seen) > 10_000:
            self._seen.popitem(last=False)
