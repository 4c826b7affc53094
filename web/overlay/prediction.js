// Prediction widget (docs/engagement.md): outcomes of the latest prediction with their pools
// and odds (pool / outcome pool), from streams/{id}/predictions/{id}. Text nodes only (`el`).
import { doc, onSnapshot } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";
import "./poll.css";

export function mountPrediction(db, streamId, box, onError) {
  let current = null;
  let unsubscribe = null;
  box.classList.add("hidden");

  function render(p) {
    if (!p) return box.classList.add("hidden");
    const pools = p.pools || [];
    const total = pools.reduce((a, b) => a + b, 0);
    box.dataset.prediction = p.prediction_id;
    box.dataset.status = p.status;
    const rows = (p.outcomes || []).map((o, i) => {
      const pool = pools[i] || 0;
      const odds = pool ? `1:${(total / pool).toFixed(2)}` : "–";
      const won = p.winner === i + 1;
      return el("li", { class: `bar${won ? " won" : ""}`, "data-outcome": i + 1, "data-pool": pool },
        el("span", { class: "label" }, `${i + 1}. ${o}`),
        el("span", { class: "value" }, `${fmt(pool)} pts · ${odds}`),
        el("span", { class: "fill", style: { width: `${total ? Math.round((100 * pool) / total) : 0}%` } }));
    });
    box.replaceChildren(el("h3", {}, p.title), el("ol", {}, rows),
      el("span", { class: "note" }, p.status));
    box.classList.remove("hidden");
  }

  const unsubCurrent = onSnapshot(doc(db, "streams", streamId, "interactions", "current"), (snap) => {
    const id = (snap.data() || {}).prediction_id || null;
    if (id === current) return;
    current = id;
    if (unsubscribe) unsubscribe();
    unsubscribe = id ? onSnapshot(doc(db, "streams", streamId, "predictions", id),
      (s) => render(s.exists() ? s.data() : null),
      (e) => onError(`overlay: prediction listener: ${e.code || e.message}`)) : null;
    if (!id) render(null);
  }, (e) => onError(`overlay: interactions listener: ${e.code || e.message}`));
  // Detaches every listener (the overlay switched to another stream).
  return () => {
    unsubCurrent();
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
  };
}
