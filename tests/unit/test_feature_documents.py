"""Every registered stream feature keeps its state, view and side writes storable in
Firestore, which takes no array directly inside an array ("Cannot convert an array value in
an array value": the rollup's commit would fail, and the stream with it, on every retry).
The in-memory store accepts anything, so this is checked here, over a batch that wakes each
feature up, through two rollups (the state reloaded in between)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import feature_registry
from giftengine.domain.stream import StreamState

from tests.unit import factories
from tests.unit.factories import T0

pytestmark = pytest.mark.unit


def nested_arrays(value, path="", in_array=False) -> list[str]:
    if isinstance(value, list):
        found = [path] if in_array else []
        for i, v in enumerate(value):
            found += nested_arrays(v, f"{path}[{i}]", True)
        return found
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nested_arrays(v, f"{path}.{k}")]
    return []


def test_feature_documents_hold_no_array_inside_an_array():
    names = [cls.name for cls in feature_registry.REGISTRY]
    config = {
        "tap_battle": {"team_mode": "command"},
        "hype": {"min_viewers": 2, "trigger": "gifts_and_likes", "settle_s": 0},
    }
    events = [
        factories.ev(
            "control",
            user=None,
            event_id=f"c-{n}",
            control={"feature": n, "action": "start", "params": {}},
        )
        for n in names
    ]
    for i in range(6):
        u = f"u{i % 3}"
        at = T0 + timedelta(seconds=i)
        events += [
            factories.ev("comment", user=u, text="!team red", at=at),
            factories.ev("like", user=u, count=3, at=at),
            factories.gift(u, "lion", 5, streakable=False, secs=i, event_id=f"g{i}"),
            factories.gift(u, "rose", 1, count=2, group=f"k{i}", secs=i, event_id=f"r{i}"),
        ]
    core, users = None, []
    for now in (T0.timestamp() + 5, T0.timestamp() + 30):
        st = StreamState.from_dicts("s1", core, users)
        st.creator_id = "c1"
        st.load_features(feature_registry.REGISTRY, {k: v for k, v in config.items() if k in names})
        for ev in events:
            st.apply(ev, now)
        events = []
        st.expire(now, 10.0)
        st.finish_batch()
        st.tick_features(now)
        core, users = st.core_dict(), [v.to_dict() for v in st.users.values()]
        assert nested_arrays(core) == [], "state document"
        assert nested_arrays(st.live_view(10)) == [], "live document"
        for w in st.side_writes:
            assert nested_arrays(w.set) == [], w.path
    assert core.get("features"), "no feature woke up: the check would be empty"
