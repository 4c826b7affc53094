"""The in-memory replay of the bench's 1 gift/s stream (devtools bench/replay.py): it counts
what the pipeline's rules ask for, and its counts tell rule settings apart."""

from __future__ import annotations

import pytest
from giftengine.domain import feature_registry, rollup
from giftengine_dev.bench.replay import main, replay_one_per_s

pytestmark = pytest.mark.unit


def test_with_the_rules_as_deployed_no_gift_waits_and_the_totals_are_exact():
    out = replay_one_per_s(60)
    assert out["exact"] and out["gifts"] == 60
    assert out["tolerance_share"] == rollup.LIVE_TOLERANCE_SHARE
    assert out["fast_path_waits"] == 0 and out["fast_path_wait_s"] == 0
    # every gift wrote the live document on arrival: at most 11 writes in any 10 s
    assert out["live_writes"] >= 60 and out["busiest_live_writes_per_s"] <= 1.1
    # follow-ups (flushes, feature timers) are asked for many times, created once per name
    assert out["followups_run"] <= out["followup_tasks"] < out["followups_asked"]


def test_without_the_early_turn_the_fast_path_waits_for_most_gifts():
    out = replay_one_per_s(60, tolerance=0.0)
    assert out["exact"] and out["fast_path_waits"] > 30 and out["fast_path_wait_s"] > 3
    assert out["busiest_live_writes_per_s"] <= 1.0


def test_the_replay_leaves_the_rules_as_it_found_them():
    share, registry = rollup.LIVE_TOLERANCE_SHARE, feature_registry.REGISTRY
    out = replay_one_per_s(20, tolerance=0.5, without=("mood", "hype"))
    assert "mood" not in out["features"] and "hype" not in out["features"]
    assert out["tolerance_share"] == 0.5
    assert (share, registry) == (rollup.LIVE_TOLERANCE_SHARE, feature_registry.REGISTRY)


def test_the_command_prints_json_and_says_exact_by_its_exit_code(capsys):
    assert main(["--json", "--gifts", "10"]) == 0
    assert '"exact": true' in capsys.readouterr().out
