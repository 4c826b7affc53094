"""The demo's alert panel: every alert kind reads as a sentence (it printed "badgeed")."""

from __future__ import annotations

import pytest
from giftengine_dev.demo.run import _alert_line

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("alert", "text"),
    [
        ({"type": "follow", "handle": "@ann"}, "@ann[/] followed"),
        ({"type": "share", "handle": "@ann"}, "@ann[/] shared the stream"),
        (
            {"type": "badge", "handle": "@hana", "badge": "first_gift", "badge_name": "First gift"},
            "@hana[/] earned the First gift badge",
        ),
        ({"type": "throne_claimed", "handle": "@bo"}, "@bo[/] claimed the throne"),
        ({"type": "round_ended", "handle": "@bo", "round": 2}, "@bo[/] won round 2"),
        ({"type": "hype_level", "handle": "@cy", "level": 3}, "took the hype train to level 3"),
        ({"type": "hype_started", "train": 1}, "HYPE TRAIN[/] started"),
        ({"type": "action", "handle": "@cy", "action": "show_text"}, "@cy[/] ran show_text"),
        ({"type": "mood_changed", "handle": "@cy"}, "@cy[/] mood changed"),
    ],
)
def test_each_alert_kind_reads_as_a_sentence(alert, text):
    line = _alert_line(alert)
    assert text in line and "eed" not in line
