"""The web clients' server as `dev up` runs it: listed in `dev status`, config from the stack,
static files confined to dist/, same-origin proxy to documented functions only."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from giftengine_dev.devcloud.layout import ROOT
from giftengine_dev.webclients import component


@pytest.mark.unit
def test_only_documented_browser_functions_are_offered(tmp_path):
    spec = tmp_path / "openapi.yaml"
    spec.write_text("paths:\n  /api/goals: {}\n  /wallet_api/wallet: {}\n  /rollup: {}\n")
    s = component.settings(
        "dashboard",
        "127.0.0.1",
        1,
        project_id="demo-x",
        emulators={"firestore": "h:1", "auth": "h:2", "pubsub": "h:3"},
        endpoints={
            "api": "http://a",
            "wallet_api": "http://w",
            "rollup": "http://r",
            "chat_api": "http://c",
        },
        urls={"overlay": "http://o/"},
        openapi=spec,
        dist=tmp_path,
    )
    assert s["upstreams"] == {"api": "http://a", "wallet_api": "http://w"}
    assert s["config"]["functions"] == {"api": "/fn/api", "wallet_api": "/fn/wallet_api"}
    # The browser gets the emulators it talks to, nothing else.
    assert s["config"]["emulators"] == {"firestore": "h:1", "auth": "h:2"}
    assert s["config"]["overlayUrl"] == "http://o/" and s["config"]["projectId"] == "demo-x"


@pytest.mark.unit
def test_the_repository_openapi_documents_the_functions_the_dashboard_calls():
    documented = component.documented_functions(ROOT / "docs" / "openapi.yaml")
    assert {"api", "wallet_api", "ingest_targets"} <= documented


@pytest.mark.emulator
def test_dev_status_lists_overlay_and_dashboard_serving_this_stack(cloud, web):
    for app in ("overlay", "dashboard"):
        base = web[app]
        page = requests.get(base, timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert "/assets/" in page.text
        config = requests.get(f"{base}config.json", timeout=10).json()
        assert config["projectId"] == cloud["project_id"]
        assert config["emulators"]["firestore"] == cloud["emulators"]["firestore"]
        assert config["emulators"]["auth"] == cloud["emulators"]["auth"]
        assert config["functions"]["api"] == "/fn/api"
        assert config["overlayUrl"] == web["overlay"]


@pytest.mark.emulator
def test_dev_up_serves_the_web_clients_as_endpoints(cloud):
    assert cloud["endpoints"]["overlay"].endswith(f":{cloud['port_base'] + 30}/")
    assert cloud["endpoints"]["dashboard"].endswith(f":{cloud['port_base'] + 31}/")
    assert {"web-overlay", "web-dashboard"} <= set(cloud["pids"])


@pytest.mark.emulator
def test_static_files_stay_inside_dist_and_the_proxy_maps_errors(web):
    base = web["dashboard"].rstrip("/")
    for path in ("/../pyproject.toml", "/%2e%2e/%2e%2e/etc/passwd", "/assets/../../package.json"):
        r = requests.get(base + path, timeout=10)
        assert r.status_code == 404, path
    r = requests.post(f"{base}/fn/not_a_function/x", timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "not_available"
    r = requests.post(f"{base}/index.html", timeout=10)
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    # Through the proxy to the api function: its own 401 JSON comes back unchanged.
    r = requests.post(f"{base}/fn/api/goals", json={"stream_id": "x"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]
    assert Path(ROOT / "web" / "dist" / "dashboard" / "index.html").exists()
