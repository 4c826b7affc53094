"""Issue 14, attack 2: keyword matching is linear in the message length whatever the creator
types. Before the fix a backtracking regex built from `*a*a*a*a*a*a*b` took seconds on
`"a" * 58 + "!"` and held the GIL."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from giftengine.moderation import keywords

pytestmark = pytest.mark.unit

ADVERSARIAL = ["*a*a*a*a*a*a*b", "a*a*a*a*a*a*a*a*c", "*a *a *a *a *a *b", "a a a a a a a b"]


def steps(entries: list[str], text: str) -> int:
    f = keywords.KeywordFilter.build(keywords.clean_entries(entries))
    hit, n = f.match_counting(text)
    assert hit is None
    return n


@pytest.mark.parametrize(
    "make", [lambda n: "a" * n + "!", lambda n: "a " * n + "!", lambda n: ("a" * 7 + " ") * n]
)
def test_comparisons_grow_linearly_with_the_message(make):
    small, large = steps(ADVERSARIAL, make(500)), steps(ADVERSARIAL, make(4000))
    # 8x the text: at most ~8x the comparisons (plus a constant), never a power of it
    assert large <= 9 * small, (small, large)


def test_the_reported_attack_is_cheap_and_entries_still_match():
    f = keywords.KeywordFilter.build(keywords.clean_entries(["*a*a*a*a*a*a*b"]))
    hit, n = f.match_counting("a" * 58 + "!")
    assert hit is None and n < 20
    assert f.match("xaayaazaab") == "*a*a*a*a*a*a*b"
    assert f.match("say aaaaaab now") == "*a*a*a*a*a*a*b"
    assert f.match("aaaaaa b") is None


def test_a_huge_adversarial_input_finishes_within_a_cpu_budget():
    """500 adversarial entries against a 20,000-character message, in a subprocess limited to
    60 CPU seconds: the linear matcher needs about 3 (2.5 million comparisons); the old regex
    would not have finished the first entry."""
    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
        from giftengine.moderation import keywords
        entries = [f"*a*a*a*a*a*a*{chr(98 + i % 20)}{i}" for i in range(500)]
        f = keywords.KeywordFilter.build(keywords.clean_entries(entries))
        assert f.match("a" * 10_000 + "!" + "a " * 5_000) is None
        print("done")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr[-2000:]
