"""Reads the wallet's catalog: the built-in one, or the JSON/YAML file named by
GIFTENGINE_WALLET_CATALOG (docs/wallet.md). The rules live in the pure `catalog` module."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import yaml

from giftengine.wallet.catalog import DEFAULT_CATALOG, Catalog, parse


@lru_cache(maxsize=4)
def _load(path: str) -> Catalog:
    if not path:
        return parse(DEFAULT_CATALOG)
    text = Path(path).read_text()
    return parse(json.loads(text) if path.endswith(".json") else yaml.safe_load(text))


def load() -> Catalog:
    return _load(os.environ.get("GIFTENGINE_WALLET_CATALOG", ""))
