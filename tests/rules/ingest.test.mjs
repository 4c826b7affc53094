// Ingest targets: the creator (by uid, by creator_id claim, or as recorded owner) and admins
// read a target; other users cannot; nobody lists except admins; no client writes; leases
// are server-only.

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import { collection, deleteDoc, doc, getDoc, getDocs, limit, query, setDoc } from "firebase/firestore";

import { rulesTestEnv } from "./env.mjs";

const TARGET = "ana.live";
let env;

before(async () => {
  env = await rulesTestEnv("ingest");
  await env.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    await setDoc(doc(db, `ingest_targets/${TARGET}`), {
      creator_id: TARGET, owner_uid: "owner-uid", status: "live", error: null,
    });
    await setDoc(doc(db, `ingest_leases/${TARGET}`), { holder: "i-1", token: 3 });
  });
});

after(async () => {
  await env?.cleanup();
});

const as = (uid, claims) => env.authenticatedContext(uid, claims).firestore();

describe("ingest_targets", () => {
  test("the creator reads their target by uid, claim or ownership; admins too", async () => {
    await assertSucceeds(getDoc(doc(as(TARGET), `ingest_targets/${TARGET}`)));
    await assertSucceeds(getDoc(doc(as("u-9", { creator_id: TARGET }), `ingest_targets/${TARGET}`)));
    await assertSucceeds(getDoc(doc(as("owner-uid"), `ingest_targets/${TARGET}`)));
    await assertSucceeds(getDoc(doc(as("admin-1", { admin: true }), `ingest_targets/${TARGET}`)));
  });

  test("other users and signed-out clients cannot read it", async () => {
    await assertFails(getDoc(doc(as("viewer-1"), `ingest_targets/${TARGET}`)));
    await assertFails(getDoc(doc(as("u-9", { creator_id: "someone" }), `ingest_targets/${TARGET}`)));
    await assertFails(getDoc(doc(env.unauthenticatedContext().firestore(), `ingest_targets/${TARGET}`)));
  });

  test("only admins list targets, with a limit", async () => {
    await assertSucceeds(getDocs(query(collection(as("admin-1", { admin: true }), "ingest_targets"), limit(10))));
    await assertFails(getDocs(query(collection(as("admin-1", { admin: true }), "ingest_targets"))));
    await assertFails(getDocs(query(collection(as(TARGET), "ingest_targets"), limit(10))));
  });

  test("no client writes a target, not even its creator or an admin", async () => {
    for (const db of [as(TARGET), as("admin-1", { admin: true })]) {
      await assertFails(setDoc(doc(db, `ingest_targets/${TARGET}`), { status: "pending" }));
      await assertFails(setDoc(doc(db, "ingest_targets/new.one"), { status: "pending" }));
      await assertFails(deleteDoc(doc(db, `ingest_targets/${TARGET}`)));
    }
  });

  test("leases are server-only", async () => {
    await assertFails(getDoc(doc(as(TARGET), `ingest_leases/${TARGET}`)));
    await assertFails(getDoc(doc(as("admin-1", { admin: true }), `ingest_leases/${TARGET}`)));
  });
});
