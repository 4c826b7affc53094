// The mood layer on the overlay (docs/engagement.md, "Mood"): streams/{id}.features.mood names
// the stream's mood (hype, love, laugh, calm; the backend applies the hysteresis). The overlay
// root carries it as data-mood, which mood.css turns into a tint and an accent colour for every
// widget; the "mood" widget shows a badge with the mood and its score.
import { el, fmt } from "../shared/firebase.js";
import "./mood.css";

const LABELS = { hype: "🔥 Hype", love: "❤️ Love", laugh: "😂 Laugh", calm: "😌 Calm" };

export function applyMood(root, box, view) {
  const mood = (view && LABELS[view.mood] && view.mood) || "calm";
  root.dataset.mood = mood;
  if (!box) return;
  if (!view) {
    box.classList.add("hidden");
    return;
  }
  const score = (view.scores && view.scores[mood]) || 0;
  box.dataset.mood = mood;
  box.replaceChildren(
    el("span", { class: "mood-label" }, LABELS[mood]),
    el("span", { class: "mood-score" }, fmt(score)));
  box.classList.remove("hidden");
}
