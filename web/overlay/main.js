// The OBS overlay: live state of one creator's current stream (or of one named stream) through
// Firestore listeners (docs/firestore.md).
//
// URL parameters (docs/web-clients.md):
//   creator=<creator id>   follow whatever stream the creator is live on (live_pointers/{id}),
//                          across streams without a reload; idle between streams
//   stream=<id>            or: one fixed stream (one of creator / stream is required)
//   widgets=alerts,top,goal,combo,chat,poll,prediction,question,battle,tap_battle,
//           round,hype,throne,mood,actions
//   (the overlay's accent follows the stream's mood whatever the widgets; `mood` adds a badge;
//   command gifts' actions play with `alerts` or `actions`)
//   (default alerts,top,goal,combo)
//   theme=dark|light|neon  width=<px> height=<px> scale=<font scale>
//   big=<coins>            gifts worth at least this are "big" (default 100; creator settings win)
//   fx=auto|3d|2d          big-gift effect: three.js when WebGL works (auto), or forced
//   alert_ms=<ms>          how long one alert stays when nothing waits (default: per kind)
//   max_delay=<ms>         longest an alert may wait to be shown (default 4000)
//   min_ms=<ms>            shortest turn of an alert while others wait (default 700)
//   top=<n>                top gifters shown (default 5, at most 10)
//   goal=<goal id>         show only this goal
//   perf=1                 record frame times in window.giftOverlay.frames (benchmarks)
//   stale=<minutes>        a followed stream with no update for this long counts as gone (120)
//
// Every string from users (names, handles, gift names, goal titles) reaches the DOM as a text
// node: `el()` never parses HTML.
import {
  collection, doc, limit, onSnapshot, orderBy, query,
} from "firebase/firestore";
import { el, fmt, initFirebase, loadConfig } from "../shared/firebase.js";
import { AlertQueue, DEFAULT_RULES, KINDS } from "./alerts.js";
import { Customizer } from "./customize.js";
import { playBigEffect, warmUp } from "./effects.js";
import { mountBattle, mountTapBattle } from "./battle.js";
import { mountHype, mountRound, mountThrone } from "./show.js";
import { mountPoll } from "./poll.js";
import { mountPrediction } from "./prediction.js";
import { mountQuestion } from "./question.js";
import { applyMood } from "./mood.js";
import { ActionQueue } from "./actions.js";

const WIDGETS = ["alerts", "top", "goal", "combo", "chat", "poll", "prediction", "question",
  "battle", "tap_battle", "round", "hype", "throne", "mood", "actions"];
// Same rule as the backend's ids (domain/events.py ID_PATTERN): a Firestore document id.
const validId = (v) => v.length <= 256 && !v.includes("/") && v !== "." && v !== ".."
  && !/^__.*__$/.test(v);
const params = new URLSearchParams(location.search);
const opts = {
  creator: params.get("creator") || params.get("c") || "",
  stream: params.get("stream") || params.get("s") || "",
  widgets: (params.get("widgets") || "alerts,top,goal,combo").split(",").map((w) => w.trim()),
  theme: params.get("theme") || "dark",
  big: intParam("big", 100, 1),
  fx: params.get("fx") || "auto",
  alertMs: intParam("alert_ms", 0, 300),
  maxDelayMs: intParam("max_delay", 4000, 1000),
  minTurnMs: intParam("min_ms", 700, 200),
  top: Math.min(intParam("top", 5, 1), 10),
  goal: params.get("goal") || null,
  perf: params.get("perf") === "1",
  staleMs: intParam("stale", 120, 1) * 60000,
};

function intParam(name, fallback, min) {
  const v = Number.parseInt(params.get(name) || "", 10);
  return Number.isFinite(v) && v >= min ? v : fallback;
}

// What is wrong with the URL's parameters (docs/web-clients.md), each as one line: a value
// that is there must be one the table allows, never silently replaced by the default.
const INT_PARAMS = { big: [1], alert_ms: [300], max_delay: [1000], min_ms: [200], top: [1, 10],
  stale: [1], width: [1], height: [1] };
const CHOICES = { theme: ["dark", "light", "neon"], fx: ["auto", "3d", "2d"], perf: ["0", "1"] };

function paramProblems() {
  const out = [];
  for (const [name, [min, max]] of Object.entries(INT_PARAMS)) {
    const raw = params.get(name);
    if (raw === null || raw === "") continue; // left empty: the default
    const v = Number(raw);
    if (!/^[0-9]+$/.test(raw) || v < min || (max !== undefined && v > max)) {
      out.push(`${name} must be a whole number ${max === undefined ? `of at least ${min}` : `from ${min} to ${max}`}, not "${raw}"`);
    }
  }
  for (const [name, allowed] of Object.entries(CHOICES)) {
    const raw = params.get(name);
    if (raw !== null && raw !== "" && !allowed.includes(raw)) out.push(`${name} must be one of ${allowed.join(", ")}, not "${raw}"`);
  }
  const scale = params.get("scale");
  if (scale !== null && scale !== "" && !(Number(scale) > 0 && Number(scale) < 10)) out.push(`scale must be a number between 0 and 10, not "${scale}"`);
  if ((params.get("creator") || params.get("c")) && (params.get("stream") || params.get("s"))) {
    out.push("give creator or stream, not both");
  }
  return out;
}

// Hooks for tests and benchmarks (read-only view of what the overlay did).
const hooks = {
  opts, state: "loading", stream: null, hint: null, shown: [], hidden: [], frames: [], errors: [],
  // `mode`: "auto" (the URL's fx), or "2d" / "3d" as the creator's animation asks.
  playEffect: (alert, mode) => playBigEffect(alert, !mode || mode === "auto" ? opts.fx : mode),
  mounted: [], // poll / prediction / question widgets per stream, and whether detached
};
window.giftOverlay = hooks;

const root = document.getElementById("overlay");

function setState(s) {
  hooks.state = s;
  root.dataset.state = s;
}

function fail(message) {
  hooks.errors.push(message);
  setState("error");
  root.append(el("div", { class: "error", role: "alert" }, message));
}

function applyLayout() {
  document.body.classList.add(`theme-${["dark", "light", "neon"].includes(opts.theme) ? opts.theme : "dark"}`);
  const w = intParam("width", 0, 1), h = intParam("height", 0, 1);
  if (w) root.style.setProperty("--w", `${w}px`);
  if (h) root.style.setProperty("--h", `${h}px`);
  const scale = Number.parseFloat(params.get("scale") || "1");
  if (scale > 0 && scale < 10) root.style.setProperty("--scale", String(scale));
}

function displayName(u) {
  return u.name || u.handle || u.user_id || "someone";
}

// ------------------------------------------------------------------------------- alerts
let customizer = null; // the creator's settings (customize.js), set in main()

// A round's reward as the winner's alert names it: " (+40 points, round winner badge)".
function rewardText(reward) {
  if (!reward || typeof reward !== "object") return "";
  const parts = [];
  if (Number.isInteger(reward.points) && reward.points > 0) parts.push(`+${fmt(reward.points)} points`);
  if (typeof reward.badge === "string" && reward.badge) parts.push(`${reward.badge.replaceAll("_", " ")} badge`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

function coinsText(n) {
  return `${fmt(n)} coin${n === 1 ? "" : "s"}`;
}

function renderAlert(a, kind) {
  const custom = customizer && customizer.text(kind, a);
  if (custom !== null && custom !== undefined) {
    return el("div", {
      class: `alert panel custom${kind === "big_gift" ? " big" : ""}`, "data-type": a.type,
      "data-kind": kind, "data-event-id": a.event_id || "", "data-user": a.user_id || "",
      "data-coins": a.coins ?? "", "data-test": a.test ? "1" : null,
    }, el("span", { class: "text" }, custom));
  }
  // An alert about the stream, not a viewer (a hype train starting), names nobody.
  const who = a.user_id || a.name || a.handle ? displayName(a) : null;
  let what;
  let amount = null;
  if (a.type === "gift") {
    const units = a.units || a.streak_count || 1;
    what = `sent ${a.gift_name || "a gift"}${units > 1 ? ` x${units}` : ""}`;
    amount = `${coinsText(a.coins)}${a.rank ? ` · #${a.rank}` : ""}`;
  } else if (a.type === "follow") what = "followed";
  else if (a.type === "share") what = "shared the stream";
  else if (a.type === "badge") what = `earned the ${a.badge_name || a.badge} badge`;
  else if (a.type === "goal_reached") {
    return el("div", { class: "alert panel goal-alert", "data-type": a.type, "data-goal-id": a.goal_id },
      el("span", { class: "what" }, `Goal reached${a.title ? `: ${a.title}` : "!"}`),
      el("span", { class: "amount" }, `${fmt(a.progress)} / ${fmt(a.target)} ${a.metric}`));
  } else if (a.type === "challenge_failed") {
    return el("div", { class: "alert panel goal-alert failed", "data-type": a.type, "data-goal-id": a.goal_id },
      el("span", { class: "what" }, `Challenge failed${a.title ? `: ${a.title}` : ""}`),
      el("span", { class: "amount" }, `${fmt(a.progress)} / ${fmt(a.target)} ${a.metric}`));
  } else if (a.type === "throne_claimed") {
    what = "claimed the throne";
    amount = coinsText(a.coins);
  } else if (a.type === "round_ended") {
    what = `won round ${a.round}${rewardText(a.reward)}`;
    amount = coinsText(a.coins);
  } else if (a.type === "hype_started") what = "Hype train started!";
  else if (a.type === "hype_level") {
    what = `Hype train level ${a.level}!`;
    amount = `${fmt(a.coins)} coins in the train`;
  } else what = a.type;
  const big = kind === "big_gift";
  return el("div", {
    class: `alert panel${big ? " big" : ""}`, "data-type": a.type,
    "data-event-id": a.event_id || "", "data-user": a.user_id || "", "data-coins": a.coins ?? "",
    "data-test": a.test ? "1" : null,
  },
  who && el("span", { class: "who" }, who),
  el("span", { class: "what" }, what),
  amount && el("span", { class: "amount" }, amount));
}

// -------------------------------------------------------------------------- top gifters
function renderTop(list, ol) {
  const before = new Map();
  for (const li of ol.children) before.set(li.dataset.user, li.getBoundingClientRect().top);
  const rows = (list || []).slice(0, opts.top);
  const keep = new Set(rows.map((g) => g.user_id));
  for (const li of [...ol.children]) if (!keep.has(li.dataset.user)) li.remove();
  const existing = new Map([...ol.children].map((li) => [li.dataset.user, li]));
  for (const g of rows) {
    let li = existing.get(g.user_id);
    if (!li) {
      li = el("li", { "data-user": g.user_id },
        el("span", { class: "rank" }), el("span", { class: "name" }), el("span", { class: "coins" }));
    }
    li.dataset.rank = g.rank;
    li.dataset.coins = g.coins;
    li.children[0].textContent = `${g.rank}`;
    li.children[1].textContent = displayName(g);
    li.children[2].textContent = fmt(g.coins);
    ol.append(li); // appending in rank order reorders the list
  }
  // FLIP: start each moved row where it was, then let it slide to its new place.
  for (const li of ol.children) {
    const was = before.get(li.dataset.user);
    if (was === undefined) continue;
    const dy = was - li.getBoundingClientRect().top;
    if (!dy) continue;
    li.style.transition = "none";
    li.style.transform = `translateY(${dy}px)`;
    li.getBoundingClientRect();
    li.style.transition = "transform .5s cubic-bezier(.2,.8,.2,1)";
    li.style.transform = "";
  }
}

// --------------------------------------------------------------------------------- goals
function renderGoals(goals, box) {
  const entries = Object.entries(goals || {})
    .filter(([id]) => !opts.goal || id === opts.goal)
    .sort(([a], [b]) => a.localeCompare(b));
  box.classList.toggle("hidden", entries.length === 0);
  const existing = new Map([...box.children].map((n) => [n.dataset.goalId, n]));
  for (const [id, n] of existing) if (!entries.some(([g]) => g === id)) n.remove();
  for (const [id, g] of entries) {
    let node = existing.get(id);
    if (!node) {
      node = el("div", { class: "goal panel", "data-goal-id": id },
        el("div", { class: "label" }, el("span", { class: "title" }), el("span", { class: "value" })),
        el("div", { class: "track" }, el("div", { class: "fill" })));
      box.append(node);
    }
    const pct = g.target > 0 ? Math.min(100, (100 * (g.progress || 0)) / g.target) : 0;
    node.dataset.progress = g.progress || 0;
    node.dataset.target = g.target;
    node.classList.toggle("reached", !!g.reached);
    node.classList.toggle("failed", !!g.failed);
    node.dataset.status = g.reached ? "reached" : g.failed ? "failed" : "running";
    node.querySelector(".title").textContent = g.title || `${g.metric} goal`;
    node.querySelector(".value").textContent =
      `${fmt(g.progress)} / ${fmt(g.target)}${g.failed ? " · failed" : ""}`;
    node.querySelector(".fill").style.width = `${pct}%`;
  }
}

// ---------------------------------------------------------------------------- combo meter
// Live combos come from streams/{id}.combos (provisional, rewritten each rollup). A combo that
// leaves that list has settled: its gift alert carries the final units and coins.
class ComboMeter {
  constructor(box) {
    this.box = box;
    this.items = new Map(); // key -> {node, shown, target, user_id, gift_id, settled}
    this.recentGifts = []; // settled gift alerts of the last seconds, for late matching
  }

  update(combos) {
    const live = new Set();
    for (const c of combos || []) {
      live.add(c.key);
      let it = this.items.get(c.key);
      if (!it) {
        const node = el("div", { class: "combo panel", "data-key": c.key, "data-user": c.user_id },
          el("span", { class: "name" }, `${displayName(c)} · ${c.gift_name || c.gift_id}`),
          el("span", { class: "count" }, "x0"));
        this.box.append(node);
        it = { node, shown: 0, target: 0, user_id: c.user_id, gift_id: c.gift_id, settled: false };
        this.items.set(c.key, it);
      }
      if (it.settled) continue;
      it.target = c.count;
      it.node.dataset.count = c.count;
      it.node.dataset.coins = c.coins;
      this.countUp(it);
    }
    for (const [key, it] of this.items) {
      if (live.has(key) || it.settled || it.gone) continue;
      it.gone = Date.now();
      const match = this.recentGifts.find((a) => a.user_id === it.user_id && a.gift_id === it.gift_id);
      if (match) this.settle(it, match);
      else setTimeout(() => { if (!it.settled) this.fade(key, it); }, 5000);
    }
    this.box.classList.toggle("empty", this.items.size === 0);
  }

  giftAlert(a) {
    this.recentGifts.push(a);
    const cutoff = Date.now() - 10000;
    this.recentGifts = this.recentGifts.filter((g) => g.at >= cutoff).slice(-50);
    for (const it of this.items.values()) {
      if (!it.settled && it.user_id === a.user_id && it.gift_id === a.gift_id) {
        this.settle(it, a);
        return;
      }
    }
  }

  settle(it, a) {
    it.settled = true;
    it.target = a.units || a.streak_count || it.target;
    it.node.classList.add("settled");
    it.node.dataset.settledUnits = it.target;
    it.node.dataset.settledCoins = a.coins;
    this.countUp(it);
    setTimeout(() => {
      for (const [key, other] of this.items) if (other === it) this.fade(key, it);
    }, 4000);
  }

  fade(key, it) {
    it.node.classList.add("fading");
    setTimeout(() => { it.node.remove(); this.items.delete(key); }, 650);
  }

  countUp(it) {
    if (it.animating) return;
    it.animating = true;
    const label = it.node.querySelector(".count");
    const step = () => {
      if (it.shown < it.target) {
        // Catch up within ~0.5 s whatever the jump.
        it.shown = Math.min(it.target, it.shown + Math.max(1, Math.ceil((it.target - it.shown) / 12)));
      } else it.shown = it.target;
      label.textContent = `x${it.shown}`;
      it.node.dataset.shown = it.shown;
      if (it.shown !== it.target) requestAnimationFrame(step);
      else it.animating = false;
    };
    requestAnimationFrame(step);
  }
}

// --------------------------------------------------------------------------------- frames
function recordFrames() {
  let last = performance.now();
  const loop = (t) => {
    hooks.frames.push(t - last);
    last = t;
    if (hooks.frames.length > 100000) hooks.frames.splice(0, 50000);
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}

// ---------------------------------------------------------------------------------- main
// Rules of the alert queue before the creator's settings: the URL's `big` and `alert_ms`.
function baseRules() {
  const r = structuredClone(DEFAULT_RULES);
  r.big_gift.min_coins = opts.big;
  if (opts.alertMs) for (const k of KINDS) r[k].display_ms = opts.alertMs;
  return r;
}

let hintBox = null;
function showHint(text) {
  if (!hintBox) {
    hintBox = el("div", { class: "hint panel", role: "status" });
    root.append(hintBox);
  }
  hintBox.textContent = text;
  hintBox.classList.remove("hidden");
  hooks.hint = text;
}

function clearHint() {
  if (hintBox) hintBox.classList.add("hidden");
  hooks.hint = null;
}

// One stream's listeners: stream document (top, goals, combos) and alert feed. `replay`:
// play the alerts already there (a stream the overlay switched to after loading) instead of
// taking them as the baseline (an OBS source that reloads must not replay old alerts).
function watchStream(db, streamId, replay, ui) {
  const streamRef = doc(db, "streams", streamId);
  ui.topBox.querySelector("ol").replaceChildren();
  ui.topBox.classList.add("hidden");
  ui.goalBox.replaceChildren();
  ui.goalBox.classList.add("hidden");
  ui.comboBox.replaceChildren();
  const meter = new ComboMeter(ui.comboBox);
  const unsubs = [];
  // Poll, prediction, question, battles (poll.js, prediction.js, question.js, battle.js): a
  // fresh box per stream; the old stream's box leaves the page.
  // Their listeners are detached with the stream's others when the overlay switches stream.
  for (const [w, mount] of [["poll", mountPoll], ["prediction", mountPrediction], ["question", mountQuestion],
    ["battle", mountBattle], ["tap_battle", mountTapBattle],
    ["round", mountRound], ["hype", mountHype], ["throne", mountThrone]]) {
    if (!ui.on(w)) continue;
    const box = el("section", { id: `w-${w}`, class: "widget panel" });
    const old = document.getElementById(`w-${w}`);
    if (old) old.replaceWith(box);
    else root.append(box);
    const close = mount(ui.db, streamId, box, fail);
    const rec = { stream: streamId, widget: w, detached: false };
    hooks.mounted.push(rec);
    unsubs.push(() => { close(); rec.detached = true; });
  }
  let moodBox = null;
  if (ui.on("mood")) {
    moodBox = el("section", { id: "w-mood", class: "widget panel hidden" });
    const old = document.getElementById("w-mood");
    if (old) old.replaceWith(moodBox);
    else root.append(moodBox);
  }
  applyMood(root, moodBox, null);
  const offline = () => {
    showHint(`${opts.creator} is offline: the overlay waits for the next stream`);
    ui.topBox.classList.add("hidden");
    ui.goalBox.classList.add("hidden");
    ui.comboBox.replaceChildren();
    setState("idle");
  };
  // Creator-scoped: a pointer entry left behind (decision 060) must not hold the overlay. A
  // stream whose document is gone or says ended is passed over for good; one with no update
  // for `stale` minutes (its end event never came) is passed over while another entry is
  // live, else shown as offline until it updates again. Re-checked every minute.
  let lastUpdate = null;
  const judge = () => {
    if (opts.stream || lastUpdate === null) return false;
    if (Date.now() - lastUpdate <= opts.staleMs) return false;
    if (ui.ended(streamId)) return true;
    offline();
    return true;
  };
  const timer = setInterval(judge, 60000);
  unsubs.push(() => clearInterval(timer));
  // A pointed-to stream whose document is still missing after a grace period is gone (its
  // pointer entry can be written before the stream's first live document).
  let missing = null;
  unsubs.push(() => clearTimeout(missing));
  unsubs.push(onSnapshot(streamRef, (snap) => {
    clearTimeout(missing);
    if (!snap.exists()) {
      if (opts.stream) showHint(`stream "${streamId}" not found (yet): check the stream id in the URL`);
      else missing = setTimeout(() => ui.ended(streamId), 20000);
      setState("waiting");
      return;
    }
    const d = snap.data();
    if (!opts.stream && d.status === "ended") {
      // The pointer still names it (its end and the pointer's change are one commit, so
      // only briefly, or an entry left behind): another live stream of the creator, or wait.
      if (ui.ended(streamId)) return;
      offline();
      return;
    }
    const at = d.updated_at && typeof d.updated_at.toMillis === "function" ? d.updated_at.toMillis() : null;
    lastUpdate = at;
    if (judge()) return;
    clearHint();
    root.dataset.rev = d.rev ?? "";
    applyMood(root, moodBox, d.features && d.features.mood);
    if (ui.on("top")) {
      ui.topBox.classList.toggle("hidden", !(d.top_gifters || []).length);
      renderTop(d.top_gifters, ui.topBox.querySelector("ol"));
    }
    if (ui.on("goal")) renderGoals(d.goals, ui.goalBox);
    if (ui.on("combo")) meter.update(d.combos);
    if (opts.stream) ui.followRules(d.creator_id);
    setState("live");
  }, (e) => fail(`overlay: stream listener: ${e.code || e.message}`)));

  let lastSeq = replay ? 0 : null;
  const alertsQuery = query(collection(streamRef, "alerts"), orderBy("seq", "desc"), limit(20));
  unsubs.push(onSnapshot(alertsQuery, (snap) => {
    const seqs = snap.docs.map((s) => s.data().seq);
    if (lastSeq === null) {
      lastSeq = seqs.length ? Math.max(...seqs) : 0;
      root.dataset.alertsReady = "1";
      return;
    }
    root.dataset.alertsReady = "1";
    const fresh = snap.docs.map((s) => s.data()).filter((d) => d.seq > lastSeq)
      .sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return;
    lastSeq = fresh[fresh.length - 1].seq;
    // `_key` (seq:index) names each item for the benchmark, also those without an event id.
    const items = fresh.flatMap((d) => (d.items || []).map((a, i) => ({ ...a, _key: `${d.seq}:${i}` })));
    const now = Date.now();
    for (const a of items) if (a.type === "gift") meter.giftAlert({ ...a, at: now });
    // Provisional "combo" items are shown by the combo meter, not as pop-ups.
    // Command gifts' actions (actions.js) play in feed order beside the alert queue.
    if (ui.on("alerts")) ui.queue.push(items.filter((a) => a.type !== "combo" && a.type !== "action"));
    if (ui.on("actions")) ui.actions.push(items.filter((a) => a.type === "action"));
  }, (e) => fail(`overlay: alerts listener: ${e.code || e.message}`)));
  return { id: streamId, close: () => unsubs.forEach((u) => u()) };
}

// The stream a creator is live on now: the newest entry of live_pointers/{creator}.streams.
// Streams seen ended (`skip`) are passed over.
function currentStream(pointer, skip = new Set()) {
  const millis = (t) => (t && typeof t.toMillis === "function" ? t.toMillis() : 0);
  const live = Object.values((pointer && pointer.streams) || {})
    .filter((s) => s && s.stream_id && !skip.has(s.stream_id));
  live.sort((a, b) => millis(b.since) - millis(a.since)
    || String(b.started_at || "").localeCompare(String(a.started_at || ""))
    || b.stream_id.localeCompare(a.stream_id));
  return live[0] || null;
}

async function main() {
  applyLayout();
  if (!opts.creator && !opts.stream) {
    return fail("overlay: add ?creator=<creator id> (or ?stream=<stream id>) to the URL");
  }
  for (const [name, v] of [["creator", opts.creator], ["stream", opts.stream]]) {
    if (v && !validId(v)) return fail(`overlay: "${v}" is not a valid ${name} id`);
  }
  const unknown = opts.widgets.filter((w) => !WIDGETS.includes(w));
  if (unknown.length) return fail(`overlay: unknown widgets: ${unknown.join(", ")}`);
  const problems = paramProblems();
  if (problems.length) return fail(`overlay: ${problems.join("; ")}`);
  if (opts.perf) recordFrames();
  let config;
  try {
    config = await loadConfig();
  } catch (e) {
    return fail(`overlay: cannot load configuration (${e.message})`);
  }
  const { db } = initFirebase(config);
  const on = (w) => opts.widgets.includes(w);

  const alertsBox = el("section", { id: "w-alerts", class: "widget" });
  const topBox = el("section", { id: "w-top", class: "widget panel hidden" },
    el("h3", {}, "Top gifters"), el("ol"));
  const goalBox = el("section", { id: "w-goal", class: "widget hidden" });
  const comboBox = el("section", { id: "w-combo", class: "widget" });
  const chatBox = el("section", { id: "w-chat", class: "widget panel", "data-available": "false" },
    el("span", { class: "note" }, "chat: not available"));
  for (const [w, box] of [["alerts", alertsBox], ["top", topBox], ["goal", goalBox],
    ["combo", comboBox], ["chat", chatBox]]) {
    if (on(w)) root.append(box);
  }

  const queue = new AlertQueue(alertsBox, hooks, {
    maxDelayMs: opts.maxDelayMs,
    minTurnMs: opts.minTurnMs,
    render: renderAlert,
    onBig: (item, mode) => hooks.playEffect(item, mode),
    present: (kind, items, node, text) => customizer.present(kind, items, node, text),
    condensedText: (values) => customizer.condensedText(values),
  });
  queue.setRules(null, baseRules());
  hooks.rules = queue.rules;
  if (on("alerts")) warmUp(opts.fx);

  // The creator's overlay settings (creators/{id}.overlay), applied live; uploaded media
  // come from the api function (GET /creators/{id}/overlay/media/{file}).
  let rulesCreator = null;
  let unsubRules = null;
  const api = config.functions && config.functions.api;
  customizer = new Customizer(hooks, (file) => (api && rulesCreator
    ? `${api}/creators/${encodeURIComponent(rulesCreator)}/overlay/media/${file}` : null));
  customizer.apply(null);
  const followRules = (creatorId) => {
    if (!creatorId || creatorId === rulesCreator) return;
    if (unsubRules) unsubRules();
    rulesCreator = creatorId;
    let lastTest = null; // the first snapshot's test alert is old: only later ones show
    unsubRules = onSnapshot(doc(db, "creators", creatorId), (snap) => {
      const d = snap.data() || {};
      const overlay = d.overlay || {};
      queue.setRules(overlay.alerts, baseRules());
      hooks.rules = queue.rules;
      customizer.apply(overlay);
      const t = d.overlay_test;
      const id = (t && typeof t.test_id === "string" && t.test_id) || "";
      if (lastTest !== null && id && id !== lastTest && t.item && on("alerts")) {
        // A test alert from the dashboard: through the same queue and settings as real ones.
        queue.push([{ ...t.item, test: true, event_id: `test:${id}`, _key: `test:${id}` }]);
      }
      lastTest = id;
      root.dataset.settingsReady = "1";
    }, (e) => hooks.errors.push(`creator settings: ${e.code || e.message}`));
  };

  // Creator-scoped: streams the pointer still names but whose document says ended; the
  // newest other entry is shown instead (ended() re-picks; true when another was attached).
  const endedStreams = new Set();
  let pointer = null;
  let pick = () => false;
  const ended = (streamId) => {
    endedStreams.add(streamId);
    return pick();
  };
  const actionsOn = on("alerts") || on("actions"); // an alerts overlay runs command gifts
  const actions = actionsOn
    ? new ActionQueue(root, hooks, customizer, (item) => hooks.playEffect(item, "auto")) : null;
  const ui = { db, on: (w) => (w === "actions" ? actionsOn : on(w)), queue, actions, topBox, goalBox, comboBox, followRules, ended };
  let view = null;
  const attach = (streamId, replay) => {
    if (view && view.id === streamId) return;
    if (view) view.close();
    view = watchStream(db, streamId, replay, ui);
    hooks.stream = streamId;
    root.dataset.stream = streamId;
  };

  if (opts.stream) {
    attach(opts.stream, false);
    return;
  }

  // Creator-scoped: follow the pointer the rollup keeps (docs/firestore.md, live_pointers).
  followRules(opts.creator);
  let loaded = false;
  pick = () => {
    const cur = currentStream(pointer, endedStreams);
    if (!cur || (view && view.id === cur.stream_id)) return false;
    clearHint();
    attach(cur.stream_id, true);
    return true;
  };
  onSnapshot(doc(db, "live_pointers", opts.creator), (snap) => {
    pointer = snap.data();
    const cur = currentStream(pointer, endedStreams);
    if (cur) {
      clearHint();
      attach(cur.stream_id, loaded);
    } else {
      if (view) view.close();
      view = null;
      hooks.stream = null;
      delete root.dataset.stream;
      root.dataset.alertsReady = "1";
      topBox.classList.add("hidden");
      goalBox.classList.add("hidden");
      comboBox.replaceChildren();
      setState("idle");
      showHint(snap.exists()
        ? `${opts.creator} is offline: the overlay waits for the next stream`
        : `no stream seen yet for creator "${opts.creator}": waiting (check the creator id in the URL if this stays)`);
    }
    loaded = true;
  }, (e) => fail(`overlay: live pointer listener: ${e.code || e.message}`));
}

main();
