"""Document ids are checked in one place (domain/ids.py) before any I/O: path parameters by
the router, bodies by the DocId type, events by the EngagementEvent model (issue 14: path ids
such as `__x__`, `__name__` and `..` reached Firestore and answered 500)."""

from __future__ import annotations

import pytest
from flask import Request
from giftengine.domain import ids
from giftengine.domain.events import EngagementEvent
from giftengine.entrypoints.http import Router
from werkzeug.test import EnvironBuilder

pytestmark = pytest.mark.unit

BAD = ["", ".", "..", "__x__", "__name__", "____", "a/b", "\ud800", "x" * 201, "a\x00b", "__\n__"]
GOOD = ["s1", "_x_", "__", "___", "a.b", "..a", "__x", "x__", "café", "x" * 200, "²"]


@pytest.mark.parametrize("value", BAD)
def test_bad_ids_are_refused(value):
    assert ids.id_problem(value) is not None
    with pytest.raises(ids.InvalidId):
        ids.check_id(value)


@pytest.mark.parametrize("value", GOOD)
def test_good_ids_pass(value):
    assert ids.id_problem(value) is None


def test_ids_over_1500_bytes_are_refused_whatever_the_character_limit():
    assert ids.id_problem("é" * 751, max_chars=2000) is not None  # 1,502 bytes
    assert ids.id_problem("é" * 750, max_chars=2000) is None


def _request(method: str, path: str) -> Request:
    return Request(EnvironBuilder(method=method, path=path).get_environ())


@pytest.mark.parametrize("raw", ["__x__", "__name__", "%2E%2E", "%2E", "%5F%5Fx%5F%5F"])
def test_the_router_refuses_a_bad_path_id_before_the_handler_runs(raw):
    router, called = Router("api"), []

    @router.route("DELETE", "/goals/{stream_id}/{goal_id}")
    def handler(request, stream_id, goal_id):
        called.append(stream_id)  # would reach Firestore
        return {}

    r = router.dispatch(_request("DELETE", f"/api/goals/{raw}/g1"))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"
    assert "stream_id" in r.get_json()["reason"] and called == []
    assert router.dispatch(_request("DELETE", "/api/goals/s1/g1")).status_code == 200


def test_free_path_parameters_are_left_to_the_handler():
    router = Router("wallet_api")

    @router.route("POST", "/tiers/{level}/purchase", free=("level",))
    def handler(request, level):
        return {"level": level}

    assert router.dispatch(_request("POST", "/tiers/__x__/purchase")).get_json() == {
        "level": "__x__"
    }


def _event(**over) -> dict:
    return {
        "event_id": "e1",
        "source": "tiktok",
        "stream_id": "s1",
        "kind": "gift",
        "occurred_at": "2026-12-03T21:44:17Z",
        "user": {"id": "u1"},
        "gift": {"id": "5655", "name": "Rose", "coins": 1},
        **over,
    }


def test_integer_tiktok_ids_are_accepted_and_stored_as_strings():
    """Issue 14: `"gift": {"id": 5655}` was rejected, so a publisher sending TikTok's natural
    form lost every gift."""
    e = EngagementEvent.model_validate(
        _event(
            user={"id": 7012345678901234567, "handle": "ana"},
            gift={"id": 5655, "name": "Rose", "coins": 1},
        )
    )
    assert e.user.id == "7012345678901234567" and e.gift.id == "5655"
    assert e.model_dump(mode="json")["gift"]["id"] == "5655"
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError):
            EngagementEvent.model_validate(_event(gift={"id": bad, "coins": 1}))


@pytest.mark.parametrize("field", ["stream_id", "creator_id"])
@pytest.mark.parametrize("value", ["__x__", "..", "\ud800", "__\n__"])
def test_event_ids_follow_the_same_rules(field, value):
    with pytest.raises(ValueError):
        EngagementEvent.model_validate(_event(**{field: value}))
