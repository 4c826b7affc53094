"""The throne: the stream's top gifter by settled coins holds it. Pure.

Rule (docs/engagement.md, "Throne"; decision 052): the holder is the stream's rank 1 by the
engine's one ranking rule (domain/ranking.py): more settled coins on this stream; equal coins:
the smaller user_id. So the holder is always the first of the live top gifters, and it is the
same whatever order the events were delivered in: a "holder keeps it on a tie" rule would
make the holder depend on which of two tied gifts was recorded first. A gifter claims the
throne when a settlement (a streak at its final, a one-off gift; domain/stream.py) puts them
before the holder by that rule: a `throne_claimed` alert, in the order the rollup applies
settlements. The first gifter claims the empty throne.

Cost: a few hundred bytes of state and view; no side write.
"""

from __future__ import annotations

from typing import ClassVar

from giftengine.domain import ranking
from giftengine.domain.events import utc_iso
from giftengine.domain.features import Feature, Settled


class Throne(Feature):
    name: ClassVar[str] = "throne"

    def __init__(self) -> None:
        self.holder: dict | None = None  # user_id, handle, name, coins, since
        self.claims = 0

    def load(self, d: dict) -> None:
        self.holder = d.get("holder")
        self.claims = int(d.get("claims", 0))

    def to_dict(self) -> dict:
        return {"holder": self.holder, "claims": self.claims} if self.holder else {}

    def on_settled(self, st, s: Settled) -> None:
        if s.coins <= 0:
            return
        viewer = st.users.get(s.user_id)
        coins = viewer.coins if viewer is not None else s.coins  # the stream's total for them
        h = self.holder
        if h is not None and h["user_id"] == s.user_id:
            h.update(coins=coins, handle=s.handle or h["handle"], name=s.name or h["name"])
            return
        if h is not None and ranking.sort_key(coins, s.user_id) >= ranking.sort_key(
            h["coins"], h["user_id"]
        ):
            return
        previous = None if h is None else {k: h[k] for k in ("user_id", "handle", "coins")}
        at = utc_iso(s.occurred_at)
        self.holder = {
            "user_id": s.user_id,
            "handle": s.handle,
            "name": s.name,
            "coins": coins,
            "since": at,
        }
        self.claims += 1
        st.alerts.append(
            {
                "type": "throne_claimed",
                "user_id": s.user_id,
                "handle": s.handle,
                "name": s.name,
                "coins": coins,
                "previous": previous,
                "occurred_at": at,
                "event_id": s.event_id,
                "rank": 1,
            }
        )

    def view(self) -> dict | None:
        return self.to_dict() or None
