"""Every module of the deployable package imports (catches a name renamed in one module and
still imported by another: entry points import their modules lazily, on first request)."""

from __future__ import annotations

import importlib
import pkgutil

import giftengine
import pytest

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(giftengine.__path__, "giftengine.")
    if not m.name.endswith("__main__")
)


@pytest.mark.unit
@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    importlib.import_module(name)
