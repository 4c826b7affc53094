// Live interactions of the selected stream (docs/engagement.md): run polls, predictions and
// Q&A from the dashboard. State comes from Firestore listeners (interactions/current, the
// poll and prediction documents, the approved questions); every action is an `api` call with
// the signed-in user's ID token, so the API's rules (who may run them, what is refused)
// apply. User text reaches the DOM only as text nodes (`el`).
import { collection, doc, limit, onSnapshot, query, where } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";

let ctx = null; // {db, api, stream, unsub: []}

const $ = (id) => document.getElementById(id);

function say(id, text, kind = "") {
  const node = $(id);
  node.textContent = text;
  node.className = `status ${kind}`;
}

async function act(statusId, what, fn) {
  try {
    const out = await fn();
    say(statusId, `${what}: done`, "ok");
    return out;
  } catch (e) {
    say(statusId, `${what}: ${e.message}`, "error");
    return null;
  }
}

/** replaceChildren, leaving out absent parts (replaceChildren would print "null"). */
function show(box, ...parts) {
  box.replaceChildren(...parts.filter((p) => p !== null && p !== undefined));
}

const lines = (s) => s.split("\n").map((x) => x.trim()).filter(Boolean);

/** "rose=1, lion=2" -> {rose: 1, lion: 2}; null when a part is malformed. */
export function parseGiftChoices(text) {
  const out = {};
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const i = part.lastIndexOf("=");
    const n = Number(part.slice(i + 1));
    if (i <= 0 || !Number.isInteger(n)) return null;
    out[part.slice(0, i).trim()] = n;
  }
  return out;
}

// ---------------------------------------------------------------------------------- polls
function renderPoll(p) {
  const box = $("live-poll");
  if (!p) {
    box.replaceChildren(el("p", { class: "muted" }, "No poll yet."));
    box.dataset.poll = "";
    return;
  }
  const counts = p.counts || [];
  const weights = p.gift_weighted ? p.weights || [] : [];
  box.dataset.poll = p.poll_id;
  box.dataset.status = p.frozen ? "final" : p.status;
  const rows = (p.choices || []).map((c, i) => el("li", {
    "data-choice": i + 1, "data-count": counts[i] || 0, "data-weight": weights[i] || 0,
  }, `${i + 1}. ${c}: ${fmt(counts[i] || 0)} votes${p.gift_weighted ? ` + ${fmt(weights[i] || 0)} coins` : ""}`));
  const open = p.status === "open";
  show(box,
    el("p", {}, el("strong", {}, p.question), " ",
      el("span", { class: "badge" }, p.frozen ? "final" : p.status)),
    el("ol", { class: "list" }, rows),
    open ? el("button", { type: "button", id: "poll-close", onclick: closePoll }, "Close poll") : null,
  );
}

function followPoll(pollId) {
  if (ctx.pollUnsub) ctx.pollUnsub();
  ctx.pollUnsub = null;
  if (!pollId) return renderPoll(null);
  ctx.pollUnsub = onSnapshot(doc(ctx.db, "streams", ctx.stream, "polls", pollId),
    (s) => renderPoll(s.exists() ? s.data() : null),
    (e) => say("poll-status", `poll: ${e.code || e.message}`, "error"));
}

async function openPoll(ev) {
  ev.preventDefault();
  const body = { question: $("poll-question").value.trim(), choices: lines($("poll-choices").value) };
  const duration = $("poll-duration").value.trim();
  if (duration) body.duration_s = Number.parseInt(duration, 10);
  body.changeable = $("poll-changeable").checked;
  if ($("poll-weighted").checked) {
    body.gift_weighted = true;
    const mapping = parseGiftChoices($("poll-gifts").value);
    if (mapping === null) return say("poll-status", "Gift choices: write gift=choice, ...", "error");
    if (Object.keys(mapping).length) body.gift_choices = mapping;
  }
  await act("poll-status", "Open poll", () =>
    ctx.api("api", `/streams/${ctx.stream}/polls`, { method: "POST", body }));
}

async function closePoll() {
  const id = $("live-poll").dataset.poll;
  await act("poll-status", "Close poll", () =>
    ctx.api("api", `/streams/${ctx.stream}/polls/${id}/close`, { method: "POST" }));
}

// ---------------------------------------------------------------------------- predictions
function renderPrediction(p) {
  const box = $("live-prediction");
  if (!p) {
    box.dataset.prediction = "";
    box.replaceChildren(el("p", { class: "muted" }, "No prediction yet."));
    return;
  }
  box.dataset.prediction = p.prediction_id;
  box.dataset.status = p.status;
  const pools = p.pools || [];
  const running = p.status === "open" || p.status === "locked";
  const pick = el("select", { id: "prediction-winner" },
    ...(p.outcomes || []).map((o, i) => el("option", { value: i + 1 }, `${i + 1}. ${o}`)));
  show(box,
    el("p", {}, el("strong", {}, p.title), " ", el("span", { class: "badge" }, p.status),
      p.status === "resolved" ? ` winner ${p.winner}, ${fmt(p.paid)} points paid` : ""),
    el("ol", { class: "list" }, ...(p.outcomes || []).map((o, i) => el("li", {
      "data-outcome": i + 1, "data-pool": pools[i] || 0,
    }, `${o}: ${fmt(pools[i] || 0)} points, ${fmt((p.stakers || [])[i] || 0)} stakers`))),
    running ? el("div", { class: "row" },
      p.status === "open" ? el("button", { type: "button", id: "prediction-lock", onclick: () => predictionAction("lock") }, "Lock") : null,
      p.status === "locked" ? pick : null,
      p.status === "locked" ? el("button", { type: "button", id: "prediction-resolve", onclick: () => predictionAction("resolve") }, "Resolve") : null,
      el("button", { type: "button", class: "secondary", id: "prediction-cancel", onclick: () => predictionAction("cancel") }, "Cancel and refund"),
    ) : null,
  );
}

function followPrediction(id) {
  if (ctx.predUnsub) ctx.predUnsub();
  ctx.predUnsub = null;
  if (!id) return renderPrediction(null);
  ctx.predUnsub = onSnapshot(doc(ctx.db, "streams", ctx.stream, "predictions", id),
    (s) => renderPrediction(s.exists() ? s.data() : null),
    (e) => say("prediction-status", `prediction: ${e.code || e.message}`, "error"));
}

async function openPrediction(ev) {
  ev.preventDefault();
  const body = {
    title: $("prediction-title").value.trim(),
    outcomes: lines($("prediction-outcomes").value),
    window_s: Number.parseInt($("prediction-window").value, 10),
  };
  await act("prediction-status", "Open prediction", () =>
    ctx.api("api", `/streams/${ctx.stream}/predictions`, { method: "POST", body }));
}

async function predictionAction(action) {
  const id = $("live-prediction").dataset.prediction;
  const body = action === "resolve" ? { outcome: Number($("prediction-winner").value) } : undefined;
  await act("prediction-status", `${action[0].toUpperCase()}${action.slice(1)}`, () =>
    ctx.api("api", `/streams/${ctx.stream}/predictions/${id}/${action}`, { method: "POST", body }));
}

// -------------------------------------------------------------------------------------- Q&A
async function questionAction(id, action) {
  await act("questions-status", `Question ${action}`, () =>
    ctx.api("api", `/streams/${ctx.stream}/questions/${id}/${action}`, { method: "POST" }));
  if (action === "approve" || action === "reject") await loadPending();
}

async function loadPending() {
  const box = $("questions-pending");
  try {
    const r = await ctx.api("api", `/streams/${ctx.stream}/questions/pending`);
    const items = r.questions || r.pending || [];
    box.replaceChildren(...items.map((q) => el("li", { "data-question": q.question_id },
      el("span", {}, q.text), " ",
      el("button", { type: "button", class: "q-approve", onclick: () => questionAction(q.question_id, "approve") }, "Approve"),
      el("button", { type: "button", class: "secondary q-reject", onclick: () => questionAction(q.question_id, "reject") }, "Reject"))));
    if (!items.length) box.append(el("li", { class: "muted" }, "Nothing to review."));
  } catch (e) {
    say("questions-status", `Review queue: ${e.message}`, "error");
  }
}

function renderQuestions(qs, current) {
  const box = $("questions-open");
  const sorted = [...qs].sort((a, b) => (b.votes || 0) - (a.votes || 0) || (a.created_at || 0) - (b.created_at || 0));
  box.replaceChildren(...sorted.map((q) => el("li", {
    "data-question": q.question_id, "data-votes": q.votes || 0,
    class: current === q.question_id ? "selected" : "",
  },
  el("span", {}, `${q.text} (${fmt(q.votes || 0)} up)`), " ",
  el("button", { type: "button", class: "q-show", onclick: () => questionAction(q.question_id, "show") }, "Show on overlay"),
  el("button", { type: "button", class: "secondary q-answered", onclick: () => questionAction(q.question_id, "answered") }, "Mark answered"))));
  if (!sorted.length) box.append(el("li", { class: "muted" }, "No open questions."));
}

// --------------------------------------------------------------------------------- wiring
export function showLive(deps, streamId) {
  closeLive();
  ctx = { ...deps, stream: streamId, unsub: [], questions: [], current: null };
  renderPoll(null);
  renderPrediction(null);
  for (const id of ["poll-status", "prediction-status", "questions-status"]) say(id, "");
  ctx.unsub.push(onSnapshot(doc(ctx.db, "streams", streamId, "interactions", "current"), (s) => {
    const d = s.data() || {};
    followPoll((d.poll && d.poll.poll_id) || d.last_poll_id || null);
    followPrediction(d.prediction_id || null);
    ctx.current = d.question ? d.question.question_id : null;
    $("question-current").textContent = d.question ? `On screen: ${d.question.text}` : "No question on screen.";
    renderQuestions(ctx.questions, ctx.current);
  }, (e) => say("poll-status", `interactions: ${e.code || e.message}`, "error")));
  ctx.unsub.push(onSnapshot(
    query(collection(ctx.db, "streams", streamId, "questions"), where("status", "==", "open"), limit(50)),
    (snap) => {
      ctx.questions = snap.docs.map((d) => ({ question_id: d.id, ...d.data() }));
      renderQuestions(ctx.questions, ctx.current);
    },
    (e) => say("questions-status", `questions: ${e.code || e.message}`, "error")));
  loadPending();
  $("live-card").dataset.ready = "1";
}

export function closeLive() {
  if (!ctx) return;
  ctx.unsub.forEach((u) => u());
  if (ctx.pollUnsub) ctx.pollUnsub();
  if (ctx.predUnsub) ctx.predUnsub();
  ctx = null;
  $("live-card").dataset.ready = "0";
}

export function wireLive() {
  $("poll-form").addEventListener("submit", openPoll);
  $("prediction-form").addEventListener("submit", openPrediction);
  $("questions-refresh").addEventListener("click", loadPending);
  $("poll-weighted").addEventListener("change", () =>
    $("poll-gifts-label").classList.toggle("hidden", !$("poll-weighted").checked));
}
