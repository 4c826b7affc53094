"""The creator-scoped overlay and the alert queue in headless Chromium against the local
cloud: one URL per creator follows the stream the creator is live on (live_pointers), with
no reload; bursts of alerts are condensed, never dropped; the creator's rules apply live."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import requests

from tests.support import id_token
from tests.web.conftest import event

pytestmark = [pytest.mark.e2e]

PAGE = "overlay-creator"


def marker(kind: str, stream: str, creator: str, eid: str) -> dict:
    return {
        "event_id": eid,
        "source": "app",
        "stream_id": stream,
        "creator_id": creator,
        "kind": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def overlay_state(browser) -> dict:
    return browser.eval(
        PAGE,
        "() => ({state: window.giftOverlay.state, stream: window.giftOverlay.stream,"
        " hint: window.giftOverlay.hint, loadedOnce: window.__loadedOnce === 1})",
    )


def wait_alert(browser, user: str) -> str:
    return browser.wait_for(
        PAGE,
        '(u) => document.querySelector(`.alert[data-user="${u}"]`)?.innerText',
        user,
    )


def test_one_creator_url_follows_the_creators_streams_without_a_reload(
    web, browser, publish, stream_id, artifacts
):
    creator = f"cr-{stream_id}"
    first, second = f"{stream_id}-one", f"{stream_id}-two"
    # The widgets of the URL the dashboard hands out (web/dashboard: "Your overlay"): the
    # round, hype and throne boxes are detached with the stream's other listeners.
    widgets = "alerts,top,goal,combo,round,hype,throne"
    q = {"creator": creator, "alert_ms": 2500, "widgets": widgets}
    url = f"{web['overlay']}?{urlencode(q)}"
    assert "stream=" not in url
    browser.open(PAGE, url, width=1280, height=720)
    browser.eval(
        PAGE,
        "() => { window.__pageErrors = [];"
        " window.addEventListener('error', (e) => window.__pageErrors.push(String(e.message))); }",
    )
    browser.wait_for(PAGE, "() => window.giftOverlay.state === 'idle'")
    # A creator never seen: the page says so instead of staying blank.
    assert "no stream seen yet" in overlay_state(browser)["hint"]
    browser.screenshot(PAGE, artifacts / "overlay-creator-1-unknown.png")
    browser.eval(PAGE, "() => { window.__loadedOnce = 1; }")  # gone if the page reloads

    publish(marker("stream_start", first, creator, f"{first}:start"))
    publish(event(first, f"{first}:g1", "ana", creator=creator, coins=5))
    assert "Ana" in wait_alert(browser, "ana")
    s = overlay_state(browser)
    assert s["stream"] == first and s["state"] == "live"
    browser.screenshot(PAGE, artifacts / "overlay-creator-2-first-stream.png")

    publish(marker("stream_end", first, creator, f"{first}:end"))
    browser.wait_for(PAGE, "() => window.giftOverlay.state === 'idle'")
    assert "offline" in overlay_state(browser)["hint"]
    browser.screenshot(PAGE, artifacts / "overlay-creator-3-idle.png")

    publish(marker("stream_start", second, creator, f"{second}:start"))
    publish(event(second, f"{second}:g1", "bo", creator=creator, coins=7))
    assert "Bo" in wait_alert(browser, "bo")
    s = overlay_state(browser)
    assert s == {"state": "live", "stream": second, "hint": None, "loadedOnce": True}
    mounted = browser.eval(PAGE, "() => window.giftOverlay.mounted")
    assert {m["widget"] for m in mounted} == {"round", "hype", "throne"}
    assert all(m["detached"] == (m["stream"] == first) for m in mounted), mounted
    assert browser.eval(PAGE, "() => window.__pageErrors") == []
    browser.screenshot(PAGE, artifacts / "overlay-creator-4-second-stream.png")


def test_a_burst_is_condensed_never_dropped_and_rules_apply_live(
    cloud, web, browser, publish, stream_id, artifacts
):
    creator = f"cr-{stream_id}"
    publish(marker("stream_start", stream_id, creator, f"{stream_id}:start"))
    query = {"creator": creator, "max_delay": 2000, "min_ms": 700}
    browser.open(PAGE, f"{web['overlay']}?{urlencode(query)}", width=1280, height=720)
    browser.wait_for(PAGE, "() => window.giftOverlay.state === 'live'")
    browser.wait_for(PAGE, "() => document.getElementById('overlay').dataset.alertsReady === '1'")

    # 40 gifts from 40 viewers at once: more than 2 s of 700 ms turns.
    burst = [
        event(stream_id, f"{stream_id}:b{i}", f"v{i:02d}", creator=creator, coins=1 + i % 3)
        for i in range(40)
    ]
    publish(*burst)
    want = {e["event_id"] for e in burst}
    seen = browser.wait_for(
        PAGE,
        """(want) => {
          const ids = new Set(window.giftOverlay.shown.flatMap((s) => s.event_ids));
          return want.every((id) => ids.has(id)) && window.giftOverlay.shown;
        }""",
        sorted(want),
        timeout=60,
    )
    condensed = [s for s in seen if s["condensed"] and s["kind"] in ("gift", "big_gift")]
    assert condensed, "a burst this size must be condensed"
    # Gift alerts only: other alerts may name the gift that caused them (a throne_claimed
    # item carries that gift's event id).
    ids = [i for s in seen if s["kind"] in ("gift", "big_gift") for i in s["event_ids"]]
    assert len(ids) == len(set(ids)), "no alert shown twice"
    # "Uma and 4 others sent 37 gifts, 812 coins": the top gifter of the batch, the others.
    for s in condensed:
        units = sum(1 for e in burst if e["event_id"] in s["event_ids"])
        coins = sum(e["gift"]["coins"] for e in burst if e["event_id"] in s["event_ids"])
        others = f"{units - 1} other{'s' if units > 2 else ''}"
        assert s["text"].endswith(f"and {others} sent {units} gifts {coins} coins"), s

    # The creator hides follows and gifts under 10 coins; the open overlay applies it live.
    auth = {"Authorization": f"Bearer {id_token(creator)}"}
    rules = {
        "alerts": {
            "follow": {"mode": "hide", "display_ms": 3000},
            "gift": {"mode": "condense", "min_coins": 10, "display_ms": 3000},
        }
    }
    r = requests.put(
        f"{cloud['endpoints']['api']}/creators/{creator}/overlay",
        json=rules,
        headers=auth,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["overlay"]["alerts"]["share"]["mode"] == "condense"  # defaults filled in
    browser.wait_for(PAGE, "() => window.giftOverlay.rules.follow.mode === 'hide'")
    publish(event(stream_id, f"{stream_id}:f", "fay", kind="follow", creator=creator))
    publish(event(stream_id, f"{stream_id}:small", "sam", creator=creator, coins=2))
    publish(event(stream_id, f"{stream_id}:ten", "ten", creator=creator, coins=10))
    assert "Ten" in wait_alert(browser, "ten")
    hidden = browser.wait_for(
        PAGE,
        "() => window.giftOverlay.hidden.length >= 2 && window.giftOverlay.hidden",
    )
    assert {(h["kind"], h["event_id"]) for h in hidden} >= {("gift", f"{stream_id}:small")}
    assert any(h["kind"] == "follow" for h in hidden)
    browser.screenshot(PAGE, artifacts / "overlay-creator-5-rules.png")


def test_overlay_settings_reject_bad_rules_and_other_creators(cloud, stream_id):
    api = f"{cloud['endpoints']['api']}/creators/cr-{stream_id}/overlay"
    mine = {"Authorization": f"Bearer {id_token(f'cr-{stream_id}')}"}
    other = {"Authorization": f"Bearer {id_token('someone-else')}"}
    bad = {"alerts": {"gift": {"mode": "explode", "display_ms": 3000}}}
    assert requests.put(api, json=bad, headers=mine, timeout=10).status_code == 400
    r = requests.put(
        api,
        json={"alerts": {"gift": {"mode": "hide", "display_ms": 100}}},
        headers=mine,
        timeout=10,
    )
    assert r.status_code == 400 and "display_ms" in r.text
    assert requests.put(api, json={}, headers=other, timeout=10).status_code == 403
    assert requests.put(api, json={}, timeout=10).status_code == 401


def test_entries_left_behind_do_not_hold_the_overlay_and_old_listeners_detach(
    cloud, web, browser, publish, stream_id
):
    """Pointer entries whose stream is gone, ended or silent past `stale` are passed over for
    the creator's live stream; switching streams detaches the poll / prediction / question
    listeners of the old one."""
    from datetime import timedelta

    from google.cloud import firestore

    from tests.support import emulator_retry, wait_for_doc

    db = firestore.Client(project=cloud["project_id"])
    creator = f"cr-{stream_id}"
    live, silent = f"{stream_id}-live", f"{stream_id}-silent"
    publish(marker("stream_start", live, creator, f"{live}:start"))
    publish(event(live, f"{live}:g1", "ana", creator=creator, coins=5))
    publish(marker("stream_start", silent, creator, f"{silent}:start"))
    pointer = db.collection("live_pointers").document(creator)
    wait_for_doc(pointer, lambda d: silent in (d.get("streams") or {}) and live in d["streams"])
    wait_for_doc(db.collection("streams").document(silent), lambda d: d.get("status") == "live")
    # The silent stream never got its end event: no update for three hours.
    now = datetime.now(UTC)
    db.collection("streams").document(silent).update(
        {"updated_at": now - timedelta(hours=3)}, retry=emulator_retry()
    )
    # Newest by `since`: an entry whose stream does not exist at all, then the silent one.
    pointer.set(
        {
            "streams": {
                "gone-" + stream_id: {
                    "stream_id": "gone-" + stream_id,
                    "source": "app",
                    "started_at": None,
                    "since": now + timedelta(minutes=2),
                },
                silent: {
                    "stream_id": silent,
                    "source": "app",
                    "started_at": None,
                    "since": now + timedelta(minutes=1),
                },
            },
            "creator_id": creator,
        },
        merge=True,
        retry=emulator_retry(),
    )
    q = urlencode({"creator": creator, "widgets": "alerts,top,poll,question", "stale": 60})
    browser.open(PAGE, f"{web['overlay']}?{q}", width=1280, height=720)
    browser.wait_for(
        PAGE,
        f"() => window.giftOverlay.stream === '{live}' && window.giftOverlay.state === 'live'",
        timeout=60,
    )
    mounted = browser.eval(PAGE, "() => window.giftOverlay.mounted")
    # The overlay looked at the newer entries first, then left them with their listeners.
    assert {m["stream"] for m in mounted} >= {f"gone-{stream_id}", silent, live}
    assert all(m["detached"] for m in mounted if m["stream"] != live)
    assert not any(m["detached"] for m in mounted if m["stream"] == live)
    # The live stream ends: nothing else is live, the overlay is idle, its listeners detached.
    publish(marker("stream_end", live, creator, f"{live}:end"))
    browser.wait_for(PAGE, "() => window.giftOverlay.state === 'idle'")
    mounted = browser.eval(PAGE, "() => window.giftOverlay.mounted")
    assert all(m["detached"] for m in mounted)
