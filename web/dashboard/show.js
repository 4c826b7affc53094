// The dashboard's show controls for the selected stream (docs/engagement.md): start and stop
// timed rounds (POST /api/streams/{id}/controls, a request id per click so a retried request
// is applied once), the creator's hype train settings (PUT /api/creators/{uid}/features/hype),
// and the live round, hype train and throne from the stream document's `features`.
// Every user string reaches the DOM as a text node (`el`).
import { doc, onSnapshot } from "firebase/firestore";
import { el, fmt } from "../shared/firebase.js";

const HYPE_FIELDS = ["min_viewers", "window_s", "countdown_s", "cooldown_s"];

function line(node, text, kind = "") {
  node.textContent = text;
  node.className = `status ${kind}`;
}

function num(value) {
  return value === "" ? undefined : Number.parseInt(value, 10);
}

/** Mount the controls in `body` for `streamId`; returns the listener's unsubscribe. */
export function mountShow({ db, uid, api }, streamId, body) {
  const live = el("p", { id: "show-live", class: "muted" }, "no round, hype train or throne yet");
  const roundStatus = el("p", { id: "show-round-status", class: "status", role: "status" });
  const length = el("input", { id: "show-round-length", type: "number", min: "1", max: "120", value: "10" });
  const count = el("input", { id: "show-round-count", type: "number", min: "1", max: "1000", placeholder: "until stopped" });
  const command = async (action, params) => {
    try {
      const r = await api("api", `/streams/${encodeURIComponent(streamId)}/controls`, {
        method: "POST",
        body: { feature: "rounds", action, params, request_id: `dash-${Date.now()}-${Math.random().toString(36).slice(2, 10)}` },
      });
      line(roundStatus, `rounds ${action}: ${r.status}`, "ok");
    } catch (e) {
      line(roundStatus, `rounds ${action}: ${e.message}`, "error");
    }
  };
  const start = el("button", { id: "show-round-start", type: "button" }, "Start rounds");
  start.addEventListener("click", () => {
    const params = { length_s: 60 * (num(length.value) || 10) };
    if (num(count.value)) params.rounds = num(count.value);
    command("start", params);
  });
  const stop = el("button", { id: "show-round-stop", type: "button", class: "secondary" }, "Stop rounds");
  stop.addEventListener("click", () => command("stop", {}));

  const inputs = Object.fromEntries(HYPE_FIELDS.map((k) => [k,
    el("input", { id: `show-hype-${k}`, type: "number", min: "0" })]));
  const enabled = el("input", { id: "show-hype-enabled", type: "checkbox", checked: true });
  const trigger = el("select", { id: "show-hype-trigger" },
    el("option", { value: "gifts" }, "gifts"), el("option", { value: "gifts_and_likes" }, "gifts and likes"));
  const thresholds = el("input", { id: "show-hype-thresholds", placeholder: "500,1500,3000,6000,10000" });
  const hypeStatus = el("p", { id: "show-hype-status", class: "status", role: "status" });
  const save = el("button", { id: "show-hype-save", type: "button" }, "Save hype train settings");
  save.addEventListener("click", async () => {
    const settings = { enabled: enabled.checked, trigger: trigger.value };
    for (const k of HYPE_FIELDS) if (num(inputs[k].value) !== undefined) settings[k] = num(inputs[k].value);
    if (thresholds.value.trim()) settings.thresholds = thresholds.value.split(",").map((x) => Number.parseInt(x, 10));
    try {
      const r = await api("api", `/creators/${encodeURIComponent(uid)}/features/hype`, { method: "PUT", body: settings });
      line(hypeStatus, `saved (the stream uses them within a minute): levels at ${r.settings.thresholds.join(", ")}`, "ok");
    } catch (e) {
      line(hypeStatus, e.message, "error");
    }
  });

  body.replaceChildren(
    live,
    el("div", { class: "inline" },
      el("label", {}, "Round length (min) ", length), el("label", {}, "Rounds ", count), start, stop),
    roundStatus,
    el("div", { class: "inline" },
      el("label", {}, enabled, " hype train"), el("label", {}, "Trigger ", trigger),
      ...HYPE_FIELDS.map((k) => el("label", {}, `${k.replace("_s", " (s)").replace("_", " ")} `, inputs[k])),
      el("label", {}, "Level thresholds (coins) ", thresholds), save),
    hypeStatus);

  return onSnapshot(doc(db, "streams", streamId), (snap) => {
    const f = (snap.data() || {}).features || {};
    const parts = [];
    const r = f.rounds;
    if (r && r.status !== "idle") parts.push(`round ${r.round} (${r.status}), leader: ${r.leaderboard?.[0]?.handle || "—"}`);
    else if (r && r.last) parts.push(`last round ${r.last.round}: ${r.last.winner?.handle || "—"} won`);
    const h = f.hype;
    if (h && h.active) parts.push(`hype train level ${h.level}, ${fmt(h.coins)} coins`);
    if (f.throne && f.throne.holder) parts.push(`throne: ${f.throne.holder.handle || f.throne.holder.user_id}`);
    live.textContent = parts.length ? parts.join(" · ") : "no round, hype train or throne yet";
    body.dataset.round = r ? String(r.round || (r.last && r.last.round) || "") : "";
  });
}
