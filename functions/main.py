"""Cloud Function entry points. Each is a few lines: parse, call the service layer, map errors.

The same file is in every function's archive (Terraform builds one archive per package of
functions with the modules they import, decision 014, and sets the entry point per function;
see giftengine/manifest.yaml). Each function imports its own module on first call, so a
function loads only the libraries it uses: stripe only where a payment is taken, none of
numpy, scipy, scikit-learn anywhere (tests/unit/test_entrypoints.py checks this).
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request, request


@functions_framework.errorhandler(404)
def unrouted(error):
    from giftengine.entrypoints import http

    return http.unrouted(request.path)


@functions_framework.cloud_event
def on_engagement(cloud_event: CloudEvent) -> None:
    from giftengine.entrypoints import handlers

    handlers.on_engagement(cloud_event)


@functions_framework.http
def rollup(request: Request):
    from giftengine.entrypoints import handlers

    return handlers.rollup(request)


@functions_framework.http
def api(request: Request):
    from giftengine.entrypoints import handlers

    return handlers.api(request)


@functions_framework.http
def chat_api(request: Request):
    from giftengine.moderation import http as chat

    return chat.chat_api(request)


@functions_framework.cloud_event
def on_comment(cloud_event: CloudEvent) -> None:
    from giftengine.live import http as live
    from giftengine.moderation import http as chat

    chat.on_comment(cloud_event)
    live.on_comment(cloud_event)  # chat votes in the stream's active poll


@functions_framework.http
def wallet_api(request: Request):
    from giftengine.wallet import routes as wallet

    return wallet.wallet_api(request)


@functions_framework.http
def payments_webhook(request: Request):
    from giftengine.wallet import routes as wallet

    return wallet.payments_webhook(request)


@functions_framework.http
def wallet_jobs(request: Request):
    from giftengine.wallet import routes as wallet

    return wallet.wallet_jobs(request)


@functions_framework.cloud_event
def on_stream_end(cloud_event: CloudEvent) -> None:
    from giftengine.reports import stream_end  # the report's files: pyarrow, here only

    stream_end.on_stream_end(cloud_event)


@functions_framework.http
def live_jobs(request: Request):
    from giftengine.live import http as live

    return live.live_jobs(request)


@functions_framework.http
def ingest_targets(request: Request):
    from giftengine.ingest import targets  # TikTok creators followed by the ingest worker

    return targets.handle(request)


@functions_framework.http
def ingest_scale(request: Request):
    from giftengine.entrypoints import fleet  # sizes the ingest worker fleet to its targets

    return fleet.ingest_scale(request)
