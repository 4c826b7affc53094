// Dashboard controls for live polls (docs/engagement.md): open a poll on the selected stream,
// watch its counts (streams/{id}/polls/{poll}), close it. Writes go through the api function
// with the creator's ID token; the counts come from the public poll document.
import { doc, onSnapshot } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";

export function mountPolls(box, { db, stream, api, unsub }) {
  const say = el("p", { id: "poll-status", class: "status", role: "status" });
  const question = el("input", { id: "poll-question", maxlength: "200", placeholder: "Next game?" });
  const choices = el("input", { id: "poll-choices", placeholder: "Chess, Go, Poker" });
  const duration = el("input", { id: "poll-duration", type: "number", min: "15", max: "1800",
    placeholder: "(close by hand)" });
  const current = el("div", { id: "poll-current" });
  let pollId = null;
  let pollUnsub = null;

  async function open(ev) {
    ev.preventDefault();
    const body = { question: question.value.trim(),
      choices: choices.value.split(",").map((c) => c.trim()).filter(Boolean) };
    const secs = Number.parseInt(duration.value, 10);
    if (Number.isFinite(secs)) body.duration_s = secs;
    try {
      const p = await api("api", `/streams/${encodeURIComponent(stream)}/polls`,
        { method: "POST", body });
      say.textContent = `Poll ${p.poll_id} open: viewers vote with !vote N in chat or in the app.`;
      say.className = "status ok";
    } catch (e) {
      say.textContent = `Poll not opened: ${e.message}`;
      say.className = "status error";
    }
  }

  async function close() {
    try {
      await api("api", `/streams/${encodeURIComponent(stream)}/polls/${pollId}/close`,
        { method: "POST" });
      say.textContent = "Poll closed: the result is final in a few seconds.";
      say.className = "status ok";
    } catch (e) {
      say.textContent = `Poll not closed: ${e.message}`;
      say.className = "status error";
    }
  }

  function render(p) {
    if (!p) return current.replaceChildren(el("p", { class: "muted" }, "No poll yet."));
    const counts = p.counts || [];
    current.dataset.poll = p.poll_id;
    current.dataset.status = p.frozen ? "final" : p.status;
    current.replaceChildren(
      el("p", {}, p.question, " ", el("span", { class: "badge" }, p.frozen ? "final" : p.status)),
      el("ul", { class: "list" }, ...(p.choices || []).map((c, i) => el("li",
        { "data-choice": i + 1, "data-count": counts[i] || 0 }, `${i + 1}. ${c}: ${fmt(counts[i] || 0)}`))),
      p.status === "open"
        ? el("button", { type: "button", id: "poll-close", onclick: close }, "Close poll") : null);
  }

  box.replaceChildren(
    el("form", { id: "poll-form", class: "inline", onsubmit: open },
      el("label", {}, "Question ", question), el("label", {}, "Choices ", choices),
      el("label", {}, "Seconds ", duration),
      el("button", { type: "submit", id: "poll-submit" }, "Open poll")),
    say, current);
  render(null);
  unsub.push(onSnapshot(doc(db, "streams", stream, "interactions", "current"), (snap) => {
    const d = snap.data() || {};
    const id = (d.poll && d.poll.poll_id) || d.last_poll_id || null;
    if (id === pollId) return;
    pollId = id;
    if (pollUnsub) pollUnsub();
    pollUnsub = id ? onSnapshot(doc(db, "streams", stream, "polls", id),
      (s) => render(s.exists() ? s.data() : null)) : null;
    if (!id) render(null);
  }));
  unsub.push(() => pollUnsub && pollUnsub());
}
