"""Peak memory of each Cloud Function, measured: a fresh interpreter imports functions/main.py
as functions-framework does, calls the function once with a representative request against
the local cloud, and reports its peak RSS and which heavy libraries it loaded.

    python -m giftengine_dev.bench.memory [--json]      # against a running local cloud

The manifest's `memory_mb` per function comes from these figures (decision 040); the test
tests/integration/test_entrypoint_memory.py runs the same probe on the test stack.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[3] / "functions"
# Libraries that only some functions need (issue 15): the chat scorer's, the payment
# provider's and the TikTok client's.
HEAVY = ("numpy", "scipy", "sklearn", "stripe", "TikTokLive")

# Runs in the fresh interpreter: argv = [function name, request spec JSON]. Stays stdlib-only
# until it imports main, so the figures are the function's own.
_CHILD = r"""
import json, resource, sys
name, spec = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, spec["functions_dir"])
HEAVY = tuple(spec["heavy"])
def heavy():
    return sorted(m for m in HEAVY if m in sys.modules)
def rss_mb():
    # VmHWM: this process's peak RSS. ru_maxrss would not do: Linux keeps it across execve,
    # so a probe started by a big parent (a pytest session) would report the parent's peak.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
import main
fn = getattr(main, name)
out = {"function": name, "import_rss_mb": rss_mb(), "import_heavy": heavy()}
if spec.get("cloud_event") is not None:
    from cloudevents.http import CloudEvent
    ce = CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                     "source": "//pubsub.googleapis.com/probe"}, spec["cloud_event"])
    fn(ce)
    out["status"] = "ok"
elif spec.get("http") is not None:
    import flask
    h = spec["http"]
    app = flask.Flask("probe")
    with app.test_request_context(h["path"], method=h["method"], headers=h.get("headers", {}),
                                  data=h.get("body")):
        resp = app.make_response(fn(flask.request))
    out["status"] = resp.status_code
out["peak_rss_mb"] = rss_mb()
out["heavy"] = heavy()
print(json.dumps(out))
"""


def _pubsub(data: dict, attributes: dict[str, str]) -> dict:
    return {
        "message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": uuid.uuid4().hex,
            "attributes": attributes,
        },
        "subscription": "projects/probe/subscriptions/probe",
    }


def _ended(envelope: dict) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=10)
    envelope["message"]["publishTime"] = at.isoformat().replace("+00:00", "Z")
    return envelope


def _event(kind: str, stream: str, **fields) -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "source": "tiktok",
        "stream_id": stream,
        "kind": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "user": {"id": "probe-viewer", "handle": "@probe", "name": "Probe"},
        **fields,
    }


def requests_by_function(project_id: str) -> dict[str, dict]:
    """One representative request per function: the path a real call takes through its
    service, adapters and (where it has one) its heavy library."""
    from giftengine_dev.devcloud.tokens import emulator_id_token

    run = uuid.uuid4().hex[:8]
    stream, viewer, creator = f"mem-{run}", f"mem-viewer-{run}", f"mem{run}"
    token = emulator_id_token(viewer, project_id)
    creator_token = emulator_id_token(creator, project_id)
    admin = emulator_id_token(f"mem-admin-{run}", project_id, claims={"admin": True})

    def http(method: str, path: str, body=None, bearer: str | None = token) -> dict:
        headers = {"Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return {
            "http": {
                "method": method,
                "path": path,
                "headers": headers,
                "body": json.dumps(body) if body is not None else None,
            }
        }

    gift = _event(
        "gift",
        stream,
        gift={"id": "rose", "name": "Rose", "coins": 1, "streakable": False},
        repeat_count=1,
        repeat_end=True,
    )
    comment = _event("comment", stream, text="hello from the memory probe")
    return {
        "on_engagement": {"cloud_event": _pubsub(gift, {"kind": "gift"})},
        "rollup": http("POST", f"/?stream_id={stream}", bearer=None),
        "api": http(
            "PUT", f"/creators/{creator}/settings", {"timezone": "UTC"}, bearer=creator_token
        ),
        "chat_api": http("POST", f"/streams/{stream}/messages", {"text": "hello there"}),
        "on_comment": {"cloud_event": _pubsub(comment, {"kind": "comment"})},
        # Published 10 minutes ago: the report is written (files and all, pyarrow loaded)
        # without waiting for a live state the probe stream does not have.
        "on_stream_end": {
            "cloud_event": _ended(_pubsub(_event("stream_end", stream), {"kind": "stream_end"}))
        },  # fmt: skip
        "wallet_api": http(
            "POST", "/checkout/stripe", {"pack_id": "coins-70", "idempotency_key": f"mem-{run}"}
        ),
        "payments_webhook": {
            "http": {
                "method": "POST",
                "path": "/stripe",
                "body": "{}",
                "headers": {"Stripe-Signature": "t=1,v1=0", "Content-Type": "application/json"},
            }
        },
        "wallet_jobs": http("POST", "/outbox", {}, bearer=admin),
        "ingest_targets": http("PUT", f"/{creator}", {}, bearer=creator_token),
        "live_jobs": http(
            "POST",
            f"/polls/flush?stream_id={stream}&poll_id=mem-poll&at={int(time.time())}",
            bearer=None,
        ),
        "ingest_scale": http("POST", "/", {}, bearer=None),
    }


def probe(function: str, request: dict, env: dict[str, str] | None = None) -> dict:
    spec = {**request, "functions_dir": str(FUNCTIONS_DIR), "heavy": list(HEAVY)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, function, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=FUNCTIONS_DIR,
        env=env or dict(os.environ),
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"probe of {function} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(function_env=None) -> list[dict]:
    """Probe every function of the manifest. `function_env(name)` gives the environment the
    function runs with (the local cloud's wiring); default: this process's environment."""
    from giftengine import manifest, settings

    reqs = requests_by_function(settings.load().project_id)
    results = []
    for name in manifest.load().functions:
        env = {**os.environ, **(function_env(name) if function_env else {})}
        results.append(probe(name, reqs[name], env))
    return results


def stack_status(state_dir=None) -> dict:
    from giftengine_dev.devcloud import stack

    st = stack.status(state_dir)
    if not st["running"]:
        raise SystemExit(f"no local cloud running in {st['state_dir']}: `giftengine dev up`")
    os.environ.update(st["env"])
    return st


def stack_function_env(st: dict):
    """The environment each function process of that stack runs with."""
    from giftengine_dev.devcloud.layout import Layout

    layout = Layout(st["project_id"], Path(st["state_dir"]), st["port_base"])
    # Without the dev-only write log, as in production.
    return lambda name: {**layout.function_env(name), "GIFTENGINE_WRITE_LOG": ""}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m giftengine_dev.bench.memory", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--state-dir", default=None, help="the local cloud's (default: dev up's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    results = measure(stack_function_env(stack_status(args.state_dir)))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(
            f"{r['function']:18} peak {r['peak_rss_mb']:6.1f} MB  after import "
            f"{r['import_rss_mb']:6.1f} MB  status {r.get('status')}  heavy {r['heavy']}"
        )


if __name__ == "__main__":
    main()
