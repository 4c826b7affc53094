// Wallets: the owner reads their wallet, history, tier events, earnings shards and Stripe
// checkout records; nobody else reads them; no client writes any of them; the wallet's
// server-only collections are unreadable by everyone (docs/wallet.md).

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import {
  collection, deleteDoc, doc, getDoc, getDocs, limit, orderBy, query, setDoc, Timestamp,
  updateDoc,
} from "firebase/firestore";

import { contexts, rulesTestEnv } from "./env.mjs";

const OWNER = "viewer-1"; // contexts(): the viewer signs in as viewer-1
const at = Timestamp.fromMillis(Date.UTC(2026, 10, 22, 1, 0, 0));

const OWNED = {
  [`wallets/${OWNER}`]: {
    uid: OWNER, balance: 250, bonus_balance: 60, total_spent: 40, locked: false,
    lock_reason: "", tier: { level: 1, name: "OG 1", expires_at: at }, updated_at: at,
  },
  [`wallets/${OWNER}/postings/gift:${OWNER}:k1`]: {
    posting_id: `gift:${OWNER}:k1`, kind: "gift", at, coins: -40, bonus: 0, earnings: 0,
  },
  [`wallets/${OWNER}/postings/pay:stripe:evt_1`]: {
    posting_id: "pay:stripe:evt_1", kind: "purchase", at, coins: 350, bonus: 0, earnings: 0,
  },
  [`wallets/${OWNER}/tier_events/tier:${OWNER}:t1`]: { reason: "purchase", to_level: 1, at },
  [`wallets/${OWNER}/earnings_shards/3`]: { earnings: 20, total_earned: 20 },
  [`customers/${OWNER}`]: { stripeId: "cus_1" },
  [`customers/${OWNER}/checkout_sessions/cs_1`]: { sessionId: "cs_1", url: "http://x", created: at },
  [`customers/${OWNER}/payments/pi_1`]: { id: "pi_1", status: "succeeded", coins: 350 },
};

const SERVER_ONLY = {
  [`ledger/gift:${OWNER}:k1`]: { txn_id: `gift:${OWNER}:k1`, kind: "gift", legs: [] },
  "payment_states/stripe:pi_1": { uid: OWNER, credited: 350 },
  "webhook_events/stripe:evt_1": { event_id: "evt_1", expire_at: at },
  [`gateway_intents/esewa:${OWNER}-1`]: { uid: OWNER, amount: 1000 },
  [`wallet_outbox/gift:${OWNER}:k1`]: { published: true },
  [`audit_log/adjust:${OWNER}:a1`]: { actor: "admin-1", reason: "goodwill" },
  "reconciliation_runs/r1": { ok: true },
};

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("wallet");
  await env.clearFirestore();
  await env.withSecurityRulesDisabled(async (c) => {
    const db = c.firestore();
    const all = { ...OWNED, ...SERVER_ONLY };
    await Promise.all(Object.entries(all).map(([path, data]) => setDoc(doc(db, path), data)));
  });
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

describe("the owner reads their own wallet", () => {
  const db = () => ctx.viewer.firestore();

  for (const path of Object.keys(OWNED)) {
    test(`get ${path}`, async () => {
      await assertSucceeds(getDoc(doc(db(), path)));
    });
  }

  test("history listener query: postings by time, newest first, one page", async () => {
    const q = query(collection(db(), "wallets", OWNER, "postings"), orderBy("at", "desc"),
      limit(50));
    await assertSucceeds(getDocs(q));
  });

  test("earnings shards (summed by the client)", async () => {
    await assertSucceeds(getDocs(collection(db(), "wallets", OWNER, "earnings_shards")));
  });

  test("tier events and Stripe records, one page", async () => {
    await assertSucceeds(getDocs(query(collection(db(), "wallets", OWNER, "tier_events"),
      limit(20))));
    await assertSucceeds(getDocs(query(collection(db(), "customers", OWNER, "payments"),
      limit(20))));
    await assertSucceeds(getDocs(query(
      collection(db(), "customers", OWNER, "checkout_sessions"), limit(20))));
  });

  test("but not the whole history without a limit", async () => {
    await assertFails(getDocs(collection(db(), "wallets", OWNER, "postings")));
  });

  test("nor a list of wallets", async () => {
    await assertFails(getDocs(query(collection(db(), "wallets"), limit(10))));
  });
});

for (const who of ["unauthenticated", "creator", "moderator", "admin"]) {
  describe(`${who} cannot read another user's wallet`, () => {
    const db = () => ctx[who].firestore();

    for (const path of Object.keys(OWNED)) {
      test(`get ${path}`, async () => {
        await assertFails(getDoc(doc(db(), path)));
      });
    }

    test("their history, shards or payments", async () => {
      await assertFails(getDocs(query(collection(db(), "wallets", OWNER, "postings"),
        limit(10))));
      await assertFails(getDocs(collection(db(), "wallets", OWNER, "earnings_shards")));
      await assertFails(getDocs(query(collection(db(), "customers", OWNER, "payments"),
        limit(10))));
    });
  });
}

for (const who of ["viewer", "admin"]) {
  describe(`${who} cannot write any wallet document`, () => {
    const db = () => ctx[who].firestore();

    test("raise the balance", async () => {
      await assertFails(updateDoc(doc(db(), "wallets", OWNER), { balance: 1000000 }));
      await assertFails(setDoc(doc(db(), "wallets", OWNER), { balance: 1000000 }));
    });

    test("create a wallet", async () => {
      await assertFails(setDoc(doc(db(), "wallets", "new-user"), { balance: 5 }));
    });

    test("add, change or delete a posting", async () => {
      await assertFails(setDoc(doc(db(), "wallets", OWNER, "postings", "forged"),
        { kind: "purchase", coins: 999 }));
      await assertFails(updateDoc(doc(db(), "wallets", OWNER, "postings",
        `gift:${OWNER}:k1`), { coins: 0 }));
      await assertFails(deleteDoc(doc(db(), "wallets", OWNER, "postings", `gift:${OWNER}:k1`)));
    });

    test("bump an earnings shard or a tier", async () => {
      await assertFails(setDoc(doc(db(), "wallets", OWNER, "earnings_shards", "0"),
        { earnings: 1 }));
      await assertFails(setDoc(doc(db(), "wallets", OWNER, "tier_events", "forged"),
        { to_level: 5 }));
    });

    test("create a checkout session or a payment (the extension's client-write pattern)",
      async () => {
        await assertFails(setDoc(doc(db(), "customers", OWNER, "checkout_sessions", "mine"),
          { price: "price_1" }));
        await assertFails(setDoc(doc(db(), "customers", OWNER, "payments", "pi_x"),
          { status: "succeeded" }));
      });
  });
}

for (const who of ["viewer", "creator", "admin", "unauthenticated"]) {
  describe(`${who} cannot read the wallet's server-only data`, () => {
    const db = () => ctx[who].firestore();

    for (const path of Object.keys(SERVER_ONLY)) {
      test(`get ${path}`, async () => {
        await assertFails(getDoc(doc(db(), path)));
      });
      const coll = path.split("/")[0];
      test(`list ${coll}`, async () => {
        await assertFails(getDocs(query(collection(db(), coll), limit(10))));
      });
    }
  });
}
