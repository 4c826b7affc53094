"""Wallet use cases: load, decide (postings.py), commit, in one store transaction each.

Every effect is keyed by a deterministic transaction id and applied inside a transaction that
first reads that id: a retry, a duplicate webhook or a second run of a job finds it and
changes nothing. Side effects outside the store (publishing the gift's EngagementEvent) happen
after the commit from an outbox record written in the same transaction (decision 021,
`service/outbox.py`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from giftengine.domain import access, xp
from giftengine.domain import events as ev
from giftengine.service.docstore import Doc, Store, Tx
from giftengine.service.outbox import Outbox, Publish
from giftengine.service.outbox import entry as outbox_entry
from giftengine.wallet import catalog as catalog_mod
from giftengine.wallet import ledger as L
from giftengine.wallet import paths
from giftengine.wallet import postings as P
from giftengine.wallet.errors import Conflict, InvalidRequest, NotFound
from giftengine.wallet.ledger import LedgerTxn, WalletState
from giftengine.wallet.payments import PaymentEvent, PaymentState, fold, target_coins
from giftengine.wallet.settings import WalletSettings

log = logging.getLogger("giftengine.wallet")
_STRIPES = 64


def to_dt(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def to_ts(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value)


def wallet_from_doc(uid: str, doc: Doc | None) -> WalletState:
    d = doc or {}
    tier, vel = d.get("tier") or {}, d.get("velocity") or {}
    return WalletState(
        uid=uid,
        balance=int(d.get("balance", 0)),
        bonus_balance=int(d.get("bonus_balance", 0)),
        total_spent=int(d.get("total_spent", 0)),
        locked=bool(d.get("locked", False)),
        lock_reason=str(d.get("lock_reason", "")),
        tier_level=int(tier.get("level", 0)),
        tier_expires_at=to_ts(tier.get("expires_at")),
        tier_bonuses_left=int(tier.get("bonuses_left", 0)),
        tier_bonus_next_at=to_ts(tier.get("bonus_next_at")),
        velocity_minute=int(vel.get("minute", 0)),
        velocity_coins=int(vel.get("coins", 0)),
        velocity_count=int(vel.get("count", 0)),
    )


def wallet_doc(w: WalletState, at: float, catalog: catalog_mod.Catalog) -> Doc:
    """The wallet document. Earnings live in earnings shards (hot creators), not here."""
    tier = catalog.tiers.get(w.tier_level)
    return {
        "uid": w.uid,
        "balance": w.balance,
        "bonus_balance": w.bonus_balance,
        "total_spent": w.total_spent,
        "locked": w.locked,
        "lock_reason": w.lock_reason,
        "tier": {
            "level": w.tier_level,
            "name": tier.name if tier else "",
            "expires_at": to_dt(w.tier_expires_at) if w.tier_level else None,
            "bonuses_left": w.tier_bonuses_left if w.tier_level else 0,
            "bonus_next_at": to_dt(w.tier_bonus_next_at) if w.tier_level else None,
        },
        "velocity": {
            "minute": w.velocity_minute,
            "coins": w.velocity_coins,
            "count": w.velocity_count,
        },
        "updated_at": to_dt(at),
    }


@dataclass(frozen=True)
class GiftSpend:
    stream_id: str
    creator_id: str | None  # optional: the stream's ownership record names the creator
    gift_id: str
    count: int
    idempotency_key: str


class WalletService:
    def __init__(
        self,
        store: Store,
        *,
        settings: WalletSettings,
        catalog: catalog_mod.Catalog,
        publish: Publish | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store, self.s, self.catalog = store, settings, catalog
        self.clock = clock
        self.outbox = Outbox(store, paths.OUTBOX, publish, settings.outbox_grace_s, clock)
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]

    @contextmanager
    def _serial(self, *keys: str) -> Iterator[None]:
        """Serialize this process's transactions on the same wallet or payment. Correctness
        comes from the store's transactions; this only keeps one instance from making its
        own requests contend (Firestore resolves contention by aborting or, in the emulator,
        by lock timeouts of seconds). Stripes are taken in index order: no deadlock."""
        idx = sorted({zlib.crc32(k.encode()) % _STRIPES for k in keys if k})
        for i in idx:
            self._stripes[i].acquire()
        try:
            yield
        finally:
            for i in reversed(idx):
                self._stripes[i].release()

    # ------------------------------------------------------------------ writing postings
    def _write(self, tx: Tx, t: LedgerTxn, wallets: dict[str, WalletState]) -> None:
        """Append `t` to the ledger, project it onto each user's postings, and move wallets:
        the ones read in this transaction are written whole, earnings go to counter shards."""
        tx.set(paths.ledger(t.txn_id), {**t.to_doc(), "created_at": to_dt(t.at)})
        for uid in t.uids():
            legs = t.user_legs(uid)
            tx.set(
                paths.posting(uid, t.txn_id),
                {
                    "posting_id": t.txn_id,
                    "kind": t.kind,
                    "at": to_dt(t.at),
                    "coins": legs.get("coins", 0),
                    "bonus": legs.get("bonus", 0),
                    "earnings": legs.get("earnings", 0),
                    **{k: v for k, v in t.meta.items() if k in _POSTING_META},
                },
            )
            deltas = L.wallet_deltas(t, uid)
            earn = {k: deltas.pop(k) for k in ("earnings", "total_earned") if k in deltas}
            if earn:
                tx.increment(paths.earnings_shard(uid, t.txn_id, self.s.earnings_shards), earn)
            if uid not in wallets and deltas:
                tx.increment(paths.wallet(uid), deltas)
        for uid, w in wallets.items():
            tx.set(paths.wallet(uid), wallet_doc(w, t.at, self.catalog), merge=True)

    # ------------------------------------------------------------------ gifts
    def spend_gift(self, uid: str, req: GiftSpend, user_name: str = "") -> dict[str, Any]:
        gift = self.catalog.gift(req.gift_id)
        if gift is None:
            raise NotFound(f"no gift {req.gift_id!r} in the catalog")
        at = self.clock()
        tid = P.txn_id("gift", uid, req.idempotency_key)
        event_id = f"app:{uid}:{req.idempotency_key}"

        def work(tx: Tx) -> tuple[bool, Doc, Doc | None]:
            docs = tx.get_all(
                [
                    paths.ledger(tid),
                    paths.wallet(uid),
                    f"streams/{req.stream_id}",
                    paths.stream_owner(req.stream_id),
                    paths.outbox(tid),
                ]
            )
            done = docs[paths.ledger(tid)]
            if done:
                m = done.get("meta", {})
                same = (m.get("gift_id"), m.get("count"), m.get("stream_id")) == (
                    req.gift_id,
                    req.count,
                    req.stream_id,
                ) and req.creator_id in (None, m.get("creator_id"))
                if not same:
                    raise Conflict("idempotency_key was already used for a different gift")
                return True, done, docs[paths.outbox(tid)]
            owner_doc = docs[paths.stream_owner(req.stream_id)]
            try:
                creator = access.gift_recipient(
                    access.StreamOwner(req.stream_id, owner_doc["creator_id"])
                    if owner_doc
                    else None,
                    req.creator_id,
                )
            except LookupError as exc:
                raise NotFound(f"stream {req.stream_id}: {exc}") from None
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from None
            stream = docs[f"streams/{req.stream_id}"] or {}
            if stream.get("status") == "ended":
                raise Conflict(f"stream {req.stream_id} has ended")
            w = wallet_from_doc(uid, docs[paths.wallet(uid)])
            t, w2 = P.gift_spend(
                w,
                gift=gift,
                count=req.count,
                creator_uid=creator,
                key=req.idempotency_key,
                at=at,
                s=self.s,
                meta={"stream_id": req.stream_id, "event_id": event_id},
            )
            t = replace(
                t, meta={**t.meta, "balance_after": w2.balance, "bonus_after": w2.bonus_balance}
            )
            event = ev.EngagementEvent(
                event_id=event_id,
                source="app",
                stream_id=req.stream_id,
                kind="gift",
                occurred_at=to_dt(at),
                user=ev.User(id=uid, name=user_name[:256]),
                creator_id=creator,
                gift=ev.Gift(
                    id=gift.id, name=gift.name, coins=gift.coins, streakable=gift.streakable
                ),
                repeat_count=req.count,
                repeat_end=True,
                # Each purchase is a whole streak of its own: without a group of its own,
                # every app gift of a streakable gift by this viewer would be taken for one
                # streak's re-sent final, and only the first would count.
                group_id=event_id,
            )
            outbox = outbox_entry(event, at, txn_id=tid)
            self._write(tx, t, {uid: w2})
            tx.set(paths.outbox(tid), outbox)
            return False, t.to_doc(), outbox

        with self._serial(uid):
            replayed, tdoc, outbox = self.store.transact(work)
        if outbox and not outbox.get("published"):
            self._publish(tid, outbox["event"])
        t = LedgerTxn.from_doc(tdoc)
        legs = t.user_legs(uid)
        return {
            "txn_id": t.txn_id,
            "event_id": event_id,
            "replayed": replayed,
            "gift_id": t.meta["gift_id"],
            "count": t.meta["count"],
            "price": t.meta["price"],
            "paid": {"coins": -legs.get("coins", 0), "bonus": -legs.get("bonus", 0)},
            "creator_id": t.meta["creator_id"],
            "creator_earned": t.user_legs(t.meta["creator_id"]).get("earnings", 0),
            "balance": t.meta["balance_after"],
            "bonus_balance": t.meta["bonus_after"],
        }

    def _publish(self, tid: str, event: Doc) -> bool:
        """Publish the outbox event; mark it. A failure leaves it for the outbox job."""
        return self.outbox.publish(tid, event)

    def flush_outbox(self) -> dict[str, int]:
        """Republish gift events whose publish did not complete (crash between commit and
        publish). Downstream counts each event once whatever message holds it, so publishing
        twice is harmless."""
        return self.outbox.flush()

    # ------------------------------------------------------------------ tiers
    def buy_tier(self, uid: str, level: int, key: str) -> dict[str, Any]:
        tier = self.catalog.tiers.get(level)
        if tier is None:
            raise NotFound(f"no OG tier {level}")
        at = self.clock()
        tid = P.txn_id("tier", uid, key)

        def work(tx: Tx) -> tuple[bool, Doc]:
            docs = tx.get_all([paths.ledger(tid), paths.wallet(uid)])
            done = docs[paths.ledger(tid)]
            if done:
                if done.get("meta", {}).get("tier") != level:
                    raise Conflict("idempotency_key was already used for a different tier")
                return True, done
            w = wallet_from_doc(uid, docs[paths.wallet(uid)])
            t, w2, (before, after) = P.tier_purchase(w, tier=tier, key=key, at=at)
            t = replace(
                t,
                meta={
                    **t.meta,
                    "tier_before": before,
                    "expires_at": w2.tier_expires_at,
                    "balance_after": w2.balance,
                },
            )
            self._write(tx, t, {uid: w2})
            tx.set(
                paths.tier_event(uid, tid),
                {
                    "event_id": tid,
                    "reason": "purchase",
                    "from_level": before,
                    "to_level": after,
                    "expires_at": to_dt(w2.tier_expires_at),
                    "at": to_dt(at),
                },
            )
            return False, t.to_doc()

        with self._serial(uid):
            replayed, tdoc = self.store.transact(work)
        m = tdoc["meta"]
        return {
            "txn_id": tid,
            "replayed": replayed,
            "level": level,
            "name": tier.name,
            "from_level": m["tier_before"],
            "expires_at": to_dt(m["expires_at"]),
            "balance": m["balance_after"],
            "daily_bonus": tier.daily_bonus,
        }

    def run_daily_bonus(self) -> dict[str, int]:
        """Pay every OG bonus that has fallen due (a tier of N days pays exactly N, 24 h apart
        from its purchase, however often or late this job runs; each keyed by its due
        instant), then record tier expiries as tier events."""
        now = self.clock()
        day0 = P.day_start(now)
        credited = skipped = expired = 0
        for uid, _doc in self.store.where(paths.WALLETS, "tier.level", ">", 0):

            def work(tx: Tx, uid: str = uid) -> str:
                w = wallet_from_doc(uid, tx.get_all([paths.wallet(uid)])[paths.wallet(uid)])
                r = P.daily_bonus(w, tiers=self.catalog.tiers, at=now)
                if r is not None:
                    if tx.get_all([paths.ledger(r[0].txn_id)])[paths.ledger(r[0].txn_id)]:
                        return "skipped"  # cannot happen unless the wallet was restored
                    self._write(tx, r[0], {uid: r[1]})
                    return "credited"
                if w.tier_level and not w.tier_active(now):
                    # Expired: record the change once (id keyed by the expiry instant).
                    eid = P.txn_id("expire", uid, str(int(w.tier_expires_at)))
                    tx.set(
                        paths.wallet(uid),
                        {
                            "tier": {
                                "level": 0,
                                "name": "",
                                "expires_at": None,
                                "bonuses_left": 0,
                                "bonus_next_at": None,
                            },
                            "updated_at": to_dt(now),
                        },
                        merge=True,
                    )
                    tx.set(
                        paths.tier_event(uid, eid),
                        {
                            "event_id": eid,
                            "reason": "expired",
                            "from_level": w.tier_level,
                            "to_level": 0,
                            "expires_at": to_dt(w.tier_expires_at),
                            "at": to_dt(now),
                        },
                    )
                    return "expired"
                return "skipped"

            for _ in range(400):  # at most the tier's days, each its own transaction
                with self._serial(uid):
                    outcome = self.store.transact(work)
                credited += outcome == "credited"
                if outcome != "credited":
                    skipped += outcome == "skipped"
                    expired += outcome == "expired"
                    break
        return {
            "day": P.day_key(day0),
            "credited": credited,
            "skipped": skipped,
            "expired": expired,
        }

    # ------------------------------------------------------------------ payments
    def apply_payment(self, e: PaymentEvent) -> dict[str, Any]:
        """Apply one verified provider event exactly once, whatever the order of arrival."""
        at = self.clock()
        evt_path = paths.webhook_event(e.provider, e.event_id)
        ps_path = paths.payment_state(e.provider, e.payment_ref)

        def work(tx: Tx) -> dict[str, Any]:
            docs = tx.get_all([evt_path, ps_path])
            if docs[evt_path]:
                return {"duplicate": True, "event_id": e.event_id}
            before = PaymentState.from_doc(docs[ps_path]) if docs[ps_path] else None
            state = fold(before, e)
            target = target_coins(state)
            result: dict[str, Any] = {
                "duplicate": False,
                "event_id": e.event_id,
                "payment_ref": e.payment_ref,
                "status": state.status,
            }
            if state.uid:
                w = wallet_from_doc(state.uid, tx.get(paths.wallet(state.uid)))
                t, w2 = P.payment_delta(
                    w,
                    provider=e.provider,
                    delta=target - state.credited,
                    txn_key=e.event_id,
                    at=at,
                    lock_reason="dispute" if state.disputed else "",
                    meta={"payment_ref": e.payment_ref, "event_kind": e.kind},
                )
                revoke = self._xp_revocation(tx, state.uid, w, w2) if t is not None else None
                if t is not None:
                    self._write(tx, t, {state.uid: w2})
                if revoke:
                    self._revoke_xp(tx, state.uid, *revoke)
                    result["xp_revoked"] = revoke[0]
                elif w2 != w:
                    tx.set(paths.wallet(state.uid), wallet_doc(w2, at, self.catalog), merge=True)
                state = replace(state, credited=target)
                tx.set(
                    paths.customer_payment(state.uid, e.payment_ref),
                    {
                        "id": e.payment_ref,
                        "provider": e.provider,
                        "amount": state.amount,
                        "currency": state.currency,
                        "coins": state.coins,
                        "credited": state.credited,
                        "amount_refunded": state.refunded,
                        "status": state.status,
                        "updated_at": to_dt(at),
                    },
                    merge=True,
                )
                result.update(
                    uid=state.uid,
                    credited=state.credited,
                    delta=t.legs[1].amount if t else 0,
                    balance=w2.balance,
                    locked=w2.locked,
                )
            tx.set(ps_path, {**state.to_doc(), "updated_at": to_dt(at)})
            tx.set(
                evt_path,
                {
                    "provider": e.provider,
                    "event_id": e.event_id,
                    "kind": e.kind,
                    "payment_ref": e.payment_ref,
                    "processed_at": to_dt(at),
                    # Firestore TTL policy on `expire_at` deletes these after the replay window;
                    # the payment state keeps later replays harmless.
                    "expire_at": to_dt(at + self.s.callback_window_s),
                },
            )
            return result

        # The owner is known from the completion; a refund or dispute names only the payment,
        # so look the owner up (a hint: the transaction re-reads it) to serialize on the wallet.
        owner = e.uid or (self.store.get(ps_path) or {}).get("uid") or ""
        with self._serial(f"pay:{e.provider}:{e.payment_ref}", owner):
            return self.store.transact(work)

    def _xp_revocation(
        self, tx: Tx, uid: str, before: WalletState, after: WalletState
    ) -> tuple[int, dict[str, int]] | None:
        """A claw-back's spent coins and which creators they went to (domain/xp.py). Reads
        (before any write of the transaction): the viewer's postings, once per refund or
        dispute that finds coins already spent, and the XP documents of those creators."""
        spent = xp.spent_share(before.balance, after.balance)
        if not spent:
            return None
        gifts = [
            (to_ts(d.get("at")), pid, str(d["creator_id"]), -int(d.get("coins", 0)))
            for pid, d in tx.list(paths.postings(uid))
            if d.get("kind") == L.GIFT and d.get("creator_id") and int(d.get("coins", 0)) < 0
        ]
        creators = sorted({g[2] for g in gifts})
        docs = tx.get_all([f"xp/{uid}/creators/{c}" for c in creators]) if creators else {}
        taken = {
            c: int((docs[f"xp/{uid}/creators/{c}"] or {}).get("coins_revoked", 0)) for c in creators
        }
        return spent, xp.allocate_revocation(spent, gifts, taken)

    def _revoke_xp(self, tx: Tx, uid: str, spent: int, by_creator: dict[str, int]) -> None:
        """Take back the gift XP (1 per coin), loyalty points and creator XP the spent
        coins gave, in the payment event's transaction: exactly once per provider event."""
        x = xp.gift_xp(spent)
        tx.increment(
            f"xp/{uid}", {"xp": -x, "xp_gifts": -x, "coins": -spent, "coins_revoked": spent}
        )
        for creator, coins in sorted(by_creator.items()):
            cx = xp.gift_xp(coins)
            tx.increment(
                f"xp/{uid}/creators/{creator}",
                {
                    "xp": -cx,
                    "xp_gifts": -cx,
                    "coins": -coins,
                    "coins_revoked": coins,
                    "points_revoked": xp.points_for(cx),
                },
            )
            tx.increment(f"xp/{creator}", {"creator_xp": -cx})

    # ------------------------------------------------------------------ admin
    def admin_adjust(
        self,
        actor: str,
        uid: str,
        *,
        account: str,
        amount: int,
        reason: str,
        key: str,
        unlock: bool = False,
    ) -> dict[str, Any]:
        if uid.startswith("sys:"):  # the ledger's own accounts (ledger.py), not a user's wallet
            raise InvalidRequest(f"{uid!r} is a system account of the ledger, not a user")
        at = self.clock()
        tid = P.txn_id("adjust", uid, key)

        def work(tx: Tx) -> dict[str, Any]:
            docs = tx.get_all([paths.audit(tid), paths.wallet(uid)])
            if docs[paths.audit(tid)]:
                return {**docs[paths.audit(tid)], "replayed": True}
            w = wallet_from_doc(uid, docs[paths.wallet(uid)])
            t, w2 = P.admin_adjust(
                w,
                account=account,
                amount=amount,
                reason=reason,
                key=key,
                actor=actor,
                at=at,
                unlock=unlock,
            )
            if t is not None:
                self._write(tx, t, {uid: w2})
            else:
                tx.set(paths.wallet(uid), wallet_doc(w2, at, self.catalog), merge=True)
            entry = {
                "entry_id": tid,
                "action": "wallet.adjust",
                "actor": actor,
                "uid": uid,
                "account": account,
                "amount": amount,
                "reason": reason,
                "unlock": unlock,
                "txn_id": t.txn_id if t else None,
                "at": to_dt(at),
                "balance": w2.balance,
                "bonus_balance": w2.bonus_balance,
                "locked": w2.locked,
            }
            tx.set(paths.audit(tid), entry)
            return {**entry, "replayed": False}

        with self._serial(uid):
            return self.store.transact(work)

    # ------------------------------------------------------------------ reading
    def wallet_view(self, uid: str) -> dict[str, Any]:
        """The wallet as its owner's client assembles it: wallets/{uid} plus the sum of
        wallets/{uid}/earnings_shards/*."""
        doc = self.store.get(paths.wallet(uid)) or {}
        w = wallet_from_doc(uid, doc)
        earnings = total_earned = 0
        for _, shard in self.store.list(paths.earnings_shards(uid)):
            earnings += int(shard.get("earnings", 0))
            total_earned += int(shard.get("total_earned", 0))
        tier = self.catalog.tiers.get(w.tier_level)
        return {
            "uid": uid,
            "balance": w.balance,
            "bonus_balance": w.bonus_balance,
            "earnings": earnings,
            "total_earned": total_earned,
            "total_spent": w.total_spent,
            "locked": w.locked,
            "lock_reason": w.lock_reason,
            "tier": {
                "level": w.tier_level,
                "name": tier.name if tier else "",
                "expires_at": to_dt(w.tier_expires_at) if w.tier_level else None,
            },
            "updated_at": doc.get("updated_at"),
        }

    def history(self, uid: str, limit: int = 50) -> list[Doc]:
        items = [d for _, d in self.store.list(paths.postings(uid))]
        items.sort(key=lambda d: (to_ts(d.get("at")), d.get("posting_id", "")), reverse=True)
        return items[:limit]

    # ------------------------------------------------------------------ reconciliation
    def _recheck(self, uid: str) -> dict[str, Any] | None:
        """One wallet on a consistent snapshot (one read-only transaction): its document and
        earnings shards against the ledger entries its postings name, and each posting
        against its ledger entry. None when they agree."""

        def work(tx: Tx) -> dict[str, Any] | None:
            shards = tx.list(paths.earnings_shards(uid))
            postings = tx.list(paths.postings(uid))
            docs = tx.get_all([paths.wallet(uid)] + [paths.ledger(pid) for pid, _ in postings])
            w = wallet_from_doc(uid, docs[paths.wallet(uid)])
            view = {**w.ledger_fields(), "earnings": 0, "total_earned": 0}
            for _, shard in shards:
                view["earnings"] += int(shard.get("earnings", 0))
                view["total_earned"] += int(shard.get("total_earned", 0))
            expected = dict.fromkeys(L.LEDGER_FIELDS, 0)
            bad_postings = []
            for pid, posting in postings:
                tdoc = docs[paths.ledger(pid)]
                if tdoc is None:
                    bad_postings.append(pid)
                    continue
                t = LedgerTxn.from_doc(tdoc)
                legs = t.user_legs(uid)
                mine = {k: int(posting.get(k, 0)) for k in ("coins", "bonus", "earnings")}
                if mine != {k: legs.get(k, 0) for k in ("coins", "bonus", "earnings")}:
                    bad_postings.append(pid)
                for k, v in L.wallet_deltas(t, uid).items():
                    expected[k] += v
            diff = {
                k: {"wallet": view[k], "ledger": expected[k]}
                for k in L.LEDGER_FIELDS
                if view[k] != expected[k]
            }
            if not diff and not bad_postings:
                return None
            return {
                "uid": uid,
                "problem": "balance mismatch",
                "fields": diff,
                "postings_not_matching_ledger": bad_postings[:20],
            }

        return self.store.transact(work)

    def reconcile(self) -> dict[str, Any]:
        """Recompute every wallet from the ledger and compare with the stored wallets."""
        at = self.clock()
        derived: dict[str, dict[str, int]] = {}
        problems: list[dict[str, Any]] = []
        txns = 0
        for txn_doc_id, doc in self.store.list(paths.LEDGER):
            try:
                t = LedgerTxn.from_doc(doc)
            except (KeyError, ValueError, TypeError) as exc:
                problems.append({"txn_id": txn_doc_id, "problem": f"invalid transaction: {exc}"})
                continue
            txns += 1
            for uid in t.uids():
                fields = derived.setdefault(uid, dict.fromkeys(L.LEDGER_FIELDS, 0))
                for k, v in L.wallet_deltas(t, uid).items():
                    fields[k] += v
        # A creator who only earns may have earnings shards but no wallet document.
        uids = sorted({uid for uid, _ in self.store.list(paths.WALLETS)} | set(derived))
        for uid in uids:
            view = self.wallet_view(uid)
            expected = derived.get(uid, dict.fromkeys(L.LEDGER_FIELDS, 0))
            diff = {
                k: {"wallet": view[k], "ledger": expected[k]}
                for k in L.LEDGER_FIELDS
                if view[k] != expected[k]
            }
            if diff:
                # The scan is not a snapshot: a spend committed between reading the ledger and
                # reading this wallet looks like a mismatch. Confirm on a consistent snapshot.
                confirmed = self._recheck(uid)
                if confirmed:
                    problems.append(confirmed)
        run_id = f"{P.day_key(at)}-{uuid.uuid4().hex[:12]}"
        report = {
            "run_id": run_id,
            "at": to_dt(at),
            "transactions": txns,
            "wallets": len(uids),
            "mismatches": len(problems),
            "ok": not problems,
            "problems": problems[:200],
        }
        self.store.set(paths.reconciliation_run(run_id), report)
        if problems:
            # Severity ERROR with a stable message: the log-based alert policy matches it.
            log.error(
                "ALERT wallet reconciliation found %d mismatches (run %s): %s",
                len(problems),
                run_id,
                problems[:5],
            )
        return report


_POSTING_META = (
    "gift_id",
    "count",
    "price",
    "creator_id",
    "sender_id",
    "stream_id",
    "tier",
    "provider",
    "payment_ref",
    "event_kind",
    "reason",
    "day",
)
