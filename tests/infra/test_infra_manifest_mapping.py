"""Terraform deploys exactly what the manifest lists: every function, topic, subscription,
queue, bucket, service and schedule has its resource, and nothing of those kinds exists
unlisted.

Two halves: the .tf files are parsed to prove each kind is ONE for_each over the module's
manifest locals (and declared nowhere else); the real terraform CLI evaluates those locals
offline to prove they hold exactly the manifest's names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from giftengine import manifest as manifest_mod

from .conftest import MANIFEST_PATH, TERRAFORM_DIR, module_locals, one, resources, terraform_locals

pytestmark = pytest.mark.unit

# resource type -> (manifest local it must iterate, the expression naming each resource)
MANIFEST_KINDS = {
    "google_cloudfunctions2_function": ("local.functions", "${each.value.name}"),
    "google_pubsub_topic": ("local.topics", "${each.value}"),
    "google_pubsub_subscription": ("local.subscriptions", "${each.key}"),
    "google_cloud_tasks_queue": ("local.queues", "${each.key}"),
    "google_storage_bucket": ("local.buckets", "${each.value.name}"),
    "google_cloud_run_v2_service": ("local.services", "${each.value.name}"),
    "google_cloud_scheduler_job": ("local.schedules", "${each.key}"),
}
# Deploy plumbing that is not a manifest name: the function source bucket (its own for_each)
# and the access-log bucket (a single resource, None). Named `PROJECT-gcf-source` and
# `PROJECT-access-logs`, they cannot collide with a manifest bucket unless the manifest names
# one `gcf-source` or `access-logs` (test_platform_buckets_do_not_collide).
PLATFORM = {
    ("google_storage_bucket", "platform"): "${local.platform_buckets}",
    ("google_storage_bucket", "access_logs"): None,
    # The event archive's BigQuery subscription (archive.tf): production only, there is no
    # BigQuery locally; the local counterpart is a report's Parquet export (decision 080).
    ("google_pubsub_subscription", "archive"): None,
}

LOCALS = [
    "topics",
    "functions",
    "subscriptions",
    "queues",
    "buckets",
    "services",
    "schedules",
    "identities",
    "identity_roles",
    "identity_secrets",
    "secret_ids",
    "invokers",
    "public_functions",
    "task_enqueuers",
    "dead_letter_subscriptions",
]


# The ops stage (terraform/bootstrap, applied once) holds the Terraform state bucket and its
# access-log bucket: deploy plumbing too, outside every environment.
BOOTSTRAP = {("google_storage_bucket", "tfstate"), ("google_storage_bucket", "access_logs")}


def _module_resources(hcl: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [r for r in resources(hcl) if r[0].startswith("modules/giftengine/")]


def test_each_manifest_kind_is_one_for_each_over_the_manifest(hcl: dict[str, Any]) -> None:
    for rtype, (local_name, name_expr) in MANIFEST_KINDS.items():
        decls = [
            (f, n, b)
            for f, t, n, b in _module_resources(hcl)
            if t == rtype and (t, n) not in PLATFORM
        ]
        assert len(decls) == 1, f"{rtype}: expected one manifest-driven declaration, got {decls}"
        file, name, body = decls[0]
        assert file.startswith("modules/giftengine/"), f"{rtype}.{name} declared in {file}"
        assert one(body.get("for_each")) == "${" + local_name + "}", f"{rtype}.{name}"
        assert "count" not in body
        assert one(body["name"]) == name_expr, f"{rtype}.{name} is not named from the manifest"


def test_nothing_of_a_manifest_kind_is_declared_unlisted(hcl: dict[str, Any]) -> None:
    for (rtype, rname), for_each in PLATFORM.items():
        body = next(b for f, t, n, b in _module_resources(hcl) if (t, n) == (rtype, rname))
        assert one(body.get("for_each")) == for_each
        assert "count" not in body
    declared = {(t, n) for f, t, n, b in _module_resources(hcl) if t in MANIFEST_KINDS}
    expected = {
        (t, n)
        for f, t, n, b in _module_resources(hcl)
        if t in MANIFEST_KINDS
        and (one(b.get("for_each")) == "${" + MANIFEST_KINDS[t][0] + "}" or (t, n) in PLATFORM)
    }
    assert declared == expected
    # The environment root only calls the module; the ops stage declares only its buckets.
    assert [r[:3] for r in resources(hcl) if r[0].startswith("environment/")] == []
    ops_kinds = {
        (t, n)
        for f, t, n, b in resources(hcl)
        if f.startswith("bootstrap/") and t in MANIFEST_KINDS
    }
    assert ops_kinds == BOOTSTRAP


def test_the_module_reads_the_same_manifest_file_the_local_cloud_reads(hcl: dict[str, Any]) -> None:
    assert one(module_locals(hcl)["manifest"]) == "${yamldecode(file(var.manifest_path))}"
    doc = hcl["environment/main.tf"]
    env_locals = {k: v for block in doc["locals"] for k, v in block.items()}
    assert one(env_locals["repo_root"]) == '${abspath("${path.module}/../..")}'
    call = doc["module"][0]["giftengine"]
    assert one(call["manifest_path"]) == "${local.repo_root}/functions/giftengine/manifest.yaml"
    assert one(call["source"]) == "../modules/giftengine"
    assert (TERRAFORM_DIR / "environment" / "../..").resolve() / (
        "functions/giftengine/manifest.yaml"
    ) == MANIFEST_PATH


def _deployed_names(tf: dict[str, Any]) -> dict[str, set[str]]:
    return {
        "functions": {f["name"] for f in tf["functions"].values()},
        "topics": set(tf["topics"].values()),
        "subscriptions": set(tf["subscriptions"]),
        "queues": set(tf["queues"]),
        "buckets": set(tf["buckets"]),
        "services": {s["name"] for s in tf["services"].values()},
        "schedules": set(tf["schedules"]),
    }


def _manifest_names(m: manifest_mod.Manifest) -> dict[str, set[str]]:
    return {
        "functions": {k.replace("_", "-") for k in m.functions},
        "topics": set(m.topics.values()),
        "subscriptions": set(m.subscriptions),
        "queues": set(m.queues),
        "buckets": set(m.buckets),
        "services": {k.replace("_", "-") for k in m.services},
        "schedules": set(m.schedules),
    }


def test_terraform_evaluates_exactly_the_manifest_names(terraform_bin: str, tmp_path: Path) -> None:
    m = manifest_mod.parse(yaml.safe_load(MANIFEST_PATH.read_text()))
    tf = terraform_locals(terraform_bin, tmp_path, MANIFEST_PATH, LOCALS)
    assert _deployed_names(tf) == _manifest_names(m)
    for key, f in m.functions.items():
        got = tf["functions"][key]
        assert (got["entry_point"], got["trigger"], got["public"]) == (
            f.entry_point,
            f.trigger,
            f.public,
        )
        assert set(got["roles"]) == set(f.roles) and set(got["secrets"]) == set(f.secrets)
    for key, s in m.subscriptions.items():
        got = tf["subscriptions"][key]
        assert got["topic_name"] == m.topics[s.topic]
        assert (got["push_to"], got["dead_letter_topic"]) == (s.push_to, s.dead_letter_topic)
        assert got["ack_deadline_seconds"] == s.ack_deadline_seconds
    for key, q in m.queues.items():
        got = tf["queues"][key]
        assert (got["target"], got["max_dispatches_per_second"], got["max_attempts"]) == (
            q.target,
            q.max_dispatches_per_second,
            q.max_attempts,
        )


SYNTHETIC = {
    "project_id_default": "demo-x",
    "region": "europe-west1",
    "topics": {"engagement": "engagement-events", "dead_letter": "dead-letters"},
    "subscriptions": {
        "push-sub": {
            "topic": "engagement",
            "push_to": "on_event",
            "dead_letter_topic": "dead_letter",
            "max_delivery_attempts": 7,
        },
        "dlq-audit": {"topic": "dead_letter"},
    },
    "queues": {"q1": {"target": "tick"}},
    "buckets": None,  # an empty YAML mapping
    "functions": {
        "on_event": {
            "entry_point": "on_event",
            "trigger": "pubsub",
            "topic": "engagement",
            "roles": ["roles/datastore.user", "roles/cloudtasks.enqueuer"],
        },
        "tick": {"entry_point": "tick", "trigger": "http", "public": False},
        "pay": {
            "entry_point": "pay",
            "trigger": "http",
            "public": True,
            "roles": ["roles/datastore.user"],
            "secrets": ["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"],
        },
    },
    "services": {
        "ingest_worker": {
            "command": ["giftengine", "worker"],
            "roles": ["roles/pubsub.publisher"],
            "secrets": ["TIKTOK_SIGN_API_KEY"],
            "min_instances": 1,
        }
    },
    "schedules": {
        "nightly-reconcile": {"cron": "0 3 * * *", "target": "tick", "path": "/reconcile"},
        "hourly-bonus": {"cron": "0 * * * *", "target": "tick", "path": "/bonus"},  # same target
    },
}


@pytest.mark.parametrize("services", ["present", "empty", "absent"])
def test_terraform_follows_a_changed_manifest(
    terraform_bin: str, tmp_path: Path, services: str
) -> None:
    raw = dict(SYNTHETIC)
    if services == "empty":
        raw["services"] = None
    elif services == "absent":
        del raw["services"]
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(raw))
    m = manifest_mod.parse(yaml.safe_load(path.read_text()))
    tf = terraform_locals(terraform_bin, tmp_path, path, LOCALS, project="acme-prod")

    assert _deployed_names(tf) == _manifest_names(m)
    assert (
        tf["functions"]["on_event"]["url"]
        == "https://europe-west1-acme-prod.cloudfunctions.net/on-event"
    )
    # One identity per function and service, holding exactly the manifest's roles and secrets.
    expected_ids = {"fn-on-event", "fn-tick", "fn-pay"} | (
        {"run-ingest-worker"} if m.services else set()
    )
    assert set(tf["identities"]) == expected_ids
    roles = {(p["identity"], p["role"]) for p in tf["identity_roles"].values()}
    want = {(f"fn-{k.replace('_', '-')}", r) for k, f in m.functions.items() for r in f.roles}
    want |= {(f"run-{k.replace('_', '-')}", r) for k, s in m.services.items() for r in s.roles}
    assert roles == want
    grants = {(p["identity"], p["secret"]) for p in tf["identity_secrets"].values()}
    want_s = {(f"fn-{k}", s) for k, f in m.functions.items() for s in f.secrets}
    want_s |= {
        (f"run-{k.replace('_', '-')}", s) for k, sv in m.services.items() for s in sv.secrets
    }
    assert grants == want_s
    assert set(tf["secret_ids"]) == {s for _, s in want_s}
    # Invokers: the push identity on the push target, Tasks on the queue target, Scheduler on
    # the job target; only `public: true` functions are public.
    assert {(v["function"], v["who"]) for v in tf["invokers"].values()} == {
        ("on_event", "pubsub-push"),
        ("tick", "tasks"),
        ("tick", "scheduler"),
    }
    assert set(tf["public_functions"]) == {"pay"}
    assert set(tf["task_enqueuers"]) == {"fn-on-event"}
    assert set(tf["dead_letter_subscriptions"]) == {"dlq-audit"}


def test_manifest_is_deployable_as_terraform_maps_it() -> None:
    """Rules Terraform relies on, checked on the real manifest before any deploy."""
    m = manifest_mod.load()
    for key, f in m.functions.items():
        # Cloud Run service names: lowercase letters, digits, hyphens; at most 49 characters.
        assert re.fullmatch(r"[a-z][a-z0-9-]{0,48}", key.replace("_", "-")), key
        if f.trigger == "pubsub":  # delivered by a push subscription (decision 010)
            assert any(s.push_to == key and s.topic == f.topic for s in m.subscriptions.values()), (
                f"function {key} has no push subscription on topic {f.topic}"
            )
    for account in [f"fn-{k}" for k in m.functions] + [f"run-{k}" for k in m.services]:
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account.replace("_", "-")), account
    for s in m.subscriptions.values():
        if s.dead_letter_topic:  # a dead letter on a topic nobody subscribes to is lost
            assert any(t.topic == s.dead_letter_topic for t in m.subscriptions.values())


def test_platform_buckets_do_not_collide_with_manifest_buckets() -> None:
    assert not {"gcf-source", "access-logs"} & {
        k.replace("_", "-") for k in manifest_mod.load().buckets
    }
