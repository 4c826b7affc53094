"""Use case: size the ingest worker fleet to its targets (`ingest_scale`, every minute).

Counts the targets, plans the fleet (domain/fleet.py) and sets the instance count only when
it differs. Idempotent: a repeated or concurrent run sets the same count.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Protocol

from giftengine.domain.fleet import plan

log = logging.getLogger("giftengine.fleet")


class TargetCounter(Protocol):
    def count(self) -> int: ...


class Fleet(Protocol):
    def instances(self) -> int | None:
        """The instance count now, or None where it cannot be read (the local cloud)."""
        ...

    def set_instances(self, n: int) -> bool:
        """Set the instance count; False where nothing can be set (the local cloud)."""
        ...


@dataclass(frozen=True)
class FleetSettings:
    per_instance: int
    floor: int
    ceiling: int


@dataclass(frozen=True)
class FleetDeps:
    targets: TargetCounter
    fleet: Fleet
    settings: FleetSettings


def reconcile(targets: TargetCounter, fleet: Fleet, settings: FleetSettings) -> dict:
    p = plan(targets.count(), settings.per_instance, settings.floor, settings.ceiling)
    current = fleet.instances()
    applied = False
    if current != p.instances:
        applied = fleet.set_instances(p.instances)
    if p.unserved:
        log.warning(
            "ingest fleet at its ceiling of %d instances: %d of %d targets stay pending",
            settings.ceiling,
            p.unserved,
            p.targets,
        )
    return {**asdict(p), "previous": current, "applied": applied}
