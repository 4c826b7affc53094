"""An in-memory replay of the bench's 1 gift/s stream on a fake clock: what the pipeline's
rules ask for, with no I/O and no timing. Not a benchmark (BENCHMARKS.md has those): a count
to compare rule changes by (decisions 044 and 096), reproducible to the gift.

    python -m giftengine_dev.bench.replay [--json] [--gifts N] [--tolerance SHARE]
                                          [--without FEATURE ...]

The bench's generator (`run.one_per_s_messages`) sends a gift a second; each arrives
`jitter_s` late at most (uniform, seeded) and is delivered to `record_engagement` over the
in-memory store (service/memory.py) with the settings as deployed. Follow-up rollups run
when due, once per task name: the deployed scheduler (adapters/tasks.py) names them, over
a client that refuses a name already used, as Cloud Tasks does. Counted: the fast path's
waits (`Deps.sleep`) and the seconds waited, follow-up tasks asked for and run, the live
document's writes (`rev`) and the most of them in any 10 s window, and whether the totals
are exact.
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import random
from contextlib import contextmanager

from giftengine import manifest
from giftengine.adapters.tasks import TaskScheduler
from giftengine.config import load
from giftengine.domain import eventlog, feature_registry, rollup
from giftengine.service import pipeline
from giftengine.service.memory import MemoryEventStore
from google.api_core import exceptions as gexc

from giftengine_dev.bench import print_report
from giftengine_dev.bench.run import one_per_s_messages
from giftengine_dev.bench.stats import max_rate_in_window

STREAM, CREATOR = "replay-1ps", "replay-creator"
T0 = 1_800_000_000.0
WINDOW_S = 10.0  # the bench's window for the busiest document (bench/stats.py `busiest`)


class _Clock:
    def __init__(self, t: float):
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


class _TasksClient:
    """Cloud Tasks as the replay needs it: a task name is taken once (ALREADY_EXISTS after,
    as Cloud Tasks and the local cloud answer), the created tasks' times kept to run."""

    def __init__(self):
        self.names: set[str] = set()
        self.due: list[float] = []

    def queue_path(self, project: str, location: str, queue: str) -> str:
        return f"projects/{project}/locations/{location}/queues/{queue}"

    def create_task(self, parent: str, task: dict) -> None:
        if task["name"] in self.names:
            raise gexc.AlreadyExists(task["name"])
        self.names.add(task["name"])
        heapq.heappush(self.due, task["schedule_time"].ToNanoseconds() / 1e9)


class _Scheduler(TaskScheduler):
    """The deployed scheduler (its task names, each asked once per process) over
    `_TasksClient`; counts what the pipeline asks for."""

    asked = 0

    def schedule_rollup(self, stream_id: str, at: float, trailing: bool = True) -> None:
        self.asked += 1
        super().schedule_rollup(stream_id, at, trailing)

    def schedule_followup(self, stream_id: str, at: float) -> None:
        self.asked += 1
        super().schedule_followup(stream_id, at)


class _NoDeadLetters:
    def publish(self, data: bytes, **attributes: str) -> str:
        raise AssertionError("the generator's gifts are valid")


@contextmanager
def _rules(tolerance: float | None, without: tuple[str, ...]):
    """The fast path's early share and the stream features, for this replay only."""
    saved = rollup.LIVE_TOLERANCE_SHARE, feature_registry.REGISTRY, pipeline._leading
    try:
        if tolerance is not None:
            rollup.LIVE_TOLERANCE_SHARE = tolerance
        feature_registry.REGISTRY = tuple(f for f in saved[1] if f.name not in without)
        pipeline._leading = pipeline._LeadingEdge()  # a fresh process's memory
        yield
    finally:
        rollup.LIVE_TOLERANCE_SHARE, feature_registry.REGISTRY, pipeline._leading = saved


def replay_one_per_s(
    gifts: int = 120,
    jitter_s: float = 0.15,
    commit_s: float = 0.03,
    seed: int = 1,
    tolerance: float | None = None,
    without: tuple[str, ...] = (),
) -> dict:
    """Replay `gifts` gifts of the bench's 1 gift/s generator; returns the counts."""
    with _rules(tolerance, without):
        settings = load()
        queue = manifest.load().queues["rollups"]
        endpoints = {**settings.endpoints, queue.target: "http://replay.invalid"}  # no call
        settings = dataclasses.replace(settings, inline_rollup=True, endpoints=endpoints)
        clock = _Clock(T0)
        store = MemoryEventStore()
        client = _TasksClient()
        tasks = _Scheduler(settings, client=client)
        deps = pipeline.Deps(
            settings=settings,
            store=store,
            scheduler=tasks,
            dead_letters=_NoDeadLetters(),
            clock=clock,
            sleep=clock.sleep,
        )
        evs, coins, units = one_per_s_messages(STREAM, CREATOR, gifts, T0)
        rnd = random.Random(seed)
        writes: list[float] = []
        ran = 0

        def live_rev() -> int | None:
            return (store.live(STREAM) or {}).get("rev")

        def run_due(until: float) -> None:
            nonlocal ran
            while client.due and client.due[0] <= until:
                clock.t = max(clock.t, heapq.heappop(client.due))
                store.clock += 1
                rev = live_rev()
                pipeline.run_rollup(STREAM, deps, followup=True)
                ran += 1
                if live_rev() != rev:
                    writes.append(clock.t)

        for i, ev in enumerate(evs):
            arrive = T0 + i + rnd.uniform(0, jitter_s)
            run_due(arrive)
            clock.t = max(clock.t, arrive)
            store.clock += 1
            rev = live_rev()
            pipeline.record_engagement(eventlog.encode_message([ev]), f"m{i}", {}, deps)
            if live_rev() != rev:
                writes.append(clock.t)
            clock.t += commit_s
        run_due(T0 + gifts + 120)
        totals = (store.live(STREAM) or {}).get("totals") or {}
        return {
            "gifts": gifts,
            "tolerance_share": rollup.LIVE_TOLERANCE_SHARE,
            "features": [f.name for f in feature_registry.REGISTRY],
            "fast_path_waits": len(clock.slept),
            "fast_path_wait_s": round(sum(clock.slept), 3),
            "followups_asked": tasks.asked,
            "followup_tasks": len(client.names),
            "followups_run": ran,
            "live_writes": len(writes),
            "busiest_live_writes_per_s": round(max_rate_in_window(writes, WINDOW_S), 2),
            "exact": totals.get("coins") == coins and totals.get("gifts") == units,
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m giftengine_dev.bench.replay", description=__doc__)
    p.add_argument("--json", action="store_true")
    p.add_argument("--gifts", type=int, default=120)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tolerance", type=float, help="the fast path's early share of the interval")
    p.add_argument("--without", action="append", default=[], help="a stream feature to leave out")
    args = p.parse_args(argv)
    out = replay_one_per_s(
        args.gifts, seed=args.seed, tolerance=args.tolerance, without=tuple(args.without)
    )
    return print_report(out, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
