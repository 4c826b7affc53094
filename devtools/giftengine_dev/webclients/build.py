"""Build web/ with Vite when its sources changed (a hash of them is kept next to the output)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from giftengine_dev.devcloud.layout import ROOT

WEB = ROOT / "web"
DIST = WEB / "dist"
STAMP = DIST / ".source-hash"
SOURCES = ("package.json", "package-lock.json", "vite.config.js", "overlay", "dashboard", "shared")


class BuildError(RuntimeError):
    """The web clients could not be built; the message says which step failed."""


def source_hash(web: Path = WEB) -> str:
    h = hashlib.sha256()
    for name in SOURCES:
        path = web / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.exists():
                h.update(str(f.relative_to(web)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def is_current(web: Path = WEB) -> bool:
    stamp = web / "dist" / ".source-hash"
    return stamp.exists() and stamp.read_text().strip() == source_hash(web)


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BuildError(f"{what}: {e}") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise BuildError(f"{what} failed (exit {done.returncode}):\n{tail}")


def ensure_built(web: Path = WEB, log=lambda msg: None) -> Path:
    """web/dist, built now if missing or older than the sources. Raises BuildError."""
    npm = shutil.which("npm")
    if is_current(web):
        return web / "dist"
    if not npm:
        raise BuildError("npm not found: install Node 20+ to build the web clients")
    if not (web / "node_modules" / ".bin" / "vite").exists():
        # `make setup` keeps web/node_modules in step with the lock file; this covers a
        # checkout where only the Python side was set up.
        log("giftengine: installing web client packages (npm ci in web/)")
        _run([npm, "ci", "--no-audit", "--no-fund"], web, "npm ci in web/")
    log("giftengine: building the overlay and dashboard (vite build)")
    want = source_hash(web)
    _run([str(web / "node_modules" / ".bin" / "vite"), "build"], web, "vite build in web/")
    (web / "dist" / ".source-hash").write_text(want)
    return web / "dist"
