"""The wallet's catalog: in-app gifts, Stripe coin packs and OG tiers. Pure data + rules.

One source of truth: `DEFAULT_CATALOG` below, replaceable as a whole by a JSON or YAML file
named in GIFTENGINE_WALLET_CATALOG (same shape). Prices are integers: gift and tier prices
in coins, coin packs in the currency's minor unit (USD cents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DAY_S = 86_400


@dataclass(frozen=True)
class Gift:
    id: str
    name: str
    coins: int
    min_tier: int = 0  # 0 = anyone; 1..5 = needs that OG tier or higher at spend time
    streakable: bool = False


@dataclass(frozen=True)
class CoinPack:
    id: str
    coins: int
    amount: int  # minor units (cents)
    currency: str = "usd"
    name: str = ""


@dataclass(frozen=True)
class Tier:
    level: int
    name: str
    price_coins: int
    duration_days: int

    @property
    def daily_bonus(self) -> int:
        """floor(price x 0.6 / duration), in integers: bonus coins credited once a day."""
        return self.price_coins * 6 // (10 * self.duration_days)

    @property
    def duration_s(self) -> int:
        return self.duration_days * DAY_S


DEFAULT_CATALOG: dict[str, Any] = {
    "gifts": [
        {"id": "rose", "name": "Rose", "coins": 1, "streakable": True},
        {"id": "heart", "name": "Heart", "coins": 5, "streakable": True},
        {"id": "donut", "name": "Donut", "coins": 30},
        {"id": "cap", "name": "Cap", "coins": 99},
        {"id": "rocket", "name": "Rocket", "coins": 500},
        {"id": "lion", "name": "Lion", "coins": 2999},
        {"id": "og-crown", "name": "OG Crown", "coins": 100, "min_tier": 1},
        {"id": "og-dragon", "name": "OG Dragon", "coins": 1000, "min_tier": 3},
        {"id": "og-galaxy", "name": "OG Galaxy", "coins": 10000, "min_tier": 5},
    ],
    "coin_packs": [
        {"id": "coins-70", "coins": 70, "amount": 99, "name": "70 coins"},
        {"id": "coins-350", "coins": 350, "amount": 499, "name": "350 coins"},
        {"id": "coins-1400", "coins": 1400, "amount": 1999, "name": "1,400 coins"},
        {"id": "coins-7000", "coins": 7000, "amount": 9999, "name": "7,000 coins"},
    ],
    "tiers": [
        {"level": 1, "name": "OG 1", "price_coins": 3000, "duration_days": 30},
        {"level": 2, "name": "OG 2", "price_coins": 9000, "duration_days": 30},
        {"level": 3, "name": "OG 3", "price_coins": 30000, "duration_days": 30},
        {"level": 4, "name": "OG 4", "price_coins": 90000, "duration_days": 30},
        {"level": 5, "name": "OG 5", "price_coins": 300000, "duration_days": 30},
    ],
}


@dataclass(frozen=True)
class Catalog:
    gifts: dict[str, Gift]
    packs: dict[str, CoinPack]
    tiers: dict[int, Tier]

    def gift(self, gift_id: str) -> Gift | None:
        return self.gifts.get(gift_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "gifts": [vars(g) for g in self.gifts.values()],
            "coin_packs": [vars(p) for p in self.packs.values()],
            "tiers": [{**vars(t), "daily_bonus": t.daily_bonus} for t in self.tiers.values()],
        }


def parse(raw: dict[str, Any]) -> Catalog:
    gifts = {g["id"]: Gift(**g) for g in raw["gifts"]}
    packs = {p["id"]: CoinPack(**p) for p in raw["coin_packs"]}
    tiers = {t["level"]: Tier(**t) for t in raw["tiers"]}
    for g in gifts.values():
        if not isinstance(g.coins, int) or g.coins <= 0:
            raise ValueError(f"gift {g.id}: coins must be a positive integer")
        if g.min_tier and g.min_tier not in tiers:
            raise ValueError(f"gift {g.id}: unknown tier {g.min_tier}")
    for p in packs.values():
        ints = isinstance(p.coins, int) and isinstance(p.amount, int)
        if not ints or p.coins <= 0 or p.amount <= 0:
            raise ValueError(f"coin pack {p.id}: coins and amount must be positive integers")
    if sorted(tiers) != list(range(1, len(tiers) + 1)):
        raise ValueError("tiers must be numbered 1..N")
    for t in tiers.values():
        if t.price_coins <= 0 or t.duration_days <= 0:
            raise ValueError(f"tier {t.level}: price and duration must be positive")
    return Catalog(gifts, packs, tiers)
