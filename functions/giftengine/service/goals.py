"""Creator-facing settings: stream goals and the creator's time zone (overlay settings:
service/overlay.py)."""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from giftengine.domain import access, periods
from giftengine.domain.ids import ID_PATTERN, DocId
from giftengine.domain.stream import GOAL_METRICS
from giftengine.domain.text import DisplayText


class Principal(Protocol):
    """Who calls (the HTTP layer's verified token: adapters/auth.py)."""

    uid: str
    claims: dict[str, Any]

    @property
    def is_admin(self) -> bool: ...


class Forbidden(Exception):
    pass


class NotFound(Exception):
    pass


class GoalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    stream_id: DocId = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    goal_id: DocId | None = Field(default=None, min_length=1, max_length=100, pattern=ID_PATTERN)
    metric: Literal[GOAL_METRICS]  # type: ignore[valid-type]
    target: int = Field(ge=1, le=1_000_000_000)
    gift_id: DocId | None = Field(default=None, min_length=1, max_length=256, pattern=ID_PATTERN)
    title: DisplayText = Field(default="", max_length=200)
    duration_s: int | None = Field(
        default=None,
        ge=15,
        le=86_400,
        description="A challenge: the goal fails if not reached within this many seconds.",
    )

    @model_validator(mode="after")
    def _gift_for_units(self) -> GoalRequest:
        if (self.metric == "gift_units") != (self.gift_id is not None):
            raise ValueError("gift_id is required for metric 'gift_units' and only for it")
        return self


class CreatorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(min_length=1, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        periods.zone(v)  # raises ValueError("unknown time zone ...")
        return v


def _require_creator(who: Principal, stream_id: str, creator_id: str | None) -> None:
    actor = access.Actor.from_claims(who.uid, who.claims)
    try:
        access.require_stream_creator(actor, access.StreamAccess(stream_id, creator_id))
    except access.Forbidden as exc:
        raise Forbidden(str(exc)) from None


def set_goal(req: GoalRequest, who: Principal, settings_store, scheduler) -> dict:
    creator = settings_store.stream_creator(req.stream_id)
    if creator is None and not who.is_admin:
        raise NotFound(f"stream {req.stream_id!r} has no ownership record (POST /api/streams)")
    _require_creator(who, req.stream_id, creator)
    goal = req.model_dump(exclude={"stream_id"})
    goal["goal_id"] = req.goal_id or secrets.token_hex(6)
    now = time.time()
    goal["deadline"] = now + req.duration_s if req.duration_s else None
    doc = settings_store.put_goal(req.stream_id, goal, who.uid)
    scheduler.schedule_rollup(req.stream_id, now)  # show progress promptly
    if goal["deadline"] is not None:  # a rollup at the deadline judges the challenge
        scheduler.schedule_rollup(req.stream_id, goal["deadline"], trailing=False)
    return doc


def delete_goal(stream_id: str, goal_id: str, who: Principal, settings_store, scheduler) -> None:
    _require_creator(who, stream_id, settings_store.stream_creator(stream_id))
    if not settings_store.delete_goal(stream_id, goal_id):
        raise NotFound(f"no goal {goal_id!r} on stream {stream_id!r}")
    scheduler.schedule_rollup(stream_id, time.time())


def set_creator_settings(
    creator_id: str, body: CreatorSettings, who: Principal, settings_store
) -> dict:
    try:
        access.require_self_or_admin(access.Actor.from_claims(who.uid, who.claims), creator_id)
    except access.Forbidden as exc:
        raise Forbidden(str(exc)) from None
    return settings_store.put_creator_settings(creator_id, body.model_dump())
