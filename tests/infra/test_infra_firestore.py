"""Firestore rules, indexes and TTL policies are deployed from the files firebase.json names,
the same files the emulators load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import MANIFEST_PATH, REPO, one, resources, terraform_locals

pytestmark = pytest.mark.unit


def test_indexes_ttl_and_rules_come_from_the_firebase_json_files(
    terraform_bin: str, tmp_path: Path
) -> None:
    firebase = json.loads((REPO / "firebase.json").read_text())
    config = json.loads((REPO / firebase["firestore"]["indexes"]).read_text())
    tf = terraform_locals(
        terraform_bin,
        tmp_path,
        MANIFEST_PATH,
        ["composite_indexes", "field_overrides", "firestore_rules"],
    )
    assert tf["firestore_rules"] == (REPO / firebase["firestore"]["rules"]).read_text()
    assert sorted(tf["composite_indexes"].values(), key=json.dumps) == sorted(
        config.get("indexes", []), key=json.dumps
    )
    overrides = config.get("fieldOverrides", [])
    assert set(tf["field_overrides"]) == {
        f"{o['collectionGroup']}.{o['fieldPath']}" for o in overrides
    }
    ttl = {k for k, o in tf["field_overrides"].items() if o.get("ttl")}
    assert ttl == {f"{o['collectionGroup']}.{o['fieldPath']}" for o in overrides if o.get("ttl")}


def test_firestore_resources_iterate_those_inputs(hcl: dict[str, Any]) -> None:
    by_addr = {(t, n): b for f, t, n, b in resources(hcl)}
    assert one(by_addr[("google_firestore_index", "composite")]["for_each"]) == (
        "${local.composite_indexes}"
    )
    field = by_addr[("google_firestore_field", "override")]
    assert one(field["for_each"]) == "${local.field_overrides}"
    assert "ttl_config" in str(field["dynamic"])
    ruleset = by_addr[("google_firebaserules_ruleset", "firestore")]
    files = one(one(ruleset["source"])["files"])
    assert one(files["content"]) == "${local.firestore_rules}"
    release = by_addr[("google_firebaserules_release", "firestore")]
    assert one(release["name"]) == "cloud.firestore"
