"""A cloud-event function that does nothing but note when each message arrived: the floor
for Pub/Sub push delivery through functions-framework, the pipeline's own mechanism.

With GIFTENGINE_NOOP_DURABLE set (to the project id) it first creates one Firestore document
keyed by the message id (a redelivery finds it and is acknowledged): the least any consumer
that counts each message exactly once does before it acknowledges."""

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
_durable = os.environ.get("GIFTENGINE_NOOP_DURABLE", "")
if _durable:
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import firestore

    _records = firestore.Client(project=_durable).collection("bench_floor")


@functions_framework.cloud_event
def noop(cloud_event) -> None:
    now = time.time()
    if _sleep:
        time.sleep(_sleep)
    message = cloud_event.data["message"]
    data = json.loads(base64.b64decode(message["data"]))
    if _durable:
        try:
            _records.document(message["messageId"]).create({"i": data["i"]})
        except AlreadyExists:
            return
        now = time.time()
    with _lock, open(_path, "a") as f:
        f.write(json.dumps({"i": data["i"], "sent": data["sent"], "got": now}) + "\n")
