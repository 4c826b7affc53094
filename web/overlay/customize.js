// The creator's customization of the overlay (creators/{id}.overlay, decision 062), applied
// live: widget boxes, alert text templates, sound / animation / image per kind of alert and per
// gift, browser text-to-speech, custom CSS. The API validated all of it
// (functions/giftengine/domain/overlay.py); this file checks it again, since the document is
// read as data from Firestore: anything out of bounds is ignored (recorded in hooks.errors).
import { el, fmt } from "../shared/firebase.js";
import chime from "./sounds/chime.wav";
import coin from "./sounds/coin.wav";
import fanfare from "./sounds/fanfare.wav";
import pop from "./sounds/pop.wav";

export const SHIPPED_SOUNDS = { chime, coin, pop, fanfare };
const WIDGETS = ["alerts", "top", "goal", "combo", "chat", "poll", "prediction", "question",
  "battle", "tap_battle", "round", "hype", "throne", "mood"];
const ANIMATIONS = ["auto", "none", "pop", "slide", "bounce", "shake", "burst", "box3d"];
const PLACEHOLDERS = {
  gift: ["name", "gift", "units", "coins", "rank"],
  big_gift: ["name", "gift", "units", "coins", "rank"],
  follow: ["name"],
  share: ["name"],
  goal_reached: ["title", "progress", "target", "metric"],
  challenge_failed: ["title", "progress", "target", "metric"],
  condensed: ["name", "others", "count", "units", "coins"],
};
// Same list as domain/overlay.py CSS_FORBIDDEN: CSS that could load anything is not applied.
const CSS_FORBIDDEN = ["url(", "src(", "image(", "image-set(", "cross-fade(", "element(", "@import",
  "\\", "<", "expression(", "javascript:", "-moz-binding", "behavior:"];
const MEDIA_FILE = /^[0-9a-f]{16}\.(wav|mp3|ogg|png|gif|webp)$/;

const int = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;

/** "{name} sent {gift}" with values filled in; unknown names stay as written. Plain text. */
export function fillTemplate(text, values) {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{", i);
    if (open < 0) { out += text.slice(i); break; }
    const close = text.indexOf("}", open + 1);
    if (close < 0) { out += text.slice(i); break; }
    const name = text.slice(open + 1, close);
    out += text.slice(i, open) + (Object.hasOwn(values, name) ? String(values[name]) : `{${name}}`);
    i = close + 1;
  }
  return out;
}

export class Customizer {
  /** hooks: window.giftOverlay; mediaBase(file) -> URL of an uploaded file of the creator. */
  constructor(hooks, mediaBase) {
    this.hooks = hooks;
    this.mediaBase = mediaBase;
    this.settings = { layout: {}, templates: {}, media: { kinds: {}, gifts: {} }, tts: { kinds: [] }, css: "" };
    this.layoutStyle = el("style", { id: "overlay-layout" });
    this.customStyle = el("style", { id: "overlay-custom-css" });
    document.head.append(this.layoutStyle, this.customStyle); // after overlay.css: they win
    hooks.sounds = [];
    hooks.spoken = [];
  }

  error(msg) {
    this.hooks.errors.push(`settings: ${msg}`);
  }

  /** Apply creators/{id}.overlay (or nothing: the defaults). */
  apply(overlay) {
    const o = overlay && typeof overlay === "object" ? overlay : {};
    this.settings = {
      layout: this.layout(o.layout),
      templates: this.templates(o.templates),
      media: { kinds: this.mediaMap(o.media?.kinds), gifts: this.mediaMap(o.media?.gifts) },
      tts: this.speech(o.tts),
      css: this.css(o.css),
    };
    this.hooks.settings = this.settings;
  }

  layout(layout) {
    const rules = [];
    const kept = {};
    for (const [w, b] of Object.entries(layout || {})) {
      if (!WIDGETS.includes(w) || !b || !int(b.x, 0, 95) || !int(b.y, 0, 95)
        || !int(b.width, 5, 100) || b.x + b.width > 100 || !(b.scale === undefined || int(b.scale, 25, 400))) {
        this.error(`layout.${w} ignored`);
        continue;
      }
      kept[w] = b;
      // Numbers only (checked above): nothing from the document reaches CSS as text.
      rules.push(`#w-${w} { left: ${b.x}%; top: ${b.y}%; width: ${b.width}%; right: auto; bottom: auto;`
        + ` font-size: ${(b.scale ?? 100) / 100}em; }`);
    }
    this.layoutStyle.textContent = rules.join("\n");
    document.getElementById("overlay").dataset.layout = Object.keys(kept).join(",");
    return kept;
  }

  templates(t) {
    const kept = {};
    for (const [k, text] of Object.entries(t || {})) {
      if (!PLACEHOLDERS[k] || typeof text !== "string" || text.length > 160) {
        this.error(`templates.${k} ignored`);
        continue;
      }
      kept[k] = text;
    }
    return kept;
  }

  mediaMap(m) {
    const kept = {};
    for (const [key, v] of Object.entries(m || {})) {
      if (!v || typeof v !== "object") continue;
      kept[key] = {
        sound: this.soundUrl(v.sound),
        volume: int(v.volume, 0, 100) ? v.volume : 80,
        animation: ANIMATIONS.includes(v.animation) ? v.animation : "auto",
        image: this.mediaUrl(v.image, /\.(png|gif|webp)$/),
      };
    }
    return kept;
  }

  soundUrl(ref) {
    if (typeof ref !== "string") return null;
    if (ref.startsWith("shipped:")) return SHIPPED_SOUNDS[ref.slice(8)] || null;
    return this.mediaUrl(ref, /\.(wav|mp3|ogg)$/);
  }

  mediaUrl(ref, ext) {
    if (typeof ref !== "string" || !ref.startsWith("media:")) return null;
    const file = ref.slice(6);
    if (!MEDIA_FILE.test(file) || !ext.test(file)) {
      this.error(`media ${ref} ignored`);
      return null;
    }
    return this.mediaBase(file);
  }

  speech(t) {
    const s = t || {};
    return {
      kinds: Array.isArray(s.kinds) ? s.kinds.filter((k) => typeof k === "string") : [],
      min_coins: int(s.min_coins, 0, 1e9) ? s.min_coins : 0,
      rate: int(s.rate, 50, 200) ? s.rate : 100,
      volume: int(s.volume, 0, 100) ? s.volume : 100,
    };
  }

  css(css) {
    if (typeof css !== "string" || !css) {
      this.customStyle.textContent = "";
      return "";
    }
    const low = css.toLowerCase();
    const bad = css.length > 8000 ? "length" : CSS_FORBIDDEN.find((f) => low.includes(f));
    if (bad) {
      this.error(`custom CSS not applied (${bad})`);
      this.customStyle.textContent = "";
      return "";
    }
    this.customStyle.textContent = css; // a text node: never parsed as HTML
    return css;
  }

  /** The alert's text from the creator's template for its kind, or null (the default look). */
  text(kind, a) {
    const t = this.settings.templates[kind];
    if (t === undefined) return null;
    const name = a.name || a.handle || a.user_id || "someone";
    return fillTemplate(t, {
      name, gift: a.gift_name || "a gift", units: fmt(a.units || a.streak_count || 1),
      coins: fmt(a.coins), rank: a.rank ?? "", title: a.title || `${a.metric} goal`,
      progress: fmt(a.progress), target: fmt(a.target), metric: a.metric || "",
    });
  }

  condensedText(c) {
    const t = this.settings.templates.condensed;
    if (t === undefined) return null;
    return fillTemplate(t, {
      name: c.name, others: fmt(c.others), count: fmt(c.count), units: fmt(c.units), coins: fmt(c.coins),
    });
  }

  /** Media for one alert on screen: the gift's own mapping wins over its kind's. */
  mediaFor(kind, items) {
    const one = items.length === 1 ? items[0] : null;
    const m = this.settings.media;
    return (one && one.gift_id && m.gifts[one.gift_id]) || m.kinds[kind] || null;
  }

  /** Sound, image and speech of an alert now on screen (node); returns the animation. */
  present(kind, items, node, text) {
    const media = this.mediaFor(kind, items);
    const key = items.map((a) => a.event_id || a._key || "").join(",");
    if (media?.image) {
      node.prepend(el("img", { class: "alert-image", src: media.image, alt: "" }));
    }
    if (media?.sound) {
      const audio = new Audio(media.sound);
      audio.volume = media.volume / 100;
      const rec = { src: media.sound, kind, key, volume: media.volume, played: null };
      this.hooks.sounds.push(rec);
      audio.play().then(() => { rec.played = true; }, (e) => { rec.played = false; rec.error = e.name; });
    }
    const tts = this.settings.tts;
    const coins = items.reduce((s, a) => s + (a.coins || 0), 0);
    const gifty = kind === "gift" || kind === "big_gift";
    if (tts.kinds.includes(kind) && (!gifty || coins >= tts.min_coins)) {
      this.hooks.spoken.push({ text, kind, key });
      if ("speechSynthesis" in window) {
        const u = new SpeechSynthesisUtterance(text);
        u.rate = tts.rate / 100;
        u.volume = tts.volume / 100;
        window.speechSynthesis.speak(u);
      }
    }
    const animation = media?.animation || "auto";
    node.dataset.animation = animation;
    return animation;
  }
}
