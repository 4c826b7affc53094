"""Text shown on stream or in apps as one line (a goal's or stream's title, a poll's question
and choices, a prediction's title and outcomes): storable, no control characters, and
something to see. Pure."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator


def display_problem(value: str, allow_empty: bool = False) -> str | None:
    """Why `value` cannot be shown as one line of text, or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return "must not contain control characters (line breaks, tabs, NUL, ...)"
    if value and not any(unicodedata.category(ch)[0] in "LNPS" for ch in value):
        return "must contain a visible character"
    if not value and not allow_empty:
        return "must not be empty"
    return None


def _display(value: str) -> str:
    problem = display_problem(value, allow_empty=True)
    if problem is not None:
        raise ValueError(problem)
    return value


# Empty stays allowed here (an optional title); `min_length` on the field refuses it.
DisplayText = Annotated[str, AfterValidator(_display)]
