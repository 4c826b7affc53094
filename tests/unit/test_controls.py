"""The shared command use case of stream features (service/controls.py) on the in-memory
stores: who may issue a command, what is refused before any read or write, the event it
records (once per request id) and that the rollup applies it to the feature; and the
feature settings use case."""

from __future__ import annotations

import pytest
from giftengine.domain import feature_registry
from giftengine.domain.access import Actor, Forbidden, StreamOwner
from giftengine.domain.features import Feature
from giftengine.service import controls, pipeline, streams
from giftengine.service.memory import MemoryEventStore
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tests.unit.test_pipeline_service import Leading, drain, make_deps

pytestmark = pytest.mark.unit


class Counter(Feature):
    """Counts `add` commands' `by` (1..10); `reset` zeroes it. Setting: `label`."""

    name = "counter"
    actions = frozenset({"add", "reset"})

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        label: str = Field(default="count", max_length=20)

    def __init__(self):
        self.n = 0
        self.by: list[str] = []

    def load(self, d):
        self.n, self.by = d.get("n", 0), d.get("by", [])

    def to_dict(self):
        return {"n": self.n, "by": self.by}

    @classmethod
    def check_control(cls, action, params):
        super().check_control(action, params)
        by = params.get("by", 1)
        if action == "add" and not (isinstance(by, int) and 1 <= by <= 10):
            raise ValueError("by must be an integer from 1 to 10")

    @classmethod
    def check_config(cls, config):
        return cls.Config.model_validate(config).model_dump()

    def on_event(self, st, ev):
        if ev.kind == "control" and ev.control.feature == self.name:
            self.n = 0 if ev.control.action == "reset" else self.n + ev.control.params.get("by", 1)
            self.by.append(ev.user.id)

    def view(self):
        return self.to_dict()


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(feature_registry, "REGISTRY", (Counter,))
    monkeypatch.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
    monkeypatch.setattr(pipeline, "_leading", Leading())
    store = MemoryEventStore()
    deps = make_deps(store)
    owners = streams.MemoryOwnership()
    owners.create(StreamOwner("s1", "cr"), "cr", None)
    owners.appoint("cr", "helper", "cr", None)
    owners.create(StreamOwner("s2", "other"), "other", None)
    return store, deps, owners


def req(action="add", request_id="r1", feature="counter", **params):
    return controls.ControlRequest(
        feature=feature, action=action, params=params, request_id=request_id
    )


def test_the_creator_and_their_moderator_issue_commands_the_rollup_applies_once(world):
    store, deps, owners = world
    t0 = deps.clock.t
    a = controls.issue_control("s1", req(by=3), Actor("cr"), owners, deps)
    assert a["status"] == "recorded" and a["event_id"].startswith("control-")
    again = controls.issue_control("s1", req(by=3), Actor("cr"), owners, deps)
    assert again == {**a, "status": "duplicate"}  # a retried request: the same event
    # Another command under a used request id is its own (it was answered `duplicate` and
    # never recorded); the rollup applies it too.
    other = controls.issue_control("s1", req(by=1), Actor("cr"), owners, deps)
    assert other["status"] == "recorded" and other["event_id"] != a["event_id"]
    b = controls.issue_control("s1", req(by=4), Actor("helper"), owners, deps)
    assert b["event_id"] != a["event_id"]  # another caller's request id is another command
    staff = controls.issue_control(
        "s1", req(request_id="r2"), Actor("m", moderator=True), owners, deps
    )
    drain(deps)
    assert store.live("s1")["features"]["counter"] == {"n": 9, "by": ["cr", "cr", "helper", "m"]}
    events = list(store.stream_events("s1"))
    ids = [a["event_id"], other["event_id"], b["event_id"], staff["event_id"]]
    assert [e.event_id for e in events] == ids
    first = events[0]
    assert (first.kind, first.source, first.user.id, first.creator_id) == (
        "control",
        "app",
        "cr",
        "cr",
    )
    assert first.control.params == {"by": 3}
    assert first.occurred_at.timestamp() == t0  # the API's clock when it recorded it


def test_commands_are_refused_with_the_reason_before_anything_is_recorded(world):
    store, deps, owners = world
    with pytest.raises(controls.Invalid, match="unknown feature 'nope'.*counter"):
        controls.issue_control("s1", req(feature="nope"), Actor("cr"), owners, deps)
    with pytest.raises(controls.Invalid, match="no action 'jump'.*add, reset"):
        controls.issue_control("s1", req(action="jump"), Actor("cr"), owners, deps)
    with pytest.raises(controls.Invalid, match="by must be"):
        controls.issue_control("s1", req(by=11), Actor("cr"), owners, deps)
    with pytest.raises(controls.Invalid, match="stream id"):
        controls.issue_control("..", req(), Actor("cr"), owners, deps)
    with pytest.raises(streams.NotFound):
        controls.issue_control("s-none", req(), Actor("cr"), owners, deps)
    with pytest.raises(Forbidden):
        controls.issue_control("s1", req(), Actor("viewer"), owners, deps)
    with pytest.raises(Forbidden):  # a creator's moderator has no power on another's stream
        controls.issue_control("s2", req(), Actor("helper"), owners, deps)
    with pytest.raises(ValidationError):
        controls.ControlRequest(feature="counter", action="add", request_id="a/b")
    assert not store._s("s1").records and store.live("s1") is None


def test_feature_settings_are_checked_by_the_feature_and_replace_the_section(world):
    store, deps, owners = world
    fs = controls.MemoryFeatureSettings(store.creators)
    out = controls.set_feature_settings("cr", "counter", {"label": "taps"}, Actor("cr"), fs)
    assert out == {"creator_id": "cr", "feature": "counter", "settings": {"label": "taps"}}
    controls.set_feature_settings("cr", "counter", {}, Actor("cr"), fs)
    assert store.creators["cr"]["features"]["counter"] == {"label": "count"}
    with pytest.raises(controls.Invalid, match="counter settings: label"):
        controls.set_feature_settings("cr", "counter", {"label": "x" * 30}, Actor("cr"), fs)
    with pytest.raises(controls.Invalid, match="unknown feature"):
        controls.set_feature_settings("cr", "nope", {}, Actor("cr"), fs)
    with pytest.raises(controls.Invalid, match="JSON object"):
        controls.set_feature_settings("cr", "counter", [1], Actor("cr"), fs)
    with pytest.raises(Forbidden):
        controls.set_feature_settings("cr", "counter", {}, Actor("helper"), fs)
    controls.set_feature_settings("cr", "counter", {}, Actor("adm", admin=True), fs)


def test_a_feature_without_settings_refuses_any():
    class Plain(Feature):
        name = "plain"

    assert Plain.check_config({}) == {}
    with pytest.raises(ValueError, match="takes no settings"):
        Plain.check_config({"a": 1})
    with pytest.raises(ValueError, match="actions: none"):
        Plain.check_control("go", {})
