"""What a first real deploy needs, read from the Terraform files, the manifest, firebase.json,
the OpenAPI document and the Dockerfile (issue 16). Each test names the defect it guards
against; none needs the Google provider or a project.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from giftengine import manifest as manifest_mod

from .conftest import (
    MANIFEST_PATH,
    REPO,
    TERRAFORM_DIR,
    module_locals,
    one,
    resources,
    terraform_locals,
)

pytestmark = pytest.mark.unit

MODULE = "modules/giftengine/"


def _by_addr(hcl: dict[str, Any], prefix: str = MODULE) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t, n): b for f, t, n, b in resources(hcl) if f.startswith(prefix)}


def _blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name, [])
    return value if isinstance(value, list) else [value]


# -- runtime (item 11) ---------------------------------------------------------------------


def test_functions_and_worker_run_the_python_the_tests_run(hcl: dict[str, Any]) -> None:
    m = manifest_mod.load()
    here = f"python{sys.version_info.major}{sys.version_info.minor}"
    assert m.python_runtime == here, "the deployed runtime is not the Python the tests run"
    fn = _by_addr(hcl)[("google_cloudfunctions2_function", "fn")]
    assert one(one(fn["build_config"])["runtime"]) == "${local.python_runtime}"
    assert "local.manifest.python_runtime" in one(module_locals(hcl)["python_runtime"])
    dotted = f"{sys.version_info.major}.{sys.version_info.minor}"
    dockerfile = (REPO / "infra" / "Dockerfile").read_text()
    assert re.search(rf"^FROM python:{re.escape(dotted)}-slim\b", dockerfile, re.M)
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text())
    test_step = next(s for s in build["steps"] if s["id"] == "test")
    assert test_step["name"].startswith(f"python:{dotted}-")


def test_function_memory_and_timeout_come_from_the_manifest(
    hcl: dict[str, Any], terraform_bin: str, tmp_path: Path
) -> None:
    fn = _by_addr(hcl)[("google_cloudfunctions2_function", "fn")]
    service = one(fn["service_config"])
    assert one(service["available_memory"]) == "${each.value.memory_mb}Mi"
    assert one(service["timeout_seconds"]) == "${each.value.timeout_s}"
    tf = terraform_locals(terraform_bin, tmp_path, MANIFEST_PATH, ["functions", "schedules"])
    raw = yaml.safe_load(MANIFEST_PATH.read_text())["functions"]
    for key, f in tf["functions"].items():
        assert f["memory_mb"] == raw[key].get("memory_mb", 256)
        assert f["timeout_s"] == raw[key].get("timeout_s", 60)
    # Item 10: Scheduler never gives up on a job before the function's own timeout.
    for name, job in tf["schedules"].items():
        target = tf["functions"][job["target"]]
        assert job["attempt_deadline_s"] >= target["timeout_s"], name
        assert 15 <= job["attempt_deadline_s"] <= 1800, name
    sched = _by_addr(hcl)[("google_cloud_scheduler_job", "job")]
    assert one(sched["attempt_deadline"]) == "${each.value.attempt_deadline_s}s"


# -- identities and roles (items 3, 4) -----------------------------------------------------

# Who may set each IAM surface the module writes: roles/editor may not change any IAM policy.
IAM_ADMIN = {
    "google_project_iam_member": "roles/resourcemanager.projectIamAdmin",
    "google_service_account_iam_member": "roles/iam.serviceAccountAdmin",
    "google_pubsub_topic_iam_member": "roles/pubsub.admin",
    "google_pubsub_subscription_iam_member": "roles/pubsub.admin",
    "google_cloud_run_v2_service_iam_member": "roles/run.admin",
    "google_secret_manager_secret_iam_member": "roles/secretmanager.admin",
    "google_storage_bucket_iam_member": "roles/storage.admin",
    "google_bigquery_table_iam_member": "roles/bigquery.admin",
}


def _deployer_env_roles() -> set[str]:
    text = (TERRAFORM_DIR / "bootstrap" / "main.tf").read_text()
    block = text.split("deployer_env_roles = toset([", 1)[1].split("])", 1)[0]
    return set(re.findall(r'"(roles/[^"]+)"', block))


def test_the_deployer_may_set_every_iam_binding_the_module_writes(hcl: dict[str, Any]) -> None:
    roles = _deployer_env_roles()
    iam_types = {
        t for f, t, n, b in resources(hcl) if f.startswith(MODULE) and t.endswith("_iam_member")
    }
    assert iam_types, "the module writes IAM bindings"
    for t in iam_types:
        assert t in IAM_ADMIN, f"{t}: which role may set it? add it to IAM_ADMIN and the deployer"
        assert IAM_ADMIN[t] in roles, f"the deployer cannot set {t} (needs {IAM_ADMIN[t]})"
    # Deploying a function or service that runs as another identity needs actAs on it.
    assert "roles/iam.serviceAccountUser" in roles
    grant = _by_addr(hcl, "bootstrap/")[("google_project_iam_member", "deployer_env")]
    assert one(grant["member"]) == "${google_service_account.deployer.member}"


def test_the_function_builder_may_write_the_source_bucket(hcl: dict[str, Any]) -> None:
    grants = [
        b
        for (t, n), b in _by_addr(hcl).items()
        if t == "google_storage_bucket_iam_member"
        and one(b["member"]) == '${google_service_account.platform["builder"].member}'
    ]
    assert [one(b["role"]) for b in grants] == ["roles/storage.objectAdmin"]
    assert "${google_storage_bucket.platform" in one(grants[0]["bucket"])


# -- names, hosting, CORS (items 5, 6) -----------------------------------------------------


def test_every_documented_path_reaches_a_deployed_function() -> None:
    m = manifest_mod.load()
    api = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    firebase = json.loads((REPO / "firebase.json").read_text())
    rewrites = {r["source"]: r for r in firebase["hosting"]["rewrites"]}
    public = {k for k, f in m.functions.items() if f.trigger == "http" and f.public}
    # Exactly the public functions are rewritten, each to the Cloud Run service Terraform
    # names after it (wallet_api -> wallet-api) in the manifest's region.
    assert set(rewrites) == {f"/{k}/**" for k in public}
    for key in public:
        target = rewrites[f"/{key}/**"]["run"]
        assert target == {"serviceId": key.replace("_", "-"), "region": m.region}
    # Production server is the Hosting site; every path's first segment is a function, and
    # a public function's paths are served through its rewrite.
    assert api["servers"][0]["url"] == "https://{project}.web.app"
    for path in api["paths"]:
        first = path.strip("/").split("/")[0]
        assert first in m.functions, f"{path}: no function named {first}"
    documented_public = {p.strip("/").split("/")[0] for p in api["paths"]} & public
    assert documented_public == public


def test_web_apps_are_hosted_with_their_runtime_config() -> None:
    firebase = json.loads((REPO / "firebase.json").read_text())
    assert firebase["hosting"]["public"] == "web/dist"
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text())
    hosting = "\n".join(next(s for s in build["steps"] if s["id"] == "hosting")["args"])
    assert "npm run build" in hosting
    assert "web/dist/config.json" in hosting and "emulators: null" in hosting
    assert "deploy --only hosting" in hosting


# -- wallet production settings (item 7) ---------------------------------------------------


def test_wallet_sandbox_and_localhost_defaults_are_overridden(hcl: dict[str, Any]) -> None:
    from giftengine.wallet import settings

    src = Path(settings.__file__).read_text()
    env_of = dict(re.findall(r"(\w+)=_env\(\"([A-Z0-9_]+)\"", src))
    risky = {
        name: value
        for name, value in vars(settings.WalletSettings).items()
        if isinstance(value, str)
        and not name.startswith("_")
        and any(s in value for s in ("localhost", "rc-epay", "dev.khalti", "EPAYTEST"))
    }
    assert risky, "the settings have sandbox/localhost defaults to override"
    wallet_env = one(module_locals(hcl)["wallet_env"])
    for field in risky:
        assert field in env_of, f"{field} is not read from the environment"
        assert env_of[field] in wallet_env, f"Terraform leaves {env_of[field]} at its default"
    # The gateway endpoints follow payments_live; prod turns it on.
    for key in ("ESEWA_FORM_URL", "KHALTI_API_BASE"):
        assert "var.payments_live" in wallet_env[key]
    env_file = (TERRAFORM_DIR / "environment" / "envs" / "prod.tfvars").read_text()
    assert re.search(r"^payments_live\s*=\s*true", env_file, re.M)
    assert "local.wallet_env" in one(module_locals(hcl)["function_env"])


# -- alerts and dead letters (items 8, 9, 10) ----------------------------------------------


def test_reconciliation_alert_matches_the_wallet_log_line(hcl: dict[str, Any]) -> None:
    policy = _by_addr(hcl)[("google_monitoring_alert_policy", "wallet_reconciliation")]
    cond = one(one(policy["conditions"])["condition_matched_log"])
    phrase = re.search(r'textPayload:\\?"([^"\\]+)', one(cond["filter"])).group(1)
    service = (REPO / "functions" / "giftengine" / "wallet" / "service.py").read_text()
    assert phrase in service, f"the alert matches {phrase!r}, which the wallet never logs"


def test_every_push_subscription_has_a_dead_letter_topic() -> None:
    m = manifest_mod.load()
    for s in m.subscriptions.values():
        if s.push_to:
            assert s.dead_letter_topic, f"{s.name} retries forever with no dead-letter topic"


def test_latency_alert_leaves_out_scheduler_jobs(
    hcl: dict[str, Any], terraform_bin: str, tmp_path: Path
) -> None:
    policy = _by_addr(hcl)[("google_monitoring_alert_policy", "latency_p95")]
    cond = one(one(one(policy["conditions"])["condition_threshold"])["filter"])
    assert cond.startswith("${local.latency_filter}")
    tf = terraform_locals(terraform_bin, tmp_path, MANIFEST_PATH, ["latency_watched_names"])
    m = manifest_mod.load()
    jobs = {j.target.replace("_", "-") for j in m.schedules.values()}
    assert jobs and not jobs & set(tf["latency_watched_names"])
    assert "on-engagement" in tf["latency_watched_names"]


# -- worker: probes and scale (items 12, 13) -----------------------------------------------


def test_worker_has_startup_and_liveness_probes_on_its_health_routes(hcl: dict[str, Any]) -> None:
    svc = _by_addr(hcl)[("google_cloud_run_v2_service", "service")]
    container = one(one(svc["template"])["containers"])
    startup = one(one(container["startup_probe"])["http_get"])
    liveness = one(one(container["liveness_probe"])["http_get"])
    health = (REPO / "functions" / "giftengine" / "ingest" / "health.py").read_text()
    for probe in (startup, liveness):
        assert f'"{one(probe["path"])}"' in health, f"the worker does not serve {probe['path']}"
    assert one(startup["path"]) == "/readyz" and one(liveness["path"]) == "/healthz"


def test_worker_scale_is_set_by_the_reconciler_not_by_requests(hcl: dict[str, Any]) -> None:
    svc = _by_addr(hcl)[("google_cloud_run_v2_service", "service")]
    scaling = one(svc["scaling"])
    assert one(scaling["scaling_mode"]) == "MANUAL"
    ignored = one(one(svc["lifecycle"])["ignore_changes"])
    assert any("manual_instance_count" in str(x) for x in ignored)
    # The reconciler is a scheduled function allowed to change that one service.
    m = manifest_mod.load()
    worker = m.services["ingest_worker"]
    assert worker.scaled_by in m.functions
    assert any(j.target == worker.scaled_by for j in m.schedules.values())
    grant = _by_addr(hcl)[("google_cloud_run_v2_service_iam_member", "scaler")]
    assert one(grant["role"]) == "roles/run.developer"
    assert one(grant["for_each"]) == "${local.scaled_services}"
    main = (REPO / "functions" / "main.py").read_text()
    assert f"def {m.functions[worker.scaled_by].entry_point}(" in main


# -- staging: ops stage, one environment root, budget, lock file (item 12) -------------------


def test_one_environment_root_with_only_variables_differing() -> None:
    roots = {p.parent for p in TERRAFORM_DIR.rglob("*.tf") if "modules" not in p.parts}
    assert {p.relative_to(TERRAFORM_DIR).as_posix() for p in roots} == {"bootstrap", "environment"}
    envs = TERRAFORM_DIR / "environment" / "envs"
    keys = {}
    for f in sorted(envs.glob("*.tfvars")):
        keys[f.stem] = set(re.findall(r"^(\w+)\s*=", f.read_text(), re.M))
    assert set(keys) == {"dev", "prod"}
    assert keys["dev"] - {"esewa_product_code"} == keys["prod"] - {"esewa_product_code"}


def test_ops_stage_has_budgets_registry_state_and_triggers(hcl: dict[str, Any]) -> None:
    ops = _by_addr(hcl, "bootstrap/")
    for addr in [
        ("google_billing_budget", "env"),
        ("google_artifact_registry_repository", "images"),
        ("google_storage_bucket", "tfstate"),
        ("google_service_account", "deployer"),
        ("google_cloudbuild_trigger", "deploy"),
    ]:
        assert addr in ops, f"the ops stage lacks {addr}"
    budget = ops[("google_billing_budget", "env")]
    thresholds = [one(r["threshold_percent"]) for r in _blocks(budget, "threshold_rules")]
    assert 1.0 in thresholds and 0.5 in thresholds
    # The pipeline refuses to run without the committed lock file.
    build = (REPO / "cloudbuild.yaml").read_text()
    assert "-lockfile=readonly" in build
    assert "terraform providers lock" in (TERRAFORM_DIR / "bootstrap" / "versions.tf").read_text()
