"""The ingest fleet's size (domain/fleet.py), the use case that applies it
(service/fleet.py) with in-memory fakes, and the Cloud Run adapter's request shape."""

from __future__ import annotations

import logging

import pytest
from giftengine.adapters.fleet import CloudRunFleet
from giftengine.domain.fleet import plan
from giftengine.service.fleet import FleetSettings, reconcile
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("targets", "instances", "unserved"),
    [(0, 1, 0), (1, 1, 0), (50, 1, 0), (51, 2, 0), (500, 10, 0), (501, 10, 1), (1200, 10, 700)],
)
def test_plan_follows_targets_between_floor_and_ceiling(targets, instances, unserved):
    p = plan(targets, per_instance=50, floor=1, ceiling=10)
    assert (p.instances, p.unserved, p.capacity) == (instances, unserved, instances * 50)


@given(
    targets=st.integers(0, 10_000),
    per=st.integers(1, 200),
    floor=st.integers(0, 20),
    extra=st.integers(0, 50),
)
def test_plan_is_the_smallest_fleet_that_serves_everyone_it_may(targets, per, floor, extra):
    ceiling = floor + extra
    p = plan(targets, per, floor, ceiling)
    assert floor <= p.instances <= ceiling
    assert p.unserved == max(0, targets - p.instances * per)
    if p.unserved == 0 and p.instances > floor:
        assert (p.instances - 1) * per < targets  # one fewer would leave someone pending
    if p.unserved:
        assert p.instances == ceiling


@pytest.mark.parametrize(("args"), [(-1, 50, 1, 10), (5, 0, 1, 10), (5, 50, 3, 2)])
def test_plan_refuses_nonsense(args):
    with pytest.raises(ValueError):
        plan(*args)


class Targets:
    def __init__(self, n: int):
        self.n = n

    def count(self) -> int:
        return self.n


class MemoryFleet:
    def __init__(self, n: int | None):
        self.n, self.sets = n, []

    def instances(self) -> int | None:
        return self.n

    def set_instances(self, n: int) -> bool:
        self.sets.append(n)
        self.n = n
        return True


SETTINGS = FleetSettings(per_instance=50, floor=1, ceiling=10)


def test_reconcile_sets_the_count_only_when_it_differs_and_is_idempotent():
    fleet = MemoryFleet(1)
    first = reconcile(Targets(120), fleet, SETTINGS)
    assert (first["previous"], first["instances"], first["applied"]) == (1, 3, True)
    again = reconcile(Targets(120), fleet, SETTINGS)
    assert (again["previous"], again["applied"]) == (3, False)
    assert fleet.sets == [3]
    # Targets leave: the fleet shrinks back to its floor, never below.
    reconcile(Targets(0), fleet, SETTINGS)
    assert fleet.sets == [3, 1]


def test_reconcile_reports_targets_beyond_the_ceiling(caplog):
    fleet = MemoryFleet(10)
    with caplog.at_level(logging.WARNING, logger="giftengine.fleet"):
        report = reconcile(Targets(640), fleet, SETTINGS)
    assert (report["instances"], report["unserved"], report["applied"]) == (10, 140, False)
    assert "140 of 640 targets stay pending" in caplog.text


class Response:
    def __init__(self, body: dict):
        self.body = body

    def raise_for_status(self) -> None:
        pass

    def json(self) -> dict:
        return self.body


class Session:
    def __init__(self, body: dict):
        self.body, self.calls = body, []

    def get(self, url, **kw):
        self.calls.append(("GET", url, kw))
        return Response(self.body)

    def patch(self, url, **kw):
        self.calls.append(("PATCH", url, kw))
        return Response({})


def test_cloud_run_adapter_reads_and_patches_the_service_level_manual_count():
    session = Session({"scaling": {"scalingMode": "MANUAL", "manualInstanceCount": 2}})
    fleet = CloudRunFleet("p1", "us-central1", "ingest-worker", session=session)
    assert fleet.instances() == 2
    assert fleet.set_instances(4) is True
    url = "https://run.googleapis.com/v2/projects/p1/locations/us-central1/services/ingest-worker"
    (m1, u1, _), (m2, u2, kw) = session.calls
    assert (m1, u1, m2, u2) == ("GET", url, "PATCH", url)
    assert kw["params"] == {"updateMask": "scaling.manualInstanceCount,scaling.scalingMode"}
    assert kw["json"] == {"scaling": {"scalingMode": "MANUAL", "manualInstanceCount": 4}}
