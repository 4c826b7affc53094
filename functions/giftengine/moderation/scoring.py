"""The scorer interface: anything that maps texts to profanity/abuse probabilities in 0..1.

alt-profanity-check is the default (`profanity.AltProfanityScorer`); a stronger model only
has to implement `predict`. Scoring sees each message in its plain and normalized forms
(normalize.variants) and keeps the highest score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from giftengine.moderation.normalize import variants


class Scorer(Protocol):
    name: str

    def predict(self, texts: Sequence[str]) -> list[float]:
        """One probability in [0, 1] per text, same order."""
        ...


def score_many(scorer: Scorer, texts: Sequence[str]) -> list[float]:
    """Score messages in one model call (all variants batched)."""
    forms: list[str] = []
    spans: list[tuple[int, int]] = []
    for text in texts:
        v = variants(text)
        spans.append((len(forms), len(forms) + len(v)))
        forms.extend(v)
    probs = scorer.predict(forms) if forms else []
    return [round(max(probs[a:b]), 4) for a, b in spans]


def score(scorer: Scorer, text: str) -> float:
    return score_many(scorer, [text])[0]
