"""alt-profanity-check as a `Scorer`. The package ships its trained model (a linear SVM
over a TF-IDF vectorizer, calibrated); nothing is downloaded. The model is loaded on first
use and kept for the life of the function instance."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


class AltProfanityScorer:
    name = "alt-profanity-check"

    def predict(self, texts: Sequence[str]) -> list[float]:
        return [float(p) for p in _model()(list(texts))]


@lru_cache(maxsize=1)
def _model():
    from profanity_check import predict_prob  # loads the joblib model (~1 s, once)

    return predict_prob


@lru_cache(maxsize=1)
def default_scorer() -> AltProfanityScorer:
    return AltProfanityScorer()
