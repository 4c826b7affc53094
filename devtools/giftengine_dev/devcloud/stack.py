"""Start, inspect and stop one local cloud stack.

    from giftengine_dev.devcloud import stack
    status = stack.up(state_dir, project, port_base, extra_env)   # waits until ready
    stack.status(state_dir, ...)                                   # the same dict, no side effect
    stack.down(state_dir, ...)                                     # stops every process it started

Components (one process group each, logs in <state dir>/logs/<component>.log):
  firebase       firebase-tools emulators:start --only firestore,pubsub
  firebase-auth  firebase-tools emulators:start --only auth (a process of its own: the Auth
                 emulator spends ~8 s of CPU compiling its API validators; in parallel it no
                 longer delays Firestore and Pub/Sub)
  storage    gcp-storage-emulator (in memory)
  tasks      gcloud-tasks-emulator, in its own venv (tasks_emulator.py: used names refused)
  fn-<name>  functions-framework serving one manifest function (gunicorn, threaded)
  web-overlay, web-dashboard  the web clients (built with Vite when web/ changed), each on
             its own port with a /config.json pointing at this stack (giftengine_dev.webclients)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from giftengine_dev.devcloud import procs, resources, tools
from giftengine_dev.devcloud.layout import HOST, ROOT, WEB_OFFSETS, Layout
from giftengine_dev.webclients import build as web_build
from giftengine_dev.webclients import component as web_component

DEFAULT_TIMEOUT_S = 300.0
EMULATOR_HOST_VARS = (
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "CLOUD_TASKS_EMULATOR_HOST",
    "FIREBASE_STORAGE_EMULATOR_HOST",
    "DATASTORE_EMULATOR_HOST",
)


# firebase-tools processes -> the emulators each runs (with their hub and logging ports).
FIREBASE_GROUPS = {
    "firebase": ("firestore", "pubsub"),
    "firebase-auth": ("auth",),
}
_GROUP_INTERNALS = {"firebase": ("hub", "logging"), "firebase-auth": ("auth_hub", "auth_logging")}


class DevCloudError(RuntimeError):
    """A stack could not be started or stopped; the message says which piece and why."""


def _layout(state_dir=None, project=None, port_base=None) -> Layout:
    return Layout.resolve(state_dir, project, port_base)


# ---------------------------------------------------------------------------------------------
# status
# ---------------------------------------------------------------------------------------------


def _read_record(layout: Layout) -> dict | None:
    try:
        return json.loads(layout.pid_file.read_text())
    except (OSError, ValueError):
        return None


def status(state_dir=None, project=None, port_base=None) -> dict:
    """The stack's status. A recorded stack keeps the project and ports it was started with."""
    layout = _layout(state_dir, project, port_base)
    record = _read_record(layout)
    if record:
        layout = Layout(record["project_id"], layout.state_dir, record["port_base"])
    leaders = {c: procs.from_json([p])[0] for c, p in (record or {}).get("leaders", {}).items()}
    gone = procs.dead(leaders.values())
    dead = [c for c, p in leaders.items() if p in gone]
    # A live leader is not enough (firebase-tools outlives a crashed Java emulator): every
    # emulator and function port must also accept connections.
    closed = []
    if leaders and not dead:
        served = {
            **layout.emulators(),
            **{f"fn-{f}": f"{HOST}:{layout.function_port(f)}" for f in layout.manifest.functions},
        }
        closed = [n for n, hp in served.items() if not procs.port_open(int(hp.rsplit(":", 1)[1]))]
    m = layout.manifest
    return {
        "project_id": layout.project_id,
        "running": bool(leaders) and not dead and not closed,
        "dead_components": dead,
        "closed_ports": closed,
        "state_dir": str(layout.state_dir),
        "port_base": layout.port_base,
        "emulators": layout.emulators(),
        "endpoints": layout.endpoints(),
        # Local stand-ins of outside services: the payment providers (Stripe API, eSewa form,
        # Khalti) the wallet functions call on the local cloud.
        "stand_ins": {"payments": layout.stand_in_url()},
        "functions": {
            f.name: {
                "url": layout.function_url(f.name),
                "trigger": f.trigger,
                "entry_point": f.entry_point,
                "public": f.public,
            }
            for f in m.functions.values()
        },
        "services": {name: "not started by dev up" for name in m.services},
        "openapi": str(layout.openapi),
        "pids": {c: p.pid for c, p in leaders.items()},
        "env": layout.client_env(),
        "extra_env": (record or {}).get("extra_env", {}),
        "logs": {c: str(layout.log_file(c)) for c in _components(layout)},
        "writes_dir": str(layout.writes_dir),
        "resources": (record or {}).get("resources", {}),
        "emulator_binaries": (record or {}).get("emulator_binaries", {}),
        "started_at": (record or {}).get("started_at"),
        "startup_seconds": (record or {}).get("startup_seconds"),
        "ready_after_s": (record or {}).get("ready_after_s", {}),
    }


def _components(layout: Layout) -> list[str]:
    return [
        *FIREBASE_GROUPS,
        "storage",
        "tasks",
        *(f"fn-{f}" for f in layout.manifest.functions),
        *(f"web-{app}" for app in WEB_OFFSETS),
    ]


# ---------------------------------------------------------------------------------------------
# up
# ---------------------------------------------------------------------------------------------


def up(
    state_dir=None,
    project=None,
    port_base=None,
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> dict:
    """Start the stack in the background and wait until every piece answers.

    On a stack that is already running this returns its status. A stack left half-running
    (a component died) is stopped and started again.
    """
    layout = _layout(state_dir, project, port_base)
    current = status(layout.state_dir)
    if current["running"]:
        log(f"giftengine: local cloud already running ({layout.state_dir})")
        return current
    if current["pids"]:
        broken = ", ".join(current["dead_components"] + current["closed_ports"])
        log(f"giftengine: stopping a half-running stack ({broken} not running)")
        down(layout.state_dir)

    ports = {**layout.all_ports(), "payments": layout.stand_in_port}
    busy = {c: p for c, p in ports.items() if procs.port_open(p)}
    if busy:
        raise DevCloudError(
            "ports already in use: "
            + ", ".join(f"{c}={p}" for c, p in busy.items())
            + " (another stack? try `giftengine dev down --state-dir ...` or another port base)"
        )

    started = time.monotonic()
    binaries = tools.setup()
    _prepare_dirs(layout)
    leaders: dict[str, procs.Proc] = {}
    extra = dict(extra_env or {})
    try:
        for group in FIREBASE_GROUPS:
            leaders[group] = _start_firebase(layout, binaries, group)
        leaders["storage"] = _start_storage(layout)
        leaders["tasks"] = _start_tasks(layout)
        for f in layout.manifest.functions.values():
            leaders[f"fn-{f.name}"] = _start_function(layout, f, extra)
        leaders["payments"] = _start_stand_in(layout)
        leaders.update(_start_web(layout, log))  # builds while the emulators boot
        _write_record(layout, leaders, extra, binaries)
        ready = _wait_ready(layout, leaders, timeout or _default_timeout(), started)
        made = resources.create_all(layout)
    except BaseException:
        # Leave nothing behind on a failed start (also on Ctrl-C).
        if leaders:
            _write_record(layout, leaders, extra, binaries)
            try:
                down(layout.state_dir)
            except DevCloudError as e:
                log(f"giftengine: cleanup after failed start: {e}")
        raise
    elapsed = round(time.monotonic() - started, 2)
    for note in made.pop("notes", []):
        log(f"giftengine: note: {note}")
    _write_record(
        layout, leaders, extra, binaries, resources=made, startup_seconds=elapsed, ready=ready
    )
    log(f"giftengine: local cloud ready in {elapsed:.1f}s ({layout.state_dir})")
    return status(layout.state_dir)


def _default_timeout() -> float:
    return float(os.environ.get("GIFTENGINE_DEV_TIMEOUT_S") or DEFAULT_TIMEOUT_S)


def _prepare_dirs(layout: Layout) -> None:
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    if layout.logs_dir.exists():
        shutil.rmtree(layout.logs_dir)
    layout.logs_dir.mkdir()
    if layout.writes_dir.exists():
        shutil.rmtree(layout.writes_dir)
    layout.writes_dir.mkdir()


def _write_record(
    layout, leaders, extra, binaries, resources=None, startup_seconds=None, ready=None
) -> None:
    children = procs.descendants(leaders.values())
    record = {
        "project_id": layout.project_id,
        "port_base": layout.port_base,
        "ports": layout.all_ports(),
        "leaders": {c: procs.to_json([p])[0] for c, p in leaders.items()},
        # firebase-tools starts its Java emulators detached: remember them too.
        "children": procs.to_json(children),
        "extra_env": extra,
        "emulator_binaries": binaries,
        "resources": resources or {},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "startup_seconds": startup_seconds,
        "ready_after_s": ready or {},
    }
    tmp = layout.pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(layout.pid_file)


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_HOST_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _firebase_config(layout: Layout, group: str) -> dict:
    """firebase.json for one firebase-tools process of this stack (absolute paths)."""
    hub, logging = _GROUP_INTERNALS[group]
    emulators: dict = {
        "singleProjectMode": True,
        "hub": {"host": HOST, "port": layout.internal_port(hub)},
        "logging": {"host": HOST, "port": layout.internal_port(logging)},
        "ui": {"enabled": False},
    }
    for name in FIREBASE_GROUPS[group]:
        emulators[name] = {"host": HOST, "port": layout.emulator_port(name)}
    cfg: dict = {"emulators": emulators}
    if "firestore" in FIREBASE_GROUPS[group]:
        emulators["firestore"]["websocketPort"] = layout.internal_port("firestore_ws")
        firestore: dict = {}
        rules = ROOT / "firestore.rules"
        indexes = ROOT / "firestore.indexes.json"
        if rules.exists():
            firestore["rules"] = str(rules)
        if indexes.exists():
            firestore["indexes"] = str(indexes)
        if firestore:
            cfg["firestore"] = firestore
    return cfg


def _start_firebase(layout: Layout, binaries: dict[str, str], group: str) -> procs.Proc:
    firebase = tools.firebase_bin()
    if not firebase.exists():
        raise DevCloudError(f"{firebase} not found: run `make setup` (npm ci)")
    config = layout.state_dir / f"{group}.json"
    config.write_text(json.dumps(_firebase_config(layout, group), indent=2))
    # firebase-tools writes *-debug.log files and a per-project hub locator (in the temp
    # dir) next to itself: one directory per process keeps stacks and processes apart.
    workdir = layout.logs_dir / group
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    env = _base_env()
    env.update({k: v for k, v in binaries.items() if k.endswith("_BINARY_PATH")})
    if binaries.get("JAVA_HOME"):
        env["JAVA_HOME"] = binaries["JAVA_HOME"]
        env["PATH"] = f"{binaries['JAVA_HOME']}/bin{os.pathsep}{env.get('PATH', '')}"
    env["NO_UPDATE_NOTIFIER"] = "1"
    env["TMPDIR"] = str(workdir / "tmp")
    cmd = [
        str(firebase),
        "emulators:start",
        "--only",
        ",".join(FIREBASE_GROUPS[group]),
        "--project",
        layout.project_id,
        "--config",
        str(config),
    ]
    return procs.spawn(cmd, layout.log_file(group), env, cwd=workdir)


def _console_script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def _start_storage(layout: Layout) -> procs.Proc:
    cmd = [
        _console_script("gcp-storage-emulator"),
        "start",
        "--host",
        HOST,
        "--port",
        str(layout.emulator_port("storage")),
        "--in-memory",
    ]
    return procs.spawn(cmd, layout.log_file("storage"), _base_env(), cwd=layout.state_dir)


def _start_tasks(layout: Layout) -> procs.Proc:
    retries = max((q.max_attempts for q in layout.manifest.queues.values()), default=100)
    cmd = [
        str(tools.tasks_python()),
        str(Path(__file__).with_name("tasks_emulator.py")),  # refuses a used task name
        "start",
        "--port",
        str(layout.emulator_port("tasks")),
        "--max-retries",
        str(retries),
    ]
    return procs.spawn(cmd, layout.log_file("tasks"), _base_env(), cwd=layout.state_dir)


def _start_function(layout: Layout, fn, extra: dict[str, str]) -> procs.Proc:
    env = _base_env()
    env.update(layout.function_env(fn.name, extra))
    cmd = [
        sys.executable,
        "-m",
        "functions_framework",
        "--source",
        str(ROOT / "functions" / "main.py"),
        "--target",
        fn.entry_point,
        "--signature-type",
        "cloudevent" if fn.trigger == "pubsub" else "http",
        "--host",
        HOST,
        "--port",
        str(layout.function_port(fn.name)),
    ]
    # No --debug: production mode serves through gunicorn with a threaded worker.
    return procs.spawn(cmd, layout.log_file(f"fn-{fn.name}"), env, cwd=ROOT / "functions")


def _start_stand_in(layout: Layout) -> procs.Proc:
    """The payment providers' stand-in (Stripe, Khalti, eSewa) that the wallet functions of
    this stack call (layout.function_env points them at it); its webhooks go to this stack's
    payments_webhook, signed with the wallet's local secrets."""
    from giftengine.wallet.settings import LOCAL_SECRETS

    def secret(name: str) -> str:
        return os.environ.get(name) or LOCAL_SECRETS[name]

    hook = layout.function_url("payments_webhook") + "/payments_webhook/stripe"
    cmd = [
        sys.executable,
        "-m",
        "giftengine_dev.wallet.stripe_fake",
        "--host",
        HOST,
        "--port",
        str(layout.stand_in_port),
        "--webhook-url",
        hook,
        "--webhook-secret",
        secret("STRIPE_WEBHOOK_SECRET"),
        "--esewa-secret",
        secret("ESEWA_SECRET_KEY"),
    ]
    return procs.spawn(cmd, layout.log_file("payments"), _base_env(), cwd=layout.state_dir)


def _start_web(layout: Layout, log: Callable[[str], None]) -> dict[str, procs.Proc]:
    """Serve the overlay and dashboard. When they cannot be built (no npm) the backend still
    comes up, with a note saying why the web clients are missing."""
    try:
        dist = web_build.ensure_built(log=log)
    except web_build.BuildError as e:
        log(f"giftengine: note: web clients not served: {e}")
        return {}
    urls = layout.web_urls()
    settings = {
        app: web_component.settings(
            app,
            HOST,
            layout.web_port(app),
            project_id=layout.project_id,
            emulators=layout.emulators(),
            endpoints=layout.endpoints(),
            urls=urls,
            openapi=layout.openapi,
            dist=dist,
        )
        for app in WEB_OFFSETS
    }
    files = web_component.write_settings(layout.state_dir, settings)
    return {
        f"web-{app}": procs.spawn(
            web_component.command(files[app]), layout.log_file(f"web-{app}"), _base_env(), cwd=ROOT
        )
        for app in WEB_OFFSETS
    }


# ---------------------------------------------------------------------------------------------
# readiness
# ---------------------------------------------------------------------------------------------


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1.0).status_code == 200
    except requests.RequestException:
        return False


def _http_answers(url: str) -> bool:
    try:
        requests.get(url, timeout=3.0)
        return True
    except requests.RequestException:
        return False


def _tasks_ok(layout: Layout) -> bool:
    try:
        client = resources.tasks_client(layout)
        parent = f"projects/{layout.project_id}/locations/{layout.manifest.region}"
        list(client.list_queues(parent=parent, timeout=1.0))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False


def _checks(layout: Layout) -> dict[str, tuple[str, int, Callable[[], bool]]]:
    """name -> (owning component, port, real request that must succeed)."""
    e = layout.emulators()
    p = layout.project_id
    checks: dict[str, tuple[str, int, Callable[[], bool]]] = {
        "firestore": (
            "firebase",
            layout.emulator_port("firestore"),
            lambda: _http_ok(f"http://{e['firestore']}/"),
        ),
        "pubsub": (
            "firebase",
            layout.emulator_port("pubsub"),
            lambda: _http_ok(f"http://{e['pubsub']}/v1/projects/{p}/topics"),
        ),
        "auth": (
            "firebase-auth",
            layout.emulator_port("auth"),
            lambda: _http_ok(f"http://{e['auth']}/emulator/v1/projects/{p}/config"),
        ),
        "storage": (
            "storage",
            layout.emulator_port("storage"),
            lambda: _http_ok(f"http://{e['storage']}/storage/v1/b?project={p}"),
        ),
        "tasks": ("tasks", layout.emulator_port("tasks"), lambda: _tasks_ok(layout)),
    }
    for f in layout.manifest.functions.values():
        # Paths functions-framework answers itself (404 / 405) without calling the function,
        # so probing has no side effects: /robots.txt for HTTP, GET / for CloudEvent targets.
        probe = "/robots.txt" if f.trigger == "http" else "/"
        url = layout.function_url(f.name) + probe
        checks[f"fn-{f.name}"] = (
            f"fn-{f.name}",
            layout.function_port(f.name),
            lambda u=url: _http_answers(u),
        )
    checks["payments"] = (
        "payments",
        layout.stand_in_port,
        lambda: _http_answers(layout.stand_in_url() + "/"),
    )
    for app, url in layout.web_urls().items():
        checks[f"web-{app}"] = (
            f"web-{app}",
            layout.web_port(app),
            lambda u=f"{url}config.json": _http_ok(u),
        )
    return checks


def _wait_ready(
    layout: Layout, leaders: dict[str, procs.Proc], timeout: float, started: float
) -> dict[str, float]:
    """Poll every piece until it answers; returns seconds from `started` to each one's answer."""
    # Only what was started (the web clients are skipped when they cannot be built).
    pending = {n: c for n, c in _checks(layout).items() if c[0] in leaders}
    ready: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while pending:
        for name, (_, port, check) in list(pending.items()):
            if procs.port_open(port) and check():
                del pending[name]
                ready[name] = round(time.monotonic() - started, 2)
        if not pending:
            return ready
        dead = procs.dead([leaders[c] for c, _, _ in pending.values()])
        for name, (component, _, _) in pending.items():
            if leaders[component] in dead:
                what = f"{component} exited while starting {name}"
                raise DevCloudError(_failure(layout, component, what))
        if time.monotonic() >= deadline:
            name, (component, port, _) = next(iter(pending.items()))
            raise DevCloudError(
                _failure(layout, component, f"{name} not ready on port {port} after {timeout:.0f}s")
            )
        time.sleep(0.2)
    return ready


def _failure(layout: Layout, component: str, what: str) -> str:
    log = layout.log_file(component)
    return f"{what}\n--- last lines of {log} ---\n{procs.tail(log)}"


# ---------------------------------------------------------------------------------------------
# down
# ---------------------------------------------------------------------------------------------


def down(state_dir=None, project=None, port_base=None, grace: float = 10.0) -> dict:
    """Stop every process of the stack (whole trees), verify they and their ports are gone."""
    layout = _layout(state_dir, project, port_base)
    record = _read_record(layout)
    if not record:
        return {"stopped": [], "state_dir": str(layout.state_dir), "was_running": False}
    layout = Layout(record["project_id"], layout.state_dir, record["port_base"])
    leaders = procs.from_json(record.get("leaders", {}).values())
    known = procs.from_json(record.get("children", []))
    stopped = procs.stop(leaders, known, grace=grace)
    if stopped.left:
        pids = [p.pid for p in stopped.left]
        raise DevCloudError(f"processes still alive after SIGKILL: {pids}")
    ports = record.get("ports") or layout.all_ports()
    busy = procs.wait_ports_free(ports.values())
    if busy:
        names = [c for c, p in ports.items() if p in busy]
        raise DevCloudError(f"ports still in use after stopping the stack: {busy} ({names})")
    layout.pid_file.unlink(missing_ok=True)
    return {
        "stopped": sorted(record.get("leaders", {})),
        "state_dir": str(layout.state_dir),
        "was_running": True,
        "needed_sigkill": stopped.killed,
    }
