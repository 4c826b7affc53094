// Battle widgets of the overlay (docs/engagement.md, "Battles", "Tap battles").
// battle: follows streams/{id}.features.battle (which battle this stream is in) and listens to
// battles/{battle_id}, the document both streams' rollups write their side of, so the two
// creators' overlays show the same scores. This stream's side is on the left. The result is
// derived from the document exactly as domain/battles.py `winner` does: only once both sides
// are frozen, more points wins, equal points is a draw. Avatars are initials (events carry no
// picture). tap_battle: red and blue bars from streams/{id}.features.tap_battle.
// Every user string reaches the DOM as a text node (`el`).
import { doc, onSnapshot } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";
import "./battle.css";

function avatar(label) {
  const letter = (String(label || "?").replace(/^@/, "")[0] || "?").toUpperCase();
  return el("span", { class: "avatar", "aria-hidden": "true" }, letter);
}

export function battleResult(sides) {
  const ids = Object.keys(sides || {}).sort();
  if (ids.length !== 2 || !ids.every((s) => sides[s].frozen)) return null;
  const [a, b] = ids.map((s) => sides[s].score || 0);
  if (a === b) return "draw";
  return a > b ? ids[0] : ids[1];
}

function sideBox(streamId, side, creator, cls) {
  const mvp = side && side.mvp;
  return el("div", { class: `side ${cls}`, "data-stream": streamId, "data-score": side ? side.score : 0 },
    avatar(creator),
    el("span", { class: "who" }, creator || streamId),
    el("span", { class: "score" }, fmt(side ? side.score : 0)),
    el("span", { class: "mvp" }, mvp ? `MVP ${mvp.name || mvp.handle || mvp.user_id} · ${fmt(mvp.points)}` : "MVP —"));
}

export function mountBattle(db, streamId, box, onError) {
  let battleId = null;
  let unsubscribe = null;
  box.classList.add("hidden");

  function render(b) {
    if (!b || b.status !== "accepted") {
      box.classList.add("hidden");
      box.replaceChildren();
      return;
    }
    const sides = b.sides || {};
    const i = (b.streams || []).indexOf(streamId);
    const other = (b.streams || [])[1 - i];
    const mine = sides[streamId];
    const theirs = sides[other];
    const a = mine ? mine.score : 0;
    const c = theirs ? theirs.score : 0;
    const pct = a + c ? Math.round((100 * a) / (a + c)) : 50;
    const result = battleResult(sides);
    box.dataset.battle = b.battle_id;
    box.dataset.scores = `${a}:${c}`;
    box.dataset.result = result || "";
    box.dataset.status = result ? "final" : (mine && mine.phase) || "upcoming";
    const note = result === null
      ? `${(mine && mine.phase) || "upcoming"} · ends ${new Date(b.end).toLocaleTimeString("en-GB")}`
      : result === "draw" ? "draw" : result === streamId ? "won" : "lost";
    box.replaceChildren(
      el("div", { class: "sides" },
        sideBox(streamId, mine, (b.creators || [])[i], "mine"),
        el("span", { class: "vs" }, "VS"),
        sideBox(other, theirs, (b.creators || [])[1 - i], "theirs")),
      el("div", { class: "bar" }, el("span", { class: "fill", style: { width: `${pct}%` } })),
      el("span", { class: "note" }, note));
    box.classList.remove("hidden");
  }

  function follow(id) {
    if (id === battleId) return;
    battleId = id;
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    if (!id) return render(null);
    unsubscribe = onSnapshot(doc(db, "battles", id),
      (snap) => render(snap.exists() ? snap.data() : null),
      (e) => onError(`overlay: battle listener: ${e.code || e.message}`));
  }

  const unsubPointer = onSnapshot(doc(db, "streams", streamId), (snap) => {
    const f = ((snap.data() || {}).features || {}).battle;
    follow(f ? f.battle_id : null);
  }, (e) => onError(`overlay: battle pointer listener: ${e.code || e.message}`));
  // Detaches every listener (the overlay switched to another stream).
  return () => {
    unsubPointer();
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
  };
}

export function mountTapBattle(db, streamId, box, onError) {
  box.classList.add("hidden");
  // The returned function detaches the listener (the overlay switched to another stream).
  return onSnapshot(doc(db, "streams", streamId), (snap) => {
    const t = ((snap.data() || {}).features || {}).tap_battle;
    if (!t) {
      box.classList.add("hidden");
      return;
    }
    const red = t.red.points;
    const blue = t.blue.points;
    const pct = red + blue ? Math.round((100 * red) / (red + blue)) : 50;
    box.dataset.status = t.frozen ? "final" : t.phase;
    box.dataset.scores = `${red}:${blue}`;
    box.dataset.winner = t.winner || "";
    const note = t.frozen
      ? (t.winner === "draw" ? "draw" : `${t.winner} wins`)
      : t.team_mode === "command" ? "join: !team red / !team blue" : t.phase;
    box.replaceChildren(
      el("div", { class: "sides" },
        el("span", { class: "team red" }, `Red ${fmt(red)}`),
        el("span", { class: "team blue" }, `Blue ${fmt(blue)}`)),
      el("div", { class: "bar" }, el("span", { class: "fill", style: { width: `${pct}%` } })),
      el("span", { class: "note" }, note));
    box.classList.remove("hidden");
  }, (e) => onError(`overlay: tap battle listener: ${e.code || e.message}`));
}
