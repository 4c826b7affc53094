// Poll widget of the overlay (docs/engagement.md): bars of the stream's active poll, then the
// final result of the last one. Reads streams/{id}/interactions/current (which poll is live)
// and streams/{id}/polls/{poll_id} (counts, published at most once a second; exact once
// frozen). A gift-weighted poll's bar is its votes plus its gift weight (coins; `weights`,
// written by the stream's rollup). Every user string reaches the DOM as a text node (`el`).
import { doc, onSnapshot } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";
import "./poll.css";

export function mountPoll(db, streamId, box, onError) {
  let pollId = null;
  let unsubscribe = null;
  box.classList.add("hidden");

  function render(p) {
    if (!p) {
      box.classList.add("hidden");
      box.replaceChildren();
      return;
    }
    const counts = p.counts || [];
    const weights = p.gift_weighted ? p.weights || [] : [];
    const scores = (p.choices || []).map((_, i) => (counts[i] || 0) + (weights[i] || 0));
    const total = scores.reduce((a, b) => a + b, 0);
    const voters = counts.reduce((a, b) => a + b, 0);
    box.dataset.poll = p.poll_id;
    box.dataset.status = p.frozen && (!p.gift_weighted || p.weights_final) ? "final" : p.status;
    box.dataset.voters = String(voters);
    const rows = (p.choices || []).map((c, i) => {
      const n = scores[i];
      const pct = total ? Math.round((100 * n) / total) : 0;
      return el("li", {
        class: "bar", "data-choice": i + 1, "data-count": counts[i] || 0, "data-weight": weights[i] || 0,
        "data-score": n,
      },
        el("span", { class: "label" }, `${i + 1}. ${c}`),
        el("span", { class: "value" }, `${fmt(n)} · ${pct}%`),
        el("span", { class: "fill", style: { width: `${pct}%` } }));
    });
    const note = p.frozen ? "final result" : p.status === "open" ? "vote: !vote N in chat" : "closing…";
    const gifts = p.gift_weighted ? ` + ${fmt(total - voters)} gift coins` : "";
    box.replaceChildren(el("h3", {}, p.question), el("ol", {}, rows),
      el("span", { class: "note" }, `${note} · ${fmt(voters)} votes${gifts}`));
    box.classList.remove("hidden");
  }

  function follow(id) {
    if (id === pollId) return;
    pollId = id;
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    if (!id) return render(null);
    unsubscribe = onSnapshot(doc(db, "streams", streamId, "polls", id),
      (snap) => render(snap.exists() ? snap.data() : null),
      (e) => onError(`overlay: poll listener: ${e.code || e.message}`));
  }

  const unsubCurrent = onSnapshot(doc(db, "streams", streamId, "interactions", "current"), (snap) => {
    const d = snap.data() || {};
    follow((d.poll && d.poll.poll_id) || d.last_poll_id || null);
  }, (e) => onError(`overlay: interactions listener: ${e.code || e.message}`));
  // Detaches every listener (the overlay switched to another stream).
  return () => {
    unsubCurrent();
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
  };
}
