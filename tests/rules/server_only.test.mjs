// Server-only data is unreadable by every client, including admins and the stream's creator:
// operators read it with the Admin SDK (which bypasses rules) or the CLI.

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import { collection, doc, getDoc, getDocs, limit, orderBy, query } from "firebase/firestore";

import { contexts, rulesTestEnv, seed, STREAM } from "./env.mjs";

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("server-only");
  await seed(env);
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

const SERVER_ONLY_DOCS = [
  `streams/${STREAM}/events/e1`,
  `streams/${STREAM}/rollup/state`,
  `streams/${STREAM}/rollup/users-0`,
  "dead_letters/m1",
  `battle_streams/${STREAM}`, // which battle a stream is in: the accept's lock
  "ops/dead_letters", // operational counters: not named by the rules, default deny
  "secrets/s1", // not named by the rules at all: default deny
];

const SERVER_ONLY_COLLECTIONS = [
  `streams/${STREAM}/events`,
  `streams/${STREAM}/rollup`,
  "dead_letters",
  "battle_streams",
  "ops",
  "secrets",
];

for (const who of ["unauthenticated", "viewer", "creator", "moderator", "admin"]) {
  describe(`${who} cannot read server-only data`, () => {
    const db = () => ctx[who].firestore();

    for (const path of SERVER_ONLY_DOCS) {
      test(`get ${path}`, async () => {
        await assertFails(getDoc(doc(db(), path)));
      });
    }

    for (const path of SERVER_ONLY_COLLECTIONS) {
      test(`list ${path} (even as a small page)`, async () => {
        await assertFails(getDocs(query(collection(db(), path), limit(10))));
      });
    }

    test("the rollup's event cursor query", async () => {
      await assertFails(
        getDocs(
          query(collection(db(), "streams", STREAM, "events"), orderBy("ingested_at"), limit(100)),
        ),
      );
    });
  });
}

// So the denials above come from the rules, not from missing documents.
test("the seeded server-only documents exist", async () => {
  await env.withSecurityRulesDisabled(async (admin) => {
    for (const path of SERVER_ONLY_DOCS) {
      const snap = await assertSucceeds(getDoc(doc(admin.firestore(), path)));
      if (!snap.exists()) throw new Error(`seed missing: ${path}`);
    }
  });
});
