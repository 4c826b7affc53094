"""Precision and recall of a scorer on a labeled set of chat messages (pure; the set lives in
tests/moderation/data/chat_eval.csv). Positive = a message moderation should act on."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Example:
    label: int  # 1 = abusive (should be acted on), 0 = fine
    category: str
    text: str


@dataclass(frozen=True)
class Metrics:
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as f:
        return [Example(int(r["label"]), r["category"], r["text"]) for r in csv.DictReader(f)]


def metrics(labels: Sequence[int], scores: Sequence[float], threshold: float) -> Metrics:
    tp = fp = fn = tn = 0
    for y, s in zip(labels, scores, strict=True):
        hit = s >= threshold
        if y and hit:
            tp += 1
        elif hit:
            fp += 1
        elif y:
            fn += 1
        else:
            tn += 1
    return Metrics(threshold, tp, fp, fn, tn)


def flagged_rate(examples: Sequence[Example], scores: Sequence[float], category: str,
                 threshold: float) -> float:
    picked = [s for e, s in zip(examples, scores, strict=True) if e.category == category]
    return sum(s >= threshold for s in picked) / len(picked) if picked else 0.0


def evaluate(examples: Sequence[Example], score_all: Callable[[list[str]], list[float]],
             thresholds: Sequence[float]) -> tuple[list[float], list[Metrics]]:
    scores = score_all([e.text for e in examples])
    labels = [e.label for e in examples]
    return scores, [metrics(labels, scores, t) for t in thresholds]
