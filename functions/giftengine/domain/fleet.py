"""The ingest fleet's size: how many worker instances follow the current targets.

Each worker instance follows at most `per_instance` creators under leases (ingest/leases.py);
the fleet is sized to follow every target, between a floor (kept warm) and a ceiling (the
documented cost guard, docs/deploy.md). Targets beyond the ceiling's capacity stay `pending`
and are reported as unserved. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FleetPlan:
    targets: int
    instances: int
    capacity: int  # creators the planned fleet can follow
    unserved: int  # targets beyond the ceiling's capacity


def plan(targets: int, per_instance: int, floor: int, ceiling: int) -> FleetPlan:
    if targets < 0:
        raise ValueError("targets must be >= 0")
    if per_instance < 1:
        raise ValueError("per_instance must be >= 1")
    if not 0 <= floor <= ceiling:
        raise ValueError("need 0 <= floor <= ceiling")
    needed = -(-targets // per_instance)  # ceiling division, integers only
    instances = min(ceiling, max(floor, needed))
    capacity = instances * per_instance
    return FleetPlan(targets, instances, capacity, max(0, targets - capacity))
