"""Only what runs ships: each function is deployed from the archive of its package
(modules/giftengine/packages.tf), which holds main.py, the giftengine modules its functions
import and the package's own requirements, all generated from one place (`giftengine
packages`, devtools/giftengine_dev/packaging.py, into build/packages at deploy time).

The archive provider cannot be downloaded here, so the real terraform CLI evaluates the
packages' locals (file lists and requirements) and the archives are rebuilt in Python from
them: each must import and serve its functions with only its own files and distributions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml
from giftengine import manifest
from giftengine_dev import packaging

from .conftest import MANIFEST_PATH, REPO, one, resources, terraform_locals

pytestmark = pytest.mark.unit

FUNCTIONS = REPO / "functions"
# Heavy distributions and the import names they bring.
HEAVY = {
    "stripe": ["stripe"],
    "alt-profanity-check": ["profanity_check", "sklearn", "numpy", "scipy"],
    "tiktoklive": ["TikTokLive"],
    "pyarrow": ["pyarrow"],
}


@pytest.fixture(scope="module")
def packages(terraform_bin: str, tmp_path_factory) -> dict[str, Any]:
    """What Terraform reads after `giftengine packages` ran on this checkout."""
    out = tmp_path_factory.mktemp("out")
    packaging.write(out)
    return terraform_locals(
        terraform_bin,
        tmp_path_factory.mktemp("tf"),
        MANIFEST_PATH,
        ["packages", "function_package"],
        extra_vars={"packages_dir": str(out)},
    )


def test_the_pipeline_generates_the_packages_before_terraform_and_the_image() -> None:
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text())
    steps = {s["id"]: "\n".join(s["args"]) for s in build["steps"]}
    assert "giftengine packages" in steps["test"]
    # Every later step waits for `test`, directly or not; the image installs worker.txt.
    dockerfile = (REPO / "infra" / "Dockerfile").read_text()
    assert "build/packages/requirements/worker.txt" in dockerfile
    assert "!build/packages/requirements/worker.txt" in (REPO / ".dockerignore").read_text()


def test_every_function_is_in_exactly_one_package(packages: dict[str, Any]) -> None:
    m = manifest.load()
    assert set(packages["function_package"]) == set(m.functions)
    listed = [f for p in packages["packages"].values() for f in p["functions"]]
    assert sorted(listed) == sorted(m.functions)


def test_archives_hold_no_dev_tool_test_or_cache(packages: dict[str, Any]) -> None:
    for name, p in packages["packages"].items():
        files = p["files"]
        assert "main.py" in files and "giftengine/__init__.py" in files, name
        for f in files:
            assert (FUNCTIONS / f).is_file(), f"{name}: {f} does not exist"
            assert not any(
                bad in f
                for bad in ("giftengine_dev", "__pycache__", ".pyc", "tests/", "test_", "conftest")
            ), f"{name} ships {f}"
        assert not [f for f in files if f.endswith(("stripe_fake.py", "/bench.py"))]


def test_each_package_installs_only_the_heavy_libraries_it_uses(packages: dict[str, Any]) -> None:
    pins = (FUNCTIONS / "requirements.txt").read_text()
    for name, p in packages["packages"].items():
        reqs = [r for r in p["requirements"].splitlines() if r and not r.startswith("#")]
        assert reqs and all(r in pins.splitlines() for r in reqs), name
        dists = {r.split("==")[0].lower() for r in reqs}
        heavy = {d for d in HEAVY if d in dists}
        assert heavy == {"core": set(), "wallet": {"stripe"}, "reports": {"pyarrow"}}[name], name
    worker = packaging.render(packaging.compute(), Path("/o"))[
        Path("/o/requirements/worker.txt")
    ].lower()
    assert "tiktoklive==" in worker and "stripe" not in worker and "profanity" not in worker


_CHILD = r"""
import importlib, importlib.abc, json, sys
root, site = sys.argv[1], sys.argv[2]
blocked, modules = json.loads(sys.argv[3]), json.loads(sys.argv[4])

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is not installed in this package")
        return None

sys.meta_path.insert(0, Block())
sys.path[:] = [root] + [p for p in sys.path if "site-packages" not in p] + [site]
for m in modules:
    importlib.import_module(m)
import giftengine
assert giftengine.__file__.startswith(root), giftengine.__file__
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "giftengine_dev")))
"""


@pytest.mark.parametrize("name", ["core", "wallet", "reports"])
def test_an_archive_serves_its_functions_with_only_its_files_and_libraries(
    packages: dict[str, Any], name: str, tmp_path: Path
) -> None:
    """Unpacked alone, with every heavy library it does not install blocked, the archive
    imports main.py and every module its functions import on their first call."""
    p = packages["packages"][name]
    for f in p["files"]:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes((FUNCTIONS / f).read_bytes())
    dists = {r.split("==")[0].lower() for r in p["requirements"].splitlines() if "==" in r}
    blocked = ["giftengine_dev"] + [m for d, ms in HEAVY.items() if d not in dists for m in ms]
    entries = packaging.entry_imports()
    m = manifest.load()
    modules = ["main"] + sorted(
        {
            mod
            for fn in p["functions"]
            for mod in entries[m.functions[fn].entry_point]
            if mod.startswith("giftengine.") and packaging._module_file(mod) is not None
        }
    )
    out = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            _CHILD,
            str(tmp_path),
            sysconfig.get_paths()["purelib"],
            json.dumps(blocked),
            json.dumps(modules),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_functions_deploy_from_their_package_archive(hcl: dict[str, Any]) -> None:
    by_addr = {(t, n): b for f, t, n, b in resources(hcl)}
    obj = by_addr[("google_storage_bucket_object", "package")]
    assert one(obj["for_each"]) == "${local.packages}"
    assert "${data.archive_file.package[each.key].output_sha256}" in one(obj["name"])
    fn = by_addr[("google_cloudfunctions2_function", "fn")]
    build = one(fn["build_config"])
    storage = one(one(build["source"])["storage_source"])
    assert one(storage["object"]) == (
        "${google_storage_bucket_object.package[local.function_package[each.key]].name}"
    )
    assert one(build["entry_point"]) == "${each.value.entry_point}"
    archive = hcl["modules/giftengine/functions.tf"]["data"][0]["archive_file"]["package"]
    assert one(archive["for_each"]) == "${local.packages}"
    # The chat functions need no heavy library (decision 034): they share the core package;
    # only the report's files need pyarrow (decision 083).
    packages = packaging.compute()
    assert set(packages) == {"core", "wallet", "reports", "worker"}
    assert packages["reports"].functions == ["on_stream_end"]
    assert "api" in packages["core"].functions
