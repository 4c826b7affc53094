"""The wallet's rules: each use case turns a wallet state and a request into a balanced
`LedgerTxn` and the wallet's next state, or raises a domain error. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from giftengine.wallet import ledger as L
from giftengine.wallet.catalog import DAY_S, Gift, Tier
from giftengine.wallet.errors import (
    AccountLocked,
    Conflict,
    InsufficientFunds,
    InvalidRequest,
    TierRequired,
    VelocityExceeded,
)
from giftengine.wallet.ledger import LedgerTxn, WalletState
from giftengine.wallet.settings import WalletSettings


def txn_id(kind: str, *parts: str) -> str:
    """Deterministic, document-id-safe transaction id: readable when the parts allow it."""
    raw = ":".join((kind, *parts))
    if "/" in raw or len(raw) > 300 or raw.startswith("__"):
        return f"{kind}:{hashlib.sha256(raw.encode()).hexdigest()[:40]}"
    return raw


def _check_unlocked(w: WalletState) -> None:
    if w.locked:
        raise AccountLocked(f"wallet is locked ({w.lock_reason or 'review'}); contact support")


def check_velocity(w: WalletState, coins: int, at: float, s: WalletSettings) -> WalletState:
    """Count a spend against the per-minute limits; returns the wallet with the window updated."""
    minute = int(at // 60)
    spent, count = (w.velocity_coins, w.velocity_count) if w.velocity_minute == minute else (0, 0)
    if count + 1 > s.spends_per_minute or spent + coins > s.spend_coins_per_minute:
        raise VelocityExceeded(
            f"spend limit reached ({s.spends_per_minute} spends / {s.spend_coins_per_minute} "
            f"coins per minute); retry later",
            retry_after_s=max(1, 60 - int(at % 60)),
        )
    return replace(
        w, velocity_minute=minute, velocity_coins=spent + coins, velocity_count=count + 1
    )


def gift_spend(
    w: WalletState,
    *,
    gift: Gift,
    count: int,
    creator_uid: str,
    key: str,
    at: float,
    s: WalletSettings,
    meta: dict | None = None,
) -> tuple[LedgerTxn, WalletState]:
    """A viewer spends `gift.coins x count` on a creator: bonus coins first, then purchased
    coins; the creator earns `creator_share_bps` of the value; the platform keeps the rest."""
    if count < 1:
        raise InvalidRequest("count must be a positive integer")
    if creator_uid == w.uid:
        raise InvalidRequest("you cannot send gifts to yourself")
    _check_unlocked(w)
    have = w.tier_active(at)
    if gift.min_tier and have < gift.min_tier:
        raise TierRequired(
            f"gift {gift.id!r} needs OG tier {gift.min_tier} (you have {have})",
            min_tier=gift.min_tier,
        )
    price = gift.coins * count
    available = w.balance + w.bonus_balance
    if available < price:
        raise InsufficientFunds(
            f"gift costs {price} coins; wallet has {w.balance} coins + {w.bonus_balance} bonus",
            needed=price,
            available=available,
        )
    w = check_velocity(w, price, at, s)
    from_bonus = min(w.bonus_balance, price)
    from_coins = price - from_bonus
    earn = price * s.creator_share_bps // 10_000
    t = L.txn(
        txn_id("gift", w.uid, key),
        L.GIFT,
        at,
        [
            (L.user_account(w.uid, "coins"), -from_coins),
            (L.user_account(w.uid, "bonus"), -from_bonus),
            (L.user_account(creator_uid, "earnings"), earn),
            (L.SYS_REVENUE, price - earn),
        ],
        gift_id=gift.id,
        count=count,
        price=price,
        creator_id=creator_uid,
        sender_id=w.uid,
        key=key,
        **(meta or {}),
    )
    return t, w.apply(t)


def tier_purchase(
    w: WalletState, *, tier: Tier, key: str, at: float
) -> tuple[LedgerTxn, WalletState, tuple[int, int]]:
    """Buy OG tier `tier` with purchased coins (bonus coins buy gifts only). The same level
    extends the expiry; a higher level replaces the current tier from now; a lower level than
    an active one is refused. Returns (txn, wallet, (tier before, tier after))."""
    _check_unlocked(w)
    current = w.tier_active(at)
    if current > tier.level:
        raise Conflict(f"OG {current} is active until it expires; cannot buy lower OG {tier.level}")
    if w.balance < tier.price_coins:
        raise InsufficientFunds(
            f"OG {tier.level} costs {tier.price_coins} coins; wallet has {w.balance} "
            "(bonus coins cannot buy tiers)",
            needed=tier.price_coins,
            available=w.balance,
        )
    start = w.tier_expires_at if current == tier.level else at
    if current == tier.level:  # an extension adds its days' bonuses to those still owed
        left, next_at = w.tier_bonuses_left + tier.duration_days, w.tier_bonus_next_at
    else:
        left, next_at = tier.duration_days, at
    t = L.txn(
        txn_id("tier", w.uid, key),
        L.TIER,
        at,
        [(L.user_account(w.uid, "coins"), -tier.price_coins), (L.SYS_REVENUE, tier.price_coins)],
        tier=tier.level,
        key=key,
    )
    w2 = replace(
        w.apply(t),
        tier_level=tier.level,
        tier_expires_at=start + tier.duration_s,
        tier_bonuses_left=left,
        tier_bonus_next_at=next_at,
    )
    return t, w2, (current, tier.level)


def daily_bonus(
    w: WalletState, *, tiers: dict[int, Tier], at: float
) -> tuple[LedgerTxn, WalletState] | None:
    """The next OG daily bonus of the wallet's tier if it has fallen due by `at`, or None.

    A tier of N days owes N bonuses, due 24 h apart from its purchase; each is paid once
    (id bonus:{uid}:{due instant}) whether the job runs hourly, daily or late (a late run
    pays what fell due while the tier was active). A locked wallet is paid nothing."""
    level, due = w.tier_level, w.tier_bonus_next_at
    if not level or w.locked or level not in tiers or w.tier_bonuses_left <= 0:
        return None
    if due > at or due >= w.tier_expires_at:
        return None
    amount = tiers[level].daily_bonus
    if amount <= 0:
        return None
    t = L.txn(
        txn_id("bonus", w.uid, str(int(due))),
        L.BONUS,
        at,
        [(L.SYS_BONUS, -amount), (L.user_account(w.uid, "bonus"), amount)],
        tier=level,
        day=day_key(day_start(due)),
    )
    w2 = replace(
        w.apply(t), tier_bonuses_left=w.tier_bonuses_left - 1, tier_bonus_next_at=due + DAY_S
    )
    return t, w2


def day_key(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def day_start(ts: float) -> float:
    return float(int(ts // DAY_S) * DAY_S)


def payment_delta(
    w: WalletState,
    *,
    provider: str,
    delta: int,
    txn_key: str,
    at: float,
    lock_reason: str = "",
    meta: dict | None = None,
) -> tuple[LedgerTxn | None, WalletState]:
    """Move a wallet's purchased coins by `delta` for a payment (credit > 0, claw-back < 0).

    A claw-back takes purchased coins only (bonus coins were never paid for). It is the one
    path that may drive a balance below zero, and then it locks the wallet ("chargeback");
    `lock_reason` (a dispute) locks it regardless."""
    t = None
    if delta:
        kind = L.PURCHASE if delta > 0 else L.REVERSAL
        t = L.txn(
            txn_id("pay", provider, txn_key),
            kind,
            at,
            [(L.ext_account(provider), -delta), (L.user_account(w.uid, "coins"), delta)],
            provider=provider,
            **(meta or {}),
        )
        w = w.apply(t)
    if lock_reason or w.balance < 0:
        reason = lock_reason or "chargeback: balance below zero"
        w = replace(w, locked=True, lock_reason=w.lock_reason if w.locked else reason)
    return t, w


def admin_adjust(
    w: WalletState,
    *,
    account: str,
    amount: int,
    reason: str,
    key: str,
    actor: str,
    at: float,
    unlock: bool = False,
) -> tuple[LedgerTxn | None, WalletState]:
    """An admin correction: a posting against sys:adjustments, with a reason. It cannot drive
    a balance negative; `unlock` lifts a lock once the balance is not negative."""
    kinds = {"balance": "coins", "bonus_balance": "bonus"}
    if account not in kinds:
        raise InvalidRequest("account must be 'balance' or 'bonus_balance'")
    if len(reason.strip()) < 3:
        raise InvalidRequest("a reason is required")
    t = None
    if amount:
        t = L.txn(
            txn_id("adjust", w.uid, key),
            L.ADJUST,
            at,
            [(L.SYS_ADJUST, -amount), (L.user_account(w.uid, kinds[account]), amount)],
            reason=reason,
            actor=actor,
            key=key,
        )
        after = w.apply(t)
        if getattr(after, account) < 0 and amount < 0:
            raise Conflict(f"adjustment would make {account} negative ({getattr(after, account)})")
        w = after
    if unlock:
        if w.balance < 0:
            raise Conflict(f"cannot unlock: balance is {w.balance}")
        w = replace(w, locked=False, lock_reason="")
    return t, w
