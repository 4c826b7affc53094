"""`giftengine smoke` against the local cloud: the same command an operator runs after a
deploy (docs/deploy.md) passes here, step by step, and fails when a step cannot pass."""

from __future__ import annotations

import json

import pytest
from giftengine_dev.cli.main import main

pytestmark = pytest.mark.e2e

STEPS = [
    "sign_in",
    "publish_gift",
    "read_back",
    "endpoint:api",
    "endpoint:wallet_api",
    "endpoint:payments_webhook",
    "endpoint:chat_api",
    "endpoint:ingest_targets",
    "cleanup",
]


def _smoke(cloud, capsys, *extra: str) -> tuple[int, dict]:
    code = main(["smoke", "--project", cloud["project_id"], "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_smoke_passes_against_the_local_cloud(cloud, capsys) -> None:
    from giftengine.adapters.clients import firestore_client

    code, report = _smoke(cloud, capsys)
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed == [] and code == 0
    assert [s["name"] for s in report["steps"]] == STEPS
    assert report["local"] is True
    # The gift it published was counted, through the real pipeline, on a stream of its own.
    db = firestore_client(cloud["project_id"])
    totals = db.collection("streams").document(report["stream_id"]).get().to_dict()["totals"]
    assert (totals["gifts"], totals["coins"]) == (1, 1)


def test_smoke_fails_and_says_which_step_when_the_functions_are_unreachable(cloud, capsys) -> None:
    code, report = _smoke(cloud, capsys, "--base-url", "http://127.0.0.1:9")
    assert code == 1 and report["ok"] is False
    by_name = {s["name"]: s for s in report["steps"]}
    # Auth, Pub/Sub and Firestore still pass; every endpoint step fails with its reason.
    assert by_name["sign_in"]["ok"] and by_name["read_back"]["ok"]
    endpoints = [s for s in report["steps"] if s["name"].startswith("endpoint:")]
    assert len(endpoints) == 5
    assert all(not s["ok"] and "ConnectionError" in s["detail"] for s in endpoints)
