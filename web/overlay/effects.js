// The big-gift effect: a spinning 3D gift box with a particle burst (three.js) when WebGL
// works, a CSS particle burst otherwise. three.js is loaded on first use only, so overlays
// that never see a big gift (or have no WebGL) never download it.
import { el } from "../shared/firebase.js";

let webgl = null;
let three = null;

export function hasWebGL() {
  if (webgl === null) {
    try {
      const c = document.createElement("canvas");
      webgl = !!(c.getContext("webgl2") || c.getContext("webgl"));
    } catch {
      webgl = false;
    }
  }
  return webgl;
}

/** Loads three.js and compiles the effect's shaders while the page is idle, so the first big
 * gift does not stall a frame (software WebGL compiles for hundreds of ms). */
export function warmUp(mode) {
  if (mode === "2d" || !hasWebGL()) return;
  const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 200));
  idle(async () => {
    try {
      three = three || (await import("./effect3d.js"));
      three.warm();
    } catch (e) {
      console.warn("3D effect unavailable", e);
    }
  });
}

/** Plays the effect for one alert; resolves to "3d" or "2d" (what was played). */
export async function playBigEffect(alert, mode) {
  if (mode !== "2d" && hasWebGL()) {
    try {
      three = three || (await import("./effect3d.js"));
      three.play(alert);
      return "3d";
    } catch (e) {
      console.warn("3D effect failed, using 2D", e);
    }
  }
  play2d();
  return "2d";
}

function play2d() {
  const burst = el("div", { class: "burst2d" });
  for (let i = 0; i < 24; i++) {
    const angle = (i / 24) * Math.PI * 2;
    const r = 120 + (i % 3) * 60;
    const dot = el("i");
    dot.style.setProperty("--dx", `${Math.cos(angle) * r}px`);
    dot.style.setProperty("--dy", `${Math.sin(angle) * r}px`);
    burst.append(dot);
  }
  document.getElementById("overlay").append(burst);
  setTimeout(() => burst.remove(), 1300);
}
