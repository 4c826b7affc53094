// Command gifts editor (docs/engagement.md, "Command gifts"): the creator's mappings from a
// gift, a chat command or a points reward to a whitelisted action, listed from the creator
// document (`creators/{uid}.features.commands`, public read) and saved whole through the API
// (PUT /api/creators/{uid}/features/commands), which validates every parameter: a refused
// save shows the server's reason and changes nothing. Values reach the DOM as text (`el`).
import { el } from "../shared/firebase.js";

// Each action's parameter fields (the server's schemas in domain/commands.py decide; empty
// fields are left out so the server's defaults apply).
export const ACTIONS = {
  show_text: [
    { name: "text", type: "text", label: "Text", max: 200 },
    { name: "duration_ms", type: "number", label: "Milliseconds", placeholder: "4000" },
  ],
  play_sound: [
    { name: "sound", type: "text", label: "Sound", placeholder: "shipped:chime or media:…" },
    { name: "volume", type: "number", label: "Volume 0-100", placeholder: "80" },
  ],
  show_image: [
    { name: "image", type: "text", label: "Image", placeholder: "media:<uploaded image>" },
    { name: "duration_ms", type: "number", label: "Milliseconds", placeholder: "4000" },
  ],
  effect_3d: [],
  theme: [
    { name: "theme", type: "select", label: "Theme", options: ["dark", "light", "neon"] },
    { name: "duration_s", type: "number", label: "Seconds", placeholder: "30" },
  ],
  start_poll: [
    { name: "question", type: "text", label: "Question", max: 200 },
    { name: "choices", type: "lines", label: "Choices, one a line (2-10)" },
    { name: "duration_s", type: "number", label: "Seconds (15-1800)", placeholder: "60" },
    { name: "changeable", type: "bool", label: "votes may change" },
  ],
  start_tap_battle: [
    { name: "duration_s", type: "number", label: "Seconds (1-3600)", placeholder: "60" },
    { name: "starts_in_s", type: "number", label: "Starts in, seconds", placeholder: "3" },
  ],
};
const LABELS = {
  show_text: "show text", play_sound: "play a sound", show_image: "show an image",
  effect_3d: "3D effect", theme: "overlay theme", start_poll: "start a poll",
  start_tap_battle: "start a tap battle",
};
const MODES = { once: "once per gift", per_unit: "per unit", per_threshold: "per threshold" };

function line(node, text, kind = "") {
  node.textContent = text;
  node.className = `status ${kind}`;
}

function trigger(m) {
  if (m.trigger?.gift_id !== undefined) return `gift ${m.trigger.gift_id}`;
  if (m.trigger?.reward_id !== undefined) return `reward ${m.trigger.reward_id}`;
  return `chat ${m.trigger?.command}`;
}

function triggerKind(m) {
  if (m.trigger?.command !== undefined) return "command";
  return m.trigger?.reward_id !== undefined ? "reward" : "gift";
}

function summary(m) {
  return Object.entries(m.params || {})
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" / ") : v}`).join(", ");
}

function paramValue(f, input) {
  if (f.type === "bool") return input.checked;
  const raw = input.value.trim();
  if (raw === "") return undefined;
  if (f.type === "number") return Number.isInteger(Number(raw)) ? Number(raw) : raw;
  if (f.type === "lines") return raw.split("\n").map((s) => s.trim()).filter(Boolean);
  return raw;
}

/** Mount the editor in `body`. `api(fn, path, opts)` calls the API (throws with the server's
 * reason); returns `render(commandsSettings)` for the creator document's listener. */
export function mountCommands({ api, uid }, body) {
  let saved = { mappings: [] }; // as the server last stored them
  let editing = null; // the id of the mapping in the form, when editing one

  const list = el("table", { id: "commands-table" },
    el("thead", {}, el("tr", {}, ...["Id", "Trigger", "Action", "Parameters", "Runs", ""].map((h) => el("th", {}, h)))),
    el("tbody", { id: "commands-rows" }));
  const empty = el("p", { id: "commands-empty", class: "muted" }, "No command gifts yet.");
  const status = el("p", { id: "commands-status", class: "status", role: "status" });

  const f = {
    id: el("input", { id: "cmd-id", maxlength: "32", placeholder: "thanks", required: "" }),
    kind: el("select", { id: "cmd-trigger-kind" },
      el("option", { value: "gift" }, "a gift (id)"),
      el("option", { value: "command" }, "a chat command"),
      el("option", { value: "reward" }, "a points reward (id)")),
    value: el("input", { id: "cmd-trigger", placeholder: "5655, !confetti or shoutout", required: "" }),
    action: el("select", { id: "cmd-action" },
      ...Object.keys(ACTIONS).map((a) => el("option", { value: a }, LABELS[a]))),
    params: el("div", { id: "cmd-params", class: "inline" }),
    mode: el("select", { id: "cmd-mode" },
      ...Object.entries(MODES).map(([v, t]) => el("option", { value: v }, t))),
    threshold: el("input", { id: "cmd-threshold", type: "number", min: "1", value: "1" }),
    max: el("input", { id: "cmd-max", type: "number", min: "1", max: "20", placeholder: "5" }),
    viewer: el("input", { id: "cmd-viewer-limit", type: "number", min: "1", max: "60", placeholder: "5" }),
    stream: el("input", { id: "cmd-stream-limit", type: "number", min: "1", max: "120", placeholder: "20" }),
  };
  const thresholdLabel = el("label", { id: "cmd-threshold-label", class: "hidden" }, "Every N units ", f.threshold);
  const inputs = {}; // the current action's parameter inputs by name

  const renderParams = (values = {}) => {
    for (const k of Object.keys(inputs)) delete inputs[k];
    const fields = ACTIONS[f.action.value] || [];
    f.params.replaceChildren(...(fields.length ? fields.map((p) => {
      let input;
      const id = `cmd-param-${p.name}`;
      const v = values[p.name];
      if (p.type === "select") {
        input = el("select", { id }, ...p.options.map((o) => el("option", { value: o, selected: v === o ? "" : null }, o)));
      } else if (p.type === "lines") {
        input = el("textarea", { id, rows: "3" });
        input.value = Array.isArray(v) ? v.join("\n") : "";
      } else if (p.type === "bool") {
        input = el("input", { id, type: "checkbox", checked: v ? "" : null });
      } else {
        input = el("input", { id, type: p.type === "number" ? "number" : "text", placeholder: p.placeholder, maxlength: p.max });
        input.value = v === undefined ? "" : String(v);
      }
      inputs[p.name] = input;
      return p.type === "bool" ? el("label", {}, input, ` ${p.label}`) : el("label", {}, `${p.label} `, input);
    }) : [el("span", { class: "muted" }, "no parameters")]));
  };

  const resetForm = () => {
    editing = null;
    f.id.value = ""; f.id.disabled = false;
    f.kind.value = "gift"; f.value.value = "";
    f.action.value = "show_text"; f.mode.value = "once";
    f.threshold.value = "1"; f.max.value = "";
    thresholdLabel.classList.add("hidden");
    submit.textContent = "Add mapping";
    cancel.classList.add("hidden");
    renderParams();
  };

  const edit = (m) => {
    editing = m.id;
    f.id.value = m.id; f.id.disabled = true;
    f.kind.value = triggerKind(m);
    f.value.value = m.trigger?.command ?? m.trigger?.gift_id ?? m.trigger?.reward_id ?? "";
    f.action.value = m.action;
    f.mode.value = m.mode || "once";
    f.threshold.value = String(m.threshold || 1);
    f.max.value = m.max_per_gift ? String(m.max_per_gift) : "";
    thresholdLabel.classList.toggle("hidden", f.mode.value !== "per_threshold");
    submit.textContent = "Save mapping";
    cancel.classList.remove("hidden");
    renderParams(m.params);
    body.dataset.editing = m.id;
  };

  const save = async (config, what) => {
    body.dataset.saving = "1";
    try {
      const r = await api("api", `/creators/${encodeURIComponent(uid())}/features/commands`,
        { method: "PUT", body: config });
      render(r.settings);
      resetForm();
      line(status, `${what}: saved`, "ok");
      body.dataset.saved = String(Number(body.dataset.saved || 0) + 1);
    } catch (e) {
      line(status, `${what}: ${e.message}`, "error"); // the server's reason; nothing stored
    } finally {
      body.dataset.saving = "0";
    }
  };

  const limits = () => {
    const out = {};
    for (const [k, input] of [["viewer_per_minute", f.viewer], ["stream_per_minute", f.stream]]) {
      if (input.value.trim() !== "") out[k] = Number(input.value);
    }
    return out;
  };

  const configWith = (mappings) => ({ mappings, ...limits() });

  const fromForm = () => {
    const params = {};
    for (const p of ACTIONS[f.action.value] || []) {
      const v = paramValue(p, inputs[p.name]);
      if (v !== undefined) params[p.name] = v;
    }
    const value = f.value.value.trim();
    const m = {
      id: f.id.value.trim(),
      trigger: { gift: { gift_id: value }, command: { command: value }, reward: { reward_id: value } }[f.kind.value],
      action: f.action.value,
      params,
      mode: f.mode.value,
    };
    if (m.mode === "per_threshold") m.threshold = Number(f.threshold.value);
    if (f.max.value.trim() !== "") m.max_per_gift = Number(f.max.value);
    return m;
  };

  const submit = el("button", { type: "submit", id: "cmd-submit" }, "Add mapping");
  const cancel = el("button", { type: "button", id: "cmd-cancel", class: "secondary hidden", onclick: resetForm }, "Cancel");
  const form = el("form", { id: "commands-form" },
    el("div", { class: "inline" },
      el("label", {}, "Id ", f.id),
      el("label", {}, "When ", f.kind),
      el("label", {}, "Gift id / command / reward id ", f.value),
      el("label", {}, "Action ", f.action),
      el("label", {}, "Runs ", f.mode),
      thresholdLabel,
      el("label", {}, "At most per gift ", f.max)),
    f.params,
    el("div", { class: "row" }, submit, cancel));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const m = fromForm();
    const others = (saved.mappings || []).filter((x) => x.id !== (editing ?? m.id));
    const known = (saved.mappings || []).some((x) => x.id === m.id);
    if (!editing && known) {
      line(status, `mapping ${m.id}: that id is taken (Edit it instead)`, "error");
      return;
    }
    const mappings = editing
      ? (saved.mappings || []).map((x) => (x.id === editing ? m : x))
      : [...others, m];
    save(configWith(mappings), `mapping ${m.id}`);
  });
  f.action.addEventListener("change", () => renderParams());
  f.mode.addEventListener("change", () =>
    thresholdLabel.classList.toggle("hidden", f.mode.value !== "per_threshold"));
  const limitsSave = el("button", { type: "button", id: "cmd-limits-save", class: "secondary",
    onclick: () => save(configWith(saved.mappings || []), "limits") }, "Save limits");

  body.replaceChildren(list, empty, form,
    el("div", { class: "inline" },
      el("label", {}, "Runs per viewer a minute ", f.viewer),
      el("label", {}, "Runs per stream a minute ", f.stream),
      limitsSave),
    status);

  function render(config) {
    saved = config && Array.isArray(config.mappings) ? config : { mappings: [] };
    const rows = saved.mappings.map((m) => el("tr", { "data-mapping": m.id },
      el("td", { class: "mono" }, m.id),
      el("td", {}, trigger(m)),
      el("td", { "data-action": m.action }, LABELS[m.action] || m.action),
      el("td", { class: "params" }, summary(m)),
      el("td", {}, m.mode === "per_threshold" ? `every ${m.threshold} units` : MODES[m.mode] || m.mode),
      el("td", {},
        el("button", { type: "button", class: "secondary cmd-edit", onclick: () => edit(m) }, "Edit"),
        el("button", { type: "button", class: "secondary cmd-remove",
          onclick: () => save(configWith(saved.mappings.filter((x) => x.id !== m.id)), `remove ${m.id}`) }, "Remove"))));
    body.querySelector("#commands-rows").replaceChildren(...rows);
    empty.classList.toggle("hidden", rows.length > 0);
    f.viewer.value = saved.viewer_per_minute ? String(saved.viewer_per_minute) : "";
    f.stream.value = saved.stream_per_minute ? String(saved.stream_per_minute) : "";
    body.dataset.ready = "1";
    body.dataset.count = String(rows.length);
  }

  resetForm();
  return render;
}
