"""Creator keyword filters: exact words or phrases, and wildcards.

An entry matches whole words only ("ass" does not match "class" or "Scunthorpe"); `*` stands
for any letters inside a word ("idiot*" matches "idiots", "*hole" matches "pothole" too, so
creators choose). Entries are folded like messages, and a message is checked in both its
plain and its normalized form, so "1d10t" is caught by "idiot".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from giftengine.moderation.normalize import fold, normalize

MAX_ENTRY_CHARS = 64
# TikTok allows 200 keyword filters per creator; we allow more.
DEFAULT_MAX_ENTRIES = 500


class InvalidKeywords(ValueError):
    """A keyword list that cannot be stored; maps to 400."""


def clean_entries(entries: Iterable[str], max_entries: int = DEFAULT_MAX_ENTRIES) -> list[str]:
    """Validate, fold and de-duplicate (order kept) a creator's list."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(entries):
        if not isinstance(raw, str):
            raise InvalidKeywords(f"keywords[{i}]: must be a string")
        entry = " ".join(fold(raw).split())
        if not entry or len(entry) > MAX_ENTRY_CHARS:
            raise InvalidKeywords(f"keywords[{i}]: must be 1..{MAX_ENTRY_CHARS} characters")
        if not re.search(r"\w", entry.replace("*", "")):
            raise InvalidKeywords(f"keywords[{i}]: needs at least one letter or digit")
        if entry not in seen:
            seen.add(entry)
            out.append(entry)
    if len(out) > max_entries:
        raise InvalidKeywords(f"at most {max_entries} keywords (got {len(out)})")
    return out


# Matching is linear in the message length whatever the creator types: no regular expression
# is built from an entry. The message is cut into tokens once (runs of word characters, runs
# of spaces, single other characters; the fixed expressions below cannot backtrack), and an
# entry is a sequence of tokens compared one to one at each candidate start; `*` inside a
# word is matched by splitting the word on `*` and finding the pieces left to right.
_TEXT_TOKENS = re.compile(r"\w+|\s+|.", re.DOTALL)
_ENTRY_TOKENS = re.compile(r"[\w*]+|\s+|.", re.DOTALL)


def _is_word(token: str) -> bool:
    return token[0].isalnum() or token[0] == "_"


def _text_tokens(text: str) -> list[str]:
    return [" " if t[0].isspace() else t for t in _TEXT_TOKENS.findall(text)]


@dataclass(frozen=True)
class _Token:
    """One token of an entry: a literal (a non-word character or a space) or a word whose
    `*`s stand for any word characters (`parts` = the word split on `*`)."""

    literal: str | None
    parts: tuple[str, ...] = ()

    def matches(self, token: str, steps: list[int]) -> bool:
        steps[0] += 1
        if self.literal is not None:
            return token == self.literal
        if not _is_word(token):
            return False
        parts = self.parts
        if len(parts) == 1:
            return token == parts[0]
        first, last = parts[0], parts[-1]
        if len(token) < len(first) + len(last):
            return False
        if not (token.startswith(first) and token.endswith(last)):
            return False
        pos, end = len(first), len(token) - len(last)
        for piece in parts[1:-1]:  # leftmost placement of each piece is always safe
            if piece:
                steps[0] += 1
                k = token.find(piece, pos, end)
                if k < 0:
                    return False
                pos = k + len(piece)
        return True


@dataclass(frozen=True)
class _Entry:
    entry: str
    tokens: tuple[_Token, ...]

    @classmethod
    def compile(cls, entry: str) -> _Entry:
        toks = []
        for t in _ENTRY_TOKENS.findall(entry):
            if t[0].isspace():
                toks.append(_Token(" "))
            elif t[0] == "*" or _is_word(t):
                toks.append(_Token(None, tuple(t.split("*"))))
            else:
                toks.append(_Token(t))
        return cls(entry, tuple(toks))

    def found_in(self, tokens: list[str], starts: Iterable[int], steps: list[int]) -> bool:
        n, k = len(tokens), len(self.tokens)
        first_literal = self.tokens[0].literal is not None
        last_literal = self.tokens[-1].literal is not None
        for i in starts:
            if i + k > n:
                continue
            # whole words: no word character right before or after the match
            if first_literal and i > 0 and _is_word(tokens[i - 1]):
                continue
            if last_literal and i + k < n and _is_word(tokens[i + k]):
                continue
            if all(t.matches(tokens[i + j], steps) for j, t in enumerate(self.tokens)):
                return True
        return False


@dataclass(frozen=True)
class KeywordFilter:
    entries: tuple[str, ...]
    _compiled: tuple[_Entry, ...] = ()

    @classmethod
    def build(cls, entries: Sequence[str]) -> KeywordFilter:
        entries = tuple(entries)
        return cls(entries, tuple(_Entry.compile(e) for e in entries))

    def match(self, text: str) -> str | None:
        """The first entry (in list order) the message hits, or None."""
        return self.match_counting(text)[0]

    def match_counting(self, text: str) -> tuple[str | None, int]:
        """`match`, and the number of token comparisons it made (tests bound it)."""
        steps = [0]
        if not self._compiled:
            return None, 0
        forms = []
        for form in (" ".join(fold(text).split()), normalize(text)):
            tokens = _text_tokens(form)
            at: dict[str, list[int]] = {}
            for i, t in enumerate(tokens):
                at.setdefault(t, []).append(i)
            words = [i for i, t in enumerate(tokens) if _is_word(t)]
            forms.append((tokens, at, words))
        for c in self._compiled:
            head = c.tokens[0]
            for tokens, at, words in forms:
                if head.literal is not None:
                    starts: Iterable[int] = at.get(head.literal, ())
                elif len(head.parts) == 1:
                    starts = at.get(head.parts[0], ())
                else:
                    starts = words
                if c.found_in(tokens, starts, steps):
                    return c.entry, steps[0]
        return None, steps[0]
