"""cloudbuild.yaml: test against the emulators, build the worker image, terraform plan and
apply per environment; prod waits for a manual approval (a trigger setting in Terraform)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from .conftest import REPO, one, resources

pytestmark = pytest.mark.unit

PIPELINE = [
    "test",
    "build-worker",
    "push-worker",
    "terraform-init",
    "terraform-plan",
    "terraform-apply",
    "verify",
]


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    return yaml.safe_load((REPO / "cloudbuild.yaml").read_text())


def _script(step: dict[str, Any]) -> str:
    return "\n".join(step.get("args", []))


def test_pipeline_steps_and_order(build: dict[str, Any]) -> None:
    steps = {s["id"]: s for s in build["steps"]}
    assert list(steps) == PIPELINE
    assert "make test" in _script(steps["test"])
    # Nothing builds or deploys before the suite has passed.
    assert steps["build-worker"]["waitFor"] == ["test"]
    assert steps["terraform-init"]["waitFor"] == ["test"]
    assert set(steps["terraform-plan"]["waitFor"]) == {"terraform-init", "push-worker"}
    assert steps["terraform-apply"]["waitFor"] == ["terraform-plan"]
    assert "terraform fmt -check" in _script(steps["terraform-init"])
    for sid in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert "terraform/environments/${_ENV}" in _script(steps[sid])
    assert "-out=tfplan" in _script(steps["terraform-plan"])
    assert "apply -input=false tfplan" in _script(steps["terraform-apply"])


def test_every_substitution_used_is_declared(build: dict[str, Any]) -> None:
    text = (REPO / "cloudbuild.yaml").read_text()
    used = set(re.findall(r"\$\{(_[A-Z0-9_]+)\}", text))
    assert used <= set(build["substitutions"])


def test_prod_trigger_requires_approval_and_dev_does_not(hcl: dict[str, Any]) -> None:
    build_subs = set(yaml.safe_load((REPO / "cloudbuild.yaml").read_text())["substitutions"])
    triggers = {f: b for f, t, n, b in resources(hcl) if t == "google_cloudbuild_trigger"}
    assert set(triggers) == {"environments/dev/cicd.tf", "environments/prod/cicd.tf"}
    for file, body in triggers.items():
        assert one(body["filename"]) == "cloudbuild.yaml"
        subs = one(body["substitutions"])
        assert set(subs) <= build_subs
        env = file.split("/")[1]
        assert subs["_ENV"] == env
        approval = one(body.get("approval_config", [{}]))
        assert one(approval.get("approval_required", False)) is (env == "prod")


def test_shell_variables_are_escaped_for_cloud_build() -> None:
    """Cloud Build rejects an unknown `$NAME`: shell variables must be written `$$NAME`."""
    text = (REPO / "cloudbuild.yaml").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    bare = set(re.findall(r"(?<!\$)\$([A-Za-z][A-Za-z0-9_]*)", code))
    assert bare <= {"PROJECT_ID", "SHORT_SHA", "COMMIT_SHA", "BUILD_ID", "LOCATION"}
