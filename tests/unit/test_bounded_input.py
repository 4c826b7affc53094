"""Bounded JSON and callback parameters (issue 14: payments_webhook and the internal rollup
endpoint answered 500 to deeply nested JSON, a lone surrogate and a 10 MB pidx)."""

from __future__ import annotations

import base64
import json

import pytest
from flask import Flask
from giftengine import bootstrap
from giftengine.domain import bounded_json
from giftengine.entrypoints import handlers
from giftengine.wallet import routes

pytestmark = pytest.mark.unit

DEEP = "[" * 100_000 + "]" * 100_000


def test_depth_is_measured_without_recursion_and_ignores_strings():
    assert bounded_json.depth(DEEP) == 100_000
    assert bounded_json.depth('{"a": "[[[[[[", "b": [1, {"c": "\\"]]"}]}') == 3
    with pytest.raises(bounded_json.TooComplex, match="deeper"):
        bounded_json.loads(DEEP)
    with pytest.raises(bounded_json.TooComplex, match="larger"):
        bounded_json.loads(b"1" * (bounded_json.MAX_BYTES + 1))
    assert bounded_json.loads('{"a": [[1]]}') == {"a": [[1]]}


@pytest.fixture
def client(monkeypatch):
    """The payments_webhook and rollup functions in process; any use of a Google client
    fails the test (bad input must be refused before any I/O)."""

    def no_io(*a, **k):
        raise AssertionError("reached I/O with bad input")

    monkeypatch.setattr(bootstrap, "payment_flows", no_io)
    monkeypatch.setattr(handlers, "deps", no_io)
    app = Flask("t")
    app.add_url_rule(
        "/payments_webhook/<path:p>",
        "hook",
        lambda p: routes.payments_webhook(__import__("flask").request),
        methods=["GET", "POST"],
    )
    app.add_url_rule(
        "/rollup", "rollup", lambda: handlers.rollup(__import__("flask").request), methods=["POST"]
    )
    return app.test_client()


@pytest.mark.parametrize(
    "method, path, kw",
    [
        ("POST", "/payments_webhook/esewa", {"data": DEEP, "content_type": "application/json"}),
        ("POST", "/payments_webhook/khalti", {"data": DEEP, "content_type": "application/json"}),
        (
            "POST",
            "/payments_webhook/khalti",
            {"data": '{"pidx": "\\ud800"}', "content_type": "application/json"},
        ),
        ("GET", "/payments_webhook/khalti", {"query_string": {"pidx": "x" * 10_000_000}}),
        (
            "POST",
            "/payments_webhook/khalti",
            {"data": json.dumps({"pidx": "x" * 2_000_000}), "content_type": "application/json"},
        ),
        ("GET", "/payments_webhook/khalti", {"query_string": {"pidx": "../x"}}),
        ("POST", "/rollup", {"data": DEEP, "content_type": "application/json"}),
        ("POST", "/rollup", {"data": '{"stream_id": "__x__"}', "content_type": "application/json"}),
    ],
)
def test_bad_callbacks_get_a_4xx_before_any_io(client, method, path, kw):
    r = client.open(path, method=method, **kw)
    assert 400 <= r.status_code < 500, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"] in ("invalid_request", "too_large")


def test_an_esewa_data_nested_3000_deep_is_a_400_not_a_500():
    from giftengine.wallet.errors import InvalidRequest
    from giftengine.wallet.gateways import Esewa

    data = base64.b64encode(("[" * 3000 + "]" * 3000).encode()).decode()
    with pytest.raises(InvalidRequest):
        Esewa("secret", "EPAYTEST", "http://esewa.invalid").verify_callback(data)


def test_dates_in_api_json_are_rfc_3339():
    """Issue 14: dates were Python's str(datetime), `2026-12-03 21:44:17.989093+00:00`."""
    from datetime import UTC, datetime

    from giftengine.entrypoints.http import json_response

    at = datetime(2026, 12, 3, 21, 44, 17, 989093, tzinfo=UTC)
    body = json.loads(json_response({"banned_until": at, "naive": at.replace(tzinfo=None)}).data)
    assert body == {
        "banned_until": "2026-12-03T21:44:17.989093+00:00",
        "naive": "2026-12-03T21:44:17.989093+00:00",
    }
    assert datetime.fromisoformat(body["banned_until"]) == at


@pytest.mark.parametrize(
    "body",
    [
        {"count": "2"},
        {"count": True},
        {"count": 2.0},
        {"count": 2.5},
        {"gift_id": 5},
    ],
)
def test_request_bodies_take_the_documented_types_without_coercion(body):
    """An integer is a JSON integer and a string a JSON string (docs/openapi.yaml): `"2"`,
    `true` or `2.0` for `count` are 400s with the field named, not a gift of 2 or 1."""
    from giftengine.entrypoints.http import ApiError, parse_body

    good = {"stream_id": "s1", "gift_id": "rose", "count": 2, "idempotency_key": "key-0001"}
    with Flask(__name__).test_request_context("/", method="POST", json=good):
        from flask import request

        assert parse_body(request, routes.GiftBody).count == 2
    with Flask(__name__).test_request_context("/", method="POST", json={**good, **body}):
        from flask import request

        with pytest.raises(ApiError) as err:
            parse_body(request, routes.GiftBody)
    assert err.value.status == 400 and next(iter(body)) in str(err.value)
