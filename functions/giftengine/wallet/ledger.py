"""The double-entry ledger: accounts, balanced transactions and the wallet state they derive.

Pure code. Every movement of coins is a `LedgerTxn` whose legs sum to zero; a user's wallet
is the running sum of the legs on that user's accounts, so every balance can be recomputed
from the ledger (the reconciliation job does exactly that). Amounts are integers (coins).

Accounts:
- `user:{uid}:coins`     purchased, spendable coins            -> wallet.balance
- `user:{uid}:bonus`     bonus coins: spendable on gifts only,  -> wallet.bonus_balance
                         never withdrawn or transferred
- `user:{uid}:earnings`  a creator's earnings from gifts       -> wallet.earnings
- `ext:{provider}`       money side of a payment provider (stripe, esewa, khalti)
- `sys:*`                platform accounts (revenue, bonus issue, adjustments)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

USER_KINDS = ("coins", "bonus", "earnings")
SYS_REVENUE = "sys:revenue"  # platform's share of gifts and tier sales
SYS_BONUS = "sys:bonus"  # where daily bonus coins come from
SYS_ADJUST = "sys:adjustments"  # admin adjustments
PROVIDERS = ("stripe", "esewa", "khalti")

# Transaction kinds. Spending kinds count towards a wallet's total_spent.
GIFT, TIER, PURCHASE, REVERSAL, BONUS, ADJUST = (
    "gift",
    "tier",
    "purchase",
    "reversal",
    "bonus",
    "adjust",
)
KINDS = (GIFT, TIER, PURCHASE, REVERSAL, BONUS, ADJUST)
SPEND_KINDS = frozenset({GIFT, TIER})


def user_account(uid: str, kind: str) -> str:
    if kind not in USER_KINDS:
        raise ValueError(f"unknown user account kind {kind!r}")
    return f"user:{uid}:{kind}"


def ext_account(provider: str) -> str:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}")
    return f"ext:{provider}"


def parse_user_account(account: str) -> tuple[str, str] | None:
    """`user:{uid}:{kind}` -> (uid, kind); None for non-user accounts."""
    if not account.startswith("user:"):
        return None
    uid, _, kind = account[5:].rpartition(":")
    return (uid, kind) if uid and kind in USER_KINDS else None


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class Leg:
    account: str
    amount: int  # signed: + credit to the account, - debit


@dataclass(frozen=True)
class LedgerTxn:
    """One balanced movement. `txn_id` is deterministic (derived from the idempotency key,
    payment event or job day), so writing it with a create precondition applies it once."""

    txn_id: str
    kind: str
    legs: tuple[Leg, ...]
    at: float  # epoch seconds
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown transaction kind {self.kind!r}")
        if not self.txn_id or "/" in self.txn_id:
            raise ValueError(f"bad txn id {self.txn_id!r}")
        accounts = [leg.account for leg in self.legs]
        if len(self.legs) < 2 or len(set(accounts)) != len(accounts):
            raise ValueError("a transaction needs two or more legs on distinct accounts")
        for leg in self.legs:
            if not _is_int(leg.amount) or leg.amount == 0:
                raise ValueError(f"leg amounts are non-zero integers: {leg}")
        if sum(leg.amount for leg in self.legs) != 0:
            raise ValueError(f"unbalanced transaction {self.txn_id}: {self.legs}")

    def uids(self) -> list[str]:
        seen: dict[str, None] = {}
        for leg in self.legs:
            parsed = parse_user_account(leg.account)
            if parsed:
                seen.setdefault(parsed[0], None)
        return list(seen)

    def user_legs(self, uid: str) -> dict[str, int]:
        """This user's legs as {"coins": n, "bonus": n, "earnings": n} (absent = 0)."""
        out: dict[str, int] = {}
        for leg in self.legs:
            parsed = parse_user_account(leg.account)
            if parsed and parsed[0] == uid:
                out[parsed[1]] = leg.amount
        return out

    def to_doc(self) -> dict[str, Any]:
        return {
            "txn_id": self.txn_id,
            "kind": self.kind,
            "at": self.at,
            "legs": [{"account": leg.account, "amount": leg.amount} for leg in self.legs],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> LedgerTxn:
        return cls(
            txn_id=doc["txn_id"],
            kind=doc["kind"],
            at=float(doc["at"]),
            legs=tuple(Leg(x["account"], int(x["amount"])) for x in doc["legs"]),
            meta=dict(doc.get("meta") or {}),
        )


def txn(
    txn_id: str, kind: str, at: float, legs: Iterable[tuple[str, int]], **meta: Any
) -> LedgerTxn:
    """Build a transaction, dropping zero legs (a gift paid wholly from bonus has no coins leg)."""
    return LedgerTxn(txn_id, kind, tuple(Leg(a, n) for a, n in legs if n != 0), at, meta)


def wallet_deltas(t: LedgerTxn, uid: str) -> dict[str, int]:
    """How `t` moves the wallet fields of `uid` (only non-zero fields)."""
    legs = t.user_legs(uid)
    d = {
        "balance": legs.get("coins", 0),
        "bonus_balance": legs.get("bonus", 0),
        "earnings": legs.get("earnings", 0),
        "total_earned": max(legs.get("earnings", 0), 0) if t.kind == GIFT else 0,
        "total_spent": (
            -(min(legs.get("coins", 0), 0) + min(legs.get("bonus", 0), 0))
            if t.kind in SPEND_KINDS
            else 0
        ),
    }
    return {k: v for k, v in d.items() if v}


LEDGER_FIELDS = ("balance", "bonus_balance", "earnings", "total_earned", "total_spent")


@dataclass(frozen=True)
class WalletState:
    """A wallet as the service reads and writes it. Ledger fields are derived from postings;
    the rest (lock, tier, velocity window) is state the rules consult."""

    uid: str
    balance: int = 0
    bonus_balance: int = 0
    earnings: int = 0
    total_earned: int = 0
    total_spent: int = 0
    locked: bool = False
    lock_reason: str = ""
    tier_level: int = 0
    tier_expires_at: float = 0.0
    # OG daily bonuses still owed for the current tier, and when the next one falls due: a
    # tier of N days pays exactly N bonuses, one per 24 h from its purchase, whenever the job
    # runs (decision 050).
    tier_bonuses_left: int = 0
    tier_bonus_next_at: float = 0.0
    velocity_minute: int = 0
    velocity_coins: int = 0
    velocity_count: int = 0

    def apply(self, t: LedgerTxn) -> WalletState:
        d = wallet_deltas(t, self.uid)
        return replace(self, **{k: getattr(self, k) + v for k, v in d.items()})

    def tier_active(self, at: float) -> int:
        return self.tier_level if self.tier_level and self.tier_expires_at > at else 0

    def ledger_fields(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in LEDGER_FIELDS}


def derive(txns: Iterable[LedgerTxn]) -> dict[str, dict[str, int]]:
    """Recompute every user's ledger fields from transactions: uid -> fields."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(LEDGER_FIELDS, 0))
    for t in txns:
        for uid in t.uids():
            fields = out[uid]
            for k, v in wallet_deltas(t, uid).items():
                fields[k] += v
    return dict(out)


def account_sums(txns: Iterable[LedgerTxn]) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for t in txns:
        for leg in t.legs:
            sums[leg.account] += leg.amount
    return dict(sums)
