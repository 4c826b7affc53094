"""Issue 14's outside attacks that answered 500, replayed against the local cloud with real
Auth emulator tokens: each must now get a clear 4xx with a JSON reason."""

from __future__ import annotations

import pytest
import requests

from tests.support import id_token

pytestmark = pytest.mark.e2e


def viewer() -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token('attack-viewer')}"}


@pytest.mark.parametrize(
    "function, method, path",
    [
        ("wallet_api", "POST", "/wallet_api/tiers/%C2%B2/purchase"),
        ("api", "DELETE", "/api/goals/__x__/g1"),
        ("api", "DELETE", "/api/goals/__name__/g1"),
        ("api", "DELETE", "/api/goals/%2E%2E/g1"),
        ("api", "PUT", "/api/creators/%2E%2E/settings"),
        ("api", "GET", "/api/streams/__x__"),
        ("ingest_targets", "GET", "/ingest_targets/__x__"),
        ("ingest_targets", "PUT", "/ingest_targets/__x__"),
        ("ingest_targets", "DELETE", "/ingest_targets/__x__"),
        ("chat_api", "GET", "/chat_api/streams/__x__/messages"),
    ],
)
def test_reserved_and_odd_path_ids_get_a_4xx(cloud, function, method, path):
    base = cloud["endpoints"][function].rsplit("/" + function, 1)[0]
    body = {"idempotency_key": "attack-0001", "timezone": "UTC"}
    r = requests.request(
        method,
        base + path,
        headers={**viewer(), "X-Forwarded-For": "10.7.0.1"},
        json=body,
        timeout=180,
    )
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.json()["error"] and r.json()["reason"]


@pytest.mark.parametrize(
    "path, kw",
    [
        ("/esewa", {"data": "[" * 100_000 + "]" * 100_000}),
        ("/khalti", {"data": "[" * 100_000 + "]" * 100_000}),
        ("/khalti", {"data": '{"pidx": "\\ud800"}'}),
    ],
)
def test_payment_callbacks_refuse_hostile_json(cloud, path, kw):
    url = cloud["endpoints"]["payments_webhook"] + "/payments_webhook" + path
    r = requests.post(url, headers={"Content-Type": "application/json"}, timeout=60, **kw)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])


def test_esewa_get_with_a_deeply_nested_data_is_a_400(cloud):
    import base64

    data = base64.b64encode(("[" * 3000 + "]" * 3000).encode()).decode()
    url = cloud["endpoints"]["payments_webhook"] + "/payments_webhook/esewa"
    r = requests.get(url, params={"data": data}, timeout=60)
    assert r.status_code == 400, r.text[:300]


def test_rollup_refuses_deep_json(cloud):
    r = requests.post(
        cloud["endpoints"]["rollup"],
        data="[" * 100_000 + "]" * 100_000,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 400, r.text[:300]
