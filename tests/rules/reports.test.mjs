// Stream reports (docs/reports.md): the stream's creator (its ownership record) and admins
// read `reports/{s}`; viewers, staff moderators, other users, the unauthenticated and a user
// the report's creator_id names without owning the stream do not; the gifter ids under it
// are server-only; nobody writes.

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import {
  collection, doc, getDoc, getDocs, limit, query, setDoc, where,
} from "firebase/firestore";

import { contexts, CREATOR, rulesTestEnv, STREAM } from "./env.mjs";

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("reports");
  await env.clearFirestore();
  await env.withSecurityRulesDisabled(async (c) => {
    const db = c.firestore();
    await setDoc(doc(db, `stream_owners/${STREAM}`), { stream_id: STREAM, creator_id: CREATOR, source: "app" });
    await setDoc(doc(db, `reports/${STREAM}`), { stream_id: STREAM, creator_id: CREATOR, owner_uid: CREATOR, totals: { coins: 5 } });
    // Its events named viewer-1 as the creator; the ownership record says CREATOR.
    await setDoc(doc(db, "stream_owners/stream-2"), { stream_id: "stream-2", creator_id: CREATOR, source: "app" });
    await setDoc(doc(db, "reports/stream-2"), { stream_id: "stream-2", creator_id: "viewer-1", owner_uid: CREATOR, totals: { coins: 1 } });
    // No ownership record: only admins.
    await setDoc(doc(db, "reports/stream-3"), { stream_id: "stream-3", creator_id: "viewer-1", owner_uid: null, totals: { coins: 1 } });
    await setDoc(doc(db, `reports/${STREAM}/parts/gifters`), { ids: "[\"u1\"]" });
  });
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

describe("reports", () => {
  test("the creator and admins read the report; others do not", async () => {
    await assertSucceeds(getDoc(doc(ctx.creator.firestore(), `reports/${STREAM}`)));
    await assertSucceeds(getDoc(doc(ctx.admin.firestore(), `reports/${STREAM}`)));
    for (const who of ["unauthenticated", "viewer", "moderator"]) {
      await assertFails(getDoc(doc(ctx[who].firestore(), `reports/${STREAM}`)));
    }
  });

  test("ownership decides, not the creator_id a report's events named", async () => {
    await assertSucceeds(getDoc(doc(ctx.creator.firestore(), "reports/stream-2")));
    for (const s of ["stream-2", "stream-3"]) {
      await assertFails(getDoc(doc(ctx.viewer.firestore(), `reports/${s}`)));
    }
    await assertSucceeds(getDoc(doc(ctx.admin.firestore(), "reports/stream-3")));
    await assertFails(getDocs(query(collection(ctx.viewer.firestore(), "reports"),
      where("creator_id", "==", "viewer-1"), limit(20))));
  });

  test("the creator lists the reports of the streams they own by page, not everyone's", async () => {
    const mine = query(collection(ctx.creator.firestore(), "reports"),
      where("owner_uid", "==", CREATOR), limit(20));
    await assertSucceeds(getDocs(mine));
    await assertFails(getDocs(query(collection(ctx.creator.firestore(), "reports"), limit(20))));
    await assertFails(getDocs(query(collection(ctx.creator.firestore(), "reports"),
      where("creator_id", "==", CREATOR), limit(20))));
    await assertFails(getDocs(query(collection(ctx.viewer.firestore(), "reports"),
      where("owner_uid", "==", CREATOR), limit(20))));
  });

  test("gifter ids are server-only and nobody writes", async () => {
    for (const who of ["creator", "admin"]) {
      await assertFails(getDoc(doc(ctx[who].firestore(), `reports/${STREAM}/parts/gifters`)));
      await assertFails(setDoc(doc(ctx[who].firestore(), `reports/${STREAM}`), { totals: {} }));
    }
  });
});
