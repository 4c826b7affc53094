// A headless Chromium driven over stdin/stdout for the Python tests and benchmarks
// (devtools/giftengine_dev/webclients/browser.py). One JSON request per line:
//   {"id": 1, "op": "open", "page": "overlay", "url": "...", "width": 1280, "height": 720}
// one JSON answer per line: {"id": 1, "ok": true, "result": ...} or {"id": 1, "ok": false, "error": "..."}.
// `expr` is the source of a JS function of one argument (`arg`), run in the page.
// Ops: open, eval, waitFor, fill, click, select, screenshot, logs, close, quit.
// The browser is Debian's chromium (CHROMIUM_PATH or `chromium` on the PATH): playwright's own
// browser downloads are not reachable here.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
  // OBS browser sources play sounds without a click; so does this browser.
  "--autoplay-policy=no-user-gesture-required"];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "chromium",
  headless: true,
  args: FLAGS,
});
const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
const pages = new Map();
const logs = new Map();

function page(name) {
  const p = pages.get(name || "main");
  if (!p) throw new Error(`no page ${name}`);
  return p;
}

const ops = {
  async open({ page: name = "main", url, width = 1280, height = 720 }) {
    let p = pages.get(name);
    if (!p) {
      p = await context.newPage();
      pages.set(name, p);
      logs.set(name, []);
      p.on("console", (m) => logs.get(name).push(`${m.type()}: ${m.text()}`));
      p.on("pageerror", (e) => logs.get(name).push(`pageerror: ${e.message}`));
    }
    await p.setViewportSize({ width, height });
    await p.goto(url, { waitUntil: "load" });
    return p.url();
  },
  async eval({ page: name, expr, arg = null }) {
    return page(name).evaluate(([src, a]) => (0, eval)(`(${src})`)(a), [expr, arg]);
  },
  async waitFor({ page: name, expr, arg = null, timeout = 30000 }) {
    const handle = await page(name).waitForFunction(
      ([src, a]) => (0, eval)(`(${src})`)(a), [expr, arg], { timeout, polling: 100 });
    return handle.jsonValue();
  },
  async fill({ page: name, selector, value }) {
    await page(name).fill(selector, String(value));
  },
  async click({ page: name, selector }) {
    await page(name).click(selector);
  },
  async select({ page: name, selector, value }) {
    await page(name).selectOption(selector, String(value));
  },
  // A file chosen in an <input type=file>: [{name, mimeType, base64}].
  async upload({ page: name, selector, files }) {
    await page(name).setInputFiles(selector, files.map((f) => ({
      name: f.name, mimeType: f.mimeType, buffer: Buffer.from(f.base64, "base64"),
    })));
  },
  async screenshotElement({ page: name, selector, path }) {
    await page(name).locator(selector).screenshot({ path });
    return path;
  },
  async screenshot({ page: name, path, fullPage = false, omitBackground = false }) {
    await page(name).screenshot({ path, fullPage, omitBackground });
    return path;
  },
  async logs({ page: name = "main" }) {
    return logs.get(name) || [];
  },
  async close({ page: name = "main" }) {
    const p = pages.get(name);
    if (p) await p.close();
    pages.delete(name);
  },
};

const out = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
out({ id: 0, ok: true, result: { version: browser.version() } });

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    out({ id: null, ok: false, error: `bad request: ${e.message}` });
    continue;
  }
  if (req.op === "quit") break;
  try {
    const fn = ops[req.op];
    if (!fn) throw new Error(`unknown op ${req.op}`);
    out({ id: req.id, ok: true, result: (await fn(req)) ?? null });
  } catch (e) {
    out({ id: req.id, ok: false, error: String(e && e.message ? e.message : e) });
  }
}
await browser.close();
process.exit(0);
