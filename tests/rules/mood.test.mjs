// The mood timeline (docs/engagement.md, "Mood"): the stream's creator (its ownership record)
// and admins read `mood_timelines/{s}`; viewers, staff moderators and the unauthenticated do
// not; nobody lists or writes.

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import { collection, doc, getDoc, getDocs, limit, query, setDoc } from "firebase/firestore";

import { contexts, CREATOR, rulesTestEnv, STREAM } from "./env.mjs";

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("mood");
  await env.clearFirestore();
  await env.withSecurityRulesDisabled(async (c) => {
    const db = c.firestore();
    await setDoc(doc(db, `stream_owners/${STREAM}`), { stream_id: STREAM, creator_id: CREATOR, source: "app" });
    await setDoc(doc(db, `mood_timelines/${STREAM}`), { stream_id: STREAM, points: { "2026-12-04T03:00Z": { mood: "hype" } } });
  });
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

describe("mood timelines", () => {
  test("the stream's creator and admins read it; others do not", async () => {
    await assertSucceeds(getDoc(doc(ctx.creator.firestore(), `mood_timelines/${STREAM}`)));
    await assertSucceeds(getDoc(doc(ctx.admin.firestore(), `mood_timelines/${STREAM}`)));
    for (const who of ["unauthenticated", "viewer", "moderator"]) {
      await assertFails(getDoc(doc(ctx[who].firestore(), `mood_timelines/${STREAM}`)));
    }
  });

  test("nobody lists or writes", async () => {
    await assertFails(getDocs(query(collection(ctx.admin.firestore(), "mood_timelines"), limit(5))));
    for (const who of ["creator", "admin", "viewer"]) {
      await assertFails(setDoc(doc(ctx[who].firestore(), `mood_timelines/${STREAM}`), { points: {} }));
    }
  });
});
