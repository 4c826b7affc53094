// No client writes anywhere, whoever asks: the backend writes with the Admin SDK (which
// bypasses rules) and clients go through the HTTPS API. An admin claim grants no write either.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertFails } from "@firebase/rules-unit-testing";
import { deleteDoc, doc, getDoc, setDoc, updateDoc, writeBatch } from "firebase/firestore";

import { alertId, BOARD, contexts, CREATOR, rulesTestEnv, seed, SEED, STREAM } from "./env.mjs";

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("writes");
  await seed(env);
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

// [existing document, a sibling id that does not exist yet]
const PATHS = [
  [`streams/${STREAM}`, "streams/stream-new"],
  [`streams/${STREAM}/alerts/${alertId(25)}`, `streams/${STREAM}/alerts/${alertId(26)}`],
  [`streams/${STREAM}/goals/g1`, `streams/${STREAM}/goals/g-new`],
  [`leaderboards/${BOARD}`, "leaderboards/global.alltime"],
  [`leaderboards/${BOARD}/entries/u-ana`, `leaderboards/${BOARD}/entries/viewer-1`],
  [`creators/${CREATOR}`, "creators/creator-new"],
  [`live_pointers/${CREATOR}`, "live_pointers/creator-new"],
  ["battles/bt-1", "battles/bt-new"],
  [`battle_streams/${STREAM}`, "battle_streams/s-new"],
  [`streams/${STREAM}/events/e1`, `streams/${STREAM}/events/e-new`],
  [`streams/${STREAM}/rollup/state`, `streams/${STREAM}/rollup/users-1`],
  ["dead_letters/m1", "dead_letters/m-new"],
  ["ops/dead_letters", "ops/new"],
  ["secrets/s1", "secrets/s-new"],
];

for (const who of ["unauthenticated", "viewer", "creator", "moderator", "admin"]) {
  describe(`${who} cannot write`, () => {
    const db = () => ctx[who].firestore();

    for (const [existing, fresh] of PATHS) {
      test(`create ${fresh}`, async () => {
        await assertFails(setDoc(doc(db(), fresh), { coins: 1_000_000 }));
      });

      test(`update ${existing}`, async () => {
        await assertFails(updateDoc(doc(db(), existing), { coins: 1_000_000 }));
      });

      test(`overwrite ${existing}`, async () => {
        await assertFails(setDoc(doc(db(), existing), { coins: 1_000_000 }));
      });

      test(`delete ${existing}`, async () => {
        await assertFails(deleteDoc(doc(db(), existing)));
      });
    }

    test("a batch touching public documents", async () => {
      const batch = writeBatch(db());
      batch.update(doc(db(), "streams", STREAM), { rev: 0 });
      batch.set(doc(db(), "leaderboards", BOARD, "entries", "viewer-1"), { coins: 9 });
      await assertFails(batch.commit());
    });
  });
}

test("denied writes left every seeded document unchanged", async () => {
  await env.withSecurityRulesDisabled(async (admin) => {
    for (const [existing] of PATHS) {
      const snap = await getDoc(doc(admin.firestore(), existing));
      assert.equal(snap.exists(), true, existing);
      assert.equal(snap.get("coins"), SEED[existing].coins, existing);
    }
    for (const [, fresh] of PATHS) {
      const snap = await getDoc(doc(admin.firestore(), fresh));
      assert.equal(snap.exists(), false, fresh);
    }
  });
});
