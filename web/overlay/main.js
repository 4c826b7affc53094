// The OBS overlay: live state of one stream through Firestore listeners (docs/firestore.md).
//
// URL parameters (docs/web-clients.md):
//   stream=<id>            required
//   widgets=alerts,top,goal,combo,chat,poll,prediction,question   (default alerts,top,goal,combo)
//   theme=dark|light|neon  width=<px> height=<px> scale=<font scale>
//   big=<coins>            gifts worth at least this get the big effect (default 100)
//   fx=auto|3d|2d          big-gift effect: three.js when WebGL works (auto), or forced
//   alert_ms=<ms>          how long one alert stays when the queue is short (default 4000)
//   top=<n>                top gifters shown (default 5, at most 10)
//   goal=<goal id>         show only this goal
//   perf=1                 record frame times in window.giftOverlay.frames (benchmarks)
//
// Every string from users (names, handles, gift names, goal titles) reaches the DOM as a text
// node: `el()` never parses HTML.
import {
  collection, doc, limit, onSnapshot, orderBy, query,
} from "firebase/firestore";
import { el, fmt, initFirebase, loadConfig } from "../shared/firebase.js";
import { playBigEffect, warmUp } from "./effects.js";
import { mountPoll } from "./poll.js";
import { mountPrediction } from "./prediction.js";
import { mountQuestion } from "./question.js";

const WIDGETS = ["alerts", "top", "goal", "combo", "chat", "poll", "prediction", "question"];
const params = new URLSearchParams(location.search);
const opts = {
  stream: params.get("stream") || params.get("s") || "",
  widgets: (params.get("widgets") || "alerts,top,goal,combo").split(",").map((w) => w.trim()),
  theme: params.get("theme") || "dark",
  big: intParam("big", 100, 1),
  fx: params.get("fx") || "auto",
  alertMs: intParam("alert_ms", 4000, 300),
  top: Math.min(intParam("top", 5, 1), 10),
  goal: params.get("goal") || null,
  perf: params.get("perf") === "1",
};

function intParam(name, fallback, min) {
  const v = Number.parseInt(params.get(name) || "", 10);
  return Number.isFinite(v) && v >= min ? v : fallback;
}

// Hooks for tests and benchmarks (read-only view of what the overlay did).
const hooks = {
  opts, state: "loading", shown: [], frames: [], errors: [],
  playEffect: (alert) => playBigEffect(alert, opts.fx), // lets tests capture the effect
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
class AlertQueue {
  constructor(box) {
    this.box = box;
    this.queue = [];
    this.running = false;
  }

  push(items) {
    this.queue.push(...items);
    // A burst must not back up for minutes: past 60 waiting, drop the cheapest ones.
    if (this.queue.length > 60) {
      const keep = [...this.queue].sort((a, b) => (b.coins || 0) - (a.coins || 0)).slice(0, 60);
      const set = new Set(keep);
      this.queue = this.queue.filter((a) => set.has(a));
    }
    if (!this.running) this.run();
  }

  async run() {
    this.running = true;
    while (this.queue.length) {
      const item = this.queue.shift();
      // Shorter turns while alerts are waiting, never shorter than 600 ms.
      const ms = Math.max(600, Math.round(opts.alertMs / (1 + this.queue.length / 3)));
      const node = renderAlert(item);
      this.box.replaceChildren(node);
      const seen = { event_id: item.event_id || null, type: item.type, at: Date.now() };
      hooks.shown.push(seen);
      if (node.classList.contains("big")) {
        node.dataset.fx = seen.fx = await playBigEffect(item, opts.fx);
      }
      await sleep(ms);
      node.classList.add("leaving");
      await sleep(300);
      node.remove();
    }
    this.running = false;
  }
}

function renderAlert(a) {
  const who = displayName(a);
  let what;
  let amount = null;
  if (a.type === "gift") {
    const units = a.units || a.streak_count || 1;
    what = `sent ${a.gift_name || "a gift"}${units > 1 ? ` x${units}` : ""}`;
    amount = `${fmt(a.coins)} coins${a.rank ? ` · #${a.rank}` : ""}`;
  } else if (a.type === "follow") what = "followed";
  else if (a.type === "share") what = "shared the stream";
  else if (a.type === "goal_reached") {
    return el("div", { class: "alert panel goal-alert", "data-type": a.type, "data-goal-id": a.goal_id },
      el("span", { class: "what" }, "Goal reached!"),
      el("span", { class: "amount" }, `${fmt(a.progress)} / ${fmt(a.target)} ${a.metric}`));
  } else what = a.type;
  const big = a.type === "gift" && (a.coins || 0) >= opts.big;
  return el("div", {
    class: `alert panel${big ? " big" : ""}`, "data-type": a.type,
    "data-event-id": a.event_id || "", "data-user": a.user_id || "", "data-coins": a.coins ?? "",
  },
  el("span", { class: "who" }, who),
  el("span", { class: "what" }, what),
  amount && el("span", { class: "amount" }, amount));
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
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
    node.querySelector(".title").textContent = g.title || `${g.metric} goal`;
    node.querySelector(".value").textContent = `${fmt(g.progress)} / ${fmt(g.target)}`;
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
async function main() {
  applyLayout();
  if (!opts.stream) return fail("overlay: add ?stream=<stream id> to the URL");
  const unknown = opts.widgets.filter((w) => !WIDGETS.includes(w));
  if (unknown.length) return fail(`overlay: unknown widgets: ${unknown.join(", ")}`);
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

  if (on("poll")) {
    const pollBox = el("section", { id: "w-poll", class: "widget panel" });
    root.append(pollBox);
    mountPoll(db, opts.stream, pollBox, fail); // poll.js: bars of the active poll
  }
  for (const [w, mount] of [["prediction", mountPrediction], ["question", mountQuestion]]) {
    if (!on(w)) continue;
    const box = el("section", { id: `w-${w}`, class: "widget panel" });
    root.append(box);
    mount(db, opts.stream, box, fail); // prediction.js, question.js
  }

  const streamRef = doc(db, "streams", opts.stream);
  const meter = new ComboMeter(comboBox);
  onSnapshot(streamRef, (snap) => {
    const d = snap.data() || {};
    root.dataset.rev = d.rev ?? "";
    if (on("top")) {
      topBox.classList.toggle("hidden", !(d.top_gifters || []).length);
      renderTop(d.top_gifters, topBox.querySelector("ol"));
    }
    if (on("goal")) renderGoals(d.goals, goalBox);
    if (on("combo")) meter.update(d.combos);
    setState("live");
  }, (e) => fail(`overlay: stream listener: ${e.code || e.message}`));

  // Alerts: the newest 20 documents; only those written after the page loaded are played
  // (an OBS source reloading must not replay old alerts).
  const queue = new AlertQueue(alertsBox);
  if (on("alerts")) warmUp(opts.fx);
  let lastSeq = null;
  const alertsQuery = query(collection(streamRef, "alerts"), orderBy("seq", "desc"), limit(20));
  onSnapshot(alertsQuery, (snap) => {
    const seqs = snap.docs.map((s) => s.data().seq);
    if (lastSeq === null) {
      lastSeq = seqs.length ? Math.max(...seqs) : 0;
      root.dataset.alertsReady = "1";
      return;
    }
    const fresh = snap.docs.map((s) => s.data()).filter((d) => d.seq > lastSeq)
      .sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return;
    lastSeq = fresh[fresh.length - 1].seq;
    const items = fresh.flatMap((d) => d.items || []);
    const now = Date.now();
    for (const a of items) if (a.type === "gift") meter.giftAlert({ ...a, at: now });
    // Provisional "combo" items are shown by the combo meter, not as pop-ups.
    if (on("alerts")) queue.push(items.filter((a) => a.type !== "combo"));
  }, (e) => fail(`overlay: alerts listener: ${e.code || e.message}`));
}

main();
