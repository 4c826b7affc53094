"""cloudbuild.yaml: test against the emulators, build the worker image once (dev) or promote
dev's image by digest (prod), terraform plan and apply the one environment root, host the web
apps, smoke-test; prod waits for a manual approval (a trigger setting of the ops stage)."""

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
    "resolve-worker",
    "terraform-init",
    "terraform-plan",
    "terraform-apply",
    "hosting",
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
    assert set(steps["terraform-plan"]["waitFor"]) == {"terraform-init", "resolve-worker"}
    assert steps["terraform-apply"]["waitFor"] == ["terraform-plan"]
    assert steps["hosting"]["waitFor"] == ["terraform-apply"]
    assert steps["verify"]["waitFor"] == ["hosting"]
    assert "terraform fmt -check" in _script(steps["terraform-init"])
    # The committed provider lock file is used as is (created by the ops stage).
    assert "-lockfile=readonly" in _script(steps["terraform-init"])
    assert "prefix=giftengine/${_ENV}" in _script(steps["terraform-init"])
    for sid in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert "terraform -chdir=terraform/environment " in _script(steps[sid])
    # Only variables differ between environments.
    assert "-var-file=envs/${_ENV}.tfvars" in _script(steps["terraform-plan"])
    assert "-out=tfplan" in _script(steps["terraform-plan"])
    assert "apply -input=false tfplan" in _script(steps["terraform-apply"])
    assert "giftengine smoke --project" in _script(steps["verify"])


def test_every_substitution_used_is_declared(build: dict[str, Any]) -> None:
    text = (REPO / "cloudbuild.yaml").read_text()
    used = set(re.findall(r"\$\{(_[A-Z0-9_]+)\}", text))
    assert used <= set(build["substitutions"])


def test_prod_trigger_requires_approval_and_dev_does_not(hcl: dict[str, Any]) -> None:
    build_subs = set(yaml.safe_load((REPO / "cloudbuild.yaml").read_text())["substitutions"])
    triggers = [(f, n, b) for f, t, n, b in resources(hcl) if t == "google_cloudbuild_trigger"]
    # One trigger resource in the ops stage, one instance per environment.
    assert [(f, n) for f, n, _ in triggers] == [("bootstrap/cicd.tf", "deploy")]
    body = triggers[0][2]
    assert one(body["filename"]) == "cloudbuild.yaml"
    subs = one(body["substitutions"])
    assert set(subs) <= build_subs
    assert subs["_ENV"] == "${each.key}"
    assert one(one(body["approval_config"])["approval_required"]) == "${each.value.approval}"
    text = (REPO / "terraform" / "bootstrap" / "cicd.tf").read_text()
    assert re.search(r'approval\s*=\s*env == "prod"', text)


def test_no_substitution_is_left_empty(build: dict[str, Any]) -> None:
    """A manual `gcloud builds submit` has no trigger values: every substitution has a
    working default, and the image tag never relies on $SHORT_SHA (empty outside triggers)."""
    for name, value in build["substitutions"].items():
        assert str(value).strip(), f"substitution {name} defaults to empty"
    text = (REPO / "cloudbuild.yaml").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "SHORT_SHA" not in code
    # The commit sha when a trigger runs the build, the build id otherwise.
    steps = {s["id"]: s for s in build["steps"]}
    script = _script(steps["build-worker"])
    assert 'tag="$COMMIT_SHA"' in script and 'tag="$BUILD_ID"' in script
    assert build["options"]["dynamicSubstitutions"] is True


def test_dev_builds_the_image_once_and_prod_promotes_its_digest(build: dict[str, Any]) -> None:
    steps = {s["id"]: s for s in build["steps"]}
    b, r = _script(steps["build-worker"]), _script(steps["resolve-worker"])
    # Pushed to the ops registry (terraform/bootstrap creates it before any build).
    assert "docker push" in b and "$PROJECT_ID/giftengine/worker" in b
    assert 'if [ "${_ENV}" = "dev" ]' in b
    assert "RepoDigests" in b
    assert "fully_qualified_digest" in r
    bootstrap = (REPO / "terraform" / "bootstrap" / "main.tf").read_text()
    assert 'resource "google_artifact_registry_repository" "images"' in bootstrap
    module = "".join(p.read_text() for p in (REPO / "terraform" / "modules").rglob("*.tf"))
    assert "google_artifact_registry_repository" not in module


def test_shell_variables_are_escaped_for_cloud_build() -> None:
    """Cloud Build rejects an unknown `$NAME`: shell variables must be written `$$NAME`."""
    text = (REPO / "cloudbuild.yaml").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    bare = set(re.findall(r"(?<!\$)\$([A-Za-z][A-Za-z0-9_]*)", code))
    assert bare <= {"PROJECT_ID", "COMMIT_SHA", "BUILD_ID", "LOCATION"}
