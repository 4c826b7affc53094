// firestore.indexes.json: the emulator ignores indexes, so check here what it cannot: the file
// passes firebase-tools' own deploy-time validation, the documented queries have the index
// they need in production, and no index exemption removes a field those queries order by.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";

const require = createRequire(import.meta.url);
const spec = JSON.parse(
  readFileSync(new URL("../../firestore.indexes.json", import.meta.url), "utf8"),
);

// Queries in production that order by or filter on fields, per collection id (who runs them).
const ORDERED_FIELDS = {
  entries: ["coins", "user_id"], // clients and CLI: coins desc, user_id asc, paged
  alerts: ["seq"], // overlays: seq desc, limit 20 (automatic single-field index)
  events: ["ingested_at"], // rollup: ingested_at asc, __name__ asc, startAfter cursor (automatic)
};

test("firebase-tools accepts the index file (the check `firebase deploy` runs)", () => {
  const { FirestoreApi } = require("firebase-tools/lib/firestore/api.js");
  const api = new FirestoreApi();
  assert.doesNotThrow(() => api.validateSpec(api.upgradeOldSpec(spec)));
});

test("leaderboard entries have the composite index for coins desc, user_id asc", () => {
  const fields = (ix) => ix.fields.map((f) => `${f.fieldPath} ${f.order ?? f.arrayConfig}`);
  const entries = spec.indexes.filter((ix) => ix.collectionGroup === "entries");
  assert.deepEqual(
    entries.map((ix) => [ix.queryScope, fields(ix)]),
    [["COLLECTION", ["coins DESCENDING", "user_id ASCENDING"]]],
  );
});

test("every composite index has at least two fields (one field is automatic)", () => {
  for (const ix of spec.indexes) {
    assert.ok(ix.fields.length >= 2, JSON.stringify(ix));
  }
});

test("no exemption drops the single-field index of a queried field", () => {
  for (const o of spec.fieldOverrides ?? []) {
    const queried = ORDERED_FIELDS[o.collectionGroup] ?? [];
    const covers = queried.some((f) => f === o.fieldPath || f.startsWith(`${o.fieldPath}.`));
    assert.ok(!covers || o.indexes.length > 0, `${o.collectionGroup}.${o.fieldPath} is queried`);
  }
});
