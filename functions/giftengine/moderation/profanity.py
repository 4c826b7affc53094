"""alt-profanity-check as a `Scorer`. The package ships its trained model (TF-IDF features, five
linear SVMs with sigmoid calibration, averaged); nothing is downloaded. The model is loaded on
first use and kept for the life of the function instance.

`LinearProfanityScorer` computes the same probabilities from the shipped model's parameters
with one sparse product: scikit-learn's per-call input validation costs several milliseconds,
which dominates when chat_api scores one message per request. tests/moderation/test_scorer.py
checks that both give the same numbers; `default_scorer` falls back to the library call if
a future model has another shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


class AltProfanityScorer:
    name = "alt-profanity-check"

    def predict(self, texts: Sequence[str]) -> list[float]:
        from profanity_check import predict_prob  # loads the joblib model (~1 s, once)

        return [float(p) for p in predict_prob(list(texts))]


class LinearProfanityScorer:
    name = "alt-profanity-check (linear fast path)"

    def __init__(self) -> None:
        import numpy as np
        from profanity_check import profanity_check as pc

        model = pc.model
        parts = model.calibrated_classifiers_
        if getattr(model, "method", None) != "sigmoid" or list(model.classes_) != [0, 1] or any(
                len(c.calibrators) != 1 or not hasattr(c.estimator, "coef_") for c in parts):
            raise TypeError("unexpected alt-profanity-check model shape")
        self._vectorizer = pc.vectorizer
        self._w = np.vstack([c.estimator.coef_.ravel() for c in parts]).T  # (features, k)
        self._b = np.array([float(c.estimator.intercept_[0]) for c in parts])
        self._a = np.array([float(c.calibrators[0].a_) for c in parts])
        self._c = np.array([float(c.calibrators[0].b_) for c in parts])

    def predict(self, texts: Sequence[str]) -> list[float]:
        import numpy as np

        x = self._vectorizer.transform(list(texts))
        decision = np.asarray(x @ self._w) + self._b
        prob = 1.0 / (1.0 + np.exp(self._a * decision + self._c))  # sklearn's sigmoid calibration
        return [float(p) for p in prob.mean(axis=1)]


@lru_cache(maxsize=1)
def default_scorer():
    try:
        return LinearProfanityScorer()
    except (TypeError, AttributeError, IndexError):
        return AltProfanityScorer()
