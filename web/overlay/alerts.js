// The overlay's alert queue: every alert reaches the screen within a bounded delay, alone or
// condensed with others of its kind; none is dropped (docs/web-clients.md, "Alert queue").
//
// Each alert item (streams/{id}/alerts/{seq}.items[], docs/firestore.md) gets a kind and the
// creator's rule for that kind (creators/{creator_id}.overlay.alerts, or the defaults below):
//   gift          a gift worth less than big_gift.min_coins
//   big_gift      a gift worth big_gift.min_coins or more (plays the big effect)
//   follow, share, goal_reached, challenge_failed, throne_claimed, round_ended, hype_started,
//   hype_level (docs/engagement.md)
//   badge         a viewer earned a badge (docs/engagement.md, "Badges")
// rule = {mode: "show" | "condense" | "hide", min_coins (gifts), display_ms}
//   hide      never shown (the creator's choice, recorded in `hidden`, not lost)
//   min_coins a gift worth less than this is hidden the same way
//   condense  shown alone while there is time; merged with the other waiting alerts of its
//             kind ("Uma and 4 others sent 37 gifts, 812 coins") when the queue would
//             otherwise keep the newest waiting one off screen longer than `maxDelayMs`
//   show      shown alone; merged only if even after condensing the `condense` kinds the
//             bound cannot be kept (goal_reached and challenge_failed are never merged)
// A turn lasts the rule's display_ms when nothing waits, and ends early (never before
// `minTurnMs`) when alerts wait: at display_ms / (1 + waiting / 3), or as soon as a waiting
// alert would otherwise start later than `maxDelayMs` after it arrived.
import { el, fmt } from "../shared/firebase.js";

export const KINDS = [
  "gift", "big_gift", "follow", "share", "goal_reached", "challenge_failed", "badge",
  "throne_claimed", "round_ended", "hype_started", "hype_level",
];
const NEVER_MERGED = ["goal_reached", "challenge_failed", "throne_claimed", "round_ended",
  "hype_started", "hype_level"];
export const MODES = ["show", "condense", "hide"];

export const DEFAULT_RULES = {
  gift: { mode: "condense", min_coins: 0, display_ms: 4000 },
  big_gift: { mode: "show", min_coins: 100, display_ms: 6000 },
  follow: { mode: "condense", display_ms: 3000 },
  share: { mode: "condense", display_ms: 3000 },
  goal_reached: { mode: "show", display_ms: 6000 },
  challenge_failed: { mode: "show", display_ms: 6000 },
  badge: { mode: "show", display_ms: 5000 },
  throne_claimed: { mode: "show", display_ms: 5000 },
  round_ended: { mode: "show", display_ms: 6000 },
  hype_started: { mode: "show", display_ms: 5000 },
  hype_level: { mode: "show", display_ms: 5000 },
};

/** Merge creator settings over the defaults; anything malformed keeps the default. */
export function mergeRules(custom, defaults = DEFAULT_RULES) {
  const rules = {};
  for (const k of KINDS) {
    const base = { ...defaults[k] };
    const c = (custom && typeof custom === "object" && custom[k]) || {};
    if (MODES.includes(c.mode)) base.mode = c.mode;
    if (Number.isInteger(c.min_coins) && c.min_coins >= 0) base.min_coins = c.min_coins;
    if (Number.isInteger(c.display_ms) && c.display_ms >= 500 && c.display_ms <= 60000) {
      base.display_ms = c.display_ms;
    }
    rules[k] = base;
  }
  return rules;
}

export function kindOf(item, rules) {
  if (item.type === "gift") return (item.coins || 0) >= rules.big_gift.min_coins ? "big_gift" : "gift";
  return item.type;
}

function units(a) {
  return a.units || a.streak_count || 1;
}

function displayName(u) {
  return u.name || u.handle || u.user_id || "someone";
}

/** One entry = one alert on screen: a single item, or several of one kind condensed. */
function entry(kind, items, at) {
  return { kind, items, at };
}

export function condensedText(kind, items) {
  const users = new Map();
  for (const a of items) {
    const key = a.user_id || displayName(a);
    const u = users.get(key) || { name: displayName(a), coins: 0 };
    u.coins += a.coins || 0;
    users.set(key, u);
  }
  const top = [...users.values()].sort((x, y) => y.coins - x.coins)[0];
  const others = users.size - 1;
  const who = others > 0 ? `${top.name} and ${others} other${others > 1 ? "s" : ""}` : top.name;
  const n = items.reduce((s, a) => s + units(a), 0);
  const coins = items.reduce((s, a) => s + (a.coins || 0), 0);
  // The values a creator's "condensed" template may name (customize.js).
  const values = { name: top.name, others, count: items.length, units: n, coins };
  if (kind === "gift" || kind === "big_gift") {
    return { who, what: `sent ${fmt(n)} gift${n > 1 ? "s" : ""}`, amount: `${fmt(coins)} coins`, values };
  }
  if (kind === "follow") return { who, what: "followed", amount: null, values };
  if (kind === "share") return { who, what: `shared the stream${items.length > 1 ? ` ${items.length} times` : ""}`, amount: null, values };
  return { who, what: kind, amount: null, values };
}

export class AlertQueue {
  /**
   * box: the element alerts appear in; hooks: window.giftOverlay (shown / hidden records);
   * opts: {maxDelayMs, minTurnMs, render(item, kind) -> node, onBig(item, "auto"|"2d"|"3d") ->
   * Promise of the effect played, present(kind, items, node, text) -> animation (sound, image,
   * speech: customize.js), condensedText(values) -> the creator's text or null}.
   */
  constructor(box, hooks, opts) {
    this.box = box;
    this.hooks = hooks;
    this.opts = opts;
    this.rules = mergeRules(null);
    this.queue = [];
    this.running = false;
    this.turn = null; // {started}
    this.wake = null;
  }

  setRules(custom, defaults = DEFAULT_RULES) {
    this.rules = mergeRules(custom, defaults);
  }

  push(items, now = Date.now()) {
    for (const a of items) {
      const kind = kindOf(a, this.rules);
      const rule = this.rules[kind];
      if (!rule) continue;
      const belowMin = (kind === "gift" || kind === "big_gift") && (a.coins || 0) < (rule.min_coins || 0);
      if (rule.mode === "hide" || belowMin) {
        this.hooks.hidden.push({ event_id: a.event_id || null, key: a._key || null, type: a.type, kind, at: now });
        continue;
      }
      this.queue.push(entry(kind, [a], now));
    }
    this.condenseIfLate(now);
    this.hooks.waiting = this.queue.length;
    if (this.wake) this.wake();
    if (!this.running) this.run();
  }

  /** Would some waiting alert start more than maxDelayMs after it arrived, at minimum turns? */
  late(now) {
    const { minTurnMs, maxDelayMs } = this.opts;
    let t = now + (this.turn ? Math.max(0, minTurnMs - (now - this.turn.started)) : 0);
    for (const e of this.queue) {
      if (t - e.at > maxDelayMs) return true;
      t += minTurnMs;
    }
    return false;
  }

  condenseIfLate(now) {
    if (!this.late(now)) return;
    this.merge((k) => this.rules[k].mode === "condense");
    if (!this.late(now)) return;
    this.merge((k) => !NEVER_MERGED.includes(k));
  }

  /** Merge the waiting entries of each kind `which` accepts into one, at the first's place. */
  merge(which) {
    const first = new Map();
    const out = [];
    for (const e of this.queue) {
      if (!which(e.kind)) {
        out.push(e);
        continue;
      }
      const head = first.get(e.kind);
      if (!head) {
        const copy = entry(e.kind, [...e.items], e.at);
        first.set(e.kind, copy);
        out.push(copy);
      } else {
        head.items.push(...e.items);
        head.at = Math.min(head.at, e.at);
      }
    }
    this.queue = out;
  }

  turnMs(e, now) {
    const { minTurnMs, maxDelayMs } = this.opts;
    const display = this.rules[e.kind].display_ms;
    if (!this.queue.length) return display;
    const share = display / (1 + this.queue.length / 3);
    // The oldest waiting alert must start within maxDelayMs of arriving.
    const slack = maxDelayMs - (now - this.queue[0].at) - (this.queue.length - 1) * minTurnMs;
    return Math.max(minTurnMs, Math.min(display, share, slack));
  }

  async run() {
    this.running = true;
    while (this.queue.length) {
      this.condenseIfLate(Date.now());
      const e = this.queue.shift();
      this.hooks.waiting = this.queue.length;
      const started = Date.now();
      this.turn = { started };
      const node = this.render(e);
      this.box.replaceChildren(node);
      const seen = {
        event_id: e.items.length === 1 ? e.items[0].event_id || null : null,
        event_ids: e.items.map((a) => a.event_id || null),
        keys: e.items.map((a) => a._key || null),
        type: e.items[0].type,
        kind: e.kind,
        condensed: e.items.length > 1,
        waited_ms: started - e.at,
        text: [...node.children].map((c) => c.textContent).join(" "),
        at: started,
      };
      this.hooks.shown.push(seen);
      // The creator's sound, image, speech and animation for this alert (customize.js).
      const anim = this.opts.present ? this.opts.present(e.kind, e.items, node, seen.text) : "auto";
      node.classList.add(`anim-${anim}`);
      const effect = anim === "burst" ? "2d" : anim === "box3d" ? "3d"
        : anim === "auto" && e.kind === "big_gift" && e.items.length === 1 ? "auto" : null;
      if (effect && this.opts.onBig) {
        node.dataset.fx = seen.fx = await this.opts.onBig(e.items[0], effect);
      }
      // Wait out the turn; a push wakes us to shorten it when alerts start waiting.
      for (;;) {
        const now = Date.now();
        const left = started + this.turnMs(e, now) - now;
        if (left <= 0) break;
        await new Promise((r) => {
          this.wake = r;
          setTimeout(r, left);
        });
        this.wake = null;
      }
      node.classList.add("leaving");
      await sleep(this.queue.length ? 120 : 300);
      node.remove();
      this.turn = null;
    }
    this.running = false;
    this.hooks.waiting = 0;
  }

  render(e) {
    if (e.items.length === 1) return this.opts.render(e.items[0], e.kind);
    const { who, what, amount, values } = condensedText(e.kind, e.items);
    const coins = e.items.reduce((s, a) => s + (a.coins || 0), 0);
    const custom = this.opts.condensedText ? this.opts.condensedText(values) : null;
    return el("div", {
      class: `alert panel condensed${e.kind === "big_gift" ? " big" : ""}`,
      "data-type": e.items[0].type, "data-kind": e.kind, "data-count": e.items.length,
      "data-coins": e.kind === "gift" || e.kind === "big_gift" ? coins : "",
    },
    custom !== null ? el("span", { class: "text" }, custom) : [
      el("span", { class: "who" }, who),
      el("span", { class: "what" }, what),
      amount && el("span", { class: "amount" }, amount)]);
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
