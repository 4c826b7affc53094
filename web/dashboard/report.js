// The stream report view: the report document (reports/{stream_id}, docs/reports.md) drawn
// with Chart.js: the per-minute timeline, the gift mix and the creator's trend over 30 days
// (GET /api/creators/{uid}/analytics). The timeline downloads as CSV, the report as JSON.
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend,
  LinearScale, LineController, LineElement, PointElement, Tooltip,
} from "chart.js";
import { doc, onSnapshot } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";

Chart.register(
  ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip,
);
// Screenshots and tests read the final picture: no animation.
Chart.defaults.animation = false;
Chart.defaults.font.size = 13;

const $ = (id) => document.getElementById(id);
const COLORS = ["#ff4d8d", "#7c5cff", "#00b3a4", "#ffb020", "#3d8bfd", "#9aa0a6", "#e8590c",
  "#2f9e44", "#c2255c", "#5f3dc4"];
const COUNTERS = ["coins", "gifts", "likes", "comments", "follows", "shares", "joins"];
const charts = {};
let unsub = null;

function draw(id, config) {
  charts[id]?.destroy();
  charts[id] = new Chart($(id), config);
  return charts[id];
}

function hhmm(minute) {
  return minute.slice(11, 16);
}

function download(name, type, text) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

function timelineCsv(report) {
  const cols = ["minute", ...COUNTERS, "viewers"];
  return [cols.join(","), ...report.timeline.map((r) => cols.map((c) => r[c]).join(","))].join("\n");
}

function renderReport(report) {
  const card = $("report-card");
  card.dataset.ready = "0";
  $("report-empty").classList.add("hidden");
  $("report-body").classList.remove("hidden");
  $("report-summary").replaceChildren(
    ...COUNTERS.map((k) => el("div", { "data-k": k }, el("dt", {}, k), el("dd", {}, fmt(report.totals[k])))),
    el("div", { "data-k": "viewers_peak" }, el("dt", {}, "peak viewers"), el("dd", {}, fmt(report.viewers_peak))),
  );
  $("report-match").textContent = report.live_totals_match
    ? "totals equal the live state" : "totals differ from the live state";
  const labels = report.timeline.map((r) => hhmm(r.minute));
  draw("chart-timeline", {
    data: {
      labels,
      datasets: [
        { type: "bar", label: "coins", data: report.timeline.map((r) => r.coins), backgroundColor: COLORS[0], yAxisID: "coins" },
        { type: "line", label: "likes", data: report.timeline.map((r) => r.likes), borderColor: COLORS[1], yAxisID: "count", pointRadius: 2 },
        { type: "line", label: "comments", data: report.timeline.map((r) => r.comments), borderColor: COLORS[2], yAxisID: "count", pointRadius: 2 },
        { type: "line", label: "viewers", data: report.timeline.map((r) => r.viewers), borderColor: COLORS[3], yAxisID: "count", pointRadius: 2 },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false,
      scales: {
        coins: { position: "left", beginAtZero: true, title: { display: true, text: "coins / minute" } },
        count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "likes, comments, viewers" } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
  const mix = report.gift_mix.slice(0, 9);
  const rest = report.gift_mix.slice(9).reduce((s, g) => s + g.coins, 0);
  draw("chart-mix", {
    type: "doughnut",
    data: {
      labels: [...mix.map((g) => g.gift_name || g.gift_id), ...(rest ? ["other"] : [])],
      datasets: [{ data: [...mix.map((g) => g.coins), ...(rest ? [rest] : [])], backgroundColor: COLORS }],
    },
    options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
  });
  $("report-peaks").replaceChildren(...report.peaks.map((p) => el("li", {},
    el("b", {}, hhmm(p.minute)), ` ${fmt(p.coins)} coins: ${p.reason}`)));
  $("report-top").replaceChildren(...report.top_gifters.map((g) => el("li", {},
    `#${g.rank} ${g.handle || g.user_id}: ${fmt(g.coins)} coins`)));
  const cmp = report.comparison || {};
  $("report-compare").textContent = cmp.streams
    ? `vs the median of your last ${cmp.streams} streams: coins ${cmp.delta_pct.coins ?? "n/a"}%`
    : "first reported stream: nothing to compare yet";
  const m = report.moderation || {};
  $("report-moderation").textContent =
    `held ${m.held ?? 0}, blocked ${m.blocked ?? 0}, hidden ${m.hidden ?? 0}, bans ${m.bans ?? 0}`;
  $("report-csv").onclick = () => download(`${report.stream_id}-timeline.csv`, "text/csv", timelineCsv(report));
  $("report-json").onclick = () => download(`${report.stream_id}-report.json`, "application/json",
    JSON.stringify(report, null, 2));
  card.dataset.ready = "1";
}

async function renderTrend(ctx) {
  try {
    const a = await ctx.api("api", `/creators/${encodeURIComponent(ctx.uid)}/analytics?days=30`);
    $("trend-card").classList.remove("hidden"); // a hidden canvas has no size to draw in
    $("trend-summary").textContent =
      `last 30 days: ${a.streams} streams, ${fmt(a.coins)} coins, ${a.unique_gifters} unique gifters` +
      (a.gifter_retention == null ? "" : `, ${Math.round(a.gifter_retention * 100)}% of gifters came back`);
    draw("chart-trend", {
      type: "line",
      data: {
        labels: a.per_stream.map((s) => (s.started_at || s.stream_id).slice(0, 16).replace("T", " ")),
        datasets: [
          { label: "coins", data: a.per_stream.map((s) => s.coins), borderColor: COLORS[0], yAxisID: "coins" },
          { label: "gifters", data: a.per_stream.map((s) => s.gifters), borderColor: COLORS[2], yAxisID: "gifters" },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        scales: { coins: { beginAtZero: true }, gifters: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
    $("trend-card").dataset.ready = "1";
  } catch (e) {
    $("trend-summary").textContent = `analytics: ${e.message}`;
  }
}

// Show the report of stream `id` (ctx: { db, uid, api(fn, path) }).
export function showReport(ctx, id) {
  unsub?.();
  $("report-card").classList.remove("hidden");
  $("report-card").dataset.ready = "0";
  $("report-empty").classList.remove("hidden");
  $("report-body").classList.add("hidden");
  $("report-refresh").onclick = async () => {
    $("report-status").textContent = "computing ...";
    try {
      await ctx.api("api", `/reports/${encodeURIComponent(id)}?refresh=1`);
      $("report-status").textContent = "";
    } catch (e) {
      $("report-status").textContent = e.message;
    }
  };
  unsub = onSnapshot(doc(ctx.db, "reports", id), (snap) => {
    if (snap.exists()) renderReport(snap.data());
  }, (e) => { $("report-status").textContent = `report: ${e.code || e.message}`; });
  renderTrend(ctx);
}

export function closeReport() {
  unsub?.();
  unsub = null;
}
