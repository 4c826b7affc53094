"""The stream features the rollup runs, in order (domain/features.py). Pure.

Add a feature by importing its class here and appending it to `REGISTRY`; its `name` is
the key of its state, its live view and its creator settings. Order matters where a
feature reads what another raised in the same rollup: `Rewards` comes after the features
whose alerts it turns into badges and a round's reward (battles, throne, rounds, hype).
"""

from __future__ import annotations

from giftengine.domain.battles import Battle
from giftengine.domain.commands import Commands
from giftengine.domain.features import Feature
from giftengine.domain.hype import HypeTrain
from giftengine.domain.mood import Mood
from giftengine.domain.poll_weights import PollWeightsFeature
from giftengine.domain.rewards import Rewards
from giftengine.domain.rounds import Rounds
from giftengine.domain.tap_battles import TapBattle
from giftengine.domain.throne import Throne

REGISTRY: tuple[type[Feature], ...] = (
    Battle,
    TapBattle,
    Throne,
    Rounds,
    HypeTrain,
    Rewards,
    PollWeightsFeature,
    Mood,
    Commands,
)
