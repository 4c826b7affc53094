"""The creator's overlay customization: what the settings accept (domain/overlay.py) and the
use cases on in-memory fakes (service/overlay.py)."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest
from giftengine.domain.overlay import (
    PLACEHOLDERS,
    OverlaySettings,
    TestAlert,
    media_file,
    sniff,
    template_problem,
)
from giftengine.service import overlay
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

WAV = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + b"\0" * 24
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def creator(uid="cr-1", **claims):
    return SimpleNamespace(uid=uid, claims=claims, is_admin=bool(claims.get("admin")))


def settings(**kw) -> OverlaySettings:
    return OverlaySettings.model_validate(kw)


# ---- templates --------------------------------------------------------------------------------
def test_templates_accept_only_their_kinds_placeholders():
    ok = settings(
        templates={"gift": "{name} sent {units}x {gift} ({coins})", "follow": "hi {name}"}
    )
    assert ok.templates["gift"].startswith("{name}")
    for kind, text, why in [
        ("follow", "{name} sent {coins}", "{coins} is not a placeholder of follow"),
        ("gift", "{name", "unclosed"),
        ("gift", "name}", "unmatched"),
        ("gift", "{{name}}", "is not a placeholder"),
        ("gift", "{constructor}", "is not a placeholder"),
    ]:
        with pytest.raises(ValidationError, match=why):
            settings(templates={kind: text})
    with pytest.raises(ValidationError):
        settings(templates={"gift": "x" * 161})
    with pytest.raises(ValidationError):
        settings(templates={"gift": "a\x00b"})
    with pytest.raises(ValidationError):
        settings(templates={"banner": "{name}"})  # not a kind


@given(
    kind=st.sampled_from(sorted(PLACEHOLDERS)),
    parts=st.lists(
        st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=8), max_size=6
    ),
    data=st.data(),
)
def test_any_text_with_allowed_placeholders_passes_and_any_other_name_fails(kind, parts, data):
    names = [data.draw(st.sampled_from(sorted(PLACEHOLDERS[kind]))) for _ in parts]
    text = "".join(p + "{" + n + "}" for p, n in zip(parts, names, strict=True))
    assert template_problem(kind, text) is None
    bad = data.draw(st.text(alphabet="abcdefghij_", min_size=1, max_size=8))
    if bad not in PLACEHOLDERS[kind]:
        assert template_problem(kind, text + "{" + bad + "}") is not None


# ---- layout, css, media refs ------------------------------------------------------------------
def test_widget_boxes_stay_inside_the_overlay():
    s = settings(
        layout={
            "alerts": {"x": 10, "y": 5, "width": 80},
            "top": {"x": 70, "y": 0, "width": 30, "scale": 150},
        }
    )
    assert s.layout["top"].scale == 150 and s.layout["alerts"].scale == 100
    for box in [
        {"x": 60, "y": 0, "width": 50},  # past the right edge
        {"x": -1, "y": 0, "width": 10},
        {"x": 0, "y": 96, "width": 10},
        {"x": 0, "y": 0, "width": 4},
        {"x": 0, "y": 0, "width": 10, "scale": 500},
    ]:
        with pytest.raises(ValidationError):
            settings(layout={"alerts": box})
    with pytest.raises(ValidationError):
        settings(layout={"sidebar": {"x": 0, "y": 0, "width": 10}})


@pytest.mark.parametrize(
    "css",
    [
        "body{background:url(https://x.test/a.png)}",
        "body{background:URL( 'x' )}",
        "@import 'https://x.test/a.css';",
        "a{background-image:image-set('x.png' 1x)}",
        "a{background:-webkit-image-set('x.png' 1x)}",
        "a{background:u\\72l(x)}",
        "a{b:src('x')}",
        "</style><script>",
    ],
)
def test_custom_css_that_could_load_anything_is_refused(css):
    with pytest.raises(ValidationError, match="may not load anything"):
        settings(css=css)


def test_custom_css_without_loads_is_kept_and_bounded():
    css = "#w-top { border: 2px solid gold; } .alert .who { color: #ff0; font-family: Impact; }"
    assert settings(css=css).css == css
    with pytest.raises(ValidationError):
        settings(css="a{}" * 3000)


def test_sounds_are_shipped_or_uploaded_audio_and_images_uploaded_images():
    s = settings(
        media={
            "kinds": {"follow": {"sound": "shipped:chime", "animation": "slide"}},
            "gifts": {
                "5655": {
                    "sound": "media:0123456789abcdef.wav",
                    "image": "media:0123456789abcdef.png",
                }
            },
        }
    )
    assert s.media_files() == {"0123456789abcdef.wav", "0123456789abcdef.png"}
    for media in [
        {"sound": "shipped:airhorn"},
        {"sound": "https://x.test/a.mp3"},
        {"sound": "media:../other/0123456789abcdef.wav"},
        {"sound": "media:0123456789abcdef.png"},  # an image is no sound
        {"image": "media:0123456789abcdef.wav"},
        {"animation": "explode"},
        {"volume": 101},
    ]:
        with pytest.raises(ValidationError):
            settings(media={"kinds": {"gift": media}})
    with pytest.raises(ValidationError):
        settings(media={"gifts": {f"g{i}": {} for i in range(51)}})


def test_speech_kinds_are_alert_kinds_once_each():
    assert settings(tts={"kinds": ["big_gift", "follow"], "min_coins": 100}).tts.min_coins == 100
    with pytest.raises(ValidationError):
        settings(tts={"kinds": ["chat"]})
    with pytest.raises(ValidationError):
        settings(tts={"kinds": ["follow", "follow"]})


# ---- uploads ----------------------------------------------------------------------------------
def test_uploads_must_be_what_they_say_and_are_named_by_content():
    assert sniff(WAV) == "audio/wav" and sniff(PNG) == "image/png"
    name, ctype = media_file(WAV, "audio/wav")
    assert name.endswith(".wav") and len(name) == 20 and ctype == "audio/wav"
    assert media_file(WAV, "audio/x-wav")[0] == name  # same bytes, same file
    with pytest.raises(ValueError, match="not audio/mpeg"):
        media_file(WAV, "audio/mpeg")
    with pytest.raises(ValueError, match="not accepted"):
        media_file(b"<svg/>", "image/svg+xml")
    with pytest.raises(ValueError, match="empty"):
        media_file(b"", "image/png")


# ---- service on fakes -------------------------------------------------------------------------
def test_settings_are_the_creators_own_and_name_only_their_uploads():
    store, files = overlay.MemoryOverlayStore(), overlay.MemoryMediaFiles()
    up = overlay.upload_media("cr-1", WAV, "audio/wav", creator("cr-1"), files)
    again = overlay.upload_media("cr-1", WAV, "audio/wav", creator("cr-1"), files)
    assert up["created"] and not again["created"] and up["file"] == again["file"]
    assert list(files.objects) == [f"overlay_media/cr-1/{up['file']}"]

    body = settings(
        media={"kinds": {"gift": {"sound": up["ref"]}}}, templates={"follow": "{name}!"}
    )
    out = overlay.set_settings("cr-1", body, creator("cr-1"), store, files)
    assert store.creators["cr-1"]["overlay"] == out["overlay"]
    assert out["overlay"]["alerts"]["gift"]["mode"] == "condense"  # defaults filled in

    # Another creator cannot use cr-1's upload, nor write cr-1's settings.
    with pytest.raises(overlay.Rejected, match="media not uploaded by cr-2"):
        overlay.set_settings("cr-2", body, creator("cr-2"), store, files)
    with pytest.raises(overlay.Forbidden):
        overlay.set_settings("cr-1", settings(), creator("cr-2"), store, files)
    with pytest.raises(overlay.Forbidden):
        overlay.upload_media("cr-1", WAV, "audio/wav", creator("cr-2"), files)
    assert overlay.set_settings("cr-1", settings(), creator("admin", admin=True), store, files)

    assert overlay.read_media("cr-1", up["file"], files) == (WAV, "audio/wav")
    with pytest.raises(overlay.NotFound):
        overlay.read_media("cr-2", up["file"], files)
    with pytest.raises(overlay.Rejected):
        overlay.read_media("cr-1", "../../etc/passwd", files)


def test_a_test_alert_is_keyed_by_its_id_and_shaped_like_a_real_item():
    store = overlay.MemoryOverlayStore()
    t = overlay.send_test_alert(
        "cr-1", TestAlert(kind="big_gift", coins=500, test_id="t1"), creator("cr-1"), store
    )
    assert t["test_id"] == "t1" and store.creators["cr-1"]["overlay_test"]["item"] == t["item"]
    assert t["item"]["type"] == "gift" and t["item"]["coins"] == 500 and t["item"]["test"]
    goal = overlay.send_test_alert("cr-1", TestAlert(kind="goal_reached"), creator("cr-1"), store)
    assert goal["item"]["type"] == "goal_reached" and len(goal["test_id"]) == 16
    won = overlay.send_test_alert(
        "cr-1", TestAlert(kind="round_ended", coins=120), creator("cr-1"), store
    )["item"]
    assert (won["type"], won["round"], won["coins"]) == ("round_ended", 1, 120)
    assert won["reward"] == {"points": 40, "badge": "round_winner"}  # as rounds.py raises it
    with pytest.raises(overlay.Forbidden):
        overlay.send_test_alert("cr-1", TestAlert(), creator("cr-2"), store)
