"""Commands for stream features and their settings: the use cases behind
`POST /api/streams/{stream_id}/controls` and `PUT /api/creators/{creator_id}/features/{feature}`.

A command (start a round, accept a battle, ...) is recorded as a `control` event in the
stream's event log (docs/events.md), so the rollup applies it once, in order with the gifts
around it, like every other event (decision 051). Its event id is derived from the stream,
the caller and the client's `request_id`: a retried request records nothing new and answers
the same id. The checks, in order, none of them after any write:
1. the body (pydantic) and the feature and action: a feature the rollup runs
   (domain/feature_registry.py) that takes the action with these params
   (`Feature.check_control`), else `Invalid` (400), before any read;
2. the stream has an ownership record, else `streams.NotFound` (404);
3. the caller is the stream's creator, a moderator the creator appointed, or staff
   (`access.require_stream_moderator`), else `access.Forbidden` (403).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import Field, ValidationError

from giftengine.domain import access, feature_registry
from giftengine.domain.events import Control, EngagementEvent, User, validation_reason
from giftengine.domain.features import Feature
from giftengine.domain.ids import ID_PATTERN, DocId, id_problem
from giftengine.service import pipeline, streams


class Invalid(ValueError):
    """A command or setting the feature does not take (400)."""


class ControlRequest(Control):
    """The body of `POST /api/streams/{stream_id}/controls`."""

    request_id: DocId = Field(
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
        description="The client's id for this command: a retry with the same id and the same "
        "command records nothing new and answers the same event id; another command under a "
        "used id is recorded as its own.",
    )


def feature_class(name: str) -> type[Feature]:
    for cls in feature_registry.REGISTRY:
        if cls.name == name:
            return cls
    known = ", ".join(sorted(c.name for c in feature_registry.REGISTRY)) or "none"
    raise Invalid(f"unknown feature {name!r} (features: {known})")


def control_event_id(stream_id: str, uid: str, request_id: str, command: Control) -> str:
    """The command's event id: a retry (same caller, request id and command) gets the same
    one and records nothing new; another command sent under a request id already used is a
    command of its own, recorded (it was once answered `duplicate` and lost)."""
    body = json.dumps(command.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    key = "\x00".join((stream_id, uid, request_id, body))
    return f"control-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def issue_control(
    stream_id: str,
    req: ControlRequest,
    actor: access.Actor,
    owners: streams.OwnershipRepo,
    deps: pipeline.Deps,
) -> dict[str, Any]:
    """Check, then record the command as a `control` event and trigger the rollup."""
    if (problem := id_problem(stream_id)) is not None:
        raise Invalid(f"invalid stream id: {problem}")
    cls = feature_class(req.feature)
    try:
        cls.check_control(req.action, dict(req.params))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    acc = streams.stream_access(owners, stream_id)
    if acc.creator_id is None:
        raise streams.NotFound(f"stream {stream_id} has no ownership record")
    access.require_stream_moderator(actor, acc)
    command = Control(feature=req.feature, action=req.action, params=req.params)
    event = EngagementEvent(
        event_id=control_event_id(stream_id, actor.uid, req.request_id, command),
        source="app",
        stream_id=stream_id,
        kind="control",
        occurred_at=datetime.fromtimestamp(deps.clock(), UTC),
        user=User(id=actor.uid),
        creator_id=acc.creator_id,
        control=command,
    )
    created = pipeline.record_events([event], deps)
    return {
        "event_id": event.event_id,
        "stream_id": stream_id,
        "feature": req.feature,
        "action": req.action,
        "params": dict(req.params),
        "status": "recorded" if created else "duplicate",
    }


class FeatureSettingsStore(Protocol):
    def feature_settings(self, creator_id: str) -> dict:
        """`creators/{creator_id}.features` as stored (name -> settings), {} when none."""

    def put_feature_settings(self, creator_id: str, feature: str, config: dict) -> dict:
        """Replace `creators/{creator_id}.features.{feature}` with `config`."""


def set_feature_settings(
    creator_id: str,
    feature: str,
    body: Any,
    actor: access.Actor,
    store: FeatureSettingsStore,
) -> dict[str, Any]:
    """Replace one feature's settings of a creator (the creator or an admin), validated by
    the feature (`Feature.check_config`). The rollup sees them within a minute (its cache)."""
    if (problem := id_problem(creator_id)) is not None:
        raise Invalid(f"invalid creator id: {problem}")
    cls = feature_class(feature)
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object of the feature's settings")
    try:
        config = cls.check_config(body)
    except ValidationError as exc:
        raise Invalid(f"{feature} settings: {validation_reason(exc)}") from None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    access.require_self_or_admin(actor, creator_id)
    try:  # settings naming another feature's (a round's reward badge): one read
        cls.check_config_with(config, store.feature_settings(creator_id))
    except ValueError as exc:
        raise Invalid(f"{feature} settings: {exc}") from None
    store.put_feature_settings(creator_id, feature, config)
    return {"creator_id": creator_id, "feature": feature, "settings": config}


class MemoryFeatureSettings:
    """In-memory FeatureSettingsStore over a `creators` dict (MemoryEventStore.creators)."""

    def __init__(self, creators: dict[str, dict]):
        self.creators = creators

    def feature_settings(self, creator_id: str) -> dict:
        return dict((self.creators.get(creator_id) or {}).get("features") or {})

    def put_feature_settings(self, creator_id: str, feature: str, config: dict) -> dict:
        doc = self.creators.setdefault(creator_id, {"creator_id": creator_id})
        doc.setdefault("features", {})[feature] = dict(config)
        return doc
