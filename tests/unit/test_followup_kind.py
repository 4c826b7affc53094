"""A follow-up rollup task says so in its URL (`kind=f`), and only such a task's rollup is
tried without the lease first (adapters/tasks.py, entrypoints/handlers.py; decision 044)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from giftengine.adapters.tasks import TaskScheduler
from giftengine.adapters.writelog import WriteLog
from giftengine.config import load
from giftengine.entrypoints import handlers
from giftengine.service import pipeline

pytestmark = pytest.mark.unit


class FakeTasks:
    def __init__(self):
        self.created: list[dict] = []

    def queue_path(self, project, region, queue):
        return f"projects/{project}/locations/{region}/queues/{queue}"

    def create_task(self, parent, task):
        self.created.append(task)


def test_follow_up_tasks_carry_kind_f_and_event_driven_ones_kind_e():
    settings = dataclasses.replace(load(), endpoints={"rollup": "http://fn/rollup"})
    client = FakeTasks()
    tasks = TaskScheduler(settings, client=client)
    tasks.schedule_rollup("s/1", 1000.2)
    tasks.schedule_followup("s/1", 1003.0)
    kinds = [parse_qs(urlsplit(t["http_request"]["url"]).query) for t in client.created]
    assert kinds == [
        {"stream_id": ["s/1"], "kind": ["e"]},  # the leading and the trailing edge
        {"stream_id": ["s/1"], "kind": ["e"]},
        {"stream_id": ["s/1"], "kind": ["f"]},
    ]
    assert client.created[-1]["name"].rsplit("-", 1)[1].startswith("f")


@pytest.mark.parametrize("query, followup", [("&kind=f", True), ("&kind=e", False), ("", False)])
def test_the_rollup_function_runs_a_follow_up_unleased_only_for_kind_f(
    monkeypatch, query, followup
):
    seen = []

    def run_rollup(stream_id, deps, followup=False):
        seen.append((stream_id, followup))
        return pipeline.RollupResult(0, False, None)

    fake = SimpleNamespace(store=SimpleNamespace(writes=WriteLog("")))
    monkeypatch.setattr(handlers, "deps", lambda: fake)
    monkeypatch.setattr(pipeline, "run_rollup", run_rollup)
    app = Flask("t")
    app.add_url_rule("/rollup", "rollup", lambda: handlers.rollup(__import__("flask").request),
                     methods=["POST"])  # fmt: skip
    r = app.test_client().post(f"/rollup?stream_id=s1{query}")
    assert r.status_code == 200 and seen == [("s1", followup)]
