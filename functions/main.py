"""Cloud Function entry points. Each is a few lines: parse, call the service layer, map errors.

The same file is the deployable source of every function (Terraform zips functions/ and
sets the entry point per function; see giftengine/manifest.yaml).
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request
from giftengine.entrypoints import handlers
from giftengine.moderation import http as chat
from giftengine.wallet import routes as wallet


@functions_framework.cloud_event
def on_engagement(cloud_event: CloudEvent) -> None:
    handlers.on_engagement(cloud_event)


@functions_framework.http
def rollup(request: Request):
    return handlers.rollup(request)


@functions_framework.http
def api(request: Request):
    return handlers.api(request)


@functions_framework.http
def chat_api(request: Request):
    return chat.chat_api(request)


@functions_framework.cloud_event
def on_comment(cloud_event: CloudEvent) -> None:
    chat.on_comment(cloud_event)


@functions_framework.http
def wallet_api(request: Request):
    return wallet.wallet_api(request)


@functions_framework.http
def payments_webhook(request: Request):
    return wallet.payments_webhook(request)


@functions_framework.http
def wallet_jobs(request: Request):
    return wallet.wallet_jobs(request)


@functions_framework.cloud_event
def on_stream_end(cloud_event: CloudEvent) -> None:
    from giftengine.reports import http as reports  # the report's own dependencies (pyarrow)

    reports.on_stream_end(cloud_event)


@functions_framework.http
def ingest_targets(request: Request):
    from giftengine.ingest import targets  # TikTok creators followed by the ingest worker

    return targets.handle(request)
