"""Each function, in a fresh interpreter, after one representative request on the test stack
(giftengine_dev.bench.memory): it loads only the heavy libraries it uses and its peak memory
fits the `memory_mb` the manifest gives it."""

from __future__ import annotations

import pytest
from giftengine import manifest
from giftengine_dev.bench import memory

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

# What each function may load; TikTokLive belongs to the ingest worker only. The chat
# functions classify with word lists (decision 034): no numpy, scipy or scikit-learn.
ALLOWED = {
    "wallet_api": ["stripe"],
    "payments_webhook": ["stripe"],
    "on_stream_end": ["numpy", "pyarrow"],  # the report's Parquet file
}


@pytest.fixture(scope="module")
def measured(cloud):
    return {r["function"]: r for r in memory.measure(memory.stack_function_env(cloud))}


@pytest.mark.parametrize("name", sorted(manifest.load().functions))
def test_a_function_loads_only_its_own_heavy_libraries_and_fits_its_memory(measured, name):
    r = measured[name]
    # Served without a server error (payments_webhook: 400 for an unsigned body).
    assert r["status"] == "ok" or r["status"] < 500, r
    assert r["import_heavy"] == []
    assert set(r["heavy"]) <= set(ALLOWED.get(name, [])), r
    assert r["peak_rss_mb"] < manifest.load().functions[name].memory_mb, r
