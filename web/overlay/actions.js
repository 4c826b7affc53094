// Command gifts on the overlay (docs/engagement.md, "Command gifts"): `action` items of the
// alert feed, played one after another in feed order, outside the alert queue (they are
// never condensed). The API validated each mapping's params; this file checks them again
// (the feed is read as data): text is a text node, sounds and images only the shipped ones or
// the creator's uploads (customize.js resolves them), themes from a fixed list.
// window.giftOverlay.actions records each action played (tests, OBS debugging).
import { el } from "../shared/firebase.js";

const THEMES = ["dark", "light", "neon"];
const clamp = (v, lo, hi, d) => (Number.isInteger(v) && v >= lo && v <= hi ? v : d);

export class ActionQueue {
  constructor(root, hooks, customizer, playEffect) {
    this.root = root;
    this.hooks = hooks;
    this.customizer = customizer;
    this.playEffect = playEffect;
    this.waiting = [];
    this.busy = false;
    this.box = el("section", { id: "w-action", class: "widget panel action hidden" });
    root.append(this.box);
    hooks.actions = [];
  }

  push(items) {
    for (const a of items) this.waiting.push(a);
    if (!this.busy) this.next();
  }

  async next() {
    const a = this.waiting.shift();
    if (!a) {
      this.busy = false;
      return;
    }
    this.busy = true;
    const rec = { action: a.action, mapping_id: a.mapping_id, event_id: a.event_id, n: a.n, ok: true };
    this.hooks.actions.push(rec);
    this.box.dataset.action = a.action;
    let ms = 1500;
    const p = a.params || {};
    try {
      if (a.action === "show_text" && typeof p.text === "string") {
        ms = clamp(p.duration_ms, 1000, 15000, 4000);
        this.show(el("span", { class: "text" }, p.text.slice(0, 200)));
      } else if (a.action === "show_image") {
        const src = this.customizer.mediaUrl(p.image, /\.(png|gif|webp)$/);
        ms = clamp(p.duration_ms, 1000, 15000, 4000);
        if (src) this.show(el("img", { class: "action-image", src, alt: "" }));
        else rec.ok = false;
      } else if (a.action === "play_sound") {
        const src = this.customizer.soundUrl(p.sound);
        if (src) {
          const audio = new Audio(src);
          audio.volume = clamp(p.volume, 0, 100, 80) / 100;
          rec.src = src;
          audio.play().then(() => { rec.played = true; }, (e) => { rec.played = false; rec.error = e.name; });
        } else rec.ok = false;
      } else if (a.action === "effect_3d") {
        rec.effect = await this.playEffect({ coins: 0, gift_name: a.mapping_id });
        ms = 500;
      } else if (a.action === "theme" && THEMES.includes(p.theme)) {
        const body = document.body;
        const before = THEMES.find((t) => body.classList.contains(`theme-${t}`)) || "dark";
        body.classList.remove(`theme-${before}`);
        body.classList.add(`theme-${p.theme}`);
        setTimeout(() => {
          body.classList.remove(`theme-${p.theme}`);
          body.classList.add(`theme-${before}`);
        }, clamp(p.duration_s, 5, 600, 30) * 1000);
        ms = 300;
      } else rec.ok = false;
    } catch (e) {
      rec.ok = false;
      rec.error = String(e);
    }
    setTimeout(() => {
      this.box.classList.add("hidden");
      this.box.replaceChildren();
      this.next();
    }, ms);
  }

  show(node) {
    this.box.replaceChildren(node);
    this.box.classList.remove("hidden");
  }
}
