"""Document ids: the one check every id from a client passes before any I/O.

Firestore's rules for a document id: valid UTF-8, at most 1,500 bytes, no `/`, not `.` or
`..`, and not of the form `__.*__` (reserved). giftengine adds: at most `MAX_ID_CHARS`
characters by default and no control characters. Path parameters are checked by the HTTP router
(entrypoints/http.py), bodies by the `DocId` type, events by the EngagementEvent model.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# The same rules as a regular expression (OpenAPI, JSON Schema); `check_id` is authoritative
# (a pattern cannot say "valid UTF-8" or "1,500 bytes").
ID_PATTERN = r"^(?!\.\.?$)(?!__[\s\S]*__$)[^/]+$"
MAX_ID_CHARS = 200
MAX_ID_BYTES = 1500


class InvalidId(ValueError):
    """Maps to 400 invalid_request."""


def id_problem(value: object, max_chars: int = MAX_ID_CHARS) -> str | None:
    """Why `value` cannot be a document id, or None when it can."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > max_chars:
        return f"must be at most {max_chars} characters"
    if "/" in value:
        return "must not contain '/'"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if len(value) >= 4 and value.startswith("__") and value.endswith("__"):
        return "must not be of the form __name__ (reserved)"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    if size > MAX_ID_BYTES:
        return f"must be at most {MAX_ID_BYTES} bytes"
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "must not contain control characters"
    return None


def check_id(value: object, what: str = "id", max_chars: int = MAX_ID_CHARS) -> str:
    problem = id_problem(value, max_chars)
    if problem is not None:
        raise InvalidId(f"invalid {what}: {problem}")
    return value  # type: ignore[return-value]


def _checked(value: str) -> str:
    problem = id_problem(value, MAX_ID_BYTES)  # lengths: the field's own max_length
    if problem is not None:
        raise ValueError(problem)
    return value


# A str field that becomes a document id (add Field(max_length=..., pattern=ID_PATTERN)).
DocId = Annotated[str, AfterValidator(_checked)]
