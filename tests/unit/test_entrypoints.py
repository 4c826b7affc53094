"""Only what runs ships (issue 15): the functions' entry module loads no heavy library at
import, each function's own modules load none either (stripe loads on first use; the chat
functions load none at all), and the deployable source under functions/ holds no dev tool.

tests/integration/test_entrypoint_memory.py checks the same after a real request, per
function, and that each function's measured peak fits its manifest `memory_mb`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from giftengine import manifest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
HEAVY = ("numpy", "scipy", "sklearn", "stripe", "TikTokLive", "pyarrow")


def _loaded_after(imports: list[str]) -> list[str]:
    """Heavy libraries in sys.modules of a fresh interpreter after these imports."""
    code = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(FUNCTIONS)!r})\n"
        f"for m in {imports!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=FUNCTIONS, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _body_imports() -> dict[str, list[str]]:
    """function name in main.py -> the modules its body imports on first call."""
    tree = ast.parse((FUNCTIONS / "main.py").read_text())
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            mods = []
            for n in ast.walk(node):
                if isinstance(n, ast.ImportFrom) and n.module:
                    mods += [f"{n.module}.{a.name}" for a in n.names]
                elif isinstance(n, ast.Import):
                    mods += [a.name for a in n.names]
            found[node.name] = mods
    return found


def test_importing_the_entry_module_loads_no_heavy_library():
    assert _loaded_after(["main"]) == []


def test_main_defines_every_manifest_function_and_imports_its_modules_in_the_body():
    bodies = _body_imports()
    for f in manifest.load().functions.values():
        assert f.entry_point in bodies, f"main.py has no function {f.entry_point}"
        assert bodies[f.entry_point], f"{f.entry_point} imports nothing in its body"


@pytest.mark.parametrize("entry_point", sorted(_body_imports()))
def test_a_functions_own_modules_load_no_heavy_library_at_import(entry_point):
    """stripe loads when a payment flow is first used; importing a function's modules loads
    it not, nor TikTokLive."""
    assert _loaded_after(["main", *_body_imports()[entry_point]]) == []


def _imports_dev_tools(path: Path) -> bool:
    for n in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in n.names] if isinstance(n, ast.Import) else []
        if isinstance(n, ast.ImportFrom):
            names = [n.module or ""]
        if any(name.split(".")[0] == "giftengine_dev" for name in names):
            return True
    return False


def test_the_deployable_source_holds_no_dev_tool():
    dev_names = {
        "giftengine_dev",
        "devcloud",
        "webclients",
        "demo",
        "bench",
        "cli",
        "stripe_fake",
        "data",
    }
    offenders = []
    for path in FUNCTIONS.rglob("*"):
        rel = path.relative_to(FUNCTIONS)
        if "__pycache__" in rel.parts or rel.parts[0].endswith(".egg-info"):
            continue
        if any(p.removesuffix(".py") in dev_names for p in rel.parts):
            offenders.append(f"{rel}: a dev tool's file")
        elif path.suffix in (".jsonl", ".csv"):
            offenders.append(f"{rel}: data")
        elif path.suffix == ".py" and _imports_dev_tools(path):
            offenders.append(f"{rel}: imports giftengine_dev")
    assert offenders == []


def test_the_worker_image_copies_only_the_deployable_package():
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    copies = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert all(not c.startswith("devtools") for c in copies)
    assert "functions/giftengine" in copies


def test_only_the_function_that_writes_report_files_reaches_pyarrow():
    """The api serves and recomputes reports (Firestore only); on_stream_end writes their
    Parquet files. The packager follows every import, lazy ones included, so pyarrow must
    be out of the api's import closure, not only out of its import-time modules
    (decision 083)."""
    from giftengine_dev import packaging

    entries = packaging.entry_imports()
    reach = {}
    for fn in ("api", "on_stream_end"):
        mods, third = packaging.closure(entries[fn])
        reach[fn] = (mods, {t.split(".")[0] for t in third})
    assert "giftengine.reports.http" in reach["api"][0]  # the api does serve reports
    assert "giftengine.reports.export" not in reach["api"][0]
    assert "pyarrow" not in reach["api"][1]
    assert "giftengine.reports.export" in reach["on_stream_end"][0]
    assert "pyarrow" in reach["on_stream_end"][1]
