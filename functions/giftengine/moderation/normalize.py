"""Undoing the spelling tricks people use to slip abuse past a filter.

`normalize` maps a message to a lower-case ASCII-ish form: compatibility forms and accents
folded, common homoglyphs mapped, leetspeak decoded inside words, letters repeated three or
more times shortened to one, and spaced-out or dotted letters (`f u c k`, `f.u.c.k`) joined.
A creator's keyword list (keywords.py) is matched against both the plain folded text and
this form, so a normal word is never seen *only* through the transformation (false-positive
traps such as "Scunthorpe" or "I have 100 coins"); the classifier (classify.py) uses `fold`
and `LEET` on each token instead.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic/Greek letters that look like Latin ones.
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "к": "k",
        "м": "m",
        "т": "t",
        "в": "b",
        "н": "h",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "α": "a",
        "ε": "e",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "κ": "k",
        "ν": "v",
        "ι": "i",
    }
)
# Digits and symbols read as letters inside words (classify.py decodes with the same map).
LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "+": "t",
    "€": "e",
}
_LEET = str.maketrans({**LEET, "(": "c"})
_LEET_CHARS = set(LEET) | {"("}
_TOKEN = re.compile(r"\S+")
_STRETCH = re.compile(r"([a-z])\1{2,}")
# Letters separated by single spaces, dots, dashes, underscores or asterisks: f u c k, f.u.c.k
_SPACED = re.compile(r"\b(?:[a-z][\s._\-*]){2,}[a-z]\b")
_SEPARATORS = re.compile(r"[\s._\-*]")
_NON_WORD = re.compile(r"[^a-z0-9\s']+")


def fold(text: str) -> str:
    """Lower-case, NFKC (fullwidth and styled letters), accents removed, homoglyphs mapped."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_HOMOGLYPHS)
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _deleet_token(token: str) -> str:
    # Only words that mix letters with leet symbols ("sh1t", "@ss", "$h!t"), or runs of
    # symbols alone ("@$$"), are decoded; plain numbers ("100") stay numbers.
    has_letter = any(c.isalpha() for c in token)
    leet = sum(c in _LEET_CHARS for c in token)
    if not leet:
        return token
    if has_letter or (leet == len(token.strip(".,;:?")) and not token.strip(".,;:?").isdigit()):
        core = token.rstrip(".,;:?!")
        tail = token[len(core) :]
        if not core:
            return token
        return core.translate(_LEET) + tail
    return token


def normalize(text: str) -> str:
    text = fold(text)
    text = _TOKEN.sub(lambda m: _deleet_token(m.group(0)), text)
    text = _STRETCH.sub(r"\1", text)  # "fuuuuck" -> "fuck"; doubles are kept
    text = _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group(0)), text)
    text = _NON_WORD.sub(" ", text)
    return " ".join(text.split())
