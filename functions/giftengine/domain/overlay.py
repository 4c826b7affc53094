"""A creator's overlay settings: alert rules, widget layout, alert texts, sounds and
animations, text-to-speech, custom CSS (decision 062).

Stored as `creators/{creator_id}.overlay` (docs/firestore.md), set only through
`PUT /creators/{creator_id}/overlay`, read live and unauthenticated by the overlay
(web/overlay/customize.js applies them; web/overlay/alerts.js holds the alert rules' defaults,
the same as below). Everything a browser will interpret is bounded here: positions and sizes
in percent of the overlay, templates with only whitelisted {placeholders}, CSS that cannot
load anything, media only from the creator's own uploads (`media:<file>`) or shipped sounds.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Mode = Literal["show", "condense", "hide"]
Kind = Literal["gift", "big_gift", "follow", "share", "goal_reached", "challenge_failed"]
Widget = Literal[
    "alerts",
    "top",
    "goal",
    "combo",
    "chat",
    "poll",
    "prediction",
    "question",
    "battle",
    "tap_battle",
    "round",
    "hype",
    "throne",
    "mood",
]
TemplateKind = Literal[
    "gift", "big_gift", "follow", "share", "goal_reached", "challenge_failed", "condensed"
]
Animation = Literal["auto", "none", "pop", "slide", "bounce", "shake", "burst", "box3d"]

SHIPPED_SOUNDS = ("chime", "coin", "pop", "fanfare")  # web/overlay/sounds/<name>.wav

# What each template may name; the overlay fills them in as text (never parsed as HTML).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "gift": frozenset({"name", "gift", "units", "coins", "rank"}),
    "big_gift": frozenset({"name", "gift", "units", "coins", "rank"}),
    "follow": frozenset({"name"}),
    "share": frozenset({"name"}),
    "goal_reached": frozenset({"title", "progress", "target", "metric"}),
    "challenge_failed": frozenset({"title", "progress", "target", "metric"}),
    "condensed": frozenset({"name", "others", "count", "units", "coins"}),
}
TEMPLATE_MAX_CHARS = 160
CSS_MAX_CHARS = 8000
# CSS that could fetch something: every function taking a URL or an image, imports, and the
# backslash (an escape can spell any of them, e.g. `u\72l(`). Compared case-insensitively.
CSS_FORBIDDEN = (
    "url(",
    "src(",
    "image(",
    "image-set(",
    "cross-fade(",
    "element(",
    "@import",
    "\\",
    "<",
    "expression(",
    "javascript:",
    "-moz-binding",
    "behavior:",
)

# Uploaded media (POST /creators/{id}/overlay/media): content type -> file extension, the file
# named by its content's hash so one upload of the same bytes is one object.
AUDIO_TYPES = {"audio/wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg"}
IMAGE_TYPES = {"image/png": "png", "image/gif": "gif", "image/webp": "webp"}
MEDIA_TYPES = {**AUDIO_TYPES, **IMAGE_TYPES}
MEDIA_MAX_BYTES = 900_000
HASH_CHARS = 16


def _no_controls(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def template_problem(kind: str, text: str) -> str | None:
    """None when every `{...}` in `text` is a placeholder `kind` allows; braces do not nest
    and a lone brace is an error (a linear scan: templates never become regexes)."""
    allowed = PLACEHOLDERS[kind]
    i = 0
    while i < len(text):
        c = text[i]
        if c == "}":
            return f"unmatched '}}' at {i}"
        if c == "{":
            end = text.find("}", i + 1)
            if end < 0:
                return f"unclosed '{{' at {i}"
            name = text[i + 1 : end]
            if name not in allowed:
                names = ", ".join(sorted(allowed))
                return f"{{{name}}} is not a placeholder of {kind} (allowed: {names})"
            i = end + 1
            continue
        i += 1
    return None


def css_problem(css: str) -> str | None:
    low = css.lower()
    for bad in CSS_FORBIDDEN:
        if bad in low:
            return f"custom CSS must not contain {bad!r}: it may not load anything (decision 062)"
    return None


def _css(value: str) -> str:
    problem = css_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def media_file_problem(file: str, types: dict[str, str] = MEDIA_TYPES) -> str | None:
    """`<16 hex>.<ext>`: a name the upload produced (no path, nothing to traverse)."""
    stem, dot, ext = file.partition(".")
    if not dot or ext not in types.values():
        return f"{file!r}: expected <hash>.<{'|'.join(sorted(set(types.values())))}>"
    if len(stem) != HASH_CHARS or any(c not in "0123456789abcdef" for c in stem):
        return f"{file!r}: expected a {HASH_CHARS}-hex-digit name from an upload"
    return None


def _sound(value: str) -> str:
    source, _, name = value.partition(":")
    if source == "shipped" and name in SHIPPED_SOUNDS:
        return value
    if source == "media" and media_file_problem(name, AUDIO_TYPES) is None:
        return value
    raise ValueError(
        f"sound {value!r}: use shipped:{{{','.join(SHIPPED_SOUNDS)}}}"
        " or media:<an uploaded audio file>"
    )


def _image(value: str) -> str:
    source, _, name = value.partition(":")
    if source == "media" and media_file_problem(name, IMAGE_TYPES) is None:
        return value
    raise ValueError(f"image {value!r}: use media:<an uploaded png, gif or webp file>")


Text = Annotated[
    str, StringConstraints(max_length=TEMPLATE_MAX_CHARS), AfterValidator(_no_controls)
]
Css = Annotated[
    str,
    StringConstraints(max_length=CSS_MAX_CHARS),
    AfterValidator(_no_controls),
    AfterValidator(_css),
]
SoundRef = Annotated[str, StringConstraints(max_length=40), AfterValidator(_sound)]
ImageRef = Annotated[str, StringConstraints(max_length=40), AfterValidator(_image)]
GiftKey = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class AlertRule(BaseModel):
    """show: alone; condense: merged with the other waiting alerts of its kind when the queue
    would keep one waiting longer than its bound; hide: never shown. Gifts worth less than
    `min_coins` are hidden; for big gifts `min_coins` is also where "big" starts."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode
    min_coins: int = Field(default=0, ge=0, le=1_000_000_000)
    display_ms: int = Field(ge=500, le=60_000)


def _rule(mode: Mode, display_ms: int, min_coins: int = 0):
    return Field(
        default_factory=lambda: AlertRule(mode=mode, min_coins=min_coins, display_ms=display_ms)
    )


class AlertRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gift: AlertRule = _rule("condense", 4000)
    big_gift: AlertRule = _rule("show", 6000, 100)
    follow: AlertRule = _rule("condense", 3000)
    share: AlertRule = _rule("condense", 3000)
    goal_reached: AlertRule = _rule("show", 6000)
    challenge_failed: AlertRule = _rule("show", 6000)
    badge: AlertRule = _rule("show", 5000)  # a viewer earned a badge (domain/badges.py)


class WidgetBox(BaseModel):
    """Where a widget sits: left/top edge and width in percent of the overlay, font scale in
    percent. It stays inside the overlay (x + width <= 100)."""

    model_config = ConfigDict(extra="forbid")

    x: int = Field(ge=0, le=95)
    y: int = Field(ge=0, le=95)
    width: int = Field(ge=5, le=100)
    scale: int = Field(default=100, ge=25, le=400)

    @model_validator(mode="after")
    def _inside(self) -> WidgetBox:
        if self.x + self.width > 100:
            raise ValueError("x + width must be at most 100 (percent of the overlay)")
        return self


class AlertMedia(BaseModel):
    """What plays with an alert: a sound (shipped or uploaded), its volume, the alert's
    animation (`auto`: the big-gift effect for big gifts, the pop-in for the rest) and an
    uploaded image shown in the alert."""

    model_config = ConfigDict(extra="forbid")

    sound: SoundRef | None = None
    volume: int = Field(default=80, ge=0, le=100)
    animation: Animation = "auto"
    image: ImageRef | None = None


class MediaMap(BaseModel):
    """Per kind of alert, and per gift id (which wins for that gift)."""

    model_config = ConfigDict(extra="forbid")

    kinds: dict[Kind, AlertMedia] = Field(default_factory=dict)
    gifts: dict[GiftKey, AlertMedia] = Field(default_factory=dict, max_length=50)


class Speech(BaseModel):
    """Browser text-to-speech reads the alert's text for the chosen kinds (gifts only from
    `min_coins`)."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[Kind] = Field(default_factory=list, max_length=6)
    min_coins: int = Field(default=0, ge=0, le=1_000_000_000)
    rate: int = Field(default=100, ge=50, le=200)  # percent of normal speed
    volume: int = Field(default=100, ge=0, le=100)

    @model_validator(mode="after")
    def _unique(self) -> Speech:
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError("kinds must not repeat")
        return self


class OverlaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alerts: AlertRules = Field(default_factory=AlertRules)
    layout: dict[Widget, WidgetBox] = Field(default_factory=dict)
    templates: dict[TemplateKind, Text] = Field(default_factory=dict)
    media: MediaMap = Field(default_factory=MediaMap)
    tts: Speech = Field(default_factory=Speech)
    css: Css = ""

    @model_validator(mode="after")
    def _templates(self) -> OverlaySettings:
        for kind, text in self.templates.items():
            problem = template_problem(kind, text)
            if problem:
                raise ValueError(f"templates.{kind}: {problem}")
        return self

    def media_files(self) -> set[str]:
        """Uploaded files the settings use (each must exist in the creator's uploads)."""
        used = set()
        for m in [*self.media.kinds.values(), *self.media.gifts.values()]:
            for ref in (m.sound, m.image):
                if ref and ref.startswith("media:"):
                    used.add(ref.removeprefix("media:"))
        return used


# ---- test alerts --------------------------------------------------------------------------
class TestAlert(BaseModel):
    """`POST /creators/{id}/overlay/test`: one made-up alert every open overlay of the creator
    shows once (by `test_id`), streams or not, through the creator's own settings."""

    model_config = ConfigDict(extra="forbid")
    __test__ = False  # not a pytest class

    kind: Literal[Kind, Literal["round_ended"]] = "gift"  # type: ignore[valid-type]
    coins: int = Field(default=1, ge=0, le=1_000_000)
    gift_id: GiftKey = "5655"
    gift_name: Annotated[str, StringConstraints(max_length=60), AfterValidator(_no_controls)] = (
        "Rose"
    )
    test_id: GiftKey | None = None


def test_alert_item(t: TestAlert) -> dict:
    """The alert item (streams/{id}/alerts items' shape, docs/firestore.md) a test shows."""
    base = {"user_id": "test-viewer", "name": "Test viewer", "handle": "@test", "test": True}
    if t.kind in ("gift", "big_gift"):
        return {
            **base,
            "type": "gift",
            "gift_id": t.gift_id,
            "gift_name": t.gift_name,
            "units": 1,
            "coins": t.coins,
            "rank": 1,  # a real gift's alert has its gifter's rank: a template naming {rank}
        }
    if t.kind in ("goal_reached", "challenge_failed"):
        return {
            "type": t.kind,
            "goal_id": "test",
            "title": "Test goal",
            "metric": "coins",
            "progress": 1000 if t.kind == "goal_reached" else 400,
            "target": 1000,
            "test": True,
        }
    if t.kind == "round_ended":  # as domain/rounds.py raises it, with a reward
        return {
            **base,
            "type": t.kind,
            "round": 1,
            "coins": t.coins,
            "reward": {"points": 40, "badge": "round_winner"},
        }
    return {**base, "type": t.kind}


# ---- uploads ------------------------------------------------------------------------------
def sniff(data: bytes) -> str | None:
    """The media type the bytes are, by their magic numbers (the declared type must agree)."""
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return None


class MediaRejected(ValueError):
    pass


def media_file(data: bytes, declared: str) -> tuple[str, str]:
    """(file name, content type) of an upload, or MediaRejected with the reason."""
    declared = declared.split(";")[0].strip().lower()
    if declared == "audio/x-wav" or declared == "audio/wave":
        declared = "audio/wav"
    if declared == "audio/mp3":
        declared = "audio/mpeg"
    if declared not in MEDIA_TYPES:
        raise MediaRejected(
            f"Content-Type {declared or '(none)'} is not accepted:"
            f" use one of {', '.join(MEDIA_TYPES)}"
        )
    if not data:
        raise MediaRejected("the body is empty: send the file's bytes")
    if len(data) > MEDIA_MAX_BYTES:
        raise MediaRejected(f"the file is larger than {MEDIA_MAX_BYTES} bytes")
    actual = sniff(data)
    if actual != declared:
        looks = actual or "nothing accepted"
        raise MediaRejected(f"the bytes are not {declared} (they look like {looks})")
    digest = hashlib.sha256(data).hexdigest()[:HASH_CHARS]
    return f"{digest}.{MEDIA_TYPES[declared]}", declared


def media_path(creator_id: str, file: str) -> str:
    """Storage object of an uploaded file: only under the creator's own prefix."""
    return f"overlay_media/{creator_id}/{file}"
