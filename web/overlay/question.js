// Current-question widget (docs/engagement.md, Q&A): the question the creator put on screen,
// from streams/{id}/interactions/current.question. Text nodes only (`el`).
import { doc, onSnapshot } from "firebase/firestore";
import { el } from "../shared/firebase.js";
import "./poll.css";

export function mountQuestion(db, streamId, box, onError) {
  box.classList.add("hidden");
  // The returned function detaches the listener (the overlay switched to another stream).
  return onSnapshot(doc(db, "streams", streamId, "interactions", "current"), (snap) => {
    const q = (snap.data() || {}).question;
    if (!q) {
      box.classList.add("hidden");
      box.replaceChildren();
      delete box.dataset.question;
      return;
    }
    box.dataset.question = q.question_id;
    box.replaceChildren(el("span", { class: "note" }, q.name ? `${q.name} asks` : "Question"),
      el("p", { class: "text" }, q.text));
    box.classList.remove("hidden");
  }, (e) => onError(`overlay: question listener: ${e.code || e.message}`));
}
