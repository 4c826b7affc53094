"""Chat benchmark; figures go to docs/bench-chat.md. Bounded: a few thousand scorings and a
few hundred messages.

    python -m giftengine_dev.moderation.bench [--messages 200] [--json]     # needs a running stack
    python -m giftengine_dev.moderation.bench --offline                     # scoring + quality only

- scoring throughput of one process (= one function instance): per message as chat_api does
  it (sanitize, normalize, keyword filter of 200 entries, model), and batched;
- precision/recall on tests/moderation/data/chat_eval.csv at the 0.6 and 0.9 thresholds, with
  and without normalization;
- chat send -> visible to a Firestore listener, p50/p99, through chat_api on the local cloud
  (real ID tokens from the Auth emulator), next to the same run's Firestore floor (a direct
  write -> the same kind of listener).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
EVAL = REPO / "tests" / "moderation" / "data" / "chat_eval.csv"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


def scoring_throughput(n_single: int = 3000, n_batch: int = 20000) -> dict[str, Any]:
    from giftengine.moderation import keywords, policy, scoring
    from giftengine.moderation.profanity import default_scorer
    from giftengine.moderation.sanitize import sanitize

    from giftengine_dev.moderation import evaluate

    scorer = default_scorer()
    texts = [e.text for e in evaluate.load(EVAL)]
    kw_filter = keywords.KeywordFilter.build(keywords.clean_entries(
        [f"filler{i}" for i in range(198)] + ["spoiler*", "rival stream"]))
    settings = policy.ChatSettings()
    scoring.score(scorer, "warm up")
    # CPU time as well as wall time: the machine is shared, and CPU seconds are what one
    # function instance (one vCPU) spends.
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n_single):
        clean = sanitize(texts[i % len(texts)], settings.max_chars)
        policy.decide(scoring.score(scorer, clean.text), kw_filter.match(clean.text), settings)
    single = n_single / (time.perf_counter() - t0)
    single_cpu = n_single / (time.process_time() - c0)
    batch = [texts[i % len(texts)] for i in range(n_batch)]
    t0, c0 = time.perf_counter(), time.process_time()
    scoring.score_many(scorer, batch)
    batched = n_batch / (time.perf_counter() - t0)
    batched_cpu = n_batch / (time.process_time() - c0)
    t0 = time.perf_counter()
    scorer.predict(batch)
    raw = n_batch / (time.perf_counter() - t0)
    return {"per_message_full_path_msgs_per_s": round(single),
            "per_message_full_path_msgs_per_cpu_s": round(single_cpu),
            "batched_with_normalize_msgs_per_s": round(batched),
            "batched_with_normalize_msgs_per_cpu_s": round(batched_cpu),
            "batched_model_only_msgs_per_s": round(raw)}


def quality() -> dict[str, Any]:
    from giftengine.moderation import scoring
    from giftengine.moderation.profanity import default_scorer

    from giftengine_dev.moderation import evaluate

    scorer = default_scorer()
    examples = evaluate.load(EVAL)
    out: dict[str, Any] = {"examples": len(examples), "positives": sum(e.label for e in examples)}
    for name, fn in (("normalized", lambda t: scoring.score_many(scorer, t)),
                     ("raw_model", scorer.predict)):
        scores, ms = evaluate.evaluate(examples, fn, [0.6, 0.9])
        out[name] = {
            str(m.threshold): {"precision": round(m.precision, 3), "recall": round(m.recall, 3),
                               "tp": m.tp, "fp": m.fp, "fn": m.fn, "tn": m.tn} for m in ms}
        out[name]["flagged_by_category_at_0.6"] = {
            c: round(evaluate.flagged_rate(examples, scores, c, 0.6), 2)
            for c in sorted({e.category for e in examples})}
    return out


def _sign_in(auth_host: str, app, uid: str) -> str:
    import requests
    from firebase_admin import auth

    email = f"{uid}@bench.test"
    with contextlib.suppress(auth.UidAlreadyExistsError):
        auth.create_user(uid=uid, email=email, password="bench-pass", app=app)
    r = requests.post(
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword",
        params={"key": "bench"}, json={"email": email, "password": "bench-pass",
                                       "returnSecureToken": True}, timeout=30)
    r.raise_for_status()
    return r.json()["idToken"]


class _Listener:
    """on_snapshot on a chat collection; records when each document id is first seen."""

    def __init__(self, coll):
        self.seen: dict[str, float] = {}
        self._ready = threading.Event()
        self._watch = coll.on_snapshot(self._on)
        self._ready.wait(30)

    def _on(self, docs, changes, read_time):
        t = time.perf_counter()
        for ch in changes:
            self.seen.setdefault(ch.document.id, t)
        self._ready.set()

    def wait_for(self, ids: list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(i in self.seen for i in ids):
            time.sleep(0.05)

    def close(self) -> None:
        self._watch.unsubscribe()


def latency(n: int, gap_s: float) -> dict[str, Any]:
    import firebase_admin
    import requests
    from giftengine.adapters.clients import firestore_client

    from giftengine_dev.cli._cloud import ensure_env
    from giftengine_dev.devcloud import stack

    s = ensure_env()
    status = stack.status()
    base = status["endpoints"]["chat_api"]
    auth_host = status["emulators"]["auth"]
    db = firestore_client(s.project_id)
    try:
        app = firebase_admin.get_app("bench-chat")
    except ValueError:
        app = firebase_admin.initialize_app(options={"projectId": s.project_id}, name="bench-chat")
    n_users = max(1, n // 4) + 1  # each user stays inside their burst of 5
    tokens = [_sign_in(auth_host, app, f"bench-chat-{i}") for i in range(n_users)]
    stream = "bench-chat-" + uuid.uuid4().hex[:8]
    db.document(f"streams/{stream}").set({"stream_id": stream, "creator_id": "bench-creator"})
    session = requests.Session()

    # Warm up the function instance (model load, first token verification) off the clock.
    for i in range(3):
        session.post(f"{base}/streams/{stream}-warm/messages", json={"text": f"warm {i}"},
                     headers={"Authorization": f"Bearer {tokens[-1]}",
                              "X-Forwarded-For": "2001:db8::bench:warm"}, timeout=60)

    # Interleaved, so the chat path and its Firestore floor see the same machine load: each
    # round writes one floor document directly (-> its listener) and sends one chat message
    # through chat_api (-> the chat listener).
    floor_coll = db.collection(f"streams/{stream}/floor")
    floor, chat = _Listener(floor_coll), _Listener(db.collection(f"streams/{stream}/chat"))
    floor_sent: dict[str, float] = {}
    sent: dict[str, float] = {}
    http_ms: list[float] = []
    statuses: dict[int, int] = {}
    for i in range(n):
        doc_id = f"f{i:05d}"
        floor_sent[doc_id] = time.perf_counter()
        floor_coll.document(doc_id).set({"text": "floor", "i": i})
        time.sleep(gap_s / 2)
        t0 = time.perf_counter()
        r = session.post(f"{base}/streams/{stream}/messages",
                         json={"text": f"hello number {i} from the bench"},
                         headers={"Authorization": f"Bearer {tokens[i % n_users]}",
                                  "X-Forwarded-For": f"2001:db8::bench:{i % 97}"}, timeout=30)
        http_ms.append((time.perf_counter() - t0) * 1000)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code == 201:
            sent[r.json()["message_id"]] = t0
        time.sleep(gap_s / 2)
    floor.wait_for(list(floor_sent))
    chat.wait_for(list(sent))
    floor.close()
    chat.close()
    floor_ms = [(floor.seen[k] - t) * 1000 for k, t in floor_sent.items() if k in floor.seen]
    chat_ms = [(chat.seen[k] - t) * 1000 for k, t in sent.items() if k in chat.seen]
    return {
        "messages": n, "statuses": statuses, "gap_s": gap_s,
        "send_to_listener_ms": {"p50": round(pct(chat_ms, 50), 1),
                                "p99": round(pct(chat_ms, 99), 1), "n": len(chat_ms)},
        "http_response_ms": {"p50": round(pct(http_ms, 50), 1),
                             "p99": round(pct(http_ms, 99), 1)},
        "firestore_floor_ms": {"p50": round(pct(floor_ms, 50), 1),
                               "p99": round(pct(floor_ms, 99), 1), "n": len(floor_ms)},
        "mean_send_to_listener_ms": round(statistics.mean(chat_ms), 1) if chat_ms else None,
        "mean_floor_ms": round(statistics.mean(floor_ms), 1) if floor_ms else None,
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--gap", type=float, default=0.1, help="seconds between rounds")
    p.add_argument("--offline", action="store_true", help="skip the local-cloud latency run")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    out: dict[str, Any] = {"scoring": scoring_throughput(), "quality": quality(),
                           "load_average_1m": round(os.getloadavg()[0], 1)}
    if not args.offline:
        out["latency"] = latency(args.messages, args.gap)
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
