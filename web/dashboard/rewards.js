// The creator's reward queue (docs/engagement.md, "Loyalty points"): the points rewards
// viewers redeemed (the signed-in creator's, or a creator's they moderate), live from Firestore (`creators/{uid}/reward_queue`, queued first, oldest
// first; firestore.rules lets the creator, their moderators and admins read it), with Fulfil
// and Reject buttons that call the API (POST /api/creators/{uid}/reward_queue/{id}/fulfil or
// /reject; a rejection refunds the points once). Viewer text (notes, titles) reaches the DOM
// only as text nodes (`el`).
import { collection, limit, onSnapshot, orderBy, query } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";

const PAGE = 50;

function line(node, text, kind = "") {
  node.textContent = text;
  node.className = `status ${kind}`;
}

function when(at) {
  const d = at && typeof at.toDate === "function" ? at.toDate() : null;
  return d ? d.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "";
}

/** Mount the queue in `body`: the signed-in user's own, or (for a moderator the creator
 * appointed) the creator id typed in; returns a function that stops its listener. */
export function mountRewardQueue(deps, body) {
  let stop = () => {};
  const who = el("input", { id: "reward-queue-creator", class: "mono", value: deps.uid });
  const show = el("button", { id: "reward-queue-show", type: "button", class: "secondary" }, "Show");
  const inner = el("div", {});
  show.addEventListener("click", () => {
    stop();
    stop = () => {};
    try {
      stop = listenQueue({ ...deps, uid: who.value.trim() || deps.uid }, body, inner);
    } catch (e) { // e.g. a "/" in the id: not a creator id
      inner.replaceChildren(el("p", { id: "reward-queue-status", class: "status error" }, `reward queue: ${e.message}`));
    }
  });
  body.replaceChildren(
    el("div", { class: "inline" }, el("label", {}, "Creator (you, or one you moderate) ", who), show),
    inner);
  stop = listenQueue(deps, body, inner);
  return () => stop();
}

function listenQueue({ db, uid, api }, body, inner) {
  const list = el("ul", { id: "reward-queue", class: "list" });
  const status = el("p", { id: "reward-queue-status", class: "status", role: "status" });
  const summary = el("p", { id: "reward-queue-summary", class: "muted" }, "Loading…");
  inner.replaceChildren(summary, list, status);
  body.dataset.ready = "0";
  body.dataset.creator = uid;

  const act = async (entry, action) => {
    const path = `/creators/${encodeURIComponent(uid)}/reward_queue/${entry.redemption_id}/${action}`;
    try {
      const r = await api("api", path, { method: "POST", body: {} });
      const refund = r.status === "rejected" ? `, ${fmt(r.cost)} points refunded` : "";
      line(status, `${r.title} for ${r.uid}: ${r.status}${r.changed ? refund : " (already)"}`, "ok");
    } catch (e) {
      line(status, `${action}: ${e.message}`, "error");
    }
  };

  const row = (e) => {
    const queued = e.status === "queued";
    return el("li", { "data-redemption": e.redemption_id, "data-status": e.status },
      el("span", { class: "badge" }, e.status),
      el("strong", {}, e.title || e.reward_id),
      e.note ? el("span", { class: "flag-text" }, e.note) : null,
      el("span", { class: "mono" }, e.uid),
      el("span", {}, `${fmt(e.cost)} points`),
      el("span", { class: "muted" }, when(e.at)),
      queued ? el("button", { type: "button", class: "rq-fulfil", onclick: () => act(e, "fulfil") }, "Fulfil") : null,
      queued ? el("button", { type: "button", class: "secondary rq-reject", onclick: () => act(e, "reject") }, "Reject") : null);
  };

  const q = query(collection(db, "creators", uid, "reward_queue"),
    orderBy("done"), orderBy("at"), orderBy("redemption_id"), limit(PAGE));
  return onSnapshot(q, (snap) => {
    const items = snap.docs.map((d) => d.data());
    const waiting = items.filter((e) => e.status === "queued").length;
    summary.textContent = items.length
      ? `${waiting} waiting${items.length === PAGE ? ` (the oldest ${PAGE} shown)` : ""}`
      : "Nothing redeemed yet: viewers redeem the rewards you list with their points.";
    list.replaceChildren(...items.map(row));
    body.dataset.ready = "1";
    body.dataset.waiting = String(waiting);
  }, (e) => line(status, `reward queue: ${e.code || e.message}`, "error"));
}
