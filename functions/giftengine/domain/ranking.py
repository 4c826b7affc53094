"""Ranking rule used everywhere (top gifters, alert ranks, `giftengine state`).

More coins rank higher; equal coins rank by user_id ascending. Ranks start at 1 and are
distinct, so a full ranking is a total order that every client computes the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar


class Scored(Protocol):
    user_id: str
    coins: int


def sort_key(coins: int, user_id: str) -> tuple[int, str]:
    return (-coins, user_id)


T = TypeVar("T", bound=Scored)


def rank_order(entries: Iterable[T]) -> list[T]:
    return sorted(entries, key=lambda e: sort_key(e.coins, e.user_id))


def ranks(entries: Iterable[Scored]) -> dict[str, int]:
    """user_id -> rank (1-based) over entries with coins > 0."""
    return {e.user_id: i for i, e in enumerate(rank_order(e for e in entries if e.coins > 0), 1)}
