"""The dashboard's report view in headless Chromium: a stream ends, its report is written
(on_stream_end), and the creator's dashboard draws the timeline, the gift mix and the
30-day trend with Chart.js. Screenshots go to artifacts/web/ (the docs' copies:
docs/images/dashboard-report*.png)."""

from __future__ import annotations

import pytest
from google.cloud import firestore

from tests.reports.test_reports_emulator import _session
from tests.support import create_stream, wait_for_doc
from tests.web.test_dashboard import PAGE, create_creator, sign_in

pytestmark = [pytest.mark.e2e]

# Non-blank pixels of a canvas: a drawn chart has many, an empty canvas none.
INKED = """(id) => { const c = document.getElementById(id);
  if (!c || !c.width) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""


def test_report_view_draws_its_charts(cloud, web, browser, artifacts, publish, stream_id):
    creator = f"rep.{stream_id[2:14]}"
    email = f"{creator}@example.com"
    create_creator(creator, email)
    create_stream(cloud, creator, stream_id, "report view")  # its owner reads the report
    events = [e.model_copy(update={"creator_id": creator}) for e in _session(stream_id)]
    publish(*[e.model_dump(mode="json", exclude_none=True) for e in events])
    db = firestore.Client(project=cloud["project_id"])
    report = wait_for_doc(
        db.collection("reports").document(stream_id),
        lambda d: bool(d) and d.get("live_totals_match"),
        timeout=240,
    )

    # the browser's pages share one sign-in: an earlier test's user is signed out first
    sign_in(browser, PAGE, web["dashboard"], email)
    browser.wait_for(PAGE, "() => document.getElementById('report-card').dataset.ready === '1'")
    browser.wait_for(PAGE, "() => document.getElementById('trend-card').dataset.ready === '1'")
    coins = browser.eval(
        PAGE, "() => document.querySelector('#report-summary [data-k=\"coins\"] dd').textContent"
    )
    assert coins.replace(",", "").replace("\u202f", "") == str(report["totals"]["coins"])
    for chart in ("chart-timeline", "chart-mix", "chart-trend"):
        assert browser.eval(PAGE, INKED, chart) > 500, f"{chart} drew nothing"
    peaks = browser.eval(PAGE, "() => document.getElementById('report-peaks').innerText")
    assert "big gift" in peaks
    browser.eval(PAGE, "() => document.getElementById('report-card').scrollIntoView()")
    browser.screenshot(PAGE, artifacts / "dashboard-report.png")
