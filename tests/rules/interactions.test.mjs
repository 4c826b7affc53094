// Live interactions (docs/engagement.md): viewers read the active poll pointer and each poll's
// published tally; votes and counter shards are server-only; no client writes any of them.

import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import {
  collection, deleteDoc, doc, getDoc, getDocs, limit, query, setDoc, updateDoc,
} from "firebase/firestore";

import { contexts, rulesTestEnv, STREAM } from "./env.mjs";

let env;
let ctx;

const POLL = `streams/${STREAM}/polls/p1`;
const PRED = `streams/${STREAM}/predictions/d1`;
const POINTS = "xp/viewer-1/creators/creator-1";
const DOCS = {
  [`streams/${STREAM}/interactions/current`]: {
    poll: { poll_id: "p1", question: "Which?", choices: ["Red", "Blue"], closes_at: null,
      status: "open" },
  },
  [POLL]: { poll_id: "p1", stream_id: STREAM, choices: ["Red", "Blue"], counts: [3, 4] },
  [`${POLL}/votes/tiktok:42`]: { choice: 1, occurred_at: 1, vote_id: "e1" },
  [`${POLL}/shards/0`]: { c0: 3, c1: 4 },
  [PRED]: { prediction_id: "d1", outcomes: ["Yes", "No"], pools: [10, 5], status: "open" },
  [`${PRED}/stakes/viewer-1`]: { outcome: 0, points: 10 },
  // the loyalty points predictions stake (decision 071): counters and the append-only ledger
  [POINTS]: { points_earned: 100, points_staked: 10 },
  [`${POINTS}/predictions/e1`]: { type: "stake", points: 10 },
  [`streams/${STREAM}/questions/q1`]: { question_id: "q1", text: "Hi?", votes: 2, status: "open" },
  [`streams/${STREAM}/questions/q1/upvotes/tiktok:42`]: { at: 1 },
  [`streams/${STREAM}/questions_pending/q2`]: { question_id: "q2", text: "held", status: "pending" },
  // a command gift's poll start (decision 077): the rollup writes it, live_jobs decides it
  [`streams/${STREAM}/poll_starts/cmd1`]: { execution_id: "cmd1", status: "pending" },
};

before(async () => {
  env = await rulesTestEnv("interactions");
  await env.withSecurityRulesDisabled(async (admin) => {
    for (const [path, data] of Object.entries(DOCS)) await setDoc(doc(admin.firestore(), path), data);
  });
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

for (const who of ["unauthenticated", "viewer", "creator", "moderator", "admin"]) {
  describe(`${who} and live interactions`, () => {
    const db = () => ctx[who].firestore();

    test("reads the active poll pointer and the poll with its tally", async () => {
      await assertSucceeds(getDoc(doc(db(), `streams/${STREAM}/interactions/current`)));
      await assertSucceeds(getDoc(doc(db(), POLL)));
      await assertSucceeds(getDocs(query(collection(db(), `streams/${STREAM}/polls`), limit(10))));
      await assertSucceeds(getDoc(doc(db(), PRED)));
      await assertSucceeds(getDoc(doc(db(), `streams/${STREAM}/questions/q1`)));
    });

    test("cannot read votes or counter shards", async () => {
      await assertFails(getDoc(doc(db(), `${POLL}/votes/tiktok:42`)));
      await assertFails(getDocs(query(collection(db(), `${POLL}/votes`), limit(10))));
      await assertFails(getDoc(doc(db(), `${POLL}/shards/0`)));
      await assertFails(getDoc(doc(db(), `${PRED}/stakes/viewer-1`)));
      await assertFails(getDoc(doc(db(), POINTS)));
      await assertFails(getDoc(doc(db(), `${POINTS}/predictions/e1`)));
      await assertFails(getDoc(doc(db(), `streams/${STREAM}/questions/q1/upvotes/tiktok:42`)));
      await assertFails(getDoc(doc(db(), `streams/${STREAM}/questions_pending/q2`)));
      await assertFails(getDoc(doc(db(), `streams/${STREAM}/poll_starts/cmd1`)));
      await assertFails(getDocs(query(collection(db(), `streams/${STREAM}/poll_starts`), limit(10))));
    });

    test("writes nothing: no tally, vote, shard or pointer from a client", async () => {
      await assertFails(updateDoc(doc(db(), POLL), { counts: [100, 0] }));
      await assertFails(setDoc(doc(db(), `streams/${STREAM}/polls/p2`), { counts: [1, 0] }));
      await assertFails(deleteDoc(doc(db(), POLL)));
      await assertFails(setDoc(doc(db(), `${POLL}/votes/viewer-1`), { choice: 0 }));
      await assertFails(updateDoc(doc(db(), `${POLL}/shards/0`), { c0: 99 }));
      await assertFails(setDoc(doc(db(), `streams/${STREAM}/interactions/current`), { poll: null }));
      await assertFails(setDoc(doc(db(), `streams/${STREAM}/poll_starts/cmd2`), { status: "pending" }));
      await assertFails(updateDoc(doc(db(), PRED), { pools: [0, 1000] }));
      await assertFails(updateDoc(doc(db(), POINTS), { points_earned: 1e9 }));
      await assertFails(setDoc(doc(db(), `${POINTS}/predictions/e2`), { type: "refund" }));
      await assertFails(setDoc(doc(db(), `${PRED}/stakes/viewer-1`), { outcome: 0, points: 1 }));
      await assertFails(updateDoc(doc(db(), `streams/${STREAM}/questions/q1`), { votes: 99 }));
      await assertFails(setDoc(doc(db(), `streams/${STREAM}/questions/q3`), { text: "x" }));
    });
  });
}
