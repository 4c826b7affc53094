"""Stream features: live-show rules computed inside the per-stream rollup. Pure.

A feature (a battle, timed rounds, the hype train, the throne, XP, the mood layer, ...) is a
reducer over the stream's exactly-once event stream. It runs inside the rollup that already
applies every recorded event once, in order, and commits its state in the same transaction
as the stream's cursor (decision 051). So a feature costs no extra Pub/Sub delivery, no
extra invocation and no extra read per gift; its only costs are the bytes it adds to the
stream's state document and the writes it asks for (`SideWrite`), at most one per
document per rollup, and rollups run at most once per `rollup_min_interval_s` per stream.

What a feature sees, per rollup:
- `configure(config)`: its section of the creator's settings document
  (`creators/{uid}.features.{name}`, cached per process like the time zone), every rollup;
- `on_event(st, ev)`: every applied event, after the stream's own rules handled it (likes,
  comments, follows, shares, joins, viewers, stream start/end, and `control` events: commands
  a creator issued through the API, recorded in the same log so they are ordered and
  applied once like everything else);
- `on_settled(st, s)`: every settlement of gift units (a streak's final, an idle streak
  expired at its highest count, a one-off gift), with the coins it adds;
- `tick(st, now)`: once after the batch (ranks are known); timers end here;
- `next_deadline()`: when a timer needs a rollup even if no event arrives.

What a feature gives back: alerts (appended to `st.alerts`: they go through the alert feed
like every other alert), its part of the live document (`view()`, under
`streams/{id}.features.{name}`), its persisted state (`to_dict()`, under the state
document's `features.{name}`), and side writes (`st.side_writes`): documents outside the
stream (a battle both streams' overlays read, a viewer's XP) that the adapter commits in
the rollup's transaction, so each is applied exactly once with the events that caused it.

A feature registers by adding its class to `REGISTRY` (giftengine/domain/feature_registry.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # the stream imports this module; no cycle at run time
    from giftengine.domain.events import EngagementEvent
    from giftengine.domain.stream import StreamState

# A side write's path: collection/doc[/collection/doc...], each segment a Firestore id.
_SEGMENT = re.compile(r"^[A-Za-z0-9_.:@+=-]{1,200}$")


def path_segment(value: str) -> str:
    """An id (a stream's, a creator's) as a side write path segment: itself when it is made
    of the safe characters (at most 150), else `h` + 32 hex digits of its SHA-256."""
    if _SEGMENT.match(value) and len(value) <= 150 and value not in (".", ".."):
        return value
    return "h" + hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Settled:
    """Gift units settled for one viewer by this rollup (domain/stream.py `_settle`)."""

    user_id: str
    handle: str
    name: str
    gift_id: str
    gift_name: str
    units: int
    coins: int
    occurred_at: datetime  # of the event that settled them (an idle expiry: its last one)
    event_id: str | None = None  # None for an idle streak settled by time


@dataclass
class SideWrite:
    """One document outside the stream's own, committed in the rollup's transaction.

    `set`: fields written as given (merged into the document when `merge`);
    `increments`: integer fields added to (Firestore `Increment`, memory store: +=).
    The rollup commits once per applied event, so an increment is applied exactly once.
    There is no create-if-absent: a write another stream's rollup may also make (a viewer's
    global badge) must give the same document whichever commits first, because a failing
    precondition would fail the rollup, and the stream, on every retry."""

    path: str
    set: dict[str, Any] = field(default_factory=dict)
    increments: dict[str, int] = field(default_factory=dict)
    merge: bool = True

    def __post_init__(self) -> None:
        parts = self.path.split("/")
        if len(parts) % 2 or not all(_SEGMENT.match(p) and p not in (".", "..") for p in parts):
            raise ValueError(f"side write path {self.path!r} is not collection/doc[/...]")
        for k, v in self.increments.items():
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError(f"increment {k!r} must be an integer")


@dataclass(frozen=True)
class Job:
    """Work another subsystem does with a document this rollup writes (a `SideWrite`), run
    after the commit by that subsystem's task queue: a command gift's poll start is opened
    by the live polls (live/service.py `start_from_command`). `kind` names the consumer,
    `key` the document (its id: deterministic, so a retried rollup asks for the same job and
    the consumer applies it once). The service schedules it when the rollup has decided,
    before the commit: a job whose document is not committed yet waits for it (decision 077)."""

    kind: str
    key: str


class Feature:
    """Base class with no-op hooks; subclasses override what they need.

    State lives in the instance and round-trips through `to_dict` / `from_dict` (plain JSON
    values: it is stored in the stream's state document, keep it bounded)."""

    name: ClassVar[str] = ""
    # The commands the feature takes (`control` events, service/controls.py): the API
    # refuses any other action for it with a 400 before recording anything.
    actions: ClassVar[frozenset[str]] = frozenset()
    # How late the rollup that `next_deadline` asks for may come when no event's rollup
    # comes first: the deadline is asked for on a grid of this many seconds (0: exactly), so
    # the commits of a stream at a gift a second, each moving the deadline a little, share
    # one follow-up task instead of asking for one each (decision 044).
    deadline_slack: ClassVar[float] = 0.0

    @classmethod
    def check_control(cls, action: str, params: dict) -> None:
        """Raise ValueError with the reason when `action` with `params` is not a command
        this feature takes (the API answers 400 and records nothing). Default: the action
        must be one of `actions`; override to check the params too."""
        if action not in cls.actions:
            known = ", ".join(sorted(cls.actions)) or "none"
            raise ValueError(f"feature {cls.name!r} has no action {action!r} (actions: {known})")

    @classmethod
    def check_config(cls, config: dict) -> dict:
        """The creator's settings for this feature as they will be stored, or ValueError
        with the reason (the settings route answers 400). Default: no settings."""
        if config:
            raise ValueError(f"feature {cls.name!r} takes no settings")
        return {}

    @classmethod
    def check_config_with(cls, config: dict, features: dict) -> None:
        """Raise ValueError with the reason when `config` (as `check_config` gave it) does
        not fit the creator's other feature settings (`features`: name -> settings, as
        stored); the settings route answers 400. Default: nothing to cross-check."""

    @classmethod
    def from_dict(cls, d: dict | None) -> Feature:
        f = cls()
        f.load(d or {})
        return f

    def load(self, d: dict) -> None:
        """Restore the state `to_dict` gave."""

    def to_dict(self) -> dict:
        return {}

    def configure(self, config: dict | None) -> None:
        """The creator's settings for this feature (None: defaults)."""

    def on_event(self, st: StreamState, ev: EngagementEvent) -> None: ...

    def on_settled(self, st: StreamState, s: Settled) -> None: ...

    def tick(self, st: StreamState, now: float) -> None: ...

    def next_deadline(self) -> float | None:
        return None

    def view(self) -> dict | None:
        """This feature's part of the live document, or None to show nothing."""
        return None
