"""The web clients as a component of a local stack: settings files and server processes.

`giftengine dev up` calls `start()`; tests that run without it call `settings()` and serve the
apps in threads. Each app's server gets a settings file in the state dir holding its
/config.json (emulator hosts, project id, which functions the browser may call).
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import yaml

from giftengine_dev.webclients import build
from giftengine_dev.webclients.server import APPS, ThreadingHTTPServer, make_handler, public_config

# Functions the browser apps call. One is offered only when it is running AND documented in
# docs/openapi.yaml: an undocumented contract is shown as "not available" rather than guessed.
BROWSER_FUNCTIONS = ("api", "wallet_api", "ingest_targets", "chat_api")


def documented_functions(openapi: Path) -> set[str]:
    try:
        spec = yaml.safe_load(openapi.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return set()
    return {path.strip("/").split("/", 1)[0] for path in spec.get("paths") or {}}


def settings(
    app: str,
    host: str,
    port: int,
    *,
    project_id: str,
    emulators: dict[str, str],
    endpoints: dict[str, str],
    urls: dict[str, str],
    openapi: Path,
    dist: Path = build.DIST,
) -> dict:
    """The settings of one app's server (`python -m giftengine_dev.webclients serve`)."""
    documented = documented_functions(openapi)
    upstreams = {
        name: url
        for name, url in endpoints.items()
        if name in BROWSER_FUNCTIONS and name in documented
    }
    browser_emulators = {k: emulators[k] for k in ("firestore", "auth") if k in emulators}
    config = public_config(
        project_id, browser_emulators, upstreams, urls.get("overlay"), urls.get("dashboard")
    )
    return {
        "app": app,
        "host": host,
        "port": port,
        "dist": str(dist),
        "config": config,
        "upstreams": upstreams,
    }


def command(settings_file: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "giftengine_dev.webclients",
        "serve",
        "--settings",
        str(settings_file),
    ]


def write_settings(state_dir: Path, all_settings: dict[str, dict]) -> dict[str, Path]:
    files = {}
    for app in APPS:
        path = state_dir / f"web-{app}.json"
        path.write_text(json.dumps(all_settings[app], indent=2))
        files[app] = path
    return files


def serve_in_threads(status: dict, host: str, ports: dict[str, int]) -> tuple[dict, list]:
    """Serve both apps for the stack `status` (a `dev status` dict) from this process.

    For stacks started without the web component. Returns ({app: url}, servers); call
    `shutdown()` and `server_close()` on each server when done."""
    dist = build.ensure_built()
    urls = {app: f"http://{host}:{port}/" for app, port in ports.items()}
    servers = []
    for app, port in ports.items():
        s = settings(
            app,
            host,
            port,
            project_id=status["project_id"],
            emulators=status["emulators"],
            endpoints=status["endpoints"],
            urls=urls,
            openapi=Path(status["openapi"]),
            dist=dist,
        )
        httpd = ThreadingHTTPServer(
            (host, port), make_handler(app, dist, s["config"], s["upstreams"])
        )
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
    return urls, servers
