// The creator's reward queue (docs/engagement.md, "Loyalty points"): the creator, a moderator
// they appointed and admins get and list `creators/{c}/reward_queue/*` (lists with a limit);
// viewers, the redeeming viewer, staff moderators, another creator's moderator and the
// unauthenticated do not; nobody writes; the XP documents, their ledgers and the "top 3 of a
// week" judgments (creators/{c}/weekly_top3) stay server-only.

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import {
  collection, doc, getDoc, getDocs, limit, orderBy, query, setDoc, updateDoc,
} from "firebase/firestore";

import { contexts, CREATOR, rulesTestEnv } from "./env.mjs";

const RID = "0123456789abcdef0123456789abcdef";
const ENTRY = `creators/${CREATOR}/reward_queue/${RID}`;
let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("reward-queue");
  await env.clearFirestore();
  await env.withSecurityRulesDisabled(async (c) => {
    const db = c.firestore();
    await setDoc(doc(db, `creators/${CREATOR}`), { timezone: "UTC" });
    await setDoc(doc(db, `creators/${CREATOR}/moderators/cmod-1`), { uid: "cmod-1" });
    await setDoc(doc(db, `creators/other-creator/moderators/omod-1`), { uid: "omod-1" });
    await setDoc(doc(db, ENTRY), {
      redemption_id: RID, uid: "viewer-1", status: "queued", done: false, at: new Date(), cost: 30,
    });
    await setDoc(doc(db, `xp/viewer-1/creators/${CREATOR}`), { points_earned: 100 });
    await setDoc(doc(db, `xp/viewer-1/creators/${CREATOR}/refunds/${RID}`), { points: 30 });
    await setDoc(doc(db, `creators/${CREATOR}/weekly_top3/2026-11-16`), { week: "2026-11-16", top: [] });
  });
  ctx = contexts(env);
  ctx.creatorMod = env.authenticatedContext("cmod-1");
  ctx.otherMod = env.authenticatedContext("omod-1");
});

after(async () => {
  await env?.cleanup();
});

const page = (db) => query(collection(db, `creators/${CREATOR}/reward_queue`),
  orderBy("done"), orderBy("at"), limit(50));

describe("reward queue", () => {
  test("the creator, their moderators and admins read and list it", async () => {
    for (const who of ["creator", "creatorMod", "admin"]) {
      await assertSucceeds(getDoc(doc(ctx[who].firestore(), ENTRY)));
      await assertSucceeds(getDocs(page(ctx[who].firestore())));
    }
  });

  test("viewers (the redeeming one too), staff moderators and other creators' moderators do not", async () => {
    for (const who of ["unauthenticated", "viewer", "moderator", "otherMod"]) {
      await assertFails(getDoc(doc(ctx[who].firestore(), ENTRY)));
      await assertFails(getDocs(page(ctx[who].firestore())));
    }
  });

  test("a list must say how many it wants", async () => {
    await assertFails(getDocs(collection(ctx.creator.firestore(), `creators/${CREATOR}/reward_queue`)));
  });

  test("nobody writes it; the points documents and week judgments stay server-only", async () => {
    for (const who of ["creator", "creatorMod", "admin", "viewer"]) {
      const db = ctx[who].firestore();
      await assertFails(updateDoc(doc(db, ENTRY), { status: "fulfilled" }));
      await assertFails(setDoc(doc(db, `creators/${CREATOR}/reward_queue/x`), { status: "queued" }));
      await assertFails(getDoc(doc(db, `xp/viewer-1/creators/${CREATOR}`)));
      await assertFails(getDoc(doc(db, `xp/viewer-1/creators/${CREATOR}/refunds/${RID}`)));
      await assertFails(getDoc(doc(db, `creators/${CREATOR}/weekly_top3/2026-11-16`)));
    }
  });
});
