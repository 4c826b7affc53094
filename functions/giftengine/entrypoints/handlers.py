"""Function bodies behind functions/main.py (filled in by the gift pipeline)."""

from __future__ import annotations


def on_engagement(cloud_event) -> None:  # placeholder until the pipeline lands
    return None


def rollup(request):
    return {"ok": True}


def api(request):
    return {"error": "not_found", "reason": "no route"}, 404
