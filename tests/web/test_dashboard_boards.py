"""The dashboard's boards, goals and overlay settings in headless Chromium: a board paged
beyond rank 20, a past week opened with the period picker, a viewer's rank found by handle,
a goal deleted, alert rules saved for the creator's overlays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from google.cloud import firestore

from tests.support import create_stream, id_token, poll, wait_for_doc
from tests.web.conftest import event
from tests.web.test_dashboard import create_creator, sign_in

pytestmark = [pytest.mark.e2e]

PAGE = "dashboard-boards"


def monday(d: datetime) -> str:
    return (d - timedelta(days=d.weekday())).strftime("%Y-%m-%d")


def seed_board(db, board_id: str, n: int) -> list[dict]:
    """n entries as the rollup writes them (docs/firestore.md): coins n..1, ties by user id."""
    batch = db.batch()
    entries = []
    for i in range(n):
        e = {
            "user_id": f"u-{i:03d}",
            "handle": f"@fan{i:03d}",
            "name": f"Fan {i:03d}",
            "coins": 1000 - 10 * (i // 2),
            "gifts": 1,
        }
        entries.append(e)
        batch.set(
            db.collection("leaderboards")
            .document(board_id)
            .collection("entries")
            .document(e["user_id"]),
            e,
        )
    batch.commit()
    return sorted(entries, key=lambda e: (-e["coins"], e["user_id"]))


def rows(browser) -> list[tuple[str, str]]:
    return browser.eval(
        PAGE,
        "() => [...document.querySelectorAll('#board tbody tr[data-user]')]"
        ".map(tr => [tr.dataset.rank, tr.dataset.user])",
    )


def test_boards_page_past_weeks_find_rank_delete_goal_and_save_alert_rules(
    cloud, web, browser, artifacts, publish, stream_id
):
    creator = f"boards.{stream_id[2:14]}"
    email = f"{creator}@example.com"
    create_creator(creator, email)
    db = firestore.Client(project=cloud["project_id"])
    create_stream(cloud, creator, stream_id)
    publish(event(stream_id, "join-1", "ana", kind="join", creator=creator))
    wait_for_doc(
        db.collection("streams").document(stream_id), lambda d: d.get("creator_id") == creator
    )
    last_week = monday(datetime.now(UTC) - timedelta(days=7))
    ranked = seed_board(db, f"creator.{creator}.weekly.{last_week}", 45)
    auth = {"Authorization": f"Bearer {id_token(creator)}"}
    goal = {"stream_id": stream_id, "goal_id": "cam", "metric": "coins", "target": 50}
    r = requests.post(f"{cloud['endpoints']['api']}/goals", json=goal, headers=auth, timeout=10)
    assert r.status_code == 201, r.text

    sign_in(browser, PAGE, web["dashboard"], email)
    browser.wait_for(
        PAGE, "(id) => document.querySelector('#stream-title')?.textContent === id", stream_id
    )

    # Goals can be deleted.
    browser.wait_for(PAGE, "() => document.querySelector('#goals li[data-goal-id=\"cam\"]')")
    browser.wait_for(
        PAGE,
        "() => document.querySelector('#goals li[data-goal-id=\"cam\"] .goal-delete')"
        "?.offsetParent != null",
    )
    browser.click(PAGE, '#goals li[data-goal-id="cam"] .goal-delete')
    browser.wait_for(
        PAGE, "() => !document.querySelector('#goals li[data-goal-id=\"cam\"]')", timeout=30
    )
    assert (
        not db.collection("streams")
        .document(stream_id)
        .collection("goals")
        .document("cam")
        .get()
        .exists
    )

    # Last week's board through the period picker, paged past rank 20.
    browser.select(PAGE, "#period", "weekly")
    browser.click(PAGE, "#period-prev")
    board = f"creator.{creator}.weekly.{last_week}"
    browser.wait_for(PAGE, "(b) => document.getElementById('board').dataset.board === b", board)
    browser.wait_for(
        PAGE, "() => document.querySelectorAll('#board tbody tr[data-user]').length === 20"
    )
    assert rows(browser) == [[str(i + 1), e["user_id"]] for i, e in enumerate(ranked[:20])]
    browser.click(PAGE, "#board-next")
    browser.wait_for(PAGE, "() => document.getElementById('board').dataset.page === '1'")
    browser.wait_for(PAGE, "() => document.querySelector('#board tbody tr[data-rank=\"21\"]')")
    assert rows(browser) == [[str(i + 21), e["user_id"]] for i, e in enumerate(ranked[20:40])]
    browser.screenshot(PAGE, artifacts / "dashboard-board-page-2-past-week.png", full_page=True)
    browser.click(PAGE, "#board-next")
    browser.wait_for(PAGE, "() => document.getElementById('board').dataset.page === '2'")
    poll(lambda: len(rows(browser)) == 5 or None)
    assert rows(browser) == [[str(i + 41), e["user_id"]] for i, e in enumerate(ranked[40:])]
    assert browser.eval(PAGE, "() => document.getElementById('board-next').disabled")
    browser.click(PAGE, "#board-prev")
    browser.wait_for(PAGE, "() => document.getElementById('board').dataset.page === '1'")

    # A viewer's rank by handle: the board jumps to their page and marks them, with their
    # level and badges with the creator (docs/engagement.md, "Badges").
    target = ranked[32]
    db.document(f"xp/tiktok:{target['user_id']}/creators/{creator}").set(
        {"xp": 450, "gifts": 2, "coins": 400, "points_earned": 450}
    )
    browser.fill(PAGE, "#board-search", target["handle"])
    browser.click(PAGE, "#board-find")
    found = browser.wait_for(PAGE, "() => document.getElementById('board-found').dataset.rank")
    assert found == "33"
    level = browser.eval(PAGE, "() => document.getElementById('board-found').dataset.level")
    text = browser.eval(PAGE, "() => document.getElementById('board-found').textContent")
    assert level == "3" and "level 3 · First gift" in text, text
    browser.wait_for(
        PAGE,
        '(u) => document.querySelector(`#board tr.highlight[data-user="${u}"]`)?.dataset.rank',
        target["user_id"],
    )
    browser.screenshot(PAGE, artifacts / "dashboard-board-find-rank.png", full_page=True)

    # Alert rules: hide follows, condense big gifts from 500 coins; stored for the overlay.
    browser.select(PAGE, '#alert-rules tr[data-kind="follow"] .rule-mode', "hide")
    browser.fill(PAGE, '#alert-rules tr[data-kind="big_gift"] .rule-min', 500)
    browser.click(PAGE, "#rules-save")
    browser.wait_for(PAGE, "() => document.querySelector('#rules-status.ok')")
    saved = db.collection("creators").document(creator).get().to_dict()["overlay"]["alerts"]
    assert saved["follow"]["mode"] == "hide" and saved["big_gift"]["min_coins"] == 500
    assert saved["gift"] == {"mode": "condense", "min_coins": 0, "display_ms": 4000}
    browser.screenshot(PAGE, artifacts / "dashboard-overlay-settings.png", full_page=True)
