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
  collection, doc, getDoc, limit, onSnapshot, orderBy, query, where,
} from "firebase/firestore";
import { authEmulatorUrl, el, fmt, initFirebase, loadConfig } from "../shared/firebase.js";

const $ = (id) => document.getElementById(id);
const WIDGETS = ["alerts", "top", "goal", "combo", "chat"];
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
async function api(fn, path, { method = "GET", body } = {}) {
  const base = state.config.functions?.[fn];
  if (!base) throw new Error(`${fn} is not available`);
  const headers = { Authorization: `Bearer ${await state.user.getIdToken()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(`${base}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
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
// week / month in the creator's time zone.
function periodKey(period, tz) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
  }).formatToParts(new Date()).map((p) => [p.type, p.value]));
  const ymd = `${parts.year}-${parts.month}-${parts.day}`;
  if (period === "daily") return ymd;
  if (period === "monthly") return `${parts.year}-${parts.month}`;
  const back = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday);
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - back);
  return d.toISOString().slice(0, 10);
}

function boardId(period, stream, tz) {
  if (period === "session") return `stream.${stream.stream_id}`;
  const creator = stream.creator_id;
  if (period === "alltime") return `creator.${creator}.alltime`;
  return `creator.${creator}.${period}.${periodKey(period, tz)}`;
}

// ------------------------------------------------------------------------------- streams
function listenStreams() {
  const q = query(collection(state.db, "streams"), where("creator_id", "==", state.user.uid), limit(50));
  state.unsub.push(onSnapshot(q, (snap) => {
    const rows = snap.docs.map((s) => s.data())
      .sort((a, b) => (b.started_at?.seconds || 0) - (a.started_at?.seconds || 0));
    $("streams-empty").classList.toggle("hidden", rows.length > 0);
    $("streams").replaceChildren(...rows.map((s) => el("li", {
      "data-stream": s.stream_id, class: state.stream === s.stream_id ? "selected" : "",
    },
    el("button", { type: "button", onclick: () => selectStream(s.stream_id) }, "Open"),
    el("span", { class: "mono" }, s.stream_id),
    el("span", { class: "badge" }, s.status || "?"),
    el("span", {}, `${fmt(s.totals?.coins)} coins`))));
    if (!state.stream && rows.length) selectStream(rows[0].stream_id);
  }, (e) => status($("signin-status"), `streams: ${e.code || e.message}`, "error")));
}

let streamUnsub = [];
let currentStream = null;
let creatorTz = "UTC";

function stopStreamListeners() {
  streamUnsub.forEach((u) => u()); // the board's listener among them
  streamUnsub = [];
  boardUnsub = null;
}

async function selectStream(id) {
  stopStreamListeners();
  state.stream = id;
  for (const li of $("streams").children) li.classList.toggle("selected", li.dataset.stream === id);
  $("stream-card").classList.remove("hidden");
  $("stream-title").textContent = id;
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
    if (!$("board").dataset.board) listenBoard();
  }));
  $("board").dataset.board = "";
  renderOverlayUrl();
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
    return el("li", { "data-goal-id": id, "data-progress": g.progress || 0, "data-target": g.target },
      el("span", { class: "mono" }, id),
      el("span", {}, g.title || g.metric),
      el("span", {}, `${fmt(g.progress)} / ${fmt(g.target)} ${g.metric}`),
      el("div", { class: "bar wide" }, el("div", { style: { width: `${pct}%` } })),
      g.reached ? el("span", { class: "badge" }, "reached") : null);
  }));
  if (!items.length) $("goals").append(el("li", { class: "muted" }, "No goals yet."));
}

let boardUnsub = null;
function listenBoard() {
  if (boardUnsub) boardUnsub();
  if (!currentStream) return;
  const id = boardId($("period").value, currentStream, creatorTz);
  $("board").dataset.board = id;
  $("board-id").textContent = id;
  const q = query(collection(state.db, "leaderboards", id, "entries"),
    orderBy("coins", "desc"), orderBy("user_id", "asc"), limit(20));
  boardUnsub = onSnapshot(q, (snap) => {
    const rows = snap.docs.map((s) => s.data());
    $("board").querySelector("tbody").replaceChildren(...rows.map((r, i) => el("tr", { "data-user": r.user_id },
      el("td", {}, `${i + 1}`), el("td", {}, r.name || r.handle || r.user_id),
      el("td", {}, fmt(r.coins)), el("td", {}, fmt(r.gifts)))));
  });
  streamUnsub.push(() => boardUnsub && boardUnsub());
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

// ------------------------------------------------------------------------------- overlay
function renderOverlayUrl() {
  const base = state.config.overlayUrl;
  if (!base) {
    $("overlay-url").value = "overlay: not available";
    return;
  }
  const widgets = WIDGETS.filter((w) => $(`w-${w}`).checked);
  const u = new URL(base);
  u.searchParams.set("stream", state.stream || "");
  u.searchParams.set("widgets", widgets.join(","));
  u.searchParams.set("theme", $("overlay-theme").value);
  u.searchParams.set("width", $("overlay-width").value);
  u.searchParams.set("height", $("overlay-height").value);
  $("overlay-url").value = u.toString();
  $("overlay-open").href = u.toString();
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

async function loadFlags() {
  const filter = $("review-filter").value;
  try {
    const { flags } = await api("chat_api", `/flags?status=${filter}&limit=50`);
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
  const mod = !!(state.claims.moderator || state.claims.admin);
  $("review-card").classList.toggle("hidden", !mod);
  if (!mod) return;
  if (!state.config.functions?.chat_api) return $("review-body").replaceChildren(unavailable("Review queue"));
  const filter = el("select", { id: "review-filter", onchange: loadFlags },
    ...["pending", "reviewed", "resolved"].map((s) => el("option", { value: s }, s)));
  $("review-body").replaceChildren(
    el("div", { class: "row" }, filter,
      el("button", { type: "button", id: "review-refresh", class: "secondary", onclick: loadFlags }, "Refresh")),
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
  state.claims = (await user.getIdTokenResult()).claims;
  $("who").textContent = `${user.email || user.uid} (uid ${user.uid})`;
  listenStreams();
  renderIngest();
  renderWallet();
  renderReview();
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
    el("input", { type: "checkbox", id: `w-${w}`, checked: w !== "chat" ? "" : null }), w)));
  for (const id of ["overlay-widgets", "overlay-theme", "overlay-width", "overlay-height"]) {
    $(id).addEventListener("change", renderOverlayUrl);
  }
  $("overlay-copy").addEventListener("click", copyOverlayUrl);
  $("period").addEventListener("change", listenBoard);
  $("goal-metric").addEventListener("change", () =>
    $("goal-gift-label").classList.toggle("hidden", $("goal-metric").value !== "gift_units"));
  $("goal-form").addEventListener("submit", submitGoal);
  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status($("signin-status"), "Signing in…");
    try {
      await signInWithEmailAndPassword(state.auth, $("email").value, $("password").value);
      status($("signin-status"), "");
    } catch (e) {
      status($("signin-status"), `Sign-in failed: ${e.code || e.message}`, "error");
    }
  });
  $("signup-btn").addEventListener("click", async () => {
    try {
      await createUserWithEmailAndPassword(state.auth, $("email").value, $("password").value);
    } catch (e) {
      status($("signin-status"), `Sign-up failed: ${e.code || e.message}`, "error");
    }
  });
  $("signout").addEventListener("click", () => signOut(state.auth));
  onAuthStateChanged(state.auth, onUser);
  document.body.dataset.ready = "1";
}

main();
