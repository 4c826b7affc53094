// Round, hype train and throne widgets of the overlay (docs/engagement.md, "Timed rounds",
// "Hype train", "Throne"). Each follows its part of the stream's live document
// (streams/{id}.features.rounds / .hype / .throne), which the stream's rollup writes from the
// exactly-once event log; the countdowns tick here from the document's `ends_at_ts`.
// Every user string reaches the DOM as a text node (`el`).
import { doc, onSnapshot } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";
import "./show.css";

const who = (u) => (u && (u.name || u.handle || u.user_id)) || "—";

function clock(secs) {
  const s = Math.max(0, Math.ceil(secs));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// One listener per widget on the stream document; `render(view, box)` gets its feature's view.
// Returns the close function main.js calls when the overlay leaves the stream (a creator's
// next LIVE): the listener stops, the countdown timer with it, and the box is emptied.
function follow(db, streamId, box, feature, render, onError) {
  box.classList.add("hidden");
  let timer = null;
  const unsubscribe = onSnapshot(doc(db, "streams", streamId), (snap) => {
    const v = ((snap.data() || {}).features || {})[feature];
    if (timer) clearInterval(timer);
    timer = null;
    if (!v) {
      box.classList.add("hidden");
      box.replaceChildren();
      return;
    }
    const tick = render(v, box);
    if (tick) {
      tick();
      timer = setInterval(tick, 250);
    }
    box.classList.remove("hidden");
  }, (e) => onError(`overlay: ${feature} listener: ${e.code || e.message}`));
  return () => {
    unsubscribe();
    if (timer) clearInterval(timer);
    timer = null;
    box.classList.add("hidden");
    box.replaceChildren();
  };
}

function renderRound(v, box) {
  box.dataset.status = v.status;
  if (v.status === "idle") {
    const last = v.last || {};
    box.dataset.round = last.round || "";
    box.dataset.winner = (last.winner && last.winner.user_id) || "";
    box.replaceChildren(
      el("div", { class: "head" }, el("span", { class: "title" }, `Round ${last.round} winner`)),
      el("div", { class: "winner" }, `${who(last.winner)} · ${fmt((last.winner || {}).coins || 0)}`));
    return null;
  }
  const rows = (v.leaderboard || []).slice(0, 5);
  box.dataset.round = v.round;
  box.dataset.board = rows.map((r) => `${r.user_id}:${r.coins}`).join(",");
  box.dataset.winner = (v.last && v.last.winner && v.last.winner.user_id) || "";
  const time = el("span", { class: "time" }, "");
  box.replaceChildren(...[
    el("div", { class: "head" },
      el("span", { class: "title" }, `Round ${v.round}${v.rounds ? ` / ${v.rounds}` : ""}`), time),
    el("ol", {}, ...rows.map((r) => el("li", { "data-user": r.user_id },
      el("span", { class: "who" }, who(r)), el("span", { class: "coins" }, fmt(r.coins))))),
    rows.length ? null : el("div", { class: "empty" }, "send a gift to lead this round"),
    v.last && v.last.winner
      ? el("div", { class: "last" }, `Round ${v.last.round}: ${who(v.last.winner)} won`) : null,
  ].filter(Boolean));
  return () => {
    const left = v.ends_at_ts - Date.now() / 1000;
    time.textContent = left > 0 ? clock(left) : "settling";
    box.dataset.left = String(Math.max(0, Math.ceil(left)));
  };
}

function renderHype(v, box) {
  box.dataset.active = String(Boolean(v.active));
  if (!v.active) {
    const last = v.last || {};
    box.dataset.level = last.level || "";
    box.dataset.coins = last.coins || 0;
    box.replaceChildren(el("div", { class: "head" },
      el("span", { class: "title" }, `Hype train ended at level ${last.level}`),
      el("span", { class: "coins" }, `${fmt(last.coins || 0)} coins`)));
    return null;
  }
  box.dataset.level = v.level;
  box.dataset.coins = v.coins;
  const span = v.next_at ? v.next_at - v.level_from : 1;
  const pct = v.next_at ? Math.min(100, Math.round((100 * (v.coins - v.level_from)) / span)) : 100;
  const time = el("span", { class: "time" }, "");
  box.replaceChildren(
    el("div", { class: "head" },
      el("span", { class: "title" }, `Hype train · level ${v.level}`), time),
    el("div", { class: "bar" }, el("span", { class: "fill", style: { width: `${pct}%` } })),
    el("div", { class: "meta" },
      el("span", { class: "coins" }, v.next_at ? `${fmt(v.coins)} / ${fmt(v.next_at)}` : `${fmt(v.coins)} · max level`),
      el("span", { class: "top" }, v.top && v.top[0] ? `top: ${who(v.top[0])}` : "")));
  return () => {
    const left = v.ends_at_ts - Date.now() / 1000;
    time.textContent = clock(left);
    box.dataset.left = String(Math.max(0, Math.ceil(left)));
  };
}

function renderThrone(v, box) {
  const h = v.holder || {};
  box.dataset.holder = h.user_id || "";
  box.dataset.coins = h.coins || 0;
  box.replaceChildren(
    el("span", { class: "crown", "aria-hidden": "true" }, "♛"),
    el("span", { class: "who" }, who(h)),
    el("span", { class: "coins" }, fmt(h.coins || 0)));
  return null;
}

export const mountRound = (db, id, box, onError) => follow(db, id, box, "rounds", renderRound, onError);
export const mountHype = (db, id, box, onError) => follow(db, id, box, "hype", renderHype, onError);
export const mountThrone = (db, id, box, onError) => follow(db, id, box, "throne", renderThrone, onError);
