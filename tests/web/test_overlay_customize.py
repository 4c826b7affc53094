"""The creator's overlay customization (decision 062) against the local cloud: the API's
validation and uploads (Storage emulator), then in headless Chromium the overlay applying
layout, templates, sounds, images, animations, speech and custom CSS live, the dashboard's
settings panel saving them, and its test-alert button."""

from __future__ import annotations

import io
import struct
import uuid
import wave
import zlib
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import requests
from giftengine_dev.webclients.browser import BrowserError

from tests.support import id_token
from tests.web.conftest import event
from tests.web.test_dashboard import create_creator, sign_in

pytestmark = [pytest.mark.e2e]

PAGE = "overlay-custom"
DASH = "dashboard"


def wav_bytes(freq: int = 660) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(128 + (40 if (i * freq // 4000) % 2 else -40) for i in range(2400)))
    return buf.getvalue()


def png_bytes(rgb=(255, 200, 0), size=8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\0" + bytes(rgb) * size for _ in range(size))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def auth(uid: str) -> dict:
    return {"Authorization": f"Bearer {id_token(uid)}"}


def upload(cloud, creator: str, data: bytes, ctype: str, who: str | None = None):
    return requests.post(
        f"{cloud['endpoints']['api']}/creators/{creator}/overlay/media",
        data=data,
        headers={**auth(who or creator), "Content-Type": ctype},
        timeout=30,
    )


def put_settings(cloud, creator: str, body: dict, who: str | None = None):
    return requests.put(
        f"{cloud['endpoints']['api']}/creators/{creator}/overlay",
        json=body,
        headers=auth(who or creator),
        timeout=30,
    )


def start(stream: str, creator: str) -> dict:
    return {
        "event_id": f"{stream}:start",
        "source": "app",
        "stream_id": stream,
        "creator_id": creator,
        "kind": "stream_start",
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def test_uploads_and_settings_are_validated_and_the_creators_own(cloud, stream_id):
    creator, other = f"cu-{stream_id}", f"cu-other-{stream_id}"
    wav = wav_bytes()
    first = upload(cloud, creator, wav, "audio/wav")
    assert first.status_code == 201, first.text
    again = upload(cloud, creator, wav, "audio/wav")
    assert again.status_code == 200 and again.json()["file"] == first.json()["file"]
    ref = first.json()["ref"]

    # Served publicly (the overlay plays it signed out), with its type.
    got = requests.get(f"{cloud['endpoints']['api']}{first.json()['path']}", timeout=30)
    assert got.status_code == 200 and got.content == wav
    assert got.headers["Content-Type"].startswith("audio/wav")
    assert "immutable" in got.headers["Cache-Control"]
    missing = requests.get(
        f"{cloud['endpoints']['api']}/creators/{other}/overlay/media/{first.json()['file']}",
        timeout=30,
    )
    assert missing.status_code == 404

    # Wrong or unknown types, someone else's prefix, no token.
    assert upload(cloud, creator, wav, "image/png").status_code == 400
    assert upload(cloud, creator, b"<svg onload=alert(1)>", "image/svg+xml").status_code == 400
    assert upload(cloud, creator, wav, "audio/wav", who=other).status_code == 403
    r = requests.post(
        f"{cloud['endpoints']['api']}/creators/{creator}/overlay/media", data=wav, timeout=30
    )
    assert r.status_code == 401

    ok = put_settings(cloud, creator, {"media": {"kinds": {"gift": {"sound": ref}}}})
    assert ok.status_code == 200, ok.text
    # Another creator cannot point their overlay at this creator's upload.
    theirs = put_settings(cloud, other, {"media": {"kinds": {"gift": {"sound": ref}}}})
    assert theirs.status_code == 400 and "media not uploaded" in theirs.json()["reason"]
    for bad, why in [
        ({"css": "body{background:url(https://evil.test/x.png)}"}, "may not load anything"),
        ({"templates": {"follow": "{name} sent {coins}"}}, "not a placeholder"),
        ({"layout": {"alerts": {"x": 90, "y": 0, "width": 20}}}, "x + width"),
        ({"media": {"kinds": {"gift": {"sound": "https://evil.test/a.mp3"}}}}, "sound"),
    ]:
        r = put_settings(cloud, creator, bad)
        assert r.status_code == 400 and why in r.json()["reason"], (bad, r.text)

    t = requests.post(
        f"{cloud['endpoints']['api']}/creators/{creator}/overlay/test",
        json={"kind": "big_gift", "coins": 500},
        headers=auth(creator),
        timeout=30,
    )
    assert t.status_code == 201 and t.json()["item"]["coins"] == 500
    assert (
        requests.post(
            f"{cloud['endpoints']['api']}/creators/{creator}/overlay/test",
            json={},
            headers=auth(other),
            timeout=30,
        ).status_code
        == 403
    )


def test_the_overlay_applies_layout_texts_media_speech_and_css_live(
    cloud, web, browser, publish, stream_id, artifacts
):
    creator = f"cu-{stream_id}"
    publish(start(stream_id, creator))
    wav = upload(cloud, creator, wav_bytes(), "audio/wav").json()
    png = upload(cloud, creator, png_bytes(), "image/png").json()

    query = {"creator": creator, "max_delay": 2000, "min_ms": 700, "width": 1280, "height": 720}
    browser.open(PAGE, f"{web['overlay']}?{urlencode(query)}", width=1280, height=720)
    browser.wait_for(PAGE, "() => window.giftOverlay.state === 'live'")
    browser.wait_for(PAGE, "() => document.getElementById('overlay').dataset.alertsReady === '1'")

    settings = {
        "alerts": {"gift": {"mode": "condense", "display_ms": 3000}},
        "layout": {
            "alerts": {"x": 5, "y": 55, "width": 40, "scale": 120},
            "top": {"x": 70, "y": 2, "width": 28, "scale": 150},
        },
        "templates": {
            "gift": "{name} threw {units}x {gift} ({coins} coins)",
            "condensed": "{name} +{others} others: {units} gifts, {coins} coins",
        },
        "media": {
            "kinds": {"gift": {"sound": "shipped:coin", "animation": "slide"}},
            "gifts": {
                "777": {
                    "sound": wav["ref"],
                    "image": png["ref"],
                    "animation": "bounce",
                    "volume": 50,
                }
            },
        },
        "tts": {"kinds": ["follow"]},
        "css": "#w-alerts .alert { border: 3px solid rgb(255, 215, 0); }",
    }
    r = put_settings(cloud, creator, settings)
    assert r.status_code == 200, r.text
    try:
        browser.wait_for(
            PAGE, "() => window.giftOverlay.settings?.layout?.alerts?.x === 5", timeout=60
        )
    except BrowserError as e:
        seen = browser.eval(PAGE, "() => [window.giftOverlay.errors, window.giftOverlay.settings]")
        raise AssertionError(f"settings not applied: {seen} {browser.logs(PAGE)}") from e

    # Layout: boxes in percent of the 1280 x 720 overlay; font scale; custom CSS applied.
    box = browser.eval(
        PAGE,
        """() => { const r = document.getElementById('w-alerts').getBoundingClientRect();
                   return {left: r.left, top: r.top, width: r.width}; }""",
    )
    assert box == {"left": 64, "top": 396, "width": 512}

    # A gift: the creator's template, the kind's shipped sound and slide animation.
    publish(event(stream_id, f"{stream_id}:g1", "ana", creator=creator, coins=5, count=1))
    node = browser.wait_for(
        PAGE,
        """() => { const a = document.querySelector('.alert[data-user="ana"]');
          return a && {text: a.innerText, anim: a.dataset.animation,
                       border: getComputedStyle(a).borderTopColor}; }""",
    )
    assert node == {
        "text": "Ana threw 1x Rose (5 coins)",
        "anim": "slide",
        "border": "rgb(255, 215, 0)",
    }
    sound = browser.wait_for(
        PAGE,
        "() => window.giftOverlay.sounds.find((s) => s.key.includes('g1') && s.played !== null)",
    )
    assert sound["src"].endswith(".wav") and sound["played"] is True, sound

    # Gift 777 has its own mapping: the uploaded sound and image, bouncing.
    publish(
        event(
            stream_id,
            f"{stream_id}:g2",
            "bo",
            creator=creator,
            coins=9,
            gift_id="777",
            gift_name="Cap",
        )
    )
    img = browser.wait_for(
        PAGE,
        """() => { const a = document.querySelector('.alert[data-user="bo"]');
          const i = a && a.querySelector('img.alert-image');
          return i && i.complete && {w: i.naturalWidth, src: i.getAttribute('src'),
                                     anim: a.dataset.animation}; }""",
    )
    assert img["w"] == 8 and img["src"].endswith(png["path"]) and img["anim"] == "bounce"
    sound = browser.wait_for(
        PAGE,
        "() => window.giftOverlay.sounds.find((s) => s.key.includes('g2') && s.played !== null)",
    )
    assert sound["src"].endswith(wav["path"]) and sound["volume"] == 50 and sound["played"]

    # Speech for follows only.
    publish(event(stream_id, f"{stream_id}:f1", "fay", kind="follow", creator=creator))
    spoken = browser.wait_for(
        PAGE, "() => window.giftOverlay.spoken.length && window.giftOverlay.spoken"
    )
    assert [s["kind"] for s in spoken] == ["follow"] and "Fay" in spoken[0]["text"]

    # A burst is condensed with the creator's condensed text.
    burst = [
        event(stream_id, f"{stream_id}:b{i}", f"v{i:02d}", creator=creator, coins=2)
        for i in range(30)
    ]
    publish(*burst)
    condensed = browser.wait_for(
        PAGE,
        """() => window.giftOverlay.shown.find((s) => s.condensed && s.kind === 'gift')""",
        timeout=60,
    )
    assert " others: " in condensed["text"] and condensed["text"].endswith(" coins")
    browser.wait_for(PAGE, "() => document.querySelector('.alert.condensed:not(.leaving)')")
    browser.screenshot(PAGE, artifacts / "overlay-custom-layout-condensed.png")

    # Even CSS that slipped through could not load from elsewhere: the page's policy blocks it.
    blocked = browser.eval(
        PAGE,
        """() => new Promise((resolve) => {
          document.addEventListener('securitypolicyviolation',
            (e) => resolve(e.violatedDirective), {once: true});
          const i = new Image(); i.src = 'http://198.51.100.7/x.png';
          setTimeout(() => resolve('loaded'), 3000);
        })""",
    )
    assert blocked.startswith("img-src")


def test_dashboard_settings_panel_saves_and_its_test_alert_reaches_the_idle_overlay(
    cloud, web, browser, artifacts
):
    creator = f"set.{uuid.uuid4().hex[:10]}"
    email = f"{creator}@example.com"
    create_creator(creator, email)
    # The creator's overlay, before any stream: idle, and a test alert still shows.
    browser.open(PAGE, f"{web['overlay']}?creator={creator}", width=1280, height=720)
    browser.wait_for(PAGE, "() => window.giftOverlay.state === 'idle'")
    browser.wait_for(PAGE, "() => document.getElementById('overlay').dataset.settingsReady")

    sign_in(browser, DASH, web["dashboard"], email)
    browser.wait_for(DASH, "() => document.getElementById('settings-card').dataset.ready === '1'")
    browser.click(DASH, '#layout-rows tr[data-widget="alerts"] .layout-on')
    for field, value in [("x", 10), ("y", 40), ("width", 50), ("scale", 140)]:
        browser.fill(DASH, f'#layout-rows tr[data-widget="alerts"] .layout-{field}', value)
    browser.fill(
        DASH, '.template-text[data-kind="big_gift"]', "WOW {name}: {gift} for {coins}! (#{rank})"
    )
    browser.upload(DASH, "#media-file", "ding.wav", "audio/wav", wav_bytes(880))
    browser.click(DASH, "#media-upload")
    ref = browser.wait_for(DASH, "() => document.getElementById('media-status').dataset.ref")
    browser.select(DASH, '#media-rows tr[data-key="big_gift"] .media-sound', ref)
    browser.select(DASH, '#media-rows tr[data-key="big_gift"] .media-animation', "burst")
    browser.click(DASH, '#tts-kinds input[value="big_gift"]')
    browser.fill(DASH, "#custom-css", ".alert .text { letter-spacing: .05em; }")
    browser.click(DASH, "#settings-save")
    saved = browser.wait_for(
        DASH, "() => document.querySelector('#settings-status.ok')?.textContent"
    )
    assert "Saved" in saved
    browser.wait_for(PAGE, "() => window.giftOverlay.settings.layout.alerts?.scale === 140")

    # A bad template is refused with the API's reason, and nothing changes.
    browser.fill(DASH, '.template-text[data-kind="follow"]', "{name} gave {coins}")
    browser.click(DASH, "#settings-save")
    refused = browser.wait_for(
        DASH, "() => document.querySelector('#settings-status.error')?.textContent"
    )
    assert "not a placeholder of follow" in refused
    browser.fill(DASH, '.template-text[data-kind="follow"]', "")

    # Test alert: a big gift through the creator's settings, on the idle overlay.
    browser.select(DASH, "#test-kind", "big_gift")
    browser.fill(DASH, "#test-coins", 500)
    browser.click(DASH, "#test-alert")
    browser.wait_for(DASH, "() => document.querySelector('#test-status.ok')")
    shown = browser.wait_for(
        PAGE,
        """() => { const a = document.querySelector('.alert[data-test="1"]');
          return a && {text: a.innerText, anim: a.dataset.animation}; }""",
    )
    # The test gift carries a rank as a real one does (a template naming {rank} showed "#").
    assert shown["text"] == "WOW Test viewer: Rose for 500! (#1)" and shown["anim"] == "burst"
    browser.wait_for(PAGE, "() => window.giftOverlay.spoken.some((s) => s.kind === 'big_gift')")
    sound = browser.wait_for(
        PAGE, "() => window.giftOverlay.sounds.find((s) => s.key.startsWith('test:'))"
    )
    assert sound["src"].endswith(ref.removeprefix("media:"))
    # The dashboard's preview (the same overlay URL, scaled) shows it too.
    browser.wait_for(
        DASH,
        """() => { const d = document.getElementById('overlay-preview').contentDocument;
                   return !d || d.querySelector('.alert[data-test="1"]'); }""",
    )
    browser.screenshot_element(DASH, "#settings-card", artifacts / "dashboard-overlay-settings.png")
    browser.screenshot(PAGE, artifacts / "overlay-test-alert.png")

    # A round won: the alert names the winner's reward (points and badge, domain/rounds.py).
    browser.select(DASH, "#test-kind", "round_ended")
    browser.fill(DASH, "#test-coins", 120)
    browser.click(DASH, "#test-alert")
    won = browser.wait_for(
        PAGE,
        """() => document.querySelector('.alert[data-test="1"][data-type="round_ended"]')
                   ?.innerText""",
        timeout=30,
    )
    assert "won round 1 (+40 points, round winner badge)" in won and "120 coins" in won
