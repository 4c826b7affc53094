// Live state is public: every client, signed in or not (OBS browser sources are not), can read
// the documents and run the queries that docs/firestore.md tells clients to run.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertFails, assertSucceeds } from "@firebase/rules-unit-testing";
import {
  collection, doc, getDoc, getDocs, limit, onSnapshot, orderBy, query, startAfter,
} from "firebase/firestore";

import { BOARD, CREATOR, contexts, ENTRIES, rulesTestEnv, seed, STREAM } from "./env.mjs";

let env;
let ctx;

before(async () => {
  env = await rulesTestEnv("live");
  await seed(env);
  ctx = contexts(env);
});

after(async () => {
  await env?.cleanup();
});

const alertsQuery = (db, n = 20) =>
  query(collection(db, "streams", STREAM, "alerts"), orderBy("seq", "desc"), limit(n));

const entriesQuery = (db, n, ...rest) =>
  query(
    collection(db, "leaderboards", BOARD, "entries"),
    orderBy("coins", "desc"), orderBy("user_id", "asc"), ...rest, limit(n),
  );

for (const who of ["unauthenticated", "viewer", "admin"]) {
  describe(`${who} reads live state`, () => {
    const db = () => ctx[who].firestore();

    test("stream document", async () => {
      const snap = await assertSucceeds(getDoc(doc(db(), "streams", STREAM)));
      assert.equal(snap.get("creator_id"), CREATOR);
    });

    test("newest alerts: orderBy seq desc, limit 20", async () => {
      const snap = await assertSucceeds(getDocs(alertsQuery(db())));
      assert.deepEqual(snap.docs.map((d) => d.get("seq")), [...Array(20)].map((_, i) => 25 - i));
    });

    test("one alert by id", async () => {
      const ref = doc(db(), "streams", STREAM, "alerts", "000000000025");
      const snap = await assertSucceeds(getDoc(ref));
      assert.equal(snap.get("seq"), 25);
    });

    test("leaderboard entries: coins desc, user_id asc, paged with startAfter", async () => {
      const first = await assertSucceeds(getDocs(entriesQuery(db(), 2)));
      const last = first.docs.at(-1);
      const second = await assertSucceeds(getDocs(entriesQuery(db(), 2, startAfter(last))));
      const ranked = [...first.docs, ...second.docs].map((d) => d.id);
      const expected = [...ENTRIES]
        .sort((a, b) => b.coins - a.coins || (a.user_id < b.user_id ? -1 : 1))
        .map((e) => e.user_id);
      assert.deepEqual(ranked, expected);
      assert.deepEqual(expected, ["u-ana", "u-al", "u-bo", "u-cy"]);
    });

    test("leaderboard document and one entry", async () => {
      await assertSucceeds(getDoc(doc(db(), "leaderboards", BOARD)));
      const ref = doc(db(), "leaderboards", BOARD, "entries", "u-ana");
      const entry = await assertSucceeds(getDoc(ref));
      assert.equal(entry.get("coins"), 500);
    });

    test("goals: one goal and a page of the stream's goals", async () => {
      const goal = await assertSucceeds(getDoc(doc(db(), "streams", STREAM, "goals", "g1")));
      assert.equal(goal.get("target"), 1000);
      const goals = await assertSucceeds(
        getDocs(query(collection(db(), "streams", STREAM, "goals"), limit(50))),
      );
      assert.deepEqual(goals.docs.map((d) => d.id), ["g1"]);
    });

    test("creator settings", async () => {
      const snap = await assertSucceeds(getDoc(doc(db(), "creators", CREATOR)));
      assert.equal(snap.get("timezone"), "Asia/Kathmandu");
    });

    test("a creator's live pointer by id, but no listing of who is live", async () => {
      const snap = await assertSucceeds(getDoc(doc(db(), "live_pointers", CREATOR)));
      assert.equal(snap.get("creator_id"), CREATOR);
      await assertFails(getDocs(query(collection(db(), "live_pointers"), limit(10))));
    });

    test("a battle by id (both streams' overlays), but no listing of battles", async () => {
      const snap = await assertSucceeds(getDoc(doc(db(), "battles", "bt-1")));
      assert.equal(snap.get(`sides.${STREAM}.score`), 10);
      await assertFails(getDocs(query(collection(db(), "battles"), limit(10))));
    });

    // Listeners attach before the stream's first write.
    test("a document that does not exist yet", async () => {
      const snap = await assertSucceeds(getDoc(doc(db(), "streams", "not-started-yet")));
      assert.equal(snap.exists(), false);
    });
  });
}

describe("public list queries must be pages", () => {
  const db = () => ctx.unauthenticated.firestore();

  test("a page of up to 100 documents is allowed", async () => {
    await assertSucceeds(getDocs(alertsQuery(db(), 100)));
    await assertSucceeds(getDocs(query(collection(db(), "streams"), limit(100))));
    await assertSucceeds(getDocs(query(collection(db(), "creators"), limit(10))));
    await assertSucceeds(getDocs(query(collection(db(), "leaderboards"), limit(10))));
  });

  test("a query without a limit is denied", async () => {
    const alerts = collection(db(), "streams", STREAM, "alerts");
    await assertFails(getDocs(query(alerts, orderBy("seq"))));
    await assertFails(
      getDocs(query(collection(db(), "leaderboards", BOARD, "entries"), orderBy("coins", "desc"))),
    );
    await assertFails(getDocs(collection(db(), "streams")));
    await assertFails(getDocs(collection(db(), "streams", STREAM, "goals")));
  });

  test("a page larger than 100 is denied", async () => {
    await assertFails(getDocs(alertsQuery(db(), 101)));
    await assertFails(getDocs(entriesQuery(db(), 101)));
  });
});

describe("realtime listeners as an overlay uses them", () => {
  test("an unauthenticated listener on the alert feed receives the newest alerts", async () => {
    const db = ctx.unauthenticated.firestore();
    const seqs = await new Promise((resolve, reject) => {
      const unsubscribe = onSnapshot(
        alertsQuery(db, 3),
        (snap) => { unsubscribe(); resolve(snap.docs.map((d) => d.get("seq"))); },
        reject,
      );
    });
    assert.deepEqual(seqs, [25, 24, 23]);
  });

  test("a listener on recorded events is refused with permission-denied", async () => {
    const db = ctx.unauthenticated.firestore();
    const error = await new Promise((resolve) => {
      const unsubscribe = onSnapshot(
        query(collection(db, "streams", STREAM, "events"), limit(10)),
        () => { unsubscribe(); resolve(null); },
        resolve,
      );
    });
    assert.equal(error?.code, "permission-denied");
  });
});
