"""The labeled chat set (tests/moderation/data/chat_eval.csv) and the shipped classifier's
figures on its held-out part: the issue's targets are floors here, so a change to the word
lists or the policy that loses precision or recall fails (docs/bench-chat.md has the table).
"""

from __future__ import annotations

import pytest
from giftengine_dev.moderation import evaluate

pytestmark = pytest.mark.unit

CATEGORIES = (
    "clean",
    "trap",
    "mild",
    "profanity",
    "insult",
    "harassment",
    "hate",
    "threat",
    "sexual",
    "spam",
    "personal",
)


@pytest.fixture(scope="module")
def examples():
    return evaluate.load()


@pytest.fixture(scope="module")
def heldout(examples):
    rows = [e for e in examples if e.split == "heldout"]
    predict = evaluate.rules_predictor()
    return evaluate.report(rows, [predict(e.text) for e in rows])


def test_the_set_is_large_labeled_and_split(examples):
    assert len(examples) >= 500
    assert {e.split for e in examples} == {"tune", "heldout"}
    assert len([e for e in examples if e.split == "heldout"]) >= 200
    assert len({e.text for e in examples}) == len(examples)  # no message counted twice
    for split in ("tune", "heldout"):
        for cat in CATEGORIES:
            assert any(e.category == cat and e.split == split for e in examples), (split, cat)
    expected = {
        "clean": "allow",
        "trap": "allow",
        "mild": "allow",
        "profanity": "warn",
        "insult": "warn",
    }
    for e in examples:
        assert e.expected == expected.get(e.category, "block"), e


def test_heldout_meets_the_targets(heldout):
    warn, block = heldout["overall"]["warn_or_worse"], heldout["overall"]["block"]
    assert warn["precision"] >= 0.95 and warn["recall"] >= 0.90, warn
    assert block["precision"] >= 0.97 and block["recall"] >= 0.85, block
    assert heldout["clean_banned"] == 0, heldout["shown_messages_banning_a_first_sender"]


def test_report_counts():
    ex = [
        evaluate.Example("t", "clean", "allow", "a"),
        evaluate.Example("t", "hate", "block", "b"),
        evaluate.Example("t", "profanity", "warn", "c"),
    ]
    out = [evaluate.Outcome("warn"), evaluate.Outcome("block", bans=True), evaluate.Outcome("hold")]
    rep = evaluate.report(ex, out)
    assert rep["overall"]["warn_or_worse"] == {
        "precision": 0.667,
        "recall": 1.0,
        "tp": 2,
        "fp": 1,
        "fn": 0,
        "tn": 0,
    }
    assert rep["overall"]["block"] == {
        "precision": 0.5,
        "recall": 1.0,
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "tn": 1,
    }
    assert rep["clean_banned"] == 0 and len(rep["errors"]) == 2
    assert "| **overall** | 3 |" in evaluate.table(rep)
