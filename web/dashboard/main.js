// The creator dashboard: Firebase Auth sign-in, the creator's streams, live totals and
// leaderboards through Firestore listeners; goals, ingest and wallet through the HTTPS API
// (docs/openapi.yaml) with the signed-in user's ID token.
//
// Endpoints come from /config.json `functions` (name -> base URL). A function missing there
// (not deployed, or not documented yet) is shown as "not available" instead of failing.
import {
  connectAuthEmulator, createUserWithEmailAndPassword, getAuth, onAuthStateChanged,
  signInWithEmailAndPassword, signOut,
} from "firebase/auth";
import {
  collection, doc, getDoc, getDocs, limit, onSnapshot, orderBy, query, startAfter, where,
} from "firebase/firestore";
import { authEmulatorUrl, el, fmt, initFirebase, loadConfig } from "../shared/firebase.js";
import { mountCommands } from "./commands.js";
import { closeLive, showLive, wireLive } from "./live.js";
import { closeReport, showReport } from "./report.js";
import { mountRewardQueue } from "./rewards.js";
import { collectSettings, mountSettings, renderSettings } from "./settings.js";
import { mountShow } from "./show.js";

const $ = (id) => document.getElementById(id);
const WIDGETS = ["alerts", "top", "goal", "combo", "chat", "poll", "prediction", "question", "battle",
  "tap_battle", "round", "hype", "throne", "mood"];
// Offered, not ticked at first (the URL as it starts: giftengine overlay-url prints the same).
const WIDGETS_OFF = ["chat", "poll", "prediction", "question", "battle", "tap_battle", "mood"];
const TOTALS = ["coins", "gifts", "likes", "comments", "follows", "shares", "joins"];
const state = { config: null, db: null, auth: null, user: null, claims: {}, stream: null, unsub: [] };
window.giftDashboard = state; // for tests

function status(node, text, kind = "") {
  node.textContent = text;
  node.className = `status ${kind}`;
}

function unavailable(what) {
  return el("p", { class: "unavailable", "data-available": "false" }, `${what}: not available`);
}

// ----------------------------------------------------------------------------------- API
// A 429 that asks for a short wait (two panels' first requests meeting on the chat's per-IP
// bucket) is retried after it, at most twice; a longer one is shown as the error it is.
const RETRY_429_MAX_S = 5;

function retryAfterS(resp, data) {
  const header = Number(resp.headers.get("Retry-After"));
  if (header > 0) return header;
  const m = /retry in ([0-9.]+) s/.exec((data && data.reason) || "");
  return m ? Number(m[1]) : 1;
}

async function api(fn, path, { method = "GET", body } = {}, retries = 2) {
  const base = state.config.functions?.[fn];
  if (!base) throw new Error(`${fn} is not available`);
  const headers = { Authorization: `Bearer ${await state.user.getIdToken()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(`${base}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (resp.status === 429 && retries > 0) {
    const wait = retryAfterS(resp, data);
    if (wait <= RETRY_429_MAX_S) {
      await new Promise((done) => setTimeout(done, wait * 1000));
      return api(fn, path, { method, body }, retries - 1);
    }
  }
  if (!resp.ok) {
    const why = data && data.reason ? `${data.error}: ${data.reason}` : `HTTP ${resp.status}`;
    const err = new Error(why);
    err.status = resp.status;
    throw err;
  }
  return data;
}

// ------------------------------------------------------------------------------- periods
// Period keys as the backend computes them (docs/firestore.md): calendar day / Monday-started
// week / month in the creator's time zone (global boards: UTC). The period picker names a
// date; the board is the period that contains it.
function todayIn(tz) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(new Date()).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function periodKey(period, ymd) {
  if (period === "daily") return ymd;
  if (period === "monthly") return ymd.slice(0, 7);
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7)); // back to Monday
  return d.toISOString().slice(0, 10);
}

function shiftDate(ymd, period, n) {
  const d = new Date(`${ymd}T00:00:00Z`);
  if (period === "daily") d.setUTCDate(d.getUTCDate() + n);
  else if (period === "monthly") d.setUTCMonth(d.getUTCMonth() + n, 1);
  else d.setUTCDate(d.getUTCDate() + 7 * n);
  return d.toISOString().slice(0, 10);
}

function boardId(period, stream, ymd) {
  if (period === "session") return `stream.${stream.stream_id}`;
  if (period === "global_alltime") return "global.alltime";
  if (period === "global_weekly") return `global.weekly.${periodKey("weekly", ymd)}`;
  const creator = stream.creator_id;
  if (period === "alltime") return `creator.${creator}.alltime`;
  return `creator.${creator}.${period}.${periodKey(period, ymd)}`;
}

// ------------------------------------------------------------------------------- streams
// The creator's streams: those the ownership record gives them (stream_owners, docs/
// firestore.md: app streams they created, TikTok LIVEs of their linked account) and those
// whose live state names their uid as creator_id (server-side publishers, the demo).
const myStreams = { owned: new Map(), live: new Map() };

function renderStreams() {
  const ids = new Set([...myStreams.owned.keys(), ...myStreams.live.keys()]);
  const rows = [...ids].map((id) => ({ ...(myStreams.owned.get(id) || {}), ...(myStreams.live.get(id) || {}), stream_id: id }))
    .sort((a, b) => (b.started_at?.seconds || b.created_at?.seconds || 0) - (a.started_at?.seconds || a.created_at?.seconds || 0));
  $("streams-empty").classList.toggle("hidden", rows.length > 0);
  $("streams").replaceChildren(...rows.map((s) => el("li", {
    "data-stream": s.stream_id, class: state.stream === s.stream_id ? "selected" : "",
  },
  el("button", { type: "button", onclick: () => selectStream(s.stream_id) }, "Open"),
  el("span", { class: "mono" }, s.stream_id),
  s.title ? el("span", {}, s.title) : null,
  el("span", { class: "badge" }, s.status || (s.source ? `${s.source}: not live yet` : "?")),
  el("span", {}, `${fmt(s.totals?.coins)} coins`))));
  if (!state.stream && rows.length) selectStream(rows[0].stream_id);
}

function listenStreams() {
  const uid = state.user.uid;
  const onErr = (e) => status($("signin-status"), `streams: ${e.code || e.message}`, "error");
  const live = query(collection(state.db, "streams"), where("creator_id", "==", uid), limit(50));
  state.unsub.push(onSnapshot(live, (snap) => {
    myStreams.live = new Map(snap.docs.map((d) => [d.id, d.data()]));
    renderStreams();
  }, onErr));
  const owned = query(collection(state.db, "stream_owners"), where("creator_id", "==", uid), limit(50));
  state.unsub.push(onSnapshot(owned, (snap) => {
    myStreams.owned = new Map(snap.docs.map((d) => [d.id, d.data()]));
    renderStreams();
  }, onErr));
}

async function createStream(ev) {
  ev.preventDefault();
  const title = $("new-stream-title").value.trim();
  try {
    const s = await api("api", "/streams", { method: "POST", body: title ? { title } : {} });
    status($("new-stream-status"), `Stream ${s.stream_id} created: publish its events with this id; your overlay follows it when it goes live.`, "ok");
    $("new-stream-status").dataset.stream = s.stream_id;
  } catch (e) {
    status($("new-stream-status"), `Not created: ${e.message}`, "error");
  }
}

let streamUnsub = [];
let currentStream = null;
let creatorTz = "UTC";

function stopStreamListeners() {
  streamUnsub.forEach((u) => u());
  streamUnsub = [];
  if (boardUnsub) boardUnsub();
  boardUnsub = null;
  closeReport();
  closeLive();
}

async function selectStream(id) {
  stopStreamListeners();
  state.stream = id;
  for (const li of $("streams").children) li.classList.toggle("selected", li.dataset.stream === id);
  $("stream-card").classList.remove("hidden");
  $("stream-title").textContent = id;
  showReport({ db: state.db, uid: state.user.uid, api }, id);
  showLive({ db: state.db, api }, id);
  try {
    const c = await getDoc(doc(state.db, "creators", state.user.uid));
    creatorTz = c.data()?.timezone || "UTC";
  } catch { creatorTz = "UTC"; }
  streamUnsub.push(onSnapshot(doc(state.db, "streams", id), (snap) => {
    const s = snap.data() || { stream_id: id, creator_id: state.user.uid };
    currentStream = s;
    $("stream-status").textContent = s.status || "";
    $("totals").replaceChildren(...TOTALS.map((k) => el("div", { "data-k": k },
      el("dt", {}, k), el("dd", {}, fmt(s.totals?.[k])))));
    renderGoals(s.goals || {});
    renderBattle(s.features || {});
    if (!$("board").dataset.board) listenBoard();
  }));
  $("board").dataset.board = "";
  streamUnsub.push(mountShow({ db: state.db, uid: state.user.uid, api }, id, $("show-body")));
  if (!isModerator()) renderReview();
  renderModeration();
}

// ---------------------------------------------------------------------- chat moderation
// The creator's strictness level and per-category overrides for the selected stream
// (docs/moderation.md; chat_api GET/PUT /streams/{s}/moderation).
async function renderModeration() {
  const body = $("moderation-body");
  if (!state.config.functions?.chat_api) return body.replaceChildren(unavailable("Chat moderation"));
  const stream = state.stream;
  let cfg;
  try {
    cfg = await api("chat_api", `/streams/${encodeURIComponent(stream)}/moderation`);
  } catch (e) {
    return body.replaceChildren(el("p", { class: "status error" }, `Chat moderation: ${e.message}`));
  }
  if (stream !== state.stream) return; // another stream was selected meanwhile
  const level = el("select", { id: "moderation-level" },
    ...cfg.levels.map((l) => el("option", { value: l, selected: l === cfg.level ? "" : null }, l)));
  const overrides = cfg.categories.map((c) => el("label", {}, c, " ",
    el("select", { "data-category": c, class: "moderation-override" },
      el("option", { value: "" }, "level default"),
      ...cfg.actions.map((a) => el("option", { value: a, selected: cfg.overrides[c] === a ? "" : null }, a)))));
  const save = el("button", { type: "button", id: "moderation-save", onclick: saveModeration }, "Save");
  body.replaceChildren(el("div", { class: "inline" }, el("label", {}, "Strictness ", level), save),
    el("div", { class: "inline", id: "moderation-overrides" }, ...overrides),
    el("p", { id: "moderation-status", class: "status", role: "status" }));
}

async function saveModeration() {
  const overrides = {};
  for (const s of document.querySelectorAll(".moderation-override")) {
    if (s.value) overrides[s.dataset.category] = s.value;
  }
  try {
    const cfg = await api("chat_api", `/streams/${encodeURIComponent(state.stream)}/moderation`,
      { method: "PUT", body: { level: $("moderation-level").value, overrides } });
    status($("moderation-status"), `Saved: ${cfg.level}` +
      (Object.keys(cfg.overrides).length ? ` with ${Object.entries(cfg.overrides).map(([c, a]) => `${c} ${a}`).join(", ")}` : ""), "ok");
  } catch (e) {
    status($("moderation-status"), `Not saved: ${e.message}`, "error");
  }
}

function renderGoals(goals) {
  const items = Object.entries(goals).sort(([a], [b]) => a.localeCompare(b));
  $("goals").replaceChildren(...items.map(([id, g]) => {
    const pct = g.target ? Math.min(100, (100 * (g.progress || 0)) / g.target) : 0;
    const st = g.reached ? "reached" : g.failed ? "failed" : "running";
    return el("li", { "data-goal-id": id, "data-progress": g.progress || 0, "data-target": g.target, "data-status": st },
      el("span", { class: "mono" }, id),
      el("span", {}, g.title || g.metric),
      el("span", {}, `${fmt(g.progress)} / ${fmt(g.target)} ${g.metric}`),
      el("div", { class: "bar wide" }, el("div", { style: { width: `${pct}%` } })),
      g.reached ? el("span", { class: "badge" }, "reached") : null,
      g.failed ? el("span", { class: "badge failed" }, "failed") : null,
      g.deadline && !g.reached && !g.failed
        ? el("span", { class: "muted" }, `until ${new Date(g.deadline * 1000).toLocaleTimeString()}`) : null,
      el("button", { type: "button", class: "secondary goal-delete", onclick: () => deleteGoal(id) }, "Delete"));
  }));
  if (!items.length) $("goals").append(el("li", { class: "muted" }, "No goals yet."));
}

// The board, 20 rows a page, paged with startAfter through the whole ranking (listeners:
// each page stays live). `board.cursors[p]` is the entry page p starts after (null: the top).
const PAGE = 20;
const board = { cursors: [null], page: 0, last: null, highlight: null };
let boardUnsub = null;

function periodUsesDate(period) {
  return ["daily", "weekly", "monthly", "global_weekly"].includes(period);
}

function entriesOf(id) {
  return collection(state.db, "leaderboards", id, "entries");
}

function rankedQuery(id, ...rest) {
  return query(entriesOf(id), orderBy("coins", "desc"), orderBy("user_id", "asc"), ...rest);
}

function listenBoard(reset = true) {
  if (boardUnsub) boardUnsub();
  boardUnsub = null;
  if (!currentStream) return;
  const period = $("period").value;
  if (!$("period-date").value) $("period-date").value = todayIn(creatorTz);
  for (const id of ["period-date", "period-prev", "period-next"]) $(id).disabled = !periodUsesDate(period);
  const id = boardId(period, currentStream, $("period-date").value);
  if (reset || $("board").dataset.board !== id) {
    board.cursors = [null];
    board.page = 0;
    board.highlight = reset ? null : board.highlight;
  }
  $("board").dataset.board = id;
  $("board-id").textContent = id;
  const after = board.cursors[board.page];
  const q = rankedQuery(id, ...(after ? [startAfter(after)] : []), limit(PAGE));
  const page = board.page;
  boardUnsub = onSnapshot(q, (snap) => {
    board.last = snap.docs.at(-1) || null;
    const rows = snap.docs.map((d) => d.data());
    $("board").dataset.page = page;
    $("board").querySelector("tbody").replaceChildren(...rows.map((r, i) => el("tr", {
      "data-user": r.user_id, "data-rank": page * PAGE + i + 1,
      class: r.user_id === board.highlight ? "highlight" : "",
    },
    el("td", {}, `${page * PAGE + i + 1}`), el("td", {}, r.name || r.handle || r.user_id),
    el("td", {}, fmt(r.coins)), el("td", {}, fmt(r.gifts)))));
    if (!rows.length) {
      $("board").querySelector("tbody").append(el("tr", {}, el("td", { colspan: "4", class: "muted" },
        page ? "No more gifters." : "No gifts in this period.")));
    }
    $("board-page").textContent = `ranks ${page * PAGE + 1}-${page * PAGE + Math.max(rows.length, 1)}`;
    $("board-prev").disabled = page === 0;
    $("board-next").disabled = rows.length < PAGE;
  }, (e) => status($("board-found"), `board: ${e.code || e.message}`, "error"));
}

function boardPage(delta) {
  if (delta > 0) {
    if (!board.last) return;
    board.cursors[board.page + 1] = board.last;
  }
  board.page = Math.max(0, board.page + delta);
  listenBoard(false);
}

function shiftPeriod(n) {
  const period = $("period").value;
  const base = $("period-date").value || todayIn(creatorTz);
  $("period-date").value = shiftDate(base, period === "global_weekly" ? "weekly" : period, n);
  listenBoard();
}

// A viewer's rank: their entry (by user id, or by handle), then the entries ranked above
// them counted in pages of 100 (the rules' largest page); the board jumps to their page.
// A viewer's level and badges with this creator (GET /api/viewers/{uid}/creators/{creator},
// docs/engagement.md, "Badges"): an app uid, or a TikTok viewer's `tiktok:<id>`. Null when
// the api is not available or the viewer has no XP with the creator.
async function viewerRewards(userId) {
  if (!state.config.functions?.api) return null;
  for (const uid of [userId, `tiktok:${userId}`]) {
    try {
      const path = `/viewers/${encodeURIComponent(uid)}/creators/${encodeURIComponent(state.user.uid)}`;
      const v = await api("api", path);
      if (v.exists) return v;
    } catch {
      return null;
    }
  }
  return null;
}

async function findRank() {
  const id = $("board").dataset.board;
  const wanted = $("board-search").value.trim();
  if (!id || !wanted) return;
  status($("board-found"), "Searching…");
  try {
    let entry = await getDoc(doc(entriesOf(id), wanted.replace(/^@/, "")));
    if (!entry.exists()) {
      const handle = wanted.startsWith("@") ? wanted : `@${wanted}`;
      const hit = await getDocs(query(entriesOf(id), where("handle", "==", handle), limit(1)));
      entry = hit.docs[0];
    }
    if (!entry || !entry.exists()) {
      status($("board-found"), `${wanted}: not on this board`, "error");
      return;
    }
    const cursors = [null];
    let after = null;
    let rank = 0;
    for (;;) {
      const snap = await getDocs(rankedQuery(id, ...(after ? [startAfter(after)] : []), limit(100)));
      const i = snap.docs.findIndex((d) => d.id === entry.id);
      for (let k = 0; k < (i >= 0 ? i : snap.docs.length); k++) {
        rank += 1;
        if (rank % PAGE === 0) cursors.push(snap.docs[k]);
      }
      if (i >= 0 || snap.docs.length < 100) break;
      after = snap.docs.at(-1);
    }
    rank += 1;
    const e = entry.data();
    board.cursors = cursors;
    board.page = Math.floor((rank - 1) / PAGE);
    board.highlight = entry.id;
    const rewards = await viewerRewards(entry.id);
    const lvl = rewards
      ? ` · level ${rewards.creator.level}${rewards.badges.length
        ? ` · ${rewards.badges.map((b) => b.name).join(", ")}` : ""}`
      : "";
    status($("board-found"), `${e.name || e.handle || entry.id}: rank ${rank} with ${fmt(e.coins)} coins${lvl}`, "ok");
    $("board-found").dataset.rank = rank;
    $("board-found").dataset.level = rewards ? rewards.creator.level : "";
    listenBoard(false);
  } catch (err) {
    status($("board-found"), `Search failed: ${err.code || err.message}`, "error");
  }
}

async function deleteGoal(goalId) {
  const path = `/goals/${encodeURIComponent(state.stream)}/${encodeURIComponent(goalId)}`;
  try {
    await api("api", path, { method: "DELETE" });
    status($("goal-status"), `Goal ${goalId} deleted: it leaves the overlay with the next update.`, "ok");
  } catch (e) {
    status($("goal-status"), `Goal not deleted: ${e.message}`, "error");
  }
}

async function submitGoal(ev) {
  ev.preventDefault();
  const body = {
    stream_id: state.stream,
    metric: $("goal-metric").value,
    target: Number.parseInt($("goal-target").value, 10),
  };
  const title = $("goal-title").value.trim();
  const goalId = $("goal-id").value.trim();
  if (title) body.title = title;
  if (goalId) body.goal_id = goalId;
  if (body.metric === "gift_units") body.gift_id = $("goal-gift").value.trim();
  const duration = $("goal-duration").value.trim();
  if (duration) body.duration_s = Number.parseInt(duration, 10); // a challenge
  $("goal-submit").disabled = true;
  try {
    const goal = await api("api", "/goals", { method: "POST", body });
    status($("goal-status"), `Goal ${goal.goal_id} set: the overlay shows it from the next update.`, "ok");
  } catch (e) {
    status($("goal-status"), `Goal not set: ${e.message}`, "error");
  } finally {
    $("goal-submit").disabled = false;
  }
}

// ------------------------------------------------------------------------------- battles
// Creator-vs-creator battles (api POST /battles, /battles/{id}/accept|decline|cancel) and tap
// battles (POST /streams/{id}/controls); docs/engagement.md. The stream document's
// `features` say what is running; the overlay's battle widgets show it to viewers.
function renderBattle(features) {
  const b = features.battle;
  const t = features.tap_battle;
  const parts = [];
  if (b) {
    const mvp = b.mvp ? `, MVP ${b.mvp.name || b.mvp.user_id} ${fmt(b.mvp.points)}` : "";
    parts.push(`Battle ${b.battle_id} vs ${b.opponent_stream_id} [${b.phase}]: ${fmt(b.score)} points${mvp}`);
  }
  if (t) {
    parts.push(`Tap battle [${t.phase}]: red ${fmt(t.red.points)} / blue ${fmt(t.blue.points)}`
      + (t.winner ? `, ${t.winner === "draw" ? "draw" : `${t.winner} wins`}` : ""));
  }
  $("battle-now").textContent = parts.join(" · ") || "No battle on this stream.";
  $("battle-now").dataset.battle = b ? b.battle_id : "";
}

function requestId() {
  return `dash-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

async function inviteBattle(ev) {
  ev.preventDefault();
  const duration = Number.parseInt($("battle-duration").value, 10) || 300;
  const body = {
    stream_id: state.stream,
    opponent_creator_id: $("battle-opponent-creator").value.trim(),
    opponent_stream_id: $("battle-opponent-stream").value.trim(),
    duration_s: duration,
    windows: $("battle-boost").checked && duration > 30
      ? [{ from_s: duration - 30, to_s: duration, x: 2 }] : [],
    request_id: requestId(),
  };
  try {
    const b = await api("api", "/battles", { method: "POST", body });
    $("battle-id").value = b.battle_id;
    status($("battle-status"), `Invitation ${b.battle_id} sent: give this id to ${body.opponent_creator_id}.`, "ok");
  } catch (e) {
    status($("battle-status"), `Not invited: ${e.message}`, "error");
  }
}

async function answerBattle(action) {
  const id = $("battle-id").value.trim();
  if (!id) return status($("battle-status"), "Enter the battle id first.", "error");
  try {
    const b = await api("api", `/battles/${encodeURIComponent(id)}/${action}`, { method: "POST" });
    const when = b.start ? `: starts ${new Date(b.start).toLocaleTimeString()}` : "";
    status($("battle-status"), `Battle ${b.battle_id} ${b.status}${when}.`, "ok");
  } catch (e) {
    status($("battle-status"), `Battle not ${{ accept: "accepted", decline: "declined", cancel: "canceled" }[action]}: ${e.message}`, "error");
  }
}

async function tapBattle(action) {
  const params = action === "start"
    ? { duration_s: Number.parseInt($("tap-duration").value, 10) || 60 } : {};
  const body = { feature: "tap_battle", action, params, request_id: requestId() };
  try {
    await api("api", `/streams/${encodeURIComponent(state.stream)}/controls`, { method: "POST", body });
    status($("tap-status"), action === "start" ? "Tap battle starting." : "Tap battle stopping.", "ok");
  } catch (e) {
    status($("tap-status"), `Not done: ${e.message}`, "error");
  }
}

// ------------------------------------------------------------------------------- overlay
// The creator's permanent overlay URL: `?creator=<uid>` (no stream id; the overlay follows
// whatever stream the creator is live on). `giftengine overlay-url UID` prints the same form.
function renderOverlayUrl() {
  const base = state.config.overlayUrl;
  if (!base || !state.user) {
    $("overlay-url").value = "overlay: not available";
    return;
  }
  const widgets = WIDGETS.filter((w) => $(`w-${w}`).checked);
  const u = new URL(base);
  u.searchParams.set("creator", state.user.uid);
  u.searchParams.set("widgets", widgets.join(","));
  u.searchParams.set("theme", $("overlay-theme").value);
  u.searchParams.set("width", $("overlay-width").value);
  u.searchParams.set("height", $("overlay-height").value);
  $("overlay-url").value = u.toString();
  $("overlay-open").href = u.toString();
  // The live preview (the settings panel): the same URL, scaled down.
  if ($("overlay-preview").src !== u.toString()) $("overlay-preview").src = u.toString();
}

// ----------------------------------------------------------------------------- alert rules
// creators/{uid}.overlay.alerts (docs/web-clients.md, "Alert queue"); saved with
// PUT /creators/{uid}/overlay, applied live by every open overlay of the creator.
const RULE_KINDS = {
  gift: "Gifts", big_gift: "Big gifts", follow: "Follows", share: "Shares", goal_reached: "Goal reached",
  challenge_failed: "Challenge failed", badge: "Badges",
};
const RULE_DEFAULTS = {
  gift: { mode: "condense", min_coins: 0, display_ms: 4000 },
  big_gift: { mode: "show", min_coins: 100, display_ms: 6000 },
  follow: { mode: "condense", min_coins: 0, display_ms: 3000 },
  share: { mode: "condense", min_coins: 0, display_ms: 3000 },
  goal_reached: { mode: "show", min_coins: 0, display_ms: 6000 },
  challenge_failed: { mode: "show", min_coins: 0, display_ms: 6000 },
  badge: { mode: "show", min_coins: 0, display_ms: 5000 },
};

function renderRules(saved) {
  const rows = Object.entries(RULE_KINDS).map(([k, label]) => {
    const r = { ...RULE_DEFAULTS[k], ...((saved || {})[k] || {}) };
    const coins = k === "gift" || k === "big_gift";
    return el("tr", { "data-kind": k },
      el("td", {}, label),
      el("td", {}, el("select", { class: "rule-mode" },
        ...["show", "condense", "hide"].map((m) => el("option", { value: m, selected: m === r.mode ? "" : null }, m)))),
      el("td", {}, coins ? el("input", { class: "rule-min", type: "number", min: "0", step: "1", value: r.min_coins }) : "-"),
      el("td", {}, el("input", { class: "rule-secs", type: "number", min: "0.5", max: "60", step: "0.5", value: r.display_ms / 1000 })));
  });
  $("alert-rules").querySelector("tbody").replaceChildren(...rows);
}

// Alert rules and the settings panel are one document: every save sends both.
async function saveRules(statusNode = $("rules-status")) {
  const alerts = {};
  for (const tr of $("alert-rules").querySelectorAll("tbody tr")) {
    const rule = {
      mode: tr.querySelector(".rule-mode").value,
      display_ms: Math.round(Number(tr.querySelector(".rule-secs").value) * 1000),
    };
    const min = tr.querySelector(".rule-min");
    if (min) rule.min_coins = Number.parseInt(min.value || "0", 10);
    alerts[tr.dataset.kind] = rule;
  }
  try {
    await api("api", `/creators/${encodeURIComponent(state.user.uid)}/overlay`, {
      method: "PUT", body: { alerts, ...collectSettings() },
    });
    status(statusNode, "Saved: open overlays apply the settings now.", "ok");
  } catch (e) {
    status(statusNode, `Not saved: ${e.message}`, "error");
  }
}

// POST /creators/{uid}/overlay/media: the file's bytes as the body, its type as Content-Type.
async function uploadMedia(file) {
  const base = state.config.functions?.api;
  if (!base) throw new Error("api is not available");
  const resp = await fetch(`${base}/creators/${encodeURIComponent(state.user.uid)}/overlay/media`, {
    method: "POST",
    headers: { Authorization: `Bearer ${await state.user.getIdToken()}`, "Content-Type": file.type || "application/octet-stream" },
    body: file,
  });
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new Error(data && data.reason ? `${data.error}: ${data.reason}` : `HTTP ${resp.status}`);
  return data;
}

let renderCommands = () => {}; // the command gifts editor (commands.js), once mounted

function listenCreator() {
  renderRules(null); // the defaults until the saved rules arrive
  renderSettings(null);
  renderCommands(null);
  $("commands-body").dataset.ready = "0";
  let first = true;
  state.unsub.push(onSnapshot(doc(state.db, "creators", state.user.uid), (snap) => {
    const d = snap.data() || {};
    creatorTz = d.timezone || "UTC";
    renderCommands(d.features?.commands); // every change: a save here or elsewhere
    if (first) { // later saves are the user's own edits
      renderRules(d.overlay?.alerts);
      renderSettings(d.overlay);
      $("settings-card").dataset.ready = "1";
    }
    first = false;
  }, () => renderRules(null)));
}

async function copyOverlayUrl() {
  const input = $("overlay-url");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy"); // older browser sources / insecure origins
  }
  $("overlay-copy").textContent = "Copied";
  setTimeout(() => { $("overlay-copy").textContent = "Copy"; }, 1500);
}

// -------------------------------------------------------------------------------- ingest
function renderIngest() {
  const body = $("ingest-body");
  if (!state.config.functions?.ingest_targets) return body.replaceChildren(unavailable("TikTok ingest"));
  const handle = el("input", { id: "ingest-handle", placeholder: "@your.tiktok", value: state.claims.creator_id || "" });
  const out = el("p", { id: "ingest-status", class: "status" });
  const call = async (method) => {
    const h = handle.value.trim().replace(/^@/, "");
    if (!h) return status(out, "Enter your TikTok handle.", "error");
    try {
      const t = await api("ingest_targets", `/${encodeURIComponent(h)}`, { method });
      if (method === "DELETE") status(out, `Stopped following @${h}.`, "ok");
      else status(out, `@${t.creator_id}: ${t.status}${t.error ? ` (${t.error.code}: ${t.error.reason})` : ""}`, "ok");
    } catch (e) {
      status(out, e.status === 404 ? `@${h}: not followed` : e.message, e.status === 404 ? "" : "error");
    }
  };
  body.replaceChildren(el("div", { class: "row" }, handle,
    el("button", { type: "button", id: "ingest-start", onclick: () => call("PUT") }, "Start"),
    el("button", { type: "button", id: "ingest-stop", class: "secondary", onclick: () => call("DELETE") }, "Stop"),
    el("button", { type: "button", id: "ingest-refresh", class: "secondary", onclick: () => call("GET") }, "Status")), out);
}

// -------------------------------------------------------------------------------- wallet
async function renderWallet() {
  const body = $("wallet-body");
  if (!state.config.functions?.wallet_api) return body.replaceChildren(unavailable("Wallet"));
  try {
    const w = await api("wallet_api", "/wallet");
    body.replaceChildren(...[el("dl", { class: "totals", id: "wallet" },
      ...[["balance", w.balance], ["bonus", w.bonus_balance], ["earnings", w.earnings],
        ["total earned", w.total_earned], ["total spent", w.total_spent]]
        .map(([k, v]) => el("div", { "data-k": k }, el("dt", {}, k), el("dd", {}, fmt(v))))),
    w.locked ? el("p", { class: "status error" }, `Wallet locked: ${w.lock_reason || ""}`) : null,
    w.tier?.name ? el("p", {}, `Tier: ${w.tier.name}`) : null].filter(Boolean));
  } catch (e) {
    body.replaceChildren(el("p", { class: "status error" }, `Wallet: ${e.message}`));
  }
}

// -------------------------------------------------------------------------- review queue
// chat_api's flags (docs/openapi.yaml: /chat_api/flags): automatic blocks and hides, and user
// reports. A moderator upholds the automatic decision or overrides it; both are audited
// server-side. Flag text comes from users: it is rendered as text.
const REVIEW_ACTIONS = {
  resolve: "Uphold", restore: "Restore", hide: "Hide", ban: "Ban", unban: "Unban",
};

function flagActions(f) {
  if (f.status === "resolved") return [];
  const actions = ["resolve"];
  if (f.target_type === "message") actions.push(f.action === "none" ? "hide" : "restore");
  if (f.target_uid || f.target_type === "user") actions.push("ban", "unban");
  return actions;
}

function flagRow(f) {
  const when = f.created_at ? new Date(f.created_at).toLocaleString() : "";
  return el("li", { "data-flag-id": f.flag_id, "data-status": f.status, class: "flag" },
    el("div", { class: "wide" },
      el("div", {},
        el("span", { class: "badge" }, f.source || f.reporter),
        " ", el("span", { class: "mono" }, f.stream_id),
        " ", el("span", { class: "muted" }, when)),
      f.text ? el("blockquote", { class: "flag-text" }, f.text) : null,
      el("div", { class: "why" },
        f.category ? el("span", { class: "badge category", "data-category": f.category }, f.category) : null,
        f.score == null ? null : el("span", { class: "score" }, ` score ${Number(f.score).toFixed(2)}`),
        f.term ? el("span", { class: "muted" }, ` matched: ${f.term}`) : null,
        f.keyword ? el("span", { class: "muted" }, ` keyword: ${f.keyword}`) : null),
      el("div", { class: "muted" },
        `${f.target_type} ${f.target_uid || f.target_id}: ${f.reason}`,
        f.resolution ? `; ${f.status}: ${f.resolution}` : "")),
    ...flagActions(f).map((a) => el("button", {
      type: "button", "data-action": a, class: a === "resolve" ? "secondary" : "",
      onclick: () => actOnFlag(f, a),
    }, REVIEW_ACTIONS[a])));
}

// Moderators see every stream's flags; a creator sees those of the stream they opened
// (chat_api lets a creator act on their own streams' flags).
function isModerator() {
  return !!(state.claims.moderator || state.claims.admin);
}

async function loadFlags() {
  const filter = $("review-filter").value;
  const scope = isModerator() ? "" : `&stream_id=${encodeURIComponent(state.stream || "")}`;
  if (!isModerator() && !state.stream) return;
  $("review-scope").textContent = isModerator() ? "all streams" : `stream ${state.stream}`;
  try {
    const { flags } = await api("chat_api", `/flags?status=${filter}&limit=50${scope}`);
    $("review-list").replaceChildren(...(flags.length ? flags.map(flagRow)
      : [el("li", { class: "muted" }, `No ${filter} flags.`)]));
  } catch (e) {
    status($("review-status"), `Review queue: ${e.message}`, "error");
  }
}

async function actOnFlag(f, action) {
  const path = `/flags/${encodeURIComponent(f.flag_id)}/${action === "resolve" ? "resolve" : "override"}`;
  const body = action === "resolve" ? { status: "resolved" } : { action };
  try {
    await api("chat_api", path, { method: "POST", body });
    status($("review-status"), `${REVIEW_ACTIONS[action]}: done (${f.flag_id}).`, "ok");
  } catch (e) {
    status($("review-status"), `${REVIEW_ACTIONS[action]} failed: ${e.message}`, "error");
  }
  await loadFlags();
}

function renderReview() {
  // Moderators always; a creator once they have a stream to moderate.
  const show = isModerator() || !!state.stream;
  $("review-card").classList.toggle("hidden", !show);
  if (!show) return;
  if (!state.config.functions?.chat_api) return $("review-body").replaceChildren(unavailable("Review queue"));
  const filter = el("select", { id: "review-filter", onchange: loadFlags },
    ...["pending", "reviewed", "resolved"].map((s) => el("option", { value: s }, s)));
  $("review-body").replaceChildren(
    el("div", { class: "row" }, filter,
      el("button", { type: "button", id: "review-refresh", class: "secondary", onclick: loadFlags }, "Refresh"),
      el("span", { id: "review-scope", class: "muted" })),
    el("p", { id: "review-status", class: "status" }),
    el("ul", { id: "review-list", class: "list" }));
  loadFlags();
}

// ---------------------------------------------------------------------------------- auth
function closeStream() {
  stopStreamListeners();
  state.stream = null;
  currentStream = null;
  $("stream-card").classList.add("hidden");
  $("board").dataset.board = "";
  $("streams").replaceChildren();
  myStreams.owned = new Map();
  myStreams.live = new Map();
}

async function onUser(user) {
  state.unsub.forEach((u) => u());
  state.unsub = [];
  closeStream(); // nothing of the previous user's stream stays on screen or listened to
  state.user = user;
  $("signin").classList.toggle("hidden", !!user);
  $("app").classList.toggle("hidden", !user);
  $("signout").classList.toggle("hidden", !user);
  document.body.dataset.signedIn = user ? "1" : "0";
  if (!user) {
    $("who").textContent = "";
    return;
  }
  const claims = (await user.getIdTokenResult()).claims;
  if (state.user !== user) return; // signed out or switched meanwhile: that call sets up
  state.claims = claims;
  $("who").textContent = `${user.email || user.uid} (uid ${user.uid})`;
  listenStreams();
  listenCreator();
  renderOverlayUrl();
  renderIngest();
  renderWallet();
  renderReview();
  state.unsub.push(mountRewardQueue({ db: state.db, uid: user.uid, api }, $("reward-queue-body")));
}

async function main() {
  try {
    state.config = await loadConfig();
  } catch (e) {
    document.body.append(el("p", { class: "status error" }, `dashboard: cannot load configuration (${e.message})`));
    return;
  }
  const { app, db } = initFirebase(state.config);
  state.db = db;
  state.auth = getAuth(app);
  const emu = authEmulatorUrl(state.config);
  if (emu) {
    connectAuthEmulator(state.auth, emu, { disableWarnings: true });
    $("signup-btn").classList.remove("hidden");
  }
  $("overlay-widgets").append(...WIDGETS.map((w) => el("label", {},
    el("input", { type: "checkbox", id: `w-${w}`, checked: WIDGETS_OFF.includes(w) ? null : "" }), w)));
  for (const id of ["overlay-widgets", "overlay-theme", "overlay-width", "overlay-height"]) {
    $(id).addEventListener("change", renderOverlayUrl);
  }
  $("overlay-copy").addEventListener("click", copyOverlayUrl);
  $("rules-save").addEventListener("click", () => saveRules());
  mountSettings({ api, uid: () => state.user.uid, upload: uploadMedia, save: saveRules });
  renderCommands = mountCommands({ api, uid: () => state.user.uid }, $("commands-body"));
  $("period").addEventListener("change", () => listenBoard());
  $("period-date").addEventListener("change", () => listenBoard());
  $("period-prev").addEventListener("click", () => shiftPeriod(-1));
  $("period-next").addEventListener("click", () => shiftPeriod(1));
  $("board-prev").addEventListener("click", () => boardPage(-1));
  $("board-next").addEventListener("click", () => boardPage(1));
  $("board-find").addEventListener("click", findRank);
  $("goal-metric").addEventListener("change", () =>
    $("goal-gift-label").classList.toggle("hidden", $("goal-metric").value !== "gift_units"));
  $("goal-form").addEventListener("submit", submitGoal);
  $("battle-invite-form").addEventListener("submit", inviteBattle);
  $("battle-answer-form").addEventListener("submit", (ev) => { ev.preventDefault(); answerBattle("accept"); });
  $("battle-decline").addEventListener("click", () => answerBattle("decline"));
  $("battle-cancel").addEventListener("click", () => answerBattle("cancel"));
  $("tap-battle-form").addEventListener("submit", (ev) => { ev.preventDefault(); tapBattle("start"); });
  $("tap-stop").addEventListener("click", () => tapBattle("stop"));
  wireLive();
  $("new-stream-form").addEventListener("submit", createStream);
  // Firebase Auth's error codes in words; an unknown one is shown as it is.
  const AUTH_ERRORS = {
    "auth/invalid-credential": "wrong email or password",
    "auth/wrong-password": "wrong email or password",
    "auth/invalid-login-credentials": "wrong email or password",
    "auth/user-not-found": "no account with this email (sign up first)",
    "auth/invalid-email": "that is not an email address",
    "auth/missing-password": "enter a password",
    "auth/weak-password": "the password needs at least 6 characters",
    "auth/email-already-in-use": "an account with this email exists (sign in)",
    "auth/too-many-requests": "too many attempts; wait a minute and try again",
    "auth/network-request-failed": "the sign-in service cannot be reached",
  };
  const authError = (e) => AUTH_ERRORS[e.code] || e.code || e.message;
  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status($("signin-status"), "Signing in…");
    try {
      await signInWithEmailAndPassword(state.auth, $("email").value, $("password").value);
      status($("signin-status"), "");
    } catch (e) {
      status($("signin-status"), `Sign-in failed: ${authError(e)}`, "error");
    }
  });
  $("signup-btn").addEventListener("click", async () => {
    try {
      await createUserWithEmailAndPassword(state.auth, $("email").value, $("password").value);
    } catch (e) {
      status($("signin-status"), `Sign-up failed: ${authError(e)}`, "error");
    }
  });
  $("signout").addEventListener("click", () => signOut(state.auth));
  onAuthStateChanged(state.auth, onUser);
  document.body.dataset.ready = "1";
}

main();
