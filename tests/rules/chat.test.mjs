// Chat and moderation: visible chat is public; held messages, flags, the audit log and the
// keyword filter are for moderators, admins and the stream's creator; a viewer reads only their
// own ban state and notices; nobody writes from a client.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import {
  collection, deleteDoc, doc, getDoc, getDocs, limit, orderBy, query, setDoc, Timestamp,
} from "firebase/firestore";

import { contexts, rulesTestEnv, seed, STREAM } from "./env.mjs";

const now = Timestamp.fromMillis(Date.UTC(2026, 10, 22, 1, 0, 0));
const OTHER_STREAM = "stream-2"; // another creator's stream

const CHAT_SEED = {
  [`streams/${OTHER_STREAM}`]: { stream_id: OTHER_STREAM, creator_id: "creator-2" },
  [`stream_owners/${OTHER_STREAM}`]: { stream_id: OTHER_STREAM, creator_id: "creator-2" },
  [`streams/${STREAM}/chat/m1`]: {
    message_id: "m1", uid: "viewer-2", name: "V2", text: "hello", html: "hello",
    source: "app", action: "allow", created_at: now,
  },
  [`streams/${STREAM}/chat_held/m2`]: {
    message_id: "m2", uid: "viewer-2", text: "bad words", source: "app", action: "block",
    score: 0.99, reason: "message blocked", created_at: now,
  },
  [`streams/${STREAM}/chat_users/viewer-1`]: { uid: "viewer-1", banned_until: now },
  [`streams/${STREAM}/chat_users/viewer-1/notices/n1`]: { type: "warning", at: now },
  [`streams/${STREAM}/chat_users/viewer-2`]: { uid: "viewer-2", banned_until: now },
  [`streams/${STREAM}/chat_config/keywords`]: { keywords: ["spoiler*"] },
  [`streams/${STREAM}/chat_flood/0`]: { bucket: { tokens: 3, at: 1 } },
  ["moderation_flags/f1"]: { flag_id: "f1", stream_id: STREAM, status: "pending" },
  ["moderation_flags/f2"]: { flag_id: "f2", stream_id: OTHER_STREAM, status: "pending" },
  ["moderation_audit/a1"]: { audit_id: "a1", stream_id: STREAM, action: "ban", at: now },
  ["moderation_audit/a2"]: { audit_id: "a2", stream_id: OTHER_STREAM, action: "ban", at: now },
  ["rate_limits/abc"]: { bucket: { tokens: 99, at: 1 } },
};

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("chat");
  await seed(env);
  await env.withSecurityRulesDisabled(async (c) => {
    const db = c.firestore();
    await Promise.all(Object.entries(CHAT_SEED).map(([p, d]) => setDoc(doc(db, p), d)));
  });
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

const ALL = ["unauthenticated", "viewer", "creator", "moderator", "admin"];
const STAFF = ["creator", "moderator", "admin"]; // creator = creator of STREAM

const feed = (db, n) =>
  query(collection(db, "streams", STREAM, "chat"), orderBy("created_at", "desc"), limit(n));

describe("the visible chat feed is public", () => {
  for (const who of ALL) {
    test(`${who} reads the feed and a message`, async () => {
      const db = ctx[who].firestore();
      const page = await assertSucceeds(getDocs(feed(db, 50)));
      assert.deepEqual(page.docs.map((d) => d.id), ["m1"]);
      await assertSucceeds(getDoc(doc(db, "streams", STREAM, "chat", "m1")));
    });
  }

  test("a feed query without a limit is denied", async () => {
    const db = ctx.unauthenticated.firestore();
    await assertFails(getDocs(query(collection(db, "streams", STREAM, "chat"))));
  });
});

describe("held messages, keyword filter, flags and audit log", () => {
  for (const who of STAFF) {
    test(`${who} reads held messages and the keyword filter`, async () => {
      const db = ctx[who].firestore();
      const held = collection(db, "streams", STREAM, "chat_held");
      await assertSucceeds(getDocs(query(held, limit(50))));
      await assertSucceeds(getDoc(doc(db, "streams", STREAM, "chat_held", "m2")));
      await assertSucceeds(getDoc(doc(db, "streams", STREAM, "chat_config", "keywords")));
      await assertSucceeds(getDoc(doc(db, "moderation_flags", "f1")));
      await assertSucceeds(getDoc(doc(db, "moderation_audit", "a1")));
    });
  }

  for (const who of ["unauthenticated", "viewer"]) {
    test(`${who} cannot`, async () => {
      const db = ctx[who].firestore();
      await assertFails(getDocs(query(collection(db, "streams", STREAM, "chat_held"), limit(5))));
      await assertFails(getDoc(doc(db, "streams", STREAM, "chat_held", "m2")));
      await assertFails(getDoc(doc(db, "streams", STREAM, "chat_config", "keywords")));
      await assertFails(getDoc(doc(db, "moderation_flags", "f1")));
      await assertFails(getDoc(doc(db, "moderation_audit", "a1")));
      await assertFails(getDocs(query(collection(db, "moderation_flags"), limit(5))));
      await assertFails(getDocs(query(collection(db, "moderation_audit"), limit(5))));
    });
  }

  test("a creator moderates their own streams only", async () => {
    const db = ctx.creator.firestore();
    await assertFails(getDoc(doc(db, "moderation_flags", "f2")));
    await assertFails(getDoc(doc(db, "moderation_audit", "a2")));
    await assertFails(getDocs(query(collection(db, "streams", OTHER_STREAM, "chat_held"),
      limit(5))));
    await assertFails(getDoc(doc(db, "streams", OTHER_STREAM, "chat_config", "keywords")));
    // the queue itself is listed through GET /chat_api/flags?stream_id=...
    await assertFails(getDocs(query(collection(db, "moderation_flags"), limit(5))));
  });

  for (const who of ["moderator", "admin"]) {
    test(`${who} lists the review queue and the audit log`, async () => {
      const db = ctx[who].firestore();
      const flags = await assertSucceeds(getDocs(query(collection(db, "moderation_flags"),
        limit(50))));
      assert.deepEqual(flags.docs.map((d) => d.id).sort(), ["f1", "f2"]);
      await assertSucceeds(getDocs(query(collection(db, "moderation_audit"), limit(50))));
      await assertFails(getDocs(query(collection(db, "moderation_flags")))); // no limit
    });
  }
});

describe("a viewer's own ban state and notices", () => {
  test("the viewer reads their own, not another viewer's", async () => {
    const db = ctx.viewer.firestore();
    await assertSucceeds(getDoc(doc(db, "streams", STREAM, "chat_users", "viewer-1")));
    const notices = collection(db, "streams", STREAM, "chat_users", "viewer-1", "notices");
    await assertSucceeds(getDocs(query(notices, orderBy("at", "desc"), limit(20))));
    await assertFails(getDoc(doc(db, "streams", STREAM, "chat_users", "viewer-2")));
    await assertFails(getDocs(query(collection(db, "streams", STREAM, "chat_users"), limit(5))));
  });

  test("moderators and the creator see ban state but not someone's notices", async () => {
    for (const who of STAFF) {
      const db = ctx[who].firestore();
      await assertSucceeds(getDoc(doc(db, "streams", STREAM, "chat_users", "viewer-2")));
      await assertFails(getDoc(doc(db, "streams", STREAM, "chat_users", "viewer-1", "notices",
        "n1")));
    }
  });
});

describe("throttle state is server-only and nothing is client-writable", () => {
  for (const who of ALL) {
    test(`${who}`, async () => {
      const db = ctx[who].firestore();
      await assertFails(getDoc(doc(db, "streams", STREAM, "chat_flood", "0")));
      await assertFails(getDoc(doc(db, "rate_limits", "abc")));
      const writes = [
        `streams/${STREAM}/chat/new`, `streams/${STREAM}/chat/m1`,
        `streams/${STREAM}/chat_held/m2`, `streams/${STREAM}/chat_users/viewer-1`,
        `streams/${STREAM}/chat_users/viewer-1/notices/n2`,
        `streams/${STREAM}/chat_config/keywords`, "moderation_flags/f3", "moderation_audit/a3",
      ];
      for (const path of writes) {
        await assertFails(setDoc(doc(db, path), { text: "x" }));
      }
      await assertFails(deleteDoc(doc(db, "moderation_audit", "a1")));
      await assertFails(deleteDoc(doc(db, "streams", STREAM, "chat", "m1")));
    });
  }
});
