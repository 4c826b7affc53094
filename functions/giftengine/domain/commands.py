"""Command gifts: a creator maps a gift, a chat command or a points reward to an overlay
action from a whitelist; each settled gift runs what its mapping says, once. Pure; a stream
feature (domain/features.py; decisions 076, 095; rules in docs/engagement.md, "Command gifts").

- Settings (`creators/{uid}.features.commands`, `PUT /api/creators/{uid}/features/commands`):
  up to 20 mappings `{id, trigger: {gift_id} | {command} | {reward_id}, action, params, mode,
  threshold, max_per_gift}` and the rate limits `viewer_per_minute` (default 5) and
  `stream_per_minute` (default 20). Each action's params are checked against its schema:
  types, lengths, shipped sounds or the creator's own uploads only (the overlay settings'
  rules, domain/overlay.py), plain text without markup. A setting that fails is refused
  with its reason and never stored, so it never reaches an overlay.
- Actions: `show_text` (text, duration_ms), `play_sound` (sound, volume), `show_image` (image,
  duration_ms), `effect_3d` (the big-gift effect), `theme` (dark, light or neon, for
  duration_s), played by the overlay; and two that start something as the creator would
  (decision 077), at most once per settlement whatever the mode:
  - `start_poll` (question, 2-10 choices, duration_s within the poll rules, changeable): the
    run writes a keyed request `streams/{s}/poll_starts/{execution id}` in the rollup's
    commit and asks for a `poll_start` job; the live polls open it (live/service.py
    `start_from_command`), once, or refuse it while another poll is open;
  - `start_tap_battle` (duration_s, starts_in_s): a `tap_battle/start` control with the
    execution id as the battle id, handed to the tap battle feature in the same rollup
    (`StreamState.issue_control`); refused (nothing happens) while a battle runs.
  The execution id is a hash of the stream, the settling event (or the idle streak's
  viewer, gift and time), the mapping and the run's number: the same run always has it.
- Runs: a settled gift (domain/stream.py: a streak at its final, a one-off gift) matching a
  mapping's gift id runs the action `once` per settlement, `per_unit` (one per unit), or
  `per_threshold` (one per `threshold` units of the settlement, rounded down), at most
  `max_per_gift` times. A comment equal to a mapping's command (`!confetti`, case-insensitive,
  surrounding spaces ignored) runs it once. A points redemption of a mapping's reward, while
  the creator is live, is a `control` event of the stream (feature `commands`, action
  `redeem`, params `{reward_id, redemption_id}`, the viewer as `user`: `redemption_event`,
  written by service/rewards.py through the outbox) and runs the mapping once (decision 095).
  Each run is an `action` item in the stream's alert feed, in the order the rollup applies
  the events, which the overlay plays in order.
- Rate limits per minute of `occurred_at`: at most `viewer_per_minute` runs per viewer and
  `stream_per_minute` per stream; runs over a limit are not shown, and counted in the view's
  `dropped` (which of several runs over a limit are dropped depends on the order the rollup
  applies them; the counts do not).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from giftengine.domain import tap_battles
from giftengine.domain.events import Control, EngagementEvent, User, utc_iso
from giftengine.domain.features import Feature, Job, Settled, SideWrite
from giftengine.domain.overlay import _image, _no_controls, _sound
from giftengine.domain.rewards import REWARD_ID
from giftengine.live import domain as polls

MAX_MAPPINGS = 20
RECENT = 5
VIEWERS_TRACKED = 2000  # per minute; beyond, a new viewer is held to the stream's limit only


def _plain(value: str) -> str:
    if "<" in value or ">" in value:
        raise ValueError("must be plain text (no < or >)")
    return value


PlainText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_no_controls),
    AfterValidator(_plain),
]
Command = Annotated[str, StringConstraints(pattern=r"^![a-z0-9_]{1,32}$")]
GiftId = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^/]+$")]
RewardId = Annotated[str, StringConstraints(pattern=REWARD_ID)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class ShowText(_Params):
    text: PlainText
    duration_ms: int = Field(default=4000, ge=1000, le=15000)


class PlaySound(_Params):
    sound: Annotated[str, StringConstraints(max_length=100), AfterValidator(_sound)]
    volume: int = Field(default=80, ge=0, le=100)


class ShowImage(_Params):
    image: Annotated[str, StringConstraints(max_length=100), AfterValidator(_image)]
    duration_ms: int = Field(default=4000, ge=1000, le=15000)


class Effect3d(_Params):
    pass


class Theme(_Params):
    theme: Literal["dark", "light", "neon"]
    duration_s: int = Field(default=30, ge=5, le=600)


ChoiceText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=polls.MAX_CHOICE_CHARS),
    AfterValidator(_no_controls),
    AfterValidator(_plain),
]


class StartPoll(_Params):
    """The poll a creator opens (POST /api/streams/{s}/polls), with a duration: a poll a
    gift opens must end on its own."""

    question: PlainText
    choices: list[ChoiceText] = Field(min_length=polls.MIN_CHOICES, max_length=polls.MAX_CHOICES)
    duration_s: int = Field(default=60, ge=polls.MIN_DURATION_S, le=polls.MAX_DURATION_S)
    changeable: bool = False

    @model_validator(mode="after")
    def _distinct(self) -> StartPoll:
        keys = [polls.choice_key(c) for c in self.choices]
        if any(not k for k in keys) or len(set(keys)) != len(keys):
            raise ValueError("choices must be non-empty and distinct")
        return self


class StartTapBattle(_Params):
    """What the tap battle feature's start command takes (domain/tap_battles.py), but its
    id: the run's execution id."""

    duration_s: int = Field(default=60, ge=1, le=tap_battles.MAX_DURATION_S)
    starts_in_s: int = Field(default=3, ge=0, le=tap_battles.MAX_STARTS_IN_S)


ACTIONS: dict[str, type[_Params]] = {
    "show_text": ShowText,
    "play_sound": PlaySound,
    "show_image": ShowImage,
    "effect_3d": Effect3d,
    "theme": Theme,
    "start_poll": StartPoll,
    "start_tap_battle": StartTapBattle,
}
STARTS = frozenset({"start_poll", "start_tap_battle"})  # run by the server, not the overlay
POLL_START = "poll_start"  # the job kind the live polls consume
POLL_STARTS = "poll_starts"  # streams/{s}/poll_starts/{execution id}


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    gift_id: GiftId | None = None
    command: Command | None = None
    reward_id: RewardId | None = None  # one of the creator's points rewards (features.rewards)

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        named = [self.gift_id, self.command, self.reward_id]
        if sum(v is not None for v in named) != 1:
            raise ValueError("a trigger names exactly one of gift_id, command or reward_id")
        return self


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")]
    trigger: Trigger
    action: Literal[
        "show_text",
        "play_sound",
        "show_image",
        "effect_3d",
        "theme",
        "start_poll",
        "start_tap_battle",
    ]
    params: dict = Field(default_factory=dict)
    mode: Literal["once", "per_unit", "per_threshold"] = "once"
    threshold: int = Field(default=1, ge=1, le=100_000)
    max_per_gift: int = Field(default=5, ge=1, le=20)

    @model_validator(mode="after")
    def _params(self) -> Mapping:
        try:
            checked = ACTIONS[self.action].model_validate(self.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "params"
            raise ValueError(f"{self.action} params: {where}: {first.get('msg')}") from None
        self.params = checked.model_dump()
        if self.trigger.reward_id is not None and self.mode != "once":
            raise ValueError("a reward trigger runs once per redemption: mode must be once")
        return self


class CommandsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mappings: list[Mapping] = Field(default_factory=list, max_length=MAX_MAPPINGS)
    viewer_per_minute: int = Field(default=5, ge=1, le=60)
    stream_per_minute: int = Field(default=20, ge=1, le=120)

    @model_validator(mode="after")
    def _unique(self) -> CommandsConfig:
        ids = [m.id for m in self.mappings]
        if len(ids) != len(set(ids)):
            raise ValueError("mapping ids must be unique")
        return self


def runs(m: Mapping, units: int) -> int:
    """How many times a settlement of `units` runs mapping `m`."""
    n = {"once": 1, "per_unit": units, "per_threshold": units // m.threshold}[m.mode]
    return min(n, 1 if m.action in STARTS else m.max_per_gift)


def execution_id(stream_id: str, cause: str, mapping_id: str, n: int) -> str:
    """The id of run `n` of a mapping for `cause` (the settling event's id, or the idle
    streak's viewer, gift and time): `cmd` + 29 hex digits, the same for the same run."""
    digest = hashlib.sha256(f"{stream_id}|{cause}|{mapping_id}|{n}".encode()).hexdigest()
    return "cmd" + digest[:29]


def poll_start_path(stream_id: str, execution: str) -> str:
    return f"streams/{stream_id}/{POLL_STARTS}/{execution}"


# ---- points redemptions as triggers (decision 095) ------------------------------------------
REDEEM = "redeem"  # the control action: written by the server only (not in `actions`)


def reward_mapped(features: dict | None, reward_id: str) -> bool:
    """Whether a stored command mapping (`features.commands`) names `reward_id` as its trigger:
    only then does a redemption of it enter the creator's live stream's log."""
    mappings = ((features or {}).get("commands") or {}).get("mappings") or []
    return any(
        isinstance(m, dict) and (m.get("trigger") or {}).get("reward_id") == reward_id
        for m in mappings
    )


def redemption_event_id(creator_id: str, redemption_id: str) -> str:
    """The event id of a redemption in a stream's log: the same for every publish of it (the
    redemption id alone is per viewer and request id, not per creator)."""
    digest = hashlib.sha256(f"{creator_id}|{redemption_id}".encode()).hexdigest()
    return f"redeem-{digest[:40]}"


def _display_name(name: str, uid: str) -> str:
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in "<>").strip()[:64]
    return cleaned or "user-" + uid[:6]


def redemption_event(
    stream_id: str,
    creator_id: str,
    uid: str,
    name: str,
    reward_id: str,
    redemption_id: str,
    at: datetime,
) -> EngagementEvent:
    """A redemption in the stream's log: a `control` event of this feature (`redeem`), the
    viewer as `user` (the name their token carries, plain, else `user-` and 6 characters of
    the uid), at the time of the redemption."""
    return EngagementEvent(
        event_id=redemption_event_id(creator_id, redemption_id),
        source="app",
        stream_id=stream_id,
        kind="control",
        occurred_at=at,
        user=User(id=uid, name=_display_name(name, uid)),
        creator_id=creator_id,
        control=Control(
            feature=Commands.name,
            action=REDEEM,
            params={"reward_id": reward_id, "redemption_id": redemption_id},
        ),
    )


class Commands(Feature):
    name: ClassVar[str] = "commands"

    def __init__(self) -> None:
        self.config = CommandsConfig()
        self.minute: int | None = None
        self.stream_count = 0
        self.viewer_counts: dict[str, int] = {}
        self.executed = 0
        self.dropped = 0
        self.recent: list[dict] = []

    @classmethod
    def check_config(cls, config: dict) -> dict:
        return CommandsConfig.model_validate(config).model_dump(exclude_none=True)

    @classmethod
    def check_config_with(cls, config: dict, features: dict) -> None:
        """A reward trigger names one of the creator's points rewards (`features.rewards`)."""
        rewards = {
            r.get("id") for r in (features.get("rewards") or {}).get("rewards") or []
            if isinstance(r, dict)
        }  # fmt: skip
        for m in config.get("mappings") or []:
            named = m["trigger"].get("reward_id")
            if named is not None and named not in rewards:
                raise ValueError(
                    f"mapping {m['id']!r}: the creator has no points reward {named!r} "
                    "(features.rewards)"
                )

    def configure(self, config: dict | None) -> None:
        try:
            self.config = CommandsConfig.model_validate(config or {})
        except ValidationError:  # stored settings passed check_config; never fail a rollup
            self.config = CommandsConfig()

    def load(self, d: dict) -> None:
        self.minute = d.get("minute")
        self.stream_count = int(d.get("stream_count", 0))
        self.viewer_counts = dict(d.get("viewer_counts") or {})
        self.executed = int(d.get("executed", 0))
        self.dropped = int(d.get("dropped", 0))
        self.recent = list(d.get("recent") or [])

    def to_dict(self) -> dict:
        if not (self.executed or self.dropped):
            return {}
        return {
            "minute": self.minute,
            "stream_count": self.stream_count,
            "viewer_counts": self.viewer_counts,
            "executed": self.executed,
            "dropped": self.dropped,
            "recent": self.recent,
        }

    def _allowed(self, user_id: str, minute: int) -> bool:
        if self.minute is None or minute > self.minute:
            self.minute, self.stream_count, self.viewer_counts = minute, 0, {}
        elif minute < self.minute:
            # A run from an earlier minute than the current one: held to the current
            # minute's counts (its own minute's are gone), so a late event never exceeds them.
            pass
        c = self.config
        seen = self.viewer_counts.get(user_id, 0)
        if self.stream_count >= c.stream_per_minute or seen >= c.viewer_per_minute:
            return False
        self.stream_count += 1
        if user_id in self.viewer_counts or len(self.viewer_counts) < VIEWERS_TRACKED:
            self.viewer_counts[user_id] = seen + 1
        return True

    def _run(
        self, st, m: Mapping, n: int, who: dict, at: datetime, event_id: str | None, cause: str
    ) -> None:
        minute = int(at.timestamp() // 60)
        for i in range(n):
            if not self._allowed(who["user_id"], minute):
                self.dropped += n - i
                return
            self.executed += 1
            shown = {"action": m.action, "mapping_id": m.id, "handle": who.get("handle"),
                     "occurred_at": utc_iso(at)}  # fmt: skip
            if m.action in STARTS:
                execution = execution_id(st.stream_id, cause, m.id, i + 1)
                shown.update(execution_id=execution, result=self._start(st, m, who, at, execution))
            else:
                st.alerts.append({
                    "type": "action", "action": m.action, "params": dict(m.params),
                    "mapping_id": m.id, **who, "occurred_at": utc_iso(at),
                    "event_id": event_id, "n": i + 1,
                })  # fmt: skip
            self.recent = [*self.recent, shown][-RECENT:]

    def _start(self, st, m: Mapping, who: dict, at: datetime, execution: str) -> str:
        """Starts what a start action names, as the creator would; returns what happened:
        `requested` (a poll: the live polls decide), `started`, `refused` or `unavailable`."""
        if m.action == "start_tap_battle":
            params = {"tap_battle_id": execution, **m.params}
            try:
                tap_battles.TapBattle.check_control("start", params)
                ev = EngagementEvent(
                    event_id=execution,
                    source=st.source if st.source in ("tiktok", "app") else "app",
                    stream_id=st.stream_id,
                    kind="control",
                    occurred_at=at,
                    control=Control(feature=tap_battles.TapBattle.name, action="start",
                                    params=params),
                )  # fmt: skip
            except ValueError:
                return "unavailable"
            if not st.issue_control(ev):
                return "unavailable"
            cur = getattr(st.feature(tap_battles.TapBattle.name), "cur", None) or {}
            return "started" if cur.get("id") == execution else "refused"
        try:  # start_poll
            w = SideWrite(
                poll_start_path(st.stream_id, execution),
                set={
                    "execution_id": execution,
                    "stream_id": st.stream_id,
                    "creator_id": st.creator_id,
                    "mapping_id": m.id,
                    **m.params,
                    "user_id": who["user_id"],
                    "handle": who.get("handle") or "",
                    "occurred_at": utc_iso(at),
                    "status": "pending",
                },
            )
        except ValueError:  # a stream id a document path cannot hold
            return "unavailable"
        st.side_writes.append(w)
        st.jobs.append(Job(POLL_START, execution))
        return "requested"

    def on_settled(self, st, s: Settled) -> None:
        who = {"user_id": s.user_id, "handle": s.handle, "name": s.name}
        for m in self.config.mappings:
            if m.trigger.gift_id == s.gift_id:
                n = runs(m, s.units)
                cause = s.event_id or f"idle|{s.user_id}|{s.gift_id}|{utc_iso(s.occurred_at)}"
                if n:
                    self._run(
                        st, m, n, {**who, "gift_id": s.gift_id}, s.occurred_at, s.event_id, cause
                    )

    def on_event(self, st, ev) -> None:
        if ev.kind == "control":
            c = ev.control
            if c is not None and c.feature == self.name and c.action == REDEEM:
                self._redeemed(st, ev)
            return
        if ev.kind != "comment" or not ev.text.strip().startswith("!"):
            return
        said = ev.text.strip().lower()
        for m in self.config.mappings:
            if m.trigger.command is not None and said == m.trigger.command:
                u = ev.user
                who = {"user_id": u.id, "handle": u.handle, "name": u.name}
                self._run(st, m, 1, who, ev.occurred_at, ev.event_id, ev.event_id)

    def _redeemed(self, st, ev) -> None:
        """A points redemption (`redemption_event`): the mappings naming its reward run once
        each, unless the stream has ended (a redemption applied after the stream's end)."""
        reward = ev.control.params.get("reward_id")
        if st.status == "ended" or ev.user is None or not isinstance(reward, str):
            return
        u = ev.user
        who = {"user_id": u.id, "handle": u.handle, "name": u.name, "reward_id": reward,
               "redemption_id": ev.control.params.get("redemption_id")}  # fmt: skip
        for m in self.config.mappings:
            if m.trigger.reward_id is not None and m.trigger.reward_id == reward:
                self._run(st, m, 1, who, ev.occurred_at, ev.event_id, ev.event_id)

    def view(self) -> dict | None:
        if not (self.executed or self.dropped):
            return None
        return {"executed": self.executed, "dropped": self.dropped, "recent": self.recent}
