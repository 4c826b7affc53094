"""One-line display text (domain/text.py): titles, poll questions and choices."""

from __future__ import annotations

import pytest
from giftengine.domain.text import display_problem
from giftengine.live.http import PollBody
from giftengine.service.goals import GoalRequest
from pydantic import ValidationError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "value, problem",
    [
        ("\u0000\u0007ctl", "control characters"),
        ("two\nlines", "control characters"),
        ("\u200b", "visible character"),
        ("   ", "visible character"),
        ("\ud800", "valid Unicode"),
    ],
)
def test_what_cannot_be_shown_as_one_line(value, problem):
    assert problem in display_problem(value)


def test_what_can():
    for ok in ("New mic", "¿Qué sigue?", "🎤", "Mic" * 66):
        assert display_problem(ok) is None
    assert display_problem("") == "must not be empty"
    assert display_problem("", allow_empty=True) is None


def test_goal_titles_and_poll_texts_refuse_control_and_invisible_text():
    base = {"stream_id": "s1", "metric": "coins", "target": 10}
    assert GoalRequest.model_validate({**base, "title": ""}).title == ""
    with pytest.raises(ValidationError, match="control characters"):
        GoalRequest.model_validate({**base, "title": "\u0000\u0007ctl"})
    with pytest.raises(ValidationError, match="visible character"):
        PollBody.model_validate({"question": "Which?", "choices": ["\u200b", "\u200c"]})
    assert PollBody.model_validate({"question": "Which?", "choices": ["A", "B"]}).choices == [
        "A",
        "B",
    ]
