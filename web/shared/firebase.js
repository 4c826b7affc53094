// Runtime configuration and Firebase initialisation shared by the overlay and the dashboard.
//
// The server that serves an app also serves /config.json (devtools/giftengine_dev/webclients):
//   {"projectId": "...",
//    "firebase": {apiKey, authDomain, appId, ...} | null,      // production web app config
//    "emulators": {"firestore": "host:port", "auth": "host:port"} | null,
//    "functions": {"api": "/fn/api", ...},                      // base URL of each function
//    "overlayUrl": "http://.../", "dashboardUrl": "http://.../"}
// so one build runs against the local emulators and a real project alike.
import { initializeApp } from "firebase/app";
import { connectFirestoreEmulator, getFirestore } from "firebase/firestore";

export async function loadConfig() {
  const resp = await fetch("/config.json", { cache: "no-store" });
  if (!resp.ok) throw new Error(`config.json: HTTP ${resp.status}`);
  return resp.json();
}

function splitHost(hostPort) {
  const i = hostPort.lastIndexOf(":");
  return [hostPort.slice(0, i), Number(hostPort.slice(i + 1))];
}

export function initFirebase(config) {
  const options = {
    // The emulators accept any API key; production passes its web app config.
    apiKey: "demo-api-key",
    ...(config.firebase || {}),
    projectId: config.projectId,
  };
  const app = initializeApp(options);
  const db = getFirestore(app);
  const emu = config.emulators || {};
  if (emu.firestore) connectFirestoreEmulator(db, ...splitHost(emu.firestore));
  return { app, db };
}

export function authEmulatorUrl(config) {
  const emu = config.emulators || {};
  return emu.auth ? `http://${emu.auth}` : null;
}

/** Create an element; every string child becomes a text node (never parsed as HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, String(v));
    else if (k === "style") Object.assign(node.style, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function fmt(n) {
  return Number(n || 0).toLocaleString("en-US");
}
