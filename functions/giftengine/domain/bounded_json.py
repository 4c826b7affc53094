"""JSON from outside, parsed within bounds: size and nesting depth are checked before the
parser runs (the standard parser recurses, so a body nested 100,000 deep raised RecursionError
and answered 500). Bodies parsed into pydantic models are bounded by pydantic's own parser;
this is for the places that read raw JSON (payment callbacks, the rollup task body)."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32
MAX_BYTES = 1_000_000


class TooComplex(ValueError):
    """Too large, too deep, or not JSON (maps to 400 or 413)."""


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, ignoring brackets inside strings.
    One pass, no recursion."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    if len(raw) > max_bytes:
        raise TooComplex(f"JSON larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise TooComplex("JSON must be UTF-8") from None
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise TooComplex(f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError
        raise TooComplex(f"not JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
