"""Chat text before it is stored: as sent, bounded.

The stored `text` is what the user typed ("a < b" stays "a < b", and so does markup): only
control characters, bidi overrides and zero-width tricks are removed, whitespace runs become
one space, and the length is bounded. Clients render `text` as text (`textContent`, never
`innerHTML`); the `html` form is entity-escaped for overlays that assemble HTML strings.
`strip_markup` remains for callers that want markup gone.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# Elements whose content is code or invisible, dropped with their content.
_DROP_WITH_CONTENT = re.compile(
    r"<\s*(script|style|iframe|object|embed|template|noscript|svg|math)\b.*?"
    r"(<\s*/\s*\1\s*>|$)",
    re.IGNORECASE | re.DOTALL,
)
_TAG = re.compile(r"<\s*[/!?]?\s*[A-Za-z][^<>]*>|<!--.*?(-->|$)|<[!?][^<>]*>", re.DOTALL)
# A "<" that could still open a tag after the removals above (unterminated tags and the like).
_TAG_OPEN = re.compile(r"<(?=\s*[A-Za-z/!?])")
_WS = re.compile(r"\s+")
# Format characters that are legitimate inside emoji sequences.
_KEEP_FORMAT = {"\u200d", "\ufe0f", "\ufe0e"}


class InvalidMessage(ValueError):
    """The text cannot be posted (empty after sanitizing, or too long); maps to 400."""


@dataclass(frozen=True)
class Sanitized:
    text: str  # as sent (controls removed): render it as text, never as HTML
    html: str  # entity-escaped, for overlays that assemble HTML
    changed: bool  # control characters or whitespace were changed


def _strip_controls(text: str) -> str:
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r":
            out.append(" ")
        elif cat in ("Cc", "Cs", "Co", "Cn") or (cat == "Cf" and ch not in _KEEP_FORMAT):
            continue  # controls, bidi overrides, zero-width tricks, unassigned, private use
        else:
            out.append(ch)
    return "".join(out)


def strip_markup(text: str) -> str:
    """Remove markup until nothing changes (handles nesting such as `<scr<script>ipt>`)."""
    for _ in range(10):
        before = text
        text = _DROP_WITH_CONTENT.sub("", text)
        text = _TAG.sub("", text)
        text = _TAG_OPEN.sub("", text)
        if text == before:
            break
    return text


def sanitize(raw: str, max_chars: int) -> Sanitized:
    if not isinstance(raw, str):
        raise InvalidMessage("text must be a string")
    text = unicodedata.normalize("NFC", raw)
    text = _strip_controls(text)
    text = _WS.sub(" ", text).strip()
    if not text:
        raise InvalidMessage("message is empty after removing control characters")
    if len(text) > max_chars:
        raise InvalidMessage(f"message is longer than {max_chars} characters")
    return Sanitized(text=text, html=html.escape(text, quote=True), changed=text != raw)
