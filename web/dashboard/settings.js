// The dashboard's overlay settings panel (decision 062): widget boxes, alert texts, sound /
// animation / image per kind and per gift, uploads, text-to-speech, custom CSS, test alert and
// a live preview of the creator's overlay. Saved with the alert rules as one document
// (PUT /creators/{uid}/overlay replaces creators/{uid}.overlay), applied live by open overlays.
import { el } from "../shared/firebase.js";

const $ = (id) => document.getElementById(id);
export const LAYOUT_WIDGETS = ["alerts", "top", "goal", "combo", "chat", "poll", "prediction", "question",
  "battle", "tap_battle", "round", "hype", "throne", "mood"];
const KINDS = {
  gift: "Gifts", big_gift: "Big gifts", follow: "Follows", share: "Shares", goal_reached: "Goal reached",
  challenge_failed: "Challenge failed",
};
const TEMPLATE_HINTS = {
  gift: "{name} {gift} {units} {coins} {rank}",
  big_gift: "{name} {gift} {units} {coins} {rank}",
  follow: "{name}",
  share: "{name}",
  goal_reached: "{title} {progress} {target} {metric}",
  challenge_failed: "{title} {progress} {target} {metric}",
  condensed: "{name} {others} {count} {units} {coins}",
};
const SHIPPED = ["chime", "coin", "pop", "fanfare"];
const ANIMATIONS = ["auto", "none", "pop", "slide", "bounce", "shake", "burst", "box3d"];
// Where each widget sits by default (overlay.css), as a starting point for custom boxes.
const DEFAULT_BOX = {
  alerts: { x: 20, y: 8, width: 60 }, top: { x: 80, y: 4, width: 18 }, goal: { x: 2, y: 86, width: 96 },
  combo: { x: 2, y: 4, width: 20 }, chat: { x: 2, y: 60, width: 25 }, poll: { x: 70, y: 40, width: 28 },
  prediction: { x: 70, y: 60, width: 28 }, question: { x: 20, y: 70, width: 60 },
  battle: { x: 25, y: 2, width: 50 }, tap_battle: { x: 25, y: 12, width: 50 }, round: { x: 2, y: 30, width: 20 },
  hype: { x: 25, y: 80, width: 50 }, throne: { x: 78, y: 40, width: 20 }, mood: { x: 2, y: 40, width: 20 },
};

const uploads = new Map(); // "media:<file>" -> label, for the selects

function num(input, fallback) {
  const v = Number.parseInt(input.value, 10);
  return Number.isFinite(v) ? v : fallback;
}

function options(select, values, current) {
  select.replaceChildren(...values.map(([v, label]) =>
    el("option", { value: v, selected: v === current ? "" : null }, label)));
}

function soundChoices() {
  return [["", "(none)"], ...SHIPPED.map((s) => [`shipped:${s}`, `${s} (shipped)`]),
    ...[...uploads].filter(([r]) => /\.(wav|mp3|ogg)$/.test(r)).map(([r, l]) => [r, l])];
}

function imageChoices() {
  return [["", "(none)"], ...[...uploads].filter(([r]) => /\.(png|gif|webp)$/.test(r)).map(([r, l]) => [r, l])];
}

function mediaRow(key, m, removable) {
  const tr = el("tr", { "data-key": key },
    el("td", {}, removable
      ? el("input", { class: "media-gift mono", value: key, size: "8", "aria-label": "gift id" })
      : KINDS[key]),
    el("td", {}, el("select", { class: "media-sound" })),
    el("td", {}, el("input", { class: "media-volume", type: "number", min: "0", max: "100", value: m.volume ?? 80 })),
    el("td", {}, el("select", { class: "media-animation" })),
    el("td", {}, el("select", { class: "media-image" })),
    el("td", {}, removable ? el("button", { type: "button", class: "secondary", onclick: () => tr.remove() }, "Remove") : ""));
  options(tr.querySelector(".media-sound"), soundChoices(), m.sound || "");
  options(tr.querySelector(".media-animation"), ANIMATIONS.map((a) => [a, a]), m.animation || "auto");
  options(tr.querySelector(".media-image"), imageChoices(), m.image || "");
  return tr;
}

/** Fill the panel from the saved creators/{uid}.overlay (or the defaults). */
export function renderSettings(saved) {
  const o = saved || {};
  for (const m of [...Object.values(o.media?.kinds || {}), ...Object.values(o.media?.gifts || {})]) {
    for (const ref of [m.sound, m.image]) if (ref && ref.startsWith("media:")) uploads.set(ref, ref.slice(6));
  }
  $("layout-rows").replaceChildren(...LAYOUT_WIDGETS.map((w) => {
    const b = (o.layout || {})[w];
    const box = b || DEFAULT_BOX[w];
    return el("tr", { "data-widget": w },
      el("td", {}, el("label", { class: "check" }, el("input", { type: "checkbox", class: "layout-on", checked: b ? "" : null }), w)),
      ...["x", "y", "width"].map((f) => el("td", {}, el("input", {
        class: `layout-${f}`, type: "number", min: f === "width" ? "5" : "0", max: f === "width" ? "100" : "95", value: box[f],
      }))),
      el("td", {}, el("input", { class: "layout-scale", type: "number", min: "25", max: "400", value: box.scale ?? 100 })));
  }));
  $("template-rows").replaceChildren(...Object.entries(TEMPLATE_HINTS).map(([k, hint]) =>
    el("label", { class: "template" }, `${KINDS[k] || "Condensed"} (${hint})`,
      el("input", { class: "template-text", "data-kind": k, maxlength: "160", value: (o.templates || {})[k] || "", placeholder: "default text" }))));
  $("media-rows").replaceChildren(
    ...Object.keys(KINDS).map((k) => mediaRow(k, (o.media?.kinds || {})[k] || {}, false)),
    ...Object.entries(o.media?.gifts || {}).map(([g, m]) => mediaRow(g, m, true)));
  $("tts-kinds").replaceChildren(...Object.entries(KINDS).map(([k, label]) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", value: k, checked: (o.tts?.kinds || []).includes(k) ? "" : null }), label)));
  $("tts-min").value = o.tts?.min_coins ?? 0;
  $("custom-css").value = o.css || "";
}

/** The settings besides the alert rules, as PUT /creators/{uid}/overlay takes them. */
export function collectSettings() {
  const layout = {};
  for (const tr of $("layout-rows").querySelectorAll("tr")) {
    if (!tr.querySelector(".layout-on").checked) continue;
    layout[tr.dataset.widget] = {
      x: num(tr.querySelector(".layout-x"), 0), y: num(tr.querySelector(".layout-y"), 0),
      width: num(tr.querySelector(".layout-width"), 20), scale: num(tr.querySelector(".layout-scale"), 100),
    };
  }
  const templates = {};
  for (const input of $("template-rows").querySelectorAll(".template-text")) {
    if (input.value.trim()) templates[input.dataset.kind] = input.value;
  }
  const media = { kinds: {}, gifts: {} };
  for (const tr of $("media-rows").querySelectorAll("tr")) {
    const m = {
      sound: tr.querySelector(".media-sound").value || null,
      volume: num(tr.querySelector(".media-volume"), 80),
      animation: tr.querySelector(".media-animation").value,
      image: tr.querySelector(".media-image").value || null,
    };
    const gift = tr.querySelector(".media-gift");
    if (gift) {
      if (gift.value.trim()) media.gifts[gift.value.trim()] = m;
    } else if (m.sound || m.image || m.animation !== "auto") media.kinds[tr.dataset.key] = m;
  }
  const tts = {
    kinds: [...$("tts-kinds").querySelectorAll("input:checked")].map((i) => i.value),
    min_coins: num($("tts-min"), 0),
  };
  return { layout, templates, media, tts, css: $("custom-css").value };
}

function refreshMediaSelects() {
  for (const tr of $("media-rows").querySelectorAll("tr")) {
    for (const [cls, choices] of [[".media-sound", soundChoices()], [".media-image", imageChoices()]]) {
      const s = tr.querySelector(cls);
      options(s, choices, s.value);
    }
  }
}

/** Wire the panel's buttons. api(fn, path, opts) is the dashboard's; uid() the signed-in user. */
export function mountSettings({ api, uid, upload, save }) {
  $("media-add-gift").addEventListener("click", () => {
    $("media-rows").append(mediaRow("", {}, true));
  });
  $("settings-save").addEventListener("click", () => save($("settings-status")));
  $("media-upload").addEventListener("click", async () => {
    const file = $("media-file").files[0];
    if (!file) return setStatus("Choose a file first (wav, mp3, ogg, png, gif, webp; at most 900 kB).", "error");
    try {
      const r = await upload(file);
      uploads.set(r.ref, `${file.name} (${r.file})`);
      refreshMediaSelects();
      setStatus(`Uploaded ${file.name}: choose it below, then save.`, "ok");
      $("media-status").dataset.ref = r.ref;
    } catch (e) {
      setStatus(`Not uploaded: ${e.message}`, "error");
    }
  });
  $("test-alert").addEventListener("click", async () => {
    const body = { kind: $("test-kind").value, coins: num($("test-coins"), 1), test_id: `t${Date.now().toString(36)}` };
    const gift = $("test-gift").value.trim();
    if (gift) body.gift_id = gift;
    try {
      await api("api", `/creators/${encodeURIComponent(uid())}/overlay/test`, { method: "POST", body });
      status($("test-status"), "Sent: every open overlay of yours shows it now.", "ok");
    } catch (e) {
      status($("test-status"), `Not sent: ${e.message}`, "error");
    }
  });
  function setStatus(text, kind) { status($("media-status"), text, kind); }
}

function status(node, text, kind) {
  node.textContent = text;
  node.className = `status ${kind}`;
}
