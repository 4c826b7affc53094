"""Where a local stack lives: its ports, files and the env vars clients need.

Everything is derived from three inputs (project id, state dir, port base) so several
stacks (a developer's demo on 8700, the test session on 9400) can run side by side.

Port plan, relative to the base:
  +0 firestore  +1 pubsub  +2 auth  +3 storage  +4 tasks
  +5 emulator hub  +6 emulator logging  +7 firestore websocket   (firebase-tools, Firestore
  +8 emulator hub  +9 emulator logging                            and Pub/Sub | Auth)
  +10 .. +29  one per manifest function, in manifest order
  +30 overlay  +31 dashboard                                      (web clients, web/)
  +48 payments   the payment providers' stand-in (giftengine_dev.wallet.stripe_fake)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from giftengine import manifest as manifest_mod
from giftengine import naming

HOST = "127.0.0.1"
DEFAULT_PORT_BASE = 8700
FUNCTION_PORT_OFFSET = 10
MAX_FUNCTIONS = 20
EMULATOR_OFFSETS = {"firestore": 0, "pubsub": 1, "auth": 2, "storage": 3, "tasks": 4}
FIREBASE_INTERNAL_OFFSETS = {
    "hub": 5,
    "logging": 6,
    "firestore_ws": 7,
    "auth_hub": 8,
    "auth_logging": 9,
}
WEB_OFFSETS = {"overlay": 30, "dashboard": 31}
STAND_IN_OFFSET = 48
# The stand-in's endpoints for the wallet functions, unless the environment names others.
STAND_IN_ENV = {"STRIPE_API_BASE": "", "KHALTI_API_BASE": "", "ESEWA_FORM_URL": "/esewa/form"}

# Repo root: devtools/giftengine_dev/devcloud/layout.py -> parents[3] (editable install).
ROOT = Path(__file__).resolve().parents[3]


def tools_dir() -> Path:
    """Per-checkout tool area (.giftengine/): launcher jar, tasks venv, stamps."""
    return Path(os.environ.get("GIFTENGINE_TOOLS_DIR") or ROOT / ".giftengine").resolve()


def default_state_dir() -> Path:
    env = os.environ.get("GIFTENGINE_STATE_DIR")
    return Path(env).resolve() if env else ROOT / ".giftengine" / "dev"


def default_port_base() -> int:
    return int(os.environ.get("GIFTENGINE_PORT_BASE") or DEFAULT_PORT_BASE)


def default_project() -> str:
    return os.environ.get("GIFTENGINE_PROJECT") or manifest_mod.load().project_id_default


@dataclass(frozen=True)
class Layout:
    project_id: str
    state_dir: Path
    port_base: int

    @classmethod
    def resolve(
        cls,
        state_dir: str | Path | None = None,
        project: str | None = None,
        port_base: int | None = None,
    ) -> Layout:
        return cls(
            project_id=project or default_project(),
            state_dir=Path(state_dir).resolve() if state_dir else default_state_dir(),
            port_base=port_base if port_base is not None else default_port_base(),
        )

    # ---- manifest -------------------------------------------------------------------------
    @property
    def manifest(self) -> manifest_mod.Manifest:
        return manifest_mod.load()

    # ---- ports ----------------------------------------------------------------------------
    def emulator_port(self, name: str) -> int:
        return self.port_base + EMULATOR_OFFSETS[name]

    def internal_port(self, name: str) -> int:
        return self.port_base + FIREBASE_INTERNAL_OFFSETS[name]

    def function_port(self, function: str) -> int:
        names = list(self.manifest.functions)
        if len(names) > MAX_FUNCTIONS:
            raise RuntimeError(f"the port plan has room for {MAX_FUNCTIONS} functions")
        return self.port_base + FUNCTION_PORT_OFFSET + names.index(function)

    def all_ports(self) -> dict[str, int]:
        """Every port this stack listens on, by component (firebase internals included)."""
        ports = {name: self.emulator_port(name) for name in EMULATOR_OFFSETS}
        ports.update({f"firebase-{k}": self.internal_port(k) for k in FIREBASE_INTERNAL_OFFSETS})
        ports.update({f"fn-{f}": self.function_port(f) for f in self.manifest.functions})
        ports.update({f"web-{app}": self.web_port(app) for app in WEB_OFFSETS})
        return ports

    @property
    def stand_in_port(self) -> int:
        """Outside the block of 32 (where the stand-in has always listened)."""
        return self.port_base + STAND_IN_OFFSET

    def stand_in_url(self) -> str:
        return f"http://{HOST}:{self.stand_in_port}"

    def web_port(self, app: str) -> int:
        return self.port_base + WEB_OFFSETS[app]

    def web_urls(self) -> dict[str, str]:
        """The overlay and dashboard (served by `dev up`, docs/web-clients.md)."""
        return {app: f"http://{HOST}:{self.web_port(app)}/" for app in WEB_OFFSETS}

    def emulators(self) -> dict[str, str]:
        return {name: f"{HOST}:{self.emulator_port(name)}" for name in EMULATOR_OFFSETS}

    def function_url(self, function: str) -> str:
        return f"http://{HOST}:{self.function_port(function)}"

    def endpoints(self) -> dict[str, str]:
        """Base URL of every HTTP function, then of the web clients ("overlay", "dashboard")."""
        eps = {f.name: self.function_url(f.name) for f in self.manifest.http_functions()}
        return {**eps, **self.web_urls()}

    def push_endpoint(self, function: str, topic: str) -> str:
        # The topic path in the URL path makes functions-framework set the CloudEvent
        # source to the topic, as Eventarc does in production.
        return f"{self.function_url(function)}/{naming.topic_path(self.project_id, topic)}"

    # ---- files ----------------------------------------------------------------------------
    @property
    def pid_file(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def writes_dir(self) -> Path:
        return self.state_dir / "writes"

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"

    @property
    def openapi(self) -> Path:
        return ROOT / "docs" / "openapi.yaml"

    # ---- env ------------------------------------------------------------------------------
    def client_env(self) -> dict[str, str]:
        """What a client process (tests, CLI, bench) needs to talk to this stack."""
        e = self.emulators()
        env = {
            "FIRESTORE_EMULATOR_HOST": e["firestore"],
            "PUBSUB_EMULATOR_HOST": e["pubsub"],
            "FIREBASE_AUTH_EMULATOR_HOST": e["auth"],
            "STORAGE_EMULATOR_HOST": f"http://{e['storage']}",
            "CLOUD_TASKS_EMULATOR_HOST": e["tasks"],
            "GIFTENGINE_PROJECT": self.project_id,
            "GOOGLE_CLOUD_PROJECT": self.project_id,
            "GCLOUD_PROJECT": self.project_id,
        }
        env.update({naming.function_url_env(n): url for n, url in self.endpoints().items()})
        return env

    def function_env(self, function: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Env of one function process: GIFTENGINE_* passed through, then extra, then wiring."""
        env = {k: v for k, v in os.environ.items() if k.startswith("GIFTENGINE_")}
        for k in ("GIFTENGINE_STATE_DIR", "GIFTENGINE_PORT_BASE"):
            env.pop(k, None)
        env.update(extra or {})
        env.update(self.client_env())
        env["GIFTENGINE_WRITE_LOG"] = str(self.writes_dir / f"{function}.jsonl")
        for name, path in STAND_IN_ENV.items():
            if not os.environ.get(name):
                env[name] = self.stand_in_url() + path
        return env
