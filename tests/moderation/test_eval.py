"""The labeled chat evaluation set, scored with the real alt-profanity-check model.

Floors sit a little under today's measured figures (docs/bench-chat.md): a change to the
normalizer or the model that loses recall or precision fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from giftengine.moderation import scoring
from giftengine.moderation.profanity import default_scorer
from giftengine_dev.moderation import evaluate

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data" / "chat_eval.csv"


@pytest.fixture(scope="module")
def examples():
    return evaluate.load(DATA)


@pytest.fixture(scope="module")
def scored(examples):
    scorer = default_scorer()
    return evaluate.evaluate(examples, lambda t: scoring.score_many(scorer, t), [0.6, 0.9])


def test_the_set_covers_every_category(examples):
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.category] = counts.get(e.category, 0) + 1
    assert len(examples) >= 200
    for cat in ("clean", "profane", "leetspeak", "harassment", "trap"):
        assert counts.get(cat, 0) >= 25, cat
    assert {e.label for e in examples if e.category in ("clean", "trap", "mild")} == {0}
    assert {e.label for e in examples if e.category in ("profane", "leetspeak")} == {1}


def test_precision_and_recall_at_the_seed_thresholds(scored):
    _, (warn, block) = scored
    assert warn.recall >= 0.80 and warn.precision >= 0.88
    assert block.recall >= 0.75 and block.precision >= 0.90
    assert block.recall <= warn.recall  # a higher threshold never catches more


def test_false_positive_traps_pass(examples, scored):
    scores, _ = scored
    assert evaluate.flagged_rate(examples, scores, "trap", 0.6) <= 0.10
    scunthorpe = next(s for e, s in zip(examples, scores, strict=True) if "Scunthorpe" in e.text)
    assert scunthorpe < 0.6


def test_normalizing_catches_leetspeak_the_raw_model_misses(examples, scored):
    scores, _ = scored
    raw = default_scorer().predict([e.text for e in examples])
    assert evaluate.flagged_rate(examples, scores, "leetspeak", 0.6) >= 0.80
    assert evaluate.flagged_rate(examples, raw, "leetspeak", 0.6) <= 0.40
