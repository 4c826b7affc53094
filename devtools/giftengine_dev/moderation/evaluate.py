"""Precision and recall of a moderation predictor on the labeled chat set (pure; the set is
tests/moderation/data/chat_eval.csv).

Each example has a split (`tune`: used while writing the rules; `heldout`: not looked at
while tuning), a category (clean, trap, mild, profanity, insult, harassment, hate, threat,
sexual, spam, personal) and the expected action at the standard level: `allow`, `warn`
(shown with a warning) or `block` (not shown: held or blocked). Two questions are scored:
- warn-or-worse: did moderation act (warn, hold or block) on a message it should act on?
- block: did it hide (hold or block) a message that should be hidden?
plus how many messages that should be shown would have banned a first-time sender.

    python -m giftengine_dev.moderation.evaluate [--split heldout|tune|all] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "tests" / "moderation" / "data" / "chat_eval.csv"
HIDDEN = ("hold", "block")


@dataclass(frozen=True)
class Example:
    split: str
    category: str
    expected: str  # allow | warn | block
    text: str


@dataclass(frozen=True)
class Outcome:
    action: str  # allow | warn | hold | block
    bans: bool = False  # a fresh sender would be banned by this message alone


@dataclass(frozen=True)
class Metrics:
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

    def row(self) -> dict:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


def load(path: Path = DATA, split: str = "all") -> list[Example]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [
            Example(r["split"], r["category"], r["expected"], r["text"]) for r in csv.DictReader(f)
        ]
    return rows if split == "all" else [r for r in rows if r.split == split]


def _metrics(pairs: Sequence[tuple[bool, bool]]) -> Metrics:
    tp = sum(y and p for y, p in pairs)
    fp = sum(p and not y for y, p in pairs)
    fn = sum(y and not p for y, p in pairs)
    return Metrics(tp, fp, fn, len(pairs) - tp - fp - fn)


def report(examples: Sequence[Example], outcomes: Sequence[Outcome]) -> dict:
    """Overall and per-category figures. Per category, recall is over the category's own
    messages and precision over the messages of that category that were acted on, so a
    category of clean messages shows its false positives as precision 0 (n acted on)."""
    rows = list(zip(examples, outcomes, strict=True))

    def tasks(subset):
        warn = [(e.expected != "allow", o.action != "allow") for e, o in subset]
        block = [(e.expected == "block", o.action in HIDDEN) for e, o in subset]
        return {"warn_or_worse": _metrics(warn).row(), "block": _metrics(block).row()}

    out: dict = {"examples": len(rows), "overall": tasks(rows), "categories": {}}
    for cat in sorted({e.category for e in examples}):
        subset = [(e, o) for e, o in rows if e.category == cat]
        actions: dict[str, int] = {}
        for _, o in subset:
            actions[o.action] = actions.get(o.action, 0) + 1
        out["categories"][cat] = {
            "n": len(subset),
            "expected": subset[0][0].expected,
            "actions": actions,
            **tasks(subset),
        }
    out["shown_messages_banning_a_first_sender"] = [
        e.text for e, o in rows if o.bans and e.expected != "block"
    ]
    out["clean_banned"] = len(out["shown_messages_banning_a_first_sender"])
    out["errors"] = [
        {"text": e.text, "category": e.category, "expected": e.expected, "got": o.action}
        for e, o in rows
        if (e.expected == "allow") != (o.action == "allow")
        or (e.expected == "block") != (o.action in HIDDEN)
    ]
    return out


def table(rep: dict) -> str:
    """The report as the markdown table docs/bench-chat.md shows."""
    lines = [
        "| category | n | expected | warn+ P | warn+ R | block P | block R | actions |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def fmt(name, n, expected, r, actions=""):
        w, b = r["warn_or_worse"], r["block"]
        return (
            f"| {name} | {n} | {expected} | {w['precision']:.3f} | {w['recall']:.3f} | "
            f"{b['precision']:.3f} | {b['recall']:.3f} | {actions} |"
        )

    for cat, r in rep["categories"].items():
        acts = ", ".join(f"{k} {v}" for k, v in sorted(r["actions"].items()))
        lines.append(fmt(cat, r["n"], r["expected"], r, acts))
    lines.append(
        fmt(
            "**overall**",
            rep["examples"],
            "",
            rep["overall"],
            f"clean banned: {rep['clean_banned']}",
        )
    )
    return "\n".join(lines)


def rules_predictor(level: str = "standard") -> Callable[[str], Outcome]:
    """The shipped classifier and policy, for a first-time sender in a fresh stream."""
    from giftengine.moderation import strikes
    from giftengine.moderation.classify import classify
    from giftengine.moderation.rules import ModerationConfig, decide

    config = ModerationConfig(level)
    policy = strikes.StrikePolicy()

    def predict(text: str) -> Outcome:
        v = decide(classify(text), None, config)
        _, ban = strikes.strike(strikes.Standing(), v.strike, 0.0, policy)
        return Outcome(v.action, ban is not None)

    return predict


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="precision/recall of chat moderation")
    p.add_argument("--split", default="heldout", choices=("heldout", "tune", "all"))
    p.add_argument("--level", default="standard")
    p.add_argument("--json", action="store_true")
    p.add_argument("--errors", action="store_true", help="list the misjudged messages")
    args = p.parse_args(argv)
    examples = load(DATA, args.split)
    predict = rules_predictor(args.level)
    rep = report(examples, [predict(e.text) for e in examples])
    if args.json:
        print(json.dumps(rep, indent=2))
        return 0
    print(f"{args.split}: {rep['examples']} messages, level {args.level}")
    print(table(rep))
    if args.errors:
        for err in rep["errors"]:
            print(f"  {err['expected']:>5} -> {err['got']:<5} [{err['category']}] {err['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
