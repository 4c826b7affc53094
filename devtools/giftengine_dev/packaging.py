"""Per-deployable packages, generated from one place (issue 15, part 3: only what runs ships).

From `functions/main.py`, the manifest and the one pin list `functions/requirements.txt`, this
computes for every function the giftengine modules it can import (the static import closure of
its entry point's body, lazy imports included) and the pinned distributions those modules
import, then groups functions with the same distributions into one package:

- `build/packages/requirements/<package>.txt`: the pins that package installs (and
  `worker.txt` for the Cloud Run ingest worker, from `giftengine.ingest.__main__`);
- `build/packages/packages.json`: package -> its functions and the files of its archive.

They are build outputs, not committed (they follow every import change): cloudbuild.yaml
writes them after the tests, before Terraform zips one archive per package from them
(modules/giftengine/packages.tf) and before the worker image installs worker.txt.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
PINS = FUNCTIONS / "requirements.txt"
OUT = ROOT / "build" / "packages"
# Installed in every package although nothing imports them by name: the runtime's entry
# (functions-framework) and the time zone database zoneinfo reads (tzdata).
ALWAYS = ("functions-framework", "tzdata")
# Data files the code reads next to a module it ships.
DATA = {"giftengine.manifest": ["giftengine/manifest.yaml"]}
WORKER_ENTRY = "giftengine.ingest.__main__"


def _pins() -> dict[str, str]:
    out = {}
    for line in PINS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out[_norm(re.split(r"[=<>!~\[ ]", line, maxsplit=1)[0])] = line
    return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_file(mod: str) -> Path | None:
    for p in (
        FUNCTIONS / (mod.replace(".", "/") + ".py"),
        FUNCTIONS / mod.replace(".", "/") / "__init__.py",
    ):
        if p.exists():
            return p
    return None


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _walk(nodes: list[ast.stmt], skip_defs: bool):
    """ast.walk over `nodes`, leaving out `if TYPE_CHECKING:` blocks (never run) and, with
    skip_defs, the bodies of functions (a composition root's lazy builders)."""
    stack: list[ast.AST] = list(nodes)
    while stack:
        n = stack.pop()
        if _is_type_checking(n):
            continue
        if skip_defs and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        yield n
        stack.extend(ast.iter_child_nodes(n))


def _edges(nodes, pkg: str) -> set[str]:
    out: set[str] = set()
    aliases: dict[str, str] = {}
    nodes = list(nodes)
    # imports first, so attribute uses see every alias whatever the walk order
    nodes.sort(key=lambda n: not isinstance(n, (ast.Import, ast.ImportFrom)))
    for n in nodes:
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
            aliases.update({(a.asname or a.name): a.name for a in n.names if a.asname})
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in n.names}
            aliases.update({(a.asname or a.name): f"{base}.{a.name}" for a in n.names})
        elif (
            isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in aliases
        ):
            # `bootstrap.chat_deps()` reaches only that builder of the composition root
            out.add(f"{aliases[n.value.id]}.{n.attr}")
    return out


def _imports(path: Path, mod: str) -> set[str]:
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    # A composition root builds each subsystem lazily: importing it costs only its
    # module-level imports; each builder's imports count where that builder is used.
    return _edges(_walk(tree.body, skip_defs=_is_root(mod)), pkg)


def _is_root(mod: str) -> bool:
    return mod.rpartition(".")[2] == "bootstrap"


def _builder_imports(mod: str, name: str) -> set[str] | None:
    """Imports of builder `name` of composition root `mod`, and of the builders and classes
    of that root it uses."""
    path = _module_file(mod)
    if path is None or not _is_root(mod):
        return None
    tree = ast.parse(path.read_text())
    defs = {
        n.name: n
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    if name not in defs:
        return None
    pkg = mod.rpartition(".")[0]
    out: set[str] = set()
    seen, stack = set(), [name]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        nodes = list(_walk(defs[fn].body, skip_defs=False))
        out |= _edges(nodes, pkg)
        stack.extend(n.id for n in nodes if isinstance(n, ast.Name) and n.id in defs)
    return out


def closure(start: set[str]) -> tuple[set[str], set[str]]:
    """(giftengine modules reachable from `start`, third-party modules they import)."""
    seen: set[str] = set()
    third: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name.split(".")[0] != "giftengine":
            if name.split(".")[0] not in sys.stdlib_module_names:
                third.add(name)
            continue
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            sub = ".".join(parts[:i])
            path = _module_file(sub)
            if path is not None and sub not in seen:
                seen.add(sub)
                stack.extend(_imports(path, sub))
            elif path is None and sub not in seen:
                builder = _builder_imports(".".join(parts[: i - 1]), parts[i - 1])
                if builder is not None:
                    seen.add(sub)
                    stack.extend(builder)
    return seen, third


def entry_imports() -> dict[str, set[str]]:
    """Entry point name in main.py -> modules its module level and body import."""
    tree = ast.parse((FUNCTIONS / "main.py").read_text())
    top = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names} | {
        n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module
    }
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            mods = set(top)
            for n in ast.walk(node):
                if isinstance(n, ast.ImportFrom) and n.module:
                    mods |= {n.module} | {f"{n.module}.{a.name}" for a in n.names}
                elif isinstance(n, ast.Import):
                    mods |= {a.name for a in n.names}
            found[node.name] = mods
    return found


def _providers() -> dict[str, str]:
    """Importable module path (a/b/c) -> the pinned distribution that ships it."""
    out = {}
    for dist in _pins():
        try:
            files = metadata.distribution(dist).files or []
        except metadata.PackageNotFoundError:
            continue
        for f in files:
            if f.suffix == ".py" and ".." not in f.parts:
                mod = f.with_suffix("").as_posix()
                out[mod.removesuffix("/__init__")] = dist
    return out


def _pinned_dependencies(dists: set[str]) -> set[str]:
    """`dists` plus every pinned distribution they depend on (transitively), so the pins
    the tests ran with constrain those too (websockets under TikTokLive, requests under
    google-api-core)."""
    pins, out, stack = _pins(), set(dists), list(dists)
    while stack:
        try:
            reqs = metadata.requires(stack.pop()) or []
        except metadata.PackageNotFoundError:
            continue
        for r in reqs:
            if "extra ==" in r:
                continue
            name = _norm(re.split(r"[=<>!~\[ ;(]", r.strip(), maxsplit=1)[0])
            if name not in out:
                out.add(name)
                stack.append(name)
    return out & set(pins)


def requirements_of(third: set[str], providers: dict[str, str], always=ALWAYS) -> list[str]:
    dists = set(always)
    for mod in third:
        path = mod.replace(".", "/")
        while path:
            if path in providers:
                dists.add(providers[path])
                break
            path = path.rpartition("/")[0]
    return sorted(_pinned_dependencies(dists))


@dataclass
class Package:
    name: str
    functions: list[str]
    requirements: list[str]
    files: list[str]


def _name(reqs: list[str]) -> str:
    if "tiktoklive" in reqs:
        return "worker"
    if "stripe" in reqs:
        return "wallet"
    if "pyarrow" in reqs:  # the report's Parquet files: on_stream_end (decision 083)
        return "reports"
    return "core"


def _files(mods: set[str]) -> list[str]:
    files = set()
    for m in mods:
        p = _module_file(m)
        if p is not None:
            files.add(p.relative_to(FUNCTIONS).as_posix())
        files |= set(DATA.get(m, []))
    return sorted(files | {"main.py"})


def compute() -> dict[str, Package]:
    from giftengine import manifest

    providers = _providers()
    entries = entry_imports()
    # Functions are grouped by the heavy library they need (none, stripe, pyarrow);
    # a group installs the union of its functions' distributions.
    out: dict[str, Package] = {}
    for key, f in sorted(manifest.load().functions.items()):
        mods, third = closure(entries[f.entry_point])
        reqs = requirements_of(third, providers)
        pkg = out.setdefault(_name(reqs), Package(_name(reqs), [], [], []))
        pkg.functions.append(key)
        pkg.requirements = sorted(set(pkg.requirements) | set(reqs))
        pkg.files = sorted(set(pkg.files) | set(_files(mods)))
    mods, third = closure({WORKER_ENTRY})
    # The worker is no function: no functions-framework of its own.
    reqs = requirements_of(third, providers, always=("tzdata",))
    out["worker"] = Package("worker", [], reqs, [])
    return out


def render(packages: dict[str, Package], out: Path = OUT) -> dict[Path, str]:
    pins = _pins()
    files = {
        out / "requirements" / f"{name}.txt": (
            "# Generated by `giftengine packages` from functions/requirements.txt: what the\n"
            f"# {name} package imports ({', '.join(p.functions) or 'the ingest worker'}).\n"
            + "".join(pins[r] + "\n" for r in p.requirements)
        )
        for name, p in sorted(packages.items())
    }
    body = {
        name: {"functions": p.functions, "files": p.files}
        for name, p in sorted(packages.items())
        if p.functions
    }
    files[out / "packages.json"] = json.dumps(body, indent=2) + "\n"
    return files


def write(out: Path = OUT) -> list[Path]:
    """Write the package files under `out` (replacing what was there)."""
    wanted = render(compute(), out)
    if (out / "requirements").exists():
        for old in (out / "requirements").glob("*.txt"):
            if old not in wanted:
                old.unlink()
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(wanted)
