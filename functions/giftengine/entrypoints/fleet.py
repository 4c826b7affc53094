"""`ingest_scale` (Cloud Scheduler, every minute): size the ingest worker fleet to the number
of targets. Parses nothing, calls one use case, answers its report."""

from __future__ import annotations

from flask import Request

from giftengine import bootstrap
from giftengine.entrypoints.http import json_response
from giftengine.service.fleet import reconcile


def ingest_scale(request: Request):
    d = bootstrap.ingest_fleet()
    return json_response(reconcile(d.targets, d.fleet, d.settings))
