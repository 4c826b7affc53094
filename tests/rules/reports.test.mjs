// Stream reports (docs/reports.md): the stream's creator and admins read `reports/{s}`;
// viewers, other users and the unauthenticated do not; the gifter ids under it are
// server-only; nobody writes.

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
    await setDoc(doc(db, `reports/${STREAM}`), { stream_id: STREAM, creator_id: CREATOR, totals: { coins: 5 } });
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

  test("the creator lists their own reports by page, not everyone's", async () => {
    const mine = query(collection(ctx.creator.firestore(), "reports"),
      where("creator_id", "==", CREATOR), limit(20));
    await assertSucceeds(getDocs(mine));
    await assertFails(getDocs(query(collection(ctx.creator.firestore(), "reports"), limit(20))));
    await assertFails(getDocs(query(collection(ctx.viewer.firestore(), "reports"),
      where("creator_id", "==", CREATOR), limit(20))));
  });

  test("gifter ids are server-only and nobody writes", async () => {
    for (const who of ["creator", "admin"]) {
      await assertFails(getDoc(doc(ctx[who].firestore(), `reports/${STREAM}/parts/gifters`)));
      await assertFails(setDoc(doc(ctx[who].firestore(), `reports/${STREAM}`), { totals: {} }));
    }
  });
});
