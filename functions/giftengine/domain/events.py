"""The EngagementEvent contract: what every source (TikTok ingest, apps) publishes.

Field names are a contract other tools rely on; docs/events.md documents them and
docs/schema/engagement_event.schema.json is generated from this model
(`giftengine schema --check` fails when they drift).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from giftengine.domain.ids import ID_PATTERN, DocId

Kind = Literal[
    "gift",
    "like",
    "comment",
    "follow",
    "share",
    "join",
    "viewers",
    "stream_start",
    "stream_end",
    "control",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
# The reactions an app's buttons send (`like` events, docs/engagement.md "App reactions").
Reaction = Literal["like", "love", "laugh", "hype"]
REACTIONS: tuple[str, ...] = Reaction.__args__  # type: ignore[attr-defined]
# Kinds that name a viewer; stream-level kinds may omit `user`.
USER_KINDS = frozenset({"gift", "like", "comment", "follow", "share", "join"})

# Ids become Firestore document ids: no "/", not "." or "..", not "__...__" (domain/ids.py).
_ID = Field(min_length=1, max_length=256, pattern=ID_PATTERN)


def _int_id(value: object) -> object:
    """TikTok's user and gift ids are numbers upstream: accept them, store them as strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("an integer id must not be negative")
        return str(value)
    return value


# A user or gift id: a string, or a non-negative integer stored as its decimal string.
UpstreamId = Annotated[
    DocId,
    BeforeValidator(_int_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": 256, "pattern": ID_PATTERN},
                {"type": "integer", "minimum": 0},
            ],
            "description": "A string, or a non-negative integer (TikTok's numeric ids), "
            "stored as its decimal string.",
        }
    ),
]


class User(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, regex_engine="python-re")

    id: UpstreamId = _ID
    handle: str = Field(default="", max_length=256)
    name: str = Field(default="", max_length=256)
    linked_tiktok_id: DocId | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        pattern=ID_PATTERN,
        description="An app user's linked TikTok account (their `tiktok_id` claim), on app "
        "chat comments: a poll counts them once as that TikTok viewer.",
    )


class Gift(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, regex_engine="python-re")

    id: UpstreamId = _ID
    name: str = Field(default="", max_length=256)
    coins: int = Field(
        ge=0, le=1_000_000, description="Price of one unit in coins (= TikTok diamonds)."
    )
    streakable: bool = False


_NAME = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]{0,31}$")


class Control(BaseModel):
    """A command a creator (or their moderator) issued through the API for a stream feature
    (start a round, accept a battle, ...): recorded in the stream's event log like any event,
    so the rollup applies it once, in order with the gifts around it (domain/features.py).
    Sources never publish it from upstream data; only the API does, after its checks."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    feature: str = _NAME
    action: str = _NAME
    params: dict[str, Annotated[str, Field(max_length=500)] | int | bool | None] = Field(
        default_factory=dict, max_length=32
    )


class EngagementEvent(BaseModel):
    """One upstream message, normalized."""

    model_config = ConfigDict(extra="ignore", frozen=True, regex_engine="python-re")

    event_id: str = Field(min_length=1, max_length=512, description="Unique per upstream message.")
    source: Literal["tiktok", "app"]
    stream_id: DocId = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    kind: Kind
    occurred_at: AwareDatetime
    user: User | None = None
    creator_id: DocId | None = Field(
        default=None,
        max_length=200,
        pattern=ID_PATTERN,
        description=(
            "The creator the source names; the stream's first event sets the live state's "
            "creator_id (leaderboard periods). Defaults to stream_id. Ownership (creator powers, "
            "gift earnings) is the stream_owners record, never this field."
        ),
    )
    # gift
    gift: Gift | None = None
    repeat_count: int = Field(default=1, ge=1, le=100_000)
    repeat_end: bool = True
    group_id: str = Field(default="", max_length=256)
    # like
    count: int = Field(default=1, ge=1, le=1_000_000)
    # comment
    text: str = Field(default="", max_length=2000)
    # viewers
    viewers: int | None = Field(default=None, ge=0, le=1_000_000_000)
    # control (API commands for stream features)
    control: Control | None = None
    # like, from an app's reaction buttons (last: archive columns are only ever appended)
    reaction: Reaction | None = Field(
        default=None,
        description="On app likes: the reaction button the viewer tapped (`like`, `love`, "
        "`laugh`, `hype`); the mood counts it for that mood. None on TikTok likes.",
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> EngagementEvent:
        if self.kind in USER_KINDS and self.user is None:
            raise ValueError(f"kind {self.kind!r} needs `user`")
        if self.kind == "gift" and self.gift is None:
            raise ValueError("kind 'gift' needs `gift`")
        if self.kind == "viewers" and self.viewers is None:
            raise ValueError("kind 'viewers' needs `viewers`")
        if self.reaction is not None and self.kind != "like":
            raise ValueError("only kind 'like' may carry `reaction`")
        if (self.kind == "control") != (self.control is not None):
            raise ValueError("kind 'control' needs `control`, and only it may carry one")
        return self

    @property
    def occurred_ts(self) -> float:
        return self.occurred_at.timestamp()


def parse_event(data: bytes | str | dict) -> EngagementEvent:
    """Parse and validate; raises pydantic.ValidationError (or ValueError) with the reason."""
    if isinstance(data, dict):
        return EngagementEvent.model_validate(data)
    return EngagementEvent.model_validate_json(data)


def validation_reason(exc: ValidationError) -> str:
    """The first few validation errors as one line: `where: what`."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def json_schema() -> dict:
    schema = EngagementEvent.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = (
        "https://github.com/giftengine/giftengine/docs/schema/engagement_event.schema.json"
    )
    return schema


def utc_iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")
