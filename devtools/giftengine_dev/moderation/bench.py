"""Chat benchmark; figures go to docs/bench-chat.md. Bounded: a few thousand classifications
and, on the local cloud, one message per labeled example plus a few hundred latency rounds.

    python -m giftengine_dev.moderation.bench --offline [--json]    # in-process only
    python -m giftengine_dev.moderation.bench [--split heldout]     # + through chat_api

- throughput of one process (= one function instance): per message as chat_api does it
  (sanitize, keyword filter of 200 entries, classify, decide);
- the candidates on the labeled set (tests/moderation/data/chat_eval.csv), tune and held-out
  parts: the shipped rules, alt-profanity-check and better-profanity at the seed policy,
  and the rules with alt-profanity-check as an extra profanity signal;
- footprint: cold start (import of the entry module + first message) and peak memory of a
  fresh process, for the chat entry module, functions/main.py, and the seed's model;
- through the real chat endpoint: every labeled message of a split posted to chat_api by a
  fresh viewer (real ID tokens from the Auth emulator), precision/recall from the responses;
- chat send -> visible to a Firestore listener, p50/p99, through chat_api, next to the same
  run's Firestore floor (a direct write -> the same kind of listener).
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


def throughput(n_single: int = 3000) -> dict[str, Any]:
    from giftengine.moderation import keywords
    from giftengine.moderation.classify import findings
    from giftengine.moderation.policy import ChatSettings
    from giftengine.moderation.rules import ModerationConfig, decide
    from giftengine.moderation.sanitize import sanitize

    from giftengine_dev.moderation import evaluate

    texts = [e.text for e in evaluate.load(EVAL)]
    kw_filter = keywords.KeywordFilter.build(
        keywords.clean_entries([f"filler{i}" for i in range(198)] + ["spoiler*", "rival stream"])
    )
    settings, config = ChatSettings(), ModerationConfig()
    # CPU time as well as wall time: the machine is shared, and CPU seconds are what one
    # function instance (one vCPU) spends. `findings` is the uncached classifier.
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n_single):
        clean = sanitize(texts[i % len(texts)], settings.max_chars)
        decide(findings(clean.text), kw_filter.match(clean.text), config)
    return {
        "per_message_full_path_msgs_per_s": round(n_single / (time.perf_counter() - t0)),
        "per_message_full_path_msgs_per_cpu_s": round(n_single / (time.process_time() - c0)),
    }


def _seed_policy(scores: list[float]) -> list:
    """The seed's thresholds: >= 0.9 block and ban, >= 0.6 warn."""
    from giftengine_dev.moderation.evaluate import Outcome

    return [
        Outcome("block", True) if p >= 0.9 else Outcome("warn" if p >= 0.6 else "allow")
        for p in scores
    ]


def candidates(splits: tuple[str, ...] = ("tune", "heldout")) -> dict[str, Any]:
    """Every candidate on each split: overall warn-or-worse and block precision/recall."""
    from giftengine_dev.moderation import evaluate

    out: dict[str, Any] = {}
    for split in splits:
        examples = evaluate.load(EVAL, split)
        texts = [e.text for e in examples]
        rules = evaluate.rules_predictor()
        shipped = [rules(t) for t in texts]
        runs: dict[str, list] = {"rules (shipped)": shipped}
        try:
            from profanity_check import predict_prob

            apc = [float(p) for p in predict_prob(texts)]
            runs["alt-profanity-check, seed thresholds"] = _seed_policy(apc)
            runs["rules + alt-profanity-check >= 0.9 warns"] = [
                evaluate.Outcome("warn") if o.action == "allow" and p >= 0.9 else o
                for o, p in zip(shipped, apc, strict=True)
            ]
        except ImportError:
            pass
        try:
            from better_profanity import profanity

            profanity.load_censor_words()
            runs["better-profanity, hit = block"] = [
                evaluate.Outcome("block", True)
                if profanity.contains_profanity(t)
                else evaluate.Outcome("allow")
                for t in texts
            ]
        except ImportError:
            pass
        out[split] = {}
        for name, outcomes in runs.items():
            rep = evaluate.report(examples, outcomes)
            out[split][name] = {
                "warn_or_worse": rep["overall"]["warn_or_worse"],
                "block": rep["overall"]["block"],
                "clean_banned": rep["clean_banned"],
            }
    return out


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
_FOOTPRINT = r"""
import json, sys, time
t0 = time.perf_counter()
{setup}
t1 = time.perf_counter()
{first}
t2 = time.perf_counter()
print(json.dumps({{"import_s": round(t1 - t0, 3), "first_message_s": round(t2 - t1, 3),
                  "cold_start_s": round(t2 - t0, 3),
                  "peak_rss_mib": round(int(next(l for l in open("/proc/self/status")
                                                 if l.startswith("VmHWM:")).split()[1])
                                        / 1024, 1),
                  "heavy_modules": sorted(m for m in ("numpy", "scipy", "sklearn", "stripe",
                                                      "TikTokLive") if m in sys.modules)}}))
"""

_SUBJECTS = {
    # What a chat_api / on_comment instance loads: the entry module, then one message.
    "chat entry module (giftengine.moderation.http)": (
        "import giftengine.moderation.http",
        "from giftengine.moderation.classify import classify; classify('you are a f*cking idiot')",
    ),
    # The deployable entry file as Cloud Functions loads it (every function's source).
    "functions/main.py": (
        "sys.path.insert(0, {functions!r}); import main",
        "from giftengine.moderation.classify import classify; classify('you are a f*cking idiot')",
    ),
    # The seed's scorer, for comparison (not deployed any more).
    "seed scorer: alt-profanity-check model": (
        "from profanity_check import predict_prob",
        "predict_prob(['you are a f*cking idiot'])",
    ),
}


def footprint(runs: int = 3) -> dict[str, Any]:
    """Cold start and peak RSS of a fresh interpreter per subject (median of `runs`)."""
    import subprocess
    import sys

    out: dict[str, Any] = {}
    for name, (setup, first) in _SUBJECTS.items():
        code = _FOOTPRINT.format(setup=setup.format(functions=str(REPO / "functions")), first=first)
        samples = []
        for _ in range(runs):
            r = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO
            )
            if r.returncode != 0:
                samples = [{"error": r.stderr.strip().splitlines()[-1:]}]
                break
            samples.append(json.loads(r.stdout))
        if "error" in samples[0]:
            out[name] = samples[0]
            continue
        samples.sort(key=lambda x: x["cold_start_s"])
        mid = samples[len(samples) // 2]
        out[name] = {
            **mid,
            "peak_rss_mib_max": max(x["peak_rss_mib"] for x in samples),
            "runs": len(samples),
        }
    return out


def endpoint_eval(split: str, streams: int = 8) -> dict[str, Any]:
    """Every labeled message of `split` posted through chat_api, one fresh viewer each (so a
    ban can only come from that message), spread over a few streams and client IPs so the
    flood and IP limits do not interfere; precision/recall from the HTTP responses."""
    import requests
    from giftengine.adapters.clients import firestore_client

    from giftengine_dev.cli._cloud import ensure_env
    from giftengine_dev.devcloud import stack
    from giftengine_dev.devcloud.tokens import emulator_id_token
    from giftengine_dev.moderation import evaluate

    s = ensure_env()
    base = stack.status()["endpoints"]["chat_api"]
    db = firestore_client(s.project_id)
    run = uuid.uuid4().hex[:8]
    ids = [f"eval-{run}-{k}" for k in range(streams)]
    for sid in ids:
        db.document(f"streams/{sid}").set({"stream_id": sid, "creator_id": "eval-creator"})
    examples = evaluate.load(EVAL, split)
    session = requests.Session()
    outcomes, statuses = [], {}
    t0 = time.perf_counter()
    for i, e in enumerate(examples):
        token = emulator_id_token(f"eval-{run}-u{i}", s.project_id)
        r = session.post(
            f"{base}/streams/{ids[i % streams]}/messages",
            json={"text": e.text},
            headers={
                "Authorization": f"Bearer {token}",
                "X-Forwarded-For": f"2001:db8::e:{run[:4]}:{i}",
            },
            timeout=60,
        )
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        action = body.get("action") if r.status_code in (200, 201) else f"http-{r.status_code}"
        outcomes.append(evaluate.Outcome(action or "allow", "banned_until" in body))
    rep = evaluate.report(examples, outcomes)
    rep["statuses"] = statuses
    rep["seconds"] = round(time.perf_counter() - t0, 1)
    return rep


def _sign_in(auth_host: str, app, uid: str) -> str:
    import requests
    from firebase_admin import auth

    email = f"{uid}@bench.test"
    with contextlib.suppress(auth.UidAlreadyExistsError):
        auth.create_user(uid=uid, email=email, password="bench-pass", app=app)
    r = requests.post(
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword",
        params={"key": "bench"},
        json={"email": email, "password": "bench-pass", "returnSecureToken": True},
        timeout=30,
    )
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
    db.document(f"stream_owners/{stream}").set(
        {"stream_id": stream, "creator_id": "bench-creator", "source": "app"}
    )
    session = requests.Session()

    # Warm up the function instance (model load, first token verification) off the clock.
    for i in range(3):
        session.post(
            f"{base}/streams/{stream}-warm/messages",
            json={"text": f"warm {i}"},
            headers={
                "Authorization": f"Bearer {tokens[-1]}",
                "X-Forwarded-For": "2001:db8::bench:warm",
            },
            timeout=60,
        )

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
        r = session.post(
            f"{base}/streams/{stream}/messages",
            json={"text": f"hello number {i} from the bench"},
            headers={
                "Authorization": f"Bearer {tokens[i % n_users]}",
                "X-Forwarded-For": f"2001:db8::bench:{i % 97}",
            },
            timeout=30,
        )
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
        "messages": n,
        "statuses": statuses,
        "gap_s": gap_s,
        "send_to_listener_ms": {
            "p50": round(pct(chat_ms, 50), 1),
            "p99": round(pct(chat_ms, 99), 1),
            "n": len(chat_ms),
        },
        "http_response_ms": {"p50": round(pct(http_ms, 50), 1), "p99": round(pct(http_ms, 99), 1)},
        "firestore_floor_ms": {
            "p50": round(pct(floor_ms, 50), 1),
            "p99": round(pct(floor_ms, 99), 1),
            "n": len(floor_ms),
        },
        "mean_send_to_listener_ms": round(statistics.mean(chat_ms), 1) if chat_ms else None,
        "mean_floor_ms": round(statistics.mean(floor_ms), 1) if floor_ms else None,
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def _chat_api_peak_mib() -> float | None:
    """VmHWM (peak resident memory) of the local cloud's chat_api process, if it runs here."""
    from giftengine_dev.devcloud import stack

    pid = (stack.status().get("pids") or {}).get("fn-chat_api")
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, TypeError):
        return None
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--gap", type=float, default=0.1, help="seconds between rounds")
    p.add_argument(
        "--split",
        default="heldout",
        choices=("heldout", "tune", "all"),
        help="labeled messages posted through chat_api",
    )
    p.add_argument("--offline", action="store_true", help="skip the local-cloud parts")
    p.add_argument("--no-latency", action="store_true", help="skip the latency rounds")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    out: dict[str, Any] = {
        "throughput": throughput(),
        "candidates": candidates(),
        "footprint": footprint(),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    if not args.offline:
        rep = endpoint_eval(args.split)
        out["endpoint"] = {
            k: rep[k]
            for k in ("examples", "overall", "clean_banned", "statuses", "seconds", "errors")
        }
        out["endpoint"]["table"] = __import__(
            "giftengine_dev.moderation.evaluate", fromlist=["table"]
        ).table(rep)
        if not args.no_latency:
            out["latency"] = latency(args.messages, args.gap)
        out["chat_api_process_peak_mib"] = _chat_api_peak_mib()
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
