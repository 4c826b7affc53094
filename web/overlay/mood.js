// The mood layer on the overlay (docs/engagement.md, "Mood"): streams/{id}.features.mood names
// the stream's mood (hype, love, laugh, calm; the backend applies the hysteresis). The overlay
// root carries it as data-mood, which mood.css turns into a tint and an accent colour for every
// widget; the "mood" widget shows a badge with the mood and its score. The scores are as of the
// last event (`at`); the badge decays its score by `half_life_s` between events, once a second,
// as the backend's own clock does (decision 096).
import { el, fmt } from "../shared/firebase.js";
import "./mood.css";

const LABELS = { hype: "🔥 Hype", love: "❤️ Love", laugh: "😂 Laugh", calm: "😌 Calm" };

// The score `view` gave at its `at`, decayed to `nowMs`.
export function decayedScore(view, mood, nowMs) {
  const score = (view.scores && view.scores[mood]) || 0;
  const at = Date.parse(view.at || "");
  const half = Number(view.half_life_s);
  if (!Number.isFinite(at) || !(half > 0)) return score;
  const age = Math.max(0, (nowMs - at) / 1000);
  return Math.round(score * 2 ** (-age / half));
}

export function applyMood(root, box, view) {
  const mood = (view && LABELS[view.mood] && view.mood) || "calm";
  root.dataset.mood = mood;
  if (!box) return;
  clearInterval(box._decay);
  if (!view) {
    box.classList.add("hidden");
    return;
  }
  box.dataset.mood = mood;
  const value = el("span", { class: "mood-score" }, "");
  const show = () => {
    if (!box.isConnected && box._decay) return clearInterval(box._decay); // replaced: a new stream
    const score = decayedScore(view, mood, Date.now());
    value.textContent = fmt(score);
    box.dataset.score = String(score);
  };
  show();
  box._decay = setInterval(show, 1000);
  box.replaceChildren(el("span", { class: "mood-label" }, LABELS[mood]), value);
  box.classList.remove("hidden");
}
