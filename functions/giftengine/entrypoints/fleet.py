"""`ingest_scale` (Cloud Scheduler, every minute): size the ingest worker fleet to the number
of targets. Parses nothing, calls one use case, answers its report."""

from __future__ import annotations

import os

from flask import Request

from giftengine import config, manifest
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.fleet import CloudRunFleet, FirestoreTargetCounter, LocalFleet
from giftengine.entrypoints.http import json_response
from giftengine.ingest import settings as ingest_settings
from giftengine.service.fleet import FleetSettings, reconcile

WORKER = "ingest_worker"


def ingest_scale(request: Request):
    s = config.load()
    worker = manifest.load().services[WORKER]
    fleet_settings = FleetSettings(
        per_instance=ingest_settings.load().max_creators,
        floor=worker.min_instances,
        ceiling=worker.max_instances,
    )
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        fleet = LocalFleet()
    else:
        fleet = CloudRunFleet(s.project_id, s.region, WORKER.replace("_", "-"))
    report = reconcile(
        FirestoreTargetCounter(firestore_client(s.project_id)), fleet, fleet_settings
    )
    return json_response(report)
