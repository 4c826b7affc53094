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


def _pattern(entry: str) -> str:
    parts = []
    for word in entry.split(" "):
        parts.append("".join(r"\w*" if c == "*" else re.escape(c) for c in word))
    return r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)"


@dataclass(frozen=True)
class KeywordFilter:
    entries: tuple[str, ...]
    _regex: re.Pattern[str] | None

    @classmethod
    def build(cls, entries: Sequence[str]) -> KeywordFilter:
        entries = tuple(entries)
        if not entries:
            return cls((), None)
        # Named groups are capped (100 in `re`), so report the hit by re-checking entries.
        return cls(entries, re.compile("|".join(_pattern(e) for e in entries)))

    def match(self, text: str) -> str | None:
        """The first entry the message hits, or None."""
        if self._regex is None:
            return None
        for form in {" ".join(fold(text).split()), normalize(text)}:
            if self._regex.search(form):
                for entry in self.entries:
                    if re.search(_pattern(entry), form):
                        return entry
        return None
