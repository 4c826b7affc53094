"""Cloud Tasks for polls: the once-a-second tally publish, the freeze at the deadline, and
the start of a poll a command gift asked for (`PollStartJobs`, decision 077).

Tasks are named (`flush-<poll>-<second>`, `freeze-<poll>`): production Cloud Tasks answers
ALREADY_EXISTS to a second task of the same name. The local emulator does not; the
per-process cache avoids most repeats and `service.flush` / `service.freeze` refuse to
write twice for one second or one poll, so correctness never rests on the name check.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from urllib.parse import urlencode

from google.api_core import exceptions as gexc
from google.protobuf import timestamp_pb2

from giftengine import manifest as manifest_mod
from giftengine.adapters.clients import tasks_client
from giftengine.config import Settings
from giftengine.domain.features import Job

QUEUE = "interactions"


class PollTasks:
    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self._client = client
        q = manifest_mod.load().queues[QUEUE]
        self.queue, self.target = q.name, q.target
        self._seen: OrderedDict[str, None] = OrderedDict()

    @property
    def client(self):
        if self._client is None:
            self._client = tasks_client()
        return self._client

    def schedule(self, job: str, stream_id: str, poll_id: str, at: float, name: str) -> None:
        if name in self._seen:
            return
        parent = self.client.queue_path(self.settings.project_id, self.settings.region, self.queue)
        digest = hashlib.sha1(f"{stream_id}/{name}".encode()).hexdigest()[:24]
        ts = timestamp_pb2.Timestamp()
        ts.FromNanoseconds(int(at * 1e9))
        base = self.settings.endpoint(self.target)
        query = urlencode({"stream_id": stream_id, "poll_id": poll_id, "at": f"{at:.3f}"})
        http_request = {
            "http_method": "POST",
            "url": f"{base}/polls/{job}?{query}",
            "headers": {"Content-Type": "application/json"},
        }
        if self.settings.tasks_invoker_service_account:
            http_request["oidc_token"] = {
                "service_account_email": self.settings.tasks_invoker_service_account,
                "audience": base,
            }
        with contextlib.suppress(gexc.AlreadyExists):
            self.client.create_task(
                parent=parent,
                task={
                    "name": f"{parent}/tasks/poll-{job}-{digest}",
                    "schedule_time": ts,
                    "http_request": http_request,
                },
            )
        self._seen[name] = None
        while len(self._seen) > 10_000:
            self._seen.popitem(last=False)


class PollStartJobs:
    """The gift pipeline's job scheduler (service/pipeline.py `JobScheduler`): a command
    gift's `poll_start` job becomes a `live_jobs /polls/start` task named by its execution
    id, which opens the poll (live/service.py `start_from_command`)."""

    kind = "poll_start"

    def __init__(self, tasks: PollTasks):
        self.tasks = tasks

    def schedule_job(self, stream_id: str, job: Job, at: float) -> None:
        if job.kind != self.kind:
            raise ValueError(f"no consumer for job kind {job.kind!r}")
        self.tasks.schedule("start", stream_id, job.key, at, f"start-{job.key}")
