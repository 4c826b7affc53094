"""Creator-vs-creator battles: invite, accept, decline, cancel, read (docs/engagement.md,
"Battles"; decision 055). The scoring is not here: each stream's rollup scores its own side
(domain/battles.py) once `accept` has recorded the `battle/start` command in both streams'
event logs.

`battles/{id}`: the battle (this module writes its top-level fields, never `sides`);
`battle_streams/{stream_id}`: {battle_id, until}: the battle a stream is in until its
freeze, so a stream is in at most one battle at a time (read and written in the accept's
transaction).

Every use case checks the body and ids before any read, authorizes with the streams'
ownership records (domain/access.py: the stream's creator, a moderator they appointed, or
staff), and is idempotent: the battle id is derived from the inviter and the client's
`request_id`, a repeated accept answers the same battle and records the same start events
again (same event ids: the event record keeps them once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from giftengine.domain import access
from giftengine.domain.battles import MAX_DURATION_S, BattleRules, Window, winner
from giftengine.domain.events import Control, EngagementEvent, User, utc_iso, validation_reason
from giftengine.domain.ids import ID_PATTERN, DocId, id_problem
from giftengine.service import streams

INVITE_TTL_S = 600


class Invalid(ValueError):
    """400."""


class Conflict(Exception):
    """409: the battle is not in a state that allows this, or a stream is in another one."""


class BattleBody(BaseModel):
    """`POST /api/battles`."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    stream_id: DocId = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    opponent_creator_id: DocId = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    opponent_stream_id: DocId = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    duration_s: int = Field(default=300, ge=10, le=MAX_DURATION_S)
    windows: list[Window] = Field(default_factory=list, max_length=3)
    request_id: DocId = Field(min_length=1, max_length=128, pattern=ID_PATTERN)


class BattleRepo(Protocol):
    def create(self, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create `battles/{doc.battle_id}` unless it exists; (the stored doc, created)."""

    def get(self, battle_id: str) -> dict[str, Any] | None: ...

    def transact(self, battle_id: str, step: Step) -> dict[str, Any]:
        """In one transaction: read the battle and its streams' `battle_streams` locks,
        call `step(battle, locks)`, write what it returns (the battle's new top-level
        fields, merged; the locks to set) and return the battle as written. `step` may
        raise: nothing is written."""


@dataclass
class Change:
    battle: dict[str, Any]
    locks: dict[str, dict[str, Any]]


Step = Callable[[dict[str, Any], dict[str, dict[str, Any] | None]], Change]


@dataclass(frozen=True)
class BattleSettings:
    grace_s: int = 15
    start_delay_s: int = 3


def battle_id_for(uid: str, request_id: str) -> str:
    digest = hashlib.sha256(f"{uid}\x00{request_id}".encode()).hexdigest()
    return f"bt-{digest[:32]}"


def start_event_id(battle_id: str, stream_id: str) -> str:
    return f"battle-start-{battle_id}-{stream_id}"


def _iso(ts: float) -> str:
    return utc_iso(datetime.fromtimestamp(ts, UTC))


def _check(battle_id: str) -> None:
    if (problem := id_problem(battle_id)) is not None:
        raise Invalid(f"invalid battle id: {problem}")


def invite(
    body: Any, actor: access.Actor, repo: BattleRepo, owners: streams.OwnershipRepo, now: float
) -> tuple[dict[str, Any], bool]:
    """Creator A (or A's moderator) invites the creator of another stream."""
    try:
        b = body if isinstance(body, BattleBody) else BattleBody.model_validate(body)
    except ValidationError as exc:
        raise Invalid(validation_reason(exc)) from None
    if b.stream_id == b.opponent_stream_id:
        raise Invalid("a battle needs two different streams")
    try:  # the windows must fit the battle (the same rule the rollup applies)
        BattleRules(
            battle_id="x",
            start=datetime.fromtimestamp(0, UTC),
            end=datetime.fromtimestamp(b.duration_s, UTC),
            grace_s=0,
            opponent_stream_id="x",
            opponent_creator_id="x",
            windows=tuple(b.windows),
        )
    except ValidationError as exc:
        raise Invalid(validation_reason(exc)) from None
    mine = streams.stream_access(owners, b.stream_id)
    if mine.creator_id is None:
        raise streams.NotFound(f"stream {b.stream_id} has no ownership record")
    access.require_stream_moderator(actor, mine)
    theirs = owners.get(b.opponent_stream_id)
    if theirs is None or theirs.creator_id != b.opponent_creator_id:
        raise streams.NotFound(
            f"stream {b.opponent_stream_id} is not a stream of creator {b.opponent_creator_id}"
        )
    if theirs.creator_id == mine.creator_id:
        raise Invalid("a creator does not battle themselves")
    bid = battle_id_for(actor.uid, b.request_id)
    doc = {
        "battle_id": bid,
        "status": "invited",
        "streams": [b.stream_id, b.opponent_stream_id],
        "creators": [mine.creator_id, theirs.creator_id],
        "invited_by": actor.uid,
        "duration_s": b.duration_s,
        "windows": [w.model_dump() for w in b.windows],
        "created_at": _iso(now),
        "expires_at": _iso(now + INVITE_TTL_S),
    }
    return repo.create(doc)


def _require(battle: dict | None, battle_id: str) -> dict:
    if not battle:
        raise streams.NotFound(f"battle {battle_id} not found")
    return battle


def _authorize(owners: streams.OwnershipRepo, actor: access.Actor, stream_id: str) -> None:
    access.require_stream_moderator(actor, streams.stream_access(owners, stream_id))


def accept(
    battle_id: str,
    actor: access.Actor,
    repo: BattleRepo,
    owners: streams.OwnershipRepo,
    record: Callable[[list[EngagementEvent]], bool],
    now: float,
    cfg: BattleSettings,
) -> dict[str, Any]:
    """The invited creator (or their moderator) accepts: the rules are fixed in one
    transaction (start = now + start delay) that also takes both streams' battle locks, then
    `battle/start` is recorded in each stream's log (`record`: the pipeline's record and
    trigger). A retry of an accepted battle records the same events again (no-ops)."""
    _check(battle_id)
    battle = _require(repo.get(battle_id), battle_id)
    _authorize(owners, actor, battle["streams"][1])

    def step(doc: dict, locks: dict[str, dict | None]) -> Change:
        doc = _require(doc, battle_id)
        if doc["status"] == "accepted":
            return Change({}, {})
        if doc["status"] != "invited":
            raise Conflict(f"battle {battle_id} is {doc['status']}")
        if doc["expires_at"] <= _iso(now):
            raise Conflict(f"the invitation to battle {battle_id} expired")
        for stream_id, lock in locks.items():
            if lock and lock["battle_id"] != battle_id and lock["until"] > _iso(now):
                raise Conflict(f"stream {stream_id} is in battle {lock['battle_id']}")
        start = now + cfg.start_delay_s
        end = start + doc["duration_s"]
        until = _iso(end + cfg.grace_s)
        fields = {
            "status": "accepted",
            "accepted_by": actor.uid,
            "accepted_at": _iso(now),
            "start": _iso(start),
            "end": _iso(end),
            "grace_s": cfg.grace_s,
        }
        return Change(fields, {s: {"battle_id": battle_id, "until": until} for s in locks})

    doc = repo.transact(battle_id, step)
    record_starts(doc, actor, owners, record)
    return view(doc)


def rules_for(doc: dict[str, Any], side: int) -> BattleRules:
    other = 1 - side
    return BattleRules(
        battle_id=doc["battle_id"],
        start=datetime.fromisoformat(doc["start"].replace("Z", "+00:00")),
        end=datetime.fromisoformat(doc["end"].replace("Z", "+00:00")),
        grace_s=doc["grace_s"],
        opponent_stream_id=doc["streams"][other],
        opponent_creator_id=doc["creators"][other],
        windows=tuple(Window(**w) for w in doc.get("windows") or ()),
    )


def record_starts(
    doc: dict[str, Any],
    actor: access.Actor,
    owners: streams.OwnershipRepo,
    record: Callable[[list[EngagementEvent]], bool],
) -> None:
    """The `battle/start` control event in each stream's log (deterministic ids)."""
    at = datetime.fromisoformat(doc["accepted_at"].replace("Z", "+00:00"))
    for side, stream_id in enumerate(doc["streams"]):
        event = EngagementEvent(
            event_id=start_event_id(doc["battle_id"], stream_id),
            source="app",
            stream_id=stream_id,
            kind="control",
            occurred_at=at,
            user=User(id=actor.uid),
            creator_id=doc["creators"][side],
            control=Control(feature="battle", action="start", params=rules_for(doc, side).params()),
        )
        record([event])


def _close(
    battle_id: str,
    actor: access.Actor,
    repo: BattleRepo,
    owners: streams.OwnershipRepo,
    now: float,
    side: int,
    status: str,
) -> dict[str, Any]:
    _check(battle_id)
    battle = _require(repo.get(battle_id), battle_id)
    _authorize(owners, actor, battle["streams"][side])

    def step(doc: dict, locks: dict) -> Change:
        doc = _require(doc, battle_id)
        if doc["status"] == status:
            return Change({}, {})
        if doc["status"] != "invited":
            raise Conflict(f"battle {battle_id} is {doc['status']}")
        return Change({"status": status, f"{status}_by": actor.uid, f"{status}_at": _iso(now)}, {})

    return view(repo.transact(battle_id, step))


def decline(battle_id, actor, repo, owners, now) -> dict[str, Any]:
    """The invited creator (or their moderator) declines an invitation."""
    return _close(battle_id, actor, repo, owners, now, 1, "declined")


def cancel(battle_id, actor, repo, owners, now) -> dict[str, Any]:
    """The inviting creator (or their moderator) withdraws an invitation."""
    return _close(battle_id, actor, repo, owners, now, 0, "canceled")


def get(battle_id: str, repo: BattleRepo) -> dict[str, Any]:
    _check(battle_id)
    return view(_require(repo.get(battle_id), battle_id))


def view(doc: dict[str, Any]) -> dict[str, Any]:
    """The battle as stored, plus its result when both sides froze (domain `winner`)."""
    return {**doc, "result": winner(doc.get("sides") or {})}


class MemoryBattles:
    """In-memory BattleRepo: `docs` shared with the MemoryEventStore's side writes."""

    def __init__(self, docs: dict[str, dict] | None = None):
        self.docs = docs if docs is not None else {}

    def create(self, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        path = f"battles/{doc['battle_id']}"
        if path in self.docs:
            return self.docs[path], False
        self.docs[path] = dict(doc)
        return self.docs[path], True

    def get(self, battle_id: str) -> dict[str, Any] | None:
        return self.docs.get(f"battles/{battle_id}")

    def transact(self, battle_id: str, step: Step) -> dict[str, Any]:
        doc = self.docs.get(f"battles/{battle_id}")
        streams_ = (doc or {}).get("streams") or []
        locks = {s: self.docs.get(f"battle_streams/{s}") for s in streams_}
        change = step(dict(doc) if doc else {}, locks)
        new = {**(doc or {}), **change.battle}
        self.docs[f"battles/{battle_id}"] = new
        for s, lock in change.locks.items():
            self.docs[f"battle_streams/{s}"] = dict(lock)
        return new
