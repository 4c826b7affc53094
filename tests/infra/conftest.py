"""Fixtures of the offline infrastructure checks (no emulator, no Google provider).

checkov pins `packaging<24` while pytest 9 needs `packaging>=24`, so checkov lives in its own
virtualenv, .giftengine/venvs/checkov, created here on first use from
requirements-checkov.txt (and again whenever that file changes).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
MODULE_DIR = TERRAFORM_DIR / "modules" / "giftengine"
MANIFEST_PATH = REPO / "functions" / "giftengine" / "manifest.yaml"
CHECKOV_VENV = REPO / ".giftengine" / "venvs" / "checkov"
CHECKOV_REQUIREMENTS = Path(__file__).with_name("requirements-checkov.txt")


def _venv_bin(name: str) -> Path:
    return CHECKOV_VENV / ("Scripts" if os.name == "nt" else "bin") / name


@pytest.fixture(scope="session")
def checkov_venv() -> Path:
    """The checkov virtualenv's bin directory, installed if missing or out of date."""
    digest = hashlib.sha256(CHECKOV_REQUIREMENTS.read_bytes()).hexdigest()[:16]
    stamp = CHECKOV_VENV / f".installed-{digest}"
    if not stamp.exists() or not _venv_bin("checkov").exists():
        base_python = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base_python, "-m", "venv", "--clear", str(CHECKOV_VENV)], check=True)
        subprocess.run(
            [
                str(_venv_bin("python")),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(CHECKOV_REQUIREMENTS),
            ],
            check=True,
            timeout=900,
        )
        stamp.touch()
    return _venv_bin("checkov").parent


@pytest.fixture(scope="session")
def hcl(checkov_venv: Path) -> dict[str, Any]:
    """Every .tf file under terraform/, parsed: {path relative to terraform/: HCL as JSON}."""
    proc = subprocess.run(
        [
            str(checkov_venv / "python"),
            str(Path(__file__).with_name("_hcl_dump.py")),
            str(TERRAFORM_DIR),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.skip("terraform is not installed on this machine (the checks need only the CLI)")
    return path


def one(value: Any) -> Any:
    """python-hcl2 wraps attribute values in one-element lists."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def resources(hcl_files: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(file, resource type, resource name, body) of every resource block in terraform/."""
    out = []
    for file, doc in hcl_files.items():
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for rname, body in named.items():
                    out.append((file, rtype, rname, body))
    return out


def module_locals(hcl_files: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for file, doc in hcl_files.items():
        if file.startswith("modules/giftengine/"):
            for block in doc.get("locals", []):
                out.update({k: v for k, v in block.items() if not k.startswith("__")})
    return out


def terraform_locals(
    terraform: str,
    tmp_path: Path,
    manifest: Path,
    names: list[str],
    project: str = "demo-p",
    extra_vars: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Evaluate the module's manifest locals with the real terraform CLI, offline.

    manifest.tf, firestore_files.tf and packages.tf declare no provider resource, so
    `terraform init` needs no download.
    """
    work = tmp_path / "tf"
    work.mkdir()
    extra_vars = dict(extra_vars or {})
    if "packages_dir" not in extra_vars:
        # packages.tf reads build/packages, generated at deploy time by `giftengine packages`;
        # a clean checkout has none, so generate them for this evaluation.
        from giftengine_dev import packaging

        out = tmp_path / "packages"
        packaging.write(out)
        extra_vars["packages_dir"] = str(out)
    for name in ("manifest.tf", "firestore_files.tf", "packages.tf", "variables.tf"):
        shutil.copy(MODULE_DIR / name, work / name)
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    subprocess.run(
        [terraform, "init", "-input=false", "-backend=false"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    expr = "jsonencode({" + ", ".join(f"{n} = local.{n}" for n in names) + "})"
    proc = subprocess.run(
        [
            terraform,
            "console",
            f"-var=project_id={project}",
            "-var=environment=test",
            f"-var=manifest_path={manifest}",
            f"-var=repo_root={REPO}",
            *[f"-var={k}={v}" for k, v in extra_vars.items()],
        ],
        cwd=work,
        env=env,
        input=expr + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(json.loads(proc.stdout.strip()))
