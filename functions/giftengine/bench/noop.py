"""A cloud-event function that does nothing but note when each message arrived: the floor
for Pub/Sub push delivery through functions-framework, the pipeline's own mechanism."""

from __future__ import annotations

import base64
import json
import os
import threading
import time

import functions_framework

_lock = threading.Lock()
_path = os.environ.get("GIFTENGINE_NOOP_LOG", "/tmp/giftengine-noop.jsonl")
# `giftengine bench --push-window`: answer after this long, without using CPU.
_sleep = float(os.environ.get("GIFTENGINE_NOOP_SLEEP_S", "0"))


@functions_framework.cloud_event
def noop(cloud_event) -> None:
    now = time.time()
    if _sleep:
        time.sleep(_sleep)
    data = json.loads(base64.b64decode(cloud_event.data["message"]["data"]))
    with _lock, open(_path, "a") as f:
        f.write(json.dumps({"i": data["i"], "sent": data["sent"], "got": now}) + "\n")
