// Stream ownership: creator powers come from stream_owners/{streamId} (written by the server),
// never from the live state's creator_id (named by the first event); moderators a creator
// appoints (creators/{creator}/moderators/{uid}) moderate that creator's streams only; a role
// claim counts only when it is exactly `true`.

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import {
  collection, doc, getDoc, getDocs, limit, query, setDoc, where,
} from "firebase/firestore";

import { CREATOR, contexts, rulesTestEnv, seed, STREAM } from "./env.mjs";

// A stream whose first event named viewer-1 as creator; its record says creator-2.
const SQUATTED = "stream-squatted";
const OTHER = "stream-other"; // creator-2's stream

const OWNERSHIP_SEED = {
  [`streams/${SQUATTED}`]: { stream_id: SQUATTED, creator_id: "viewer-1" },
  [`stream_owners/${SQUATTED}`]: { stream_id: SQUATTED, creator_id: "creator-2", source: "app" },
  [`streams/${SQUATTED}/chat_held/m1`]: { message_id: "m1", text: "held" },
  [`stream_owners/${OTHER}`]: { stream_id: OTHER, creator_id: "creator-2", source: "app" },
  [`streams/${OTHER}/chat_held/m1`]: { message_id: "m1", text: "held" },
  [`streams/${STREAM}/chat_held/m9`]: { message_id: "m9", text: "held" },
  // creator-1 appointed helper-1
  [`creators/${CREATOR}/moderators/helper-1`]: { uid: "helper-1", appointed_by: CREATOR },
};

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("ownership");
  await seed(env);
  await env.withSecurityRulesDisabled(async (c) => {
    const db = c.firestore();
    await Promise.all(Object.entries(OWNERSHIP_SEED).map(([p, d]) => setDoc(doc(db, p), d)));
  });
  ctx = {
    ...contexts(env),
    helper: env.authenticatedContext("helper-1"),
    creator2: env.authenticatedContext("creator-2"),
    truthyMod: env.authenticatedContext("mod-2", { moderator: "true" }),
    truthyAdmin: env.authenticatedContext("admin-2", { admin: 1 }),
  };
});

after(async () => {
  await env?.cleanup();
});

const held = (db, s, m) => getDoc(doc(db, "streams", s, "chat_held", m));

describe("creator powers come from the ownership record", () => {
  test("the live state's creator_id grants nothing", async () => {
    await assertFails(held(ctx.viewer.firestore(), SQUATTED, "m1"));
    await assertSucceeds(held(ctx.creator2.firestore(), SQUATTED, "m1"));
  });

  test("ownership records are public to get; a creator lists only their own", async () => {
    await assertSucceeds(getDoc(doc(ctx.unauthenticated.firestore(), "stream_owners", STREAM)));
    const mine = (db, uid) =>
      query(collection(db, "stream_owners"), where("creator_id", "==", uid), limit(20));
    await assertSucceeds(getDocs(mine(ctx.creator2.firestore(), "creator-2")));
    await assertFails(getDocs(mine(ctx.viewer.firestore(), "creator-2")));
    await assertFails(getDocs(query(collection(ctx.viewer.firestore(), "stream_owners"),
      limit(5))));
    await assertSucceeds(getDocs(query(collection(ctx.admin.firestore(), "stream_owners"),
      limit(5))));
  });

  test("no client writes an ownership record or appoints a moderator", async () => {
    for (const who of ["viewer", "creator", "creator2", "admin"]) {
      const db = ctx[who].firestore();
      await assertFails(setDoc(doc(db, "stream_owners", "new-stream"), { creator_id: "x" }));
      await assertFails(setDoc(doc(db, "stream_owners", STREAM), { creator_id: "x" }));
      await assertFails(setDoc(doc(db, "creators", CREATOR, "moderators", "x"), { uid: "x" }));
    }
  });
});

describe("moderators a creator appoints", () => {
  test("moderate that creator's streams only", async () => {
    const db = ctx.helper.firestore();
    await assertSucceeds(held(db, STREAM, "m9"));
    await assertSucceeds(getDoc(doc(db, "streams", STREAM, "chat_config", "keywords")));
    await assertFails(held(db, OTHER, "m1"));
  });

  test("the list is read by the creator, the moderator and admins", async () => {
    const path = ["creators", CREATOR, "moderators", "helper-1"];
    await assertSucceeds(getDoc(doc(ctx.creator.firestore(), ...path)));
    await assertSucceeds(getDoc(doc(ctx.helper.firestore(), ...path)));
    await assertSucceeds(getDoc(doc(ctx.admin.firestore(), ...path)));
    await assertFails(getDoc(doc(ctx.viewer.firestore(), ...path)));
    await assertFails(getDoc(doc(ctx.creator2.firestore(), ...path)));
    const list = (db) => getDocs(query(collection(db, "creators", CREATOR, "moderators"),
      limit(50)));
    await assertSucceeds(list(ctx.creator.firestore()));
    await assertFails(list(ctx.helper.firestore()));
  });
});

describe("a role claim counts only when it is exactly true", () => {
  test("moderator: \"true\" and admin: 1 grant nothing", async () => {
    for (const who of ["truthyMod", "truthyAdmin"]) {
      await assertFails(held(ctx[who].firestore(), STREAM, "m9"));
      await assertFails(getDocs(query(collection(ctx[who].firestore(), "moderation_flags"),
        limit(5))));
    }
  });
});
