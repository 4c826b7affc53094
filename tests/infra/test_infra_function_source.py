"""The functions' source zip: one zip of functions/, named by its content hash, without
tests, caches or build metadata.

The archive provider cannot be downloaded here, so the zip is rebuilt in Python from the
module's own `source_excludes` list with the provider's matching rules (doublestar globs on
paths relative to functions/; an excluded directory is skipped whole).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, module_locals, one, resources

pytestmark = pytest.mark.unit


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out, i = out + "(?:/.*)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def zipped_files(source_dir: Path, excludes: list[str]) -> set[str]:
    rules = [_glob_regex(p) for p in excludes]
    kept: set[str] = set()
    skipped_dirs: list[str] = []
    for path in sorted(source_dir.rglob("*")):
        rel = path.relative_to(source_dir).as_posix()
        if any(rel.startswith(d + "/") for d in skipped_dirs):
            continue
        if any(r.match(rel) for r in rules):
            if path.is_dir():
                skipped_dirs.append(rel)
            continue
        if path.is_file():
            kept.add(rel)
    return kept


def _excludes(hcl: dict[str, Any]) -> list[str]:
    return list(one(module_locals(hcl)["source_excludes"]))


def test_glob_rules_match_the_provider_semantics() -> None:
    assert _glob_regex("**/__pycache__/**").match("giftengine/domain/__pycache__/x.pyc")
    assert _glob_regex("**/__pycache__/**").match("__pycache__/main.cpython-311.pyc")
    assert _glob_regex("**/*.pyc").match("a.pyc")
    assert not _glob_regex("**/test_*.py").match("giftengine/contest_rules.py")
    assert not _glob_regex("**/tests/**").match("giftengine/attests.py")


def test_zip_holds_the_package_and_no_tests_or_caches(hcl: dict[str, Any], tmp_path: Path) -> None:
    src = tmp_path / "functions"
    shutil.copytree(REPO / "functions", src)
    planted = [
        "giftengine/__pycache__/config.cpython-311.pyc",
        "giftengine/domain/__pycache__/x.cpython-312.pyc",
        "giftengine/tests/test_domain.py",
        "giftengine/domain/test_streaks.py",
        "giftengine/conftest.py",
        "giftengine.egg-info/PKG-INFO",
        ".pytest_cache/v/cache/nodeids",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/0.1/x",
        ".hypothesis/examples/x",
        "stray.pyc",
    ]
    for rel in planted:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x")

    kept = zipped_files(src, _excludes(hcl))

    for rel in planted:
        assert rel not in kept, f"{rel} would be shipped"
    assert not [p for p in kept if "__pycache__" in p or p.endswith(".pyc") or "/tests/" in p]
    # What the runtime needs: the entry points, the pins Cloud Build installs, the package
    # with its manifest and data files.
    for rel in (
        "main.py",
        "requirements.txt",
        "giftengine/__init__.py",
        "giftengine/manifest.py",
        "giftengine/manifest.yaml",
        "giftengine/config.py",
    ):
        assert rel in kept, f"{rel} missing from the zip"
    real_py = {
        p.relative_to(REPO / "functions").as_posix()
        for p in (REPO / "functions" / "giftengine").rglob("*.py")
        if "__pycache__" not in p.parts and not p.name.startswith("test_")
    }
    assert real_py <= kept
    # Only what runs ships: no dev tool (devtools/giftengine_dev: local cloud, bench, demo,
    # web build, payment stand-in, CLI) is in the functions' source.
    dev_markers = ("giftengine_dev", "devcloud/", "/bench", "demo/", "webclients/", "/cli/")
    assert not [p for p in kept if any(m in p for m in dev_markers)]
    assert not [p for p in kept if p.endswith("stripe_fake.py") or p.endswith("/bench.py")]


def test_source_object_is_named_by_content_hash(hcl: dict[str, Any]) -> None:
    by_addr = {(t, n): b for f, t, n, b in resources(hcl)}
    obj = by_addr[("google_storage_bucket_object", "functions_source")]
    assert "${data.archive_file.functions_source.output_sha256}" in one(obj["name"])
    fn = by_addr[("google_cloudfunctions2_function", "fn")]
    build = one(fn["build_config"])
    storage = one(one(build["source"])["storage_source"])
    assert one(storage["object"]) == "${google_storage_bucket_object.functions_source.name}"
    assert one(build["runtime"]) == "${local.python_runtime}"
    assert one(build["entry_point"]) == "${each.value.entry_point}"
    archive = hcl["modules/giftengine/functions.tf"]["data"][0]["archive_file"]["functions_source"]
    assert one(archive["source_dir"]) == "${var.repo_root}/functions"
    assert one(archive["excludes"]) == "${local.source_excludes}"
