"""The fast scorer gives alt-profanity-check's own probabilities."""

from __future__ import annotations

from pathlib import Path

import pytest
from giftengine.moderation.profanity import (
    AltProfanityScorer,
    LinearProfanityScorer,
    default_scorer,
)
from giftengine_dev.moderation import evaluate

pytestmark = pytest.mark.unit


def test_linear_fast_path_equals_the_library():
    texts = [e.text for e in evaluate.load(Path(__file__).parent / "data" / "chat_eval.csv")]
    texts += ["", "x" * 300, "zzzz qqqq", "fuck " * 40, "日本語のチャット", "123 456"]
    fast = LinearProfanityScorer().predict(texts)
    slow = AltProfanityScorer().predict(texts)
    assert len(fast) == len(texts)
    assert max(abs(a - b) for a, b in zip(fast, slow, strict=True)) < 1e-9
    assert min(fast) >= 0.0 and max(fast) <= 1.0


def test_default_scorer_is_the_fast_path():
    assert isinstance(default_scorer(), LinearProfanityScorer)
