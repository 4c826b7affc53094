"""`giftengine demo`: bring up the local cloud, set a goal as the creator, replay the bundled
session through the real pipeline and show the live state as an overlay would see it
(Firestore listeners), then check the final totals against the session's defined totals."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import requests
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from giftengine_dev.devcloud.tokens import emulator_id_token

DATA = Path(__file__).resolve().parents[1] / "data"
SESSION = DATA / "demo_session.jsonl"
EXPECTED = DATA / "demo_session.expected.json"
CREATOR = "demo-creator"


class LiveView:
    """What a client sees: the stream document and the newest alerts, via listeners."""

    def __init__(self, db, stream_id: str):
        from google.cloud import firestore

        self.live: dict = {}
        self.alerts: list[dict] = []
        self.lock = threading.Lock()
        ref = db.collection("streams").document(stream_id)
        self._w1 = ref.on_snapshot(self._on_live)
        q = ref.collection("alerts").order_by("seq", direction=firestore.Query.DESCENDING).limit(8)
        self._w2 = q.on_snapshot(self._on_alerts)

    def _on_live(self, snaps, changes, read_time):
        for s in snaps:
            with self.lock:
                self.live = s.to_dict() or {}

    def _on_alerts(self, snaps, changes, read_time):
        docs = sorted((s.to_dict() for s in snaps), key=lambda d: -d["seq"])
        items = [a for d in docs for a in reversed(d.get("items") or [])]
        with self.lock:
            self.alerts = items[:10]

    def close(self) -> None:
        self._w1.unsubscribe()
        self._w2.unsubscribe()


def _alert_line(a: dict) -> str:
    who = escape(a.get("handle") or a.get("user_id", ""))
    rank = f" (#{a['rank']})" if a.get("rank") else ""
    t = a["type"]
    if t == "gift":
        return (
            f"[bold magenta]{who}[/]{rank} sent {a['units']}x {escape(a['gift_name'])}"
            f" = {a['coins']} coins"
        )
    if t == "combo":
        return f"[yellow]{who}[/] combo {escape(a['gift_name'])} x{a['count']} ..."
    if t == "goal_reached":
        title = escape(a.get("title") or a["goal_id"])
        return f"[bold green]GOAL REACHED[/] {title}: {a['progress']}/{a['target']}"
    if t == "hype_started":  # the train's, not one viewer's
        return "[bold yellow]HYPE TRAIN[/] started"
    if t == "challenge_failed":
        title = escape(a.get("title") or a["goal_id"])
        return f"[bold red]CHALLENGE FAILED[/] {title}: {a['progress']}/{a['target']}"
    return f"[cyan]{who}[/] {escape(_what(a))}"


def _what(a: dict) -> str:
    """What the viewer did, for the alert kinds without a line of their own."""
    t = a["type"]
    verbs = {
        "follow": "followed",
        "share": "shared the stream",
        "badge": f"earned the {a.get('badge_name') or a.get('badge')} badge",
        "throne_claimed": "claimed the throne",
        "round_ended": f"won round {a.get('round')}",
        "hype_level": f"took the hype train to level {a.get('level')}",
        "action": f"ran {a.get('action')}",
    }
    return verbs.get(t, t.replace("_", " "))


def render(view: LiveView, stream_id: str, progress: Progress) -> Group:
    with view.lock:
        live, alerts = dict(view.live), list(view.alerts)
    t = live.get("totals") or {}
    head = (
        f"[b]{stream_id}[/b] [{live.get('status', 'waiting')}]  coins [b]{t.get('coins', 0)}[/]"
        f"  gifts {t.get('gifts', 0)}  likes {t.get('likes', 0)}  comments "
        f"{t.get('comments', 0)}  follows {t.get('follows', 0)}  shares {t.get('shares', 0)}"
        f"  viewers {(live.get('viewers') or {}).get('current', 0)}"
    )
    board = Table(title="Top gifters (live)", expand=True)
    for col, just in (("#", "right"), ("viewer", "left"), ("coins", "right"), ("gifts", "right")):
        board.add_column(col, justify=just)
    for g in live.get("top_gifters") or []:
        board.add_row(
            str(g["rank"]),
            escape(g.get("handle") or g["user_id"]),
            str(g["coins"]),
            str(g.get("gifts", 0)),
        )
    goals = []
    for gid, g in (live.get("goals") or {}).items():
        pct = min(100, int(100 * g["progress"] / max(1, g["target"])))
        bar = "[green]" + "█" * (pct // 4) + "[/][dim]" + "░" * (25 - pct // 4) + "[/]"
        goals.append(
            f"{escape(g.get('title') or gid)}: {bar} {pct}%  {g['progress']}/{g['target']} "
            f"{'[green]reached[/]' if g['reached'] else ''}"
        )
    combos = [
        f"{escape(c.get('handle') or c['user_id'])} {escape(c['gift_name'])} x{c['count']}"
        for c in (live.get("combos") or [])[:4]
    ]
    return Group(
        Panel(head),
        board,
        Panel("\n".join(goals) or "no goal", title="Goal"),
        Panel("\n".join(combos) or "-", title="Combos in progress"),
        Panel("\n".join(_alert_line(a) for a in alerts) or "-", title="Alerts"),
        progress,
    )


def run_demo(status: dict, rate: float = 40.0, console: Console | None = None) -> dict:
    import os

    from giftengine.adapters.pubsub import EventPublisher
    from google.cloud import firestore

    from giftengine_dev.cli.replay import Skipped, read_events

    console = console or Console()
    os.environ.update(status["env"])
    project = status["project_id"]
    stream_id = f"demo-{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:4]}"
    expected = json.loads(EXPECTED.read_text())
    with open(SESSION) as f:
        events = [e for e in read_events(f, stream_id) if not isinstance(e, Skipped)]
    events = [e.model_copy(update={"creator_id": CREATOR}) for e in events]
    db = firestore.Client(project=project)
    view = LiveView(db, stream_id)
    publisher = EventPublisher(project)
    progress = Progress(
        TextColumn("replaying"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} events"),
        console=console,
    )
    task = progress.add_task("replay", total=len(events))
    api = status["endpoints"]["api"]
    console.print(
        f"[b]giftengine demo[/b]: stream [b]{stream_id}[/b], {len(events)} events "
        f"at {rate:.0f}/s through Pub/Sub -> on_engagement -> rollup -> Firestore"
    )
    for name, url in status["endpoints"].items():
        console.print(f"  endpoint {name:14} {url}")
    # The creator creates the stream first: its ownership record gives them creator powers
    # (goals below); the events' creator_id gives none.
    token = emulator_id_token(CREATOR, project, display_name="Demo Creator")
    r = requests.post(
        f"{api}/streams",
        timeout=30,
        json={"stream_id": stream_id, "title": "giftengine demo"},
        headers={"Authorization": f"Bearer {token}"},
    )
    if r.status_code not in (200, 201):
        raise RuntimeError(f"POST /api/streams answered {r.status_code}: {r.text[:200]}")
    goal_set = False
    started = time.monotonic()
    try:
        with Live(
            render(view, stream_id, progress),
            console=console,
            refresh_per_second=4,
            transient=False,
        ) as live:
            for i, ev in enumerate(events):
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                publisher.publish(ev)
                progress.update(task, completed=i + 1)
                if not goal_set and view.live.get("creator_id") == CREATOR:
                    token = emulator_id_token(CREATOR, project, display_name="Demo Creator")
                    r = requests.post(
                        f"{api}/goals",
                        timeout=10,
                        json={
                            "stream_id": stream_id,
                            "goal_id": "new-mic",
                            "metric": "coins",
                            "target": int(expected["coins"] * 0.6),
                            "title": "New microphone",
                        },
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    r.raise_for_status()
                    goal_set = True
                live.update(render(view, stream_id, progress))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                live.update(render(view, stream_id, progress))
                t = view.live.get("totals") or {}
                if all(t.get(k) == expected[k] for k in ("coins", "gifts", "likes", "follows")):
                    break
                time.sleep(0.25)
            live.update(render(view, stream_id, progress))
    finally:
        publisher.close()
        view.close()
    t = view.live.get("totals") or {}
    keys = ("coins", "gifts", "likes", "comments", "follows", "shares")
    exact = all(t.get(k) == expected[k] for k in keys)
    console.print(f"final totals {dict((k, t.get(k)) for k in keys)}")
    console.print(f"expected     {dict((k, expected[k]) for k in keys)}")
    console.print(
        "[bold green]exact: the live state matches the session's defined totals[/]"
        if exact
        else "[bold red]MISMATCH between live state and expected totals[/]"
    )
    report_ok = _end_and_report(db, project, stream_id, events[-1], console)
    console.print(f"inspect: giftengine state {stream_id} --json")
    console.print(f"         giftengine report {stream_id} --json")
    return {"stream_id": stream_id, "exact": exact and report_ok, "totals": t}


def _end_and_report(db, project: str, stream_id: str, last, console: Console) -> bool:
    """End the stream (a `stream_end` event, as TikTok's end of live becomes one) and wait
    for its report: totals equal to the live state's, a timeline that sums to them."""
    from datetime import timedelta

    from giftengine.adapters.pubsub import EventPublisher
    from giftengine.reports.domain import COUNTERS

    end = last.model_copy(
        update={
            "event_id": f"{stream_id}:end",
            "kind": "stream_end",
            "occurred_at": last.occurred_at + timedelta(seconds=1),
            "user": None,
            "gift": None,
        }
    )
    publisher = EventPublisher(project)
    try:
        publisher.publish_all([end])
    finally:
        publisher.close()
    ref = db.collection("reports").document(stream_id)
    deadline = time.monotonic() + 120
    report: dict = {}
    while time.monotonic() < deadline:
        snap = ref.get()
        report = snap.to_dict() or {}
        if report.get("status") == "ended" and report.get("live_totals_match"):
            break
        time.sleep(0.5)
    live = db.collection("streams").document(stream_id).get().to_dict() or {}
    totals, live_totals = report.get("totals") or {}, live.get("totals") or {}
    equal = bool(report) and all(totals.get(k) == live_totals.get(k) for k in COUNTERS)
    sums = bool(report) and all(
        sum(row[k] for row in report.get("timeline") or []) == totals.get(k) for k in COUNTERS
    )
    console.print(
        f"report: {len(report.get('timeline') or [])} minutes, totals equal to the live state: "
        f"{equal}, timeline sums to the totals: {sums}, files: {len(report.get('files') or {})}"
    )
    for p in report.get("peaks") or []:
        console.print(f"  peak {p['minute']}: {p['coins']} coins, {escape(p['reason'])}")
    return equal and sums
