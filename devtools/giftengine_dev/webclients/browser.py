"""Drive headless Chromium from Python through web/tools/agent.mjs (playwright-core).

    with Browser() as b:
        b.open("overlay", url)
        b.wait_for("overlay", "() => document.querySelector('.alert')?.textContent")
        b.screenshot("overlay", "artifacts/web/alert.png")

Debian's `chromium` is the browser (playwright's downloads are not reachable here).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

from giftengine_dev.webclients.build import WEB

AGENT = WEB / "tools" / "agent.mjs"


class BrowserError(RuntimeError):
    """The agent answered an error (a wait timed out, a selector was missing, ...)."""


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def unavailable_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not chromium_path():
        return "chromium is not installed (make setup installs it with apt-get)"
    if not shutil.which("node"):
        return "node is not installed"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules is missing (make setup runs npm ci in web/)"
    return None


class Browser:
    def __init__(self, start_timeout: float = 60.0):
        env = {**os.environ, "CHROMIUM_PATH": chromium_path() or "chromium"}
        self._proc = subprocess.Popen(
            ["node", str(AGENT)],
            cwd=WEB,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._answers: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        threading.Thread(target=self._read, daemon=True).start()
        first = self._next(start_timeout)
        if not first.get("ok"):
            raise BrowserError(f"browser did not start: {first}")
        self.version = first["result"]["version"]

    def _read(self) -> None:
        for line in self._proc.stdout:
            try:
                self._answers.put(json.loads(line))
            except ValueError:
                continue
        self._answers.put(
            {
                "id": None,
                "ok": False,
                "error": "agent exited: " + (self._proc.stderr.read() or "")[-2000:],
            }
        )

    def _next(self, timeout: float) -> dict:
        try:
            return self._answers.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"no answer from the browser agent within {timeout}s") from None

    def call(self, op: str, timeout: float = 60.0, **args):
        rid = next(self._ids)
        self._proc.stdin.write(json.dumps({"id": rid, "op": op, **args}) + "\n")
        self._proc.stdin.flush()
        while True:
            ans = self._next(timeout)
            if ans.get("id") in (rid, None):
                break
        if not ans["ok"]:
            raise BrowserError(f"{op}: {ans['error']}")
        return ans.get("result")

    # ---- conveniences
    def open(self, page: str, url: str, width: int = 1280, height: int = 720) -> str:
        self.opened = getattr(self, "opened", set()) | {page}
        return self.call("open", page=page, url=url, width=width, height=height)

    def close_pages(self) -> None:
        """Close every page opened so far (the sign-in, kept by the browser context, stays).
        Each open page holds long-lived connections to the Firestore emulator for its
        listeners; Chromium allows 6 connections per host, so pages left open by earlier
        tests starve later pages' listeners (they then never see data)."""
        for page in sorted(getattr(self, "opened", set())):
            self.call("close", page=page)
        self.opened = set()

    def eval(self, page: str, expr: str, arg=None):
        return self.call("eval", page=page, expr=expr, arg=arg)

    def wait_for(self, page: str, expr: str, arg=None, timeout: float = 30.0):
        """The first truthy value of `expr` (a JS function of `arg`), polled in the page."""
        return self._wait(page, expr, arg, timeout)

    def _wait(self, page, expr, arg, timeout):
        rid = next(self._ids)
        req = {
            "id": rid,
            "op": "waitFor",
            "page": page,
            "expr": expr,
            "arg": arg,
            "timeout": int(timeout * 1000),
        }
        self._proc.stdin.write(json.dumps(req) + "\n")
        self._proc.stdin.flush()
        while True:
            ans = self._next(timeout + 30)
            if ans.get("id") in (rid, None):
                break
        if not ans["ok"]:
            raise BrowserError(f"waitFor: {ans['error']}{self._page_report(page)}")
        return ans.get("result")

    def _page_report(self, page: str) -> str:
        """The page's console lines and the overlay's error hooks, for a failed wait's message:
        a wait that timed out in CI otherwise says nothing about why."""
        try:
            lines = self.logs(page)[-30:]
            hooks = self.eval(
                page,
                "() => { const h = window.giftOverlay || {};"
                " return JSON.stringify({state: h.state, stream: h.stream, hint: h.hint,"
                " errors: h.errors, mounted: h.mounted}); }",
            )
        except BrowserError as e:
            return f"\n(no page report: {e})"
        return "\npage console:\n  " + "\n  ".join(lines or ["(empty)"]) + f"\npage hooks: {hooks}"

    def fill(self, page: str, selector: str, value) -> None:
        self.call("fill", page=page, selector=selector, value=value)

    def click(self, page: str, selector: str) -> None:
        self.call("click", page=page, selector=selector)

    def select(self, page: str, selector: str, value) -> None:
        self.call("select", page=page, selector=selector, value=value)

    def upload(self, page: str, selector: str, name: str, mime_type: str, data: bytes) -> None:
        """Choose a file (name, type, bytes) in the <input type=file> at `selector`."""
        import base64

        files = [{"name": name, "mimeType": mime_type, "base64": base64.b64encode(data).decode()}]
        self.call("upload", page=page, selector=selector, files=files)

    def screenshot_element(self, page: str, selector: str, path: str | Path) -> Path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.call("screenshotElement", page=page, selector=selector, path=str(Path(path).resolve()))
        return Path(path)

    def screenshot(self, page: str, path: str | Path, full_page: bool = False) -> Path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.call("screenshot", page=page, path=str(Path(path).resolve()), fullPage=full_page)
        return Path(path)

    def logs(self, page: str) -> list[str]:
        return self.call("logs", page=page)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self._proc.stdin.flush()
                self._proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
