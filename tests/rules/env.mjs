// Shared setup for the firestore.rules tests: a rules test environment on the Firestore
// emulator named by FIRESTORE_EMULATOR_HOST, the auth contexts the tests use, and seed data.
//
// Each test file passes its own project id (all start with "demo-rules-test"), so the rules
// loaded here never apply to the app's own project and files running in parallel cannot clear
// each other's data.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { initializeTestEnvironment } from "@firebase/rules-unit-testing";
import { doc, setDoc, setLogLevel, Timestamp } from "firebase/firestore";

// RULES_UNDER_TEST lets a mutation check run these tests against an altered copy of the rules
// (every test here must fail for some wrong rule) without touching the real file.
const RULES_PATH =
  process.env.RULES_UNDER_TEST ?? fileURLToPath(new URL("../../firestore.rules", import.meta.url));

// Denied reads and writes are the point of most tests; the SDK would log each one as an error.
setLogLevel("silent");

export const STREAM = "stream-1";
export const CREATOR = "creator-1";
export const BOARD = `stream.${STREAM}`;

export function emulatorHostPort() {
  const hostPort = process.env.FIRESTORE_EMULATOR_HOST;
  if (!hostPort) {
    throw new Error(
      "FIRESTORE_EMULATOR_HOST is not set: start the Firestore emulator " +
        "(e.g. `gcloud emulators firestore start --host-port=127.0.0.1:8080`) and export it",
    );
  }
  const colon = hostPort.lastIndexOf(":");
  return {
    host: hostPort.slice(0, colon).replace(/^\[|\]$/g, ""),
    port: Number(hostPort.slice(colon + 1)),
  };
}

export async function rulesTestEnv(projectSuffix) {
  return initializeTestEnvironment({
    projectId: `demo-rules-test-${projectSuffix}`,
    firestore: { ...emulatorHostPort(), rules: readFileSync(RULES_PATH, "utf8") },
  });
}

// Every auth context a client can present. The creator signs in with uid == creator_id.
export function contexts(env) {
  return {
    unauthenticated: env.unauthenticatedContext(),
    viewer: env.authenticatedContext("viewer-1"),
    creator: env.authenticatedContext(CREATOR),
    moderator: env.authenticatedContext("mod-1", { moderator: true }),
    admin: env.authenticatedContext("admin-1", { admin: true }),
  };
}

const now = Timestamp.fromMillis(Date.UTC(2026, 10, 22, 1, 0, 0));

export const alertId = (seq) => String(seq).padStart(12, "0");

// Entries with a tie on coins, so the (coins desc, user_id asc) order is observable.
export const ENTRIES = [
  { user_id: "u-ana", coins: 500, gifts: 10 },
  { user_id: "u-bo", coins: 300, gifts: 3 },
  { user_id: "u-al", coins: 300, gifts: 6 },
  { user_id: "u-cy", coins: 20, gifts: 1 },
];

// One document on every path the rules name, public and server-only, plus an unlisted one.
export const SEED = {
  [`streams/${STREAM}`]: {
    stream_id: STREAM, creator_id: CREATOR, source: "tiktok", status: "live",
    totals: { coins: 820, gifts: 20 }, alert_seq: 25, rev: 7, updated_at: now,
  },
  [`streams/${STREAM}/goals/g1`]: {
    goal_id: "g1", stream_id: STREAM, metric: "coins", gift_id: null, target: 1000,
    title: "New mic", created_by: CREATOR, created_at: now,
  },
  [`leaderboards/${BOARD}`]: {
    board_id: BOARD, scope: "stream", period: "session", period_key: "",
    creator_id: CREATOR, stream_id: STREAM, updated_at: now,
  },
  // Ownership: creator powers come from this record, never from the live state's creator_id.
  [`stream_owners/${STREAM}`]: {
    stream_id: STREAM, creator_id: CREATOR, source: "tiktok", tiktok_username: "ana.live",
    title: "", created_by: "ingest", created_at: now,
  },
  [`creators/${CREATOR}`]: { creator_id: CREATOR, timezone: "Asia/Kathmandu" },
  [`live_pointers/${CREATOR}`]: { creator_id: CREATOR, streams: { [STREAM]: { stream_id: STREAM } } },
  ["battles/bt-1"]: { battle_id: "bt-1", status: "accepted", streams: [STREAM, "s-other"],
    sides: { [STREAM]: { score: 10, frozen: false } } },
  [`battle_streams/${STREAM}`]: { battle_id: "bt-1", until: "2026-12-04T00:00:00Z" },
  [`streams/${STREAM}/events/e1`]: { event_id: "tiktok:gift:1", ingested_at: now },
  [`streams/${STREAM}/rollup/state`]: { cursor: "e1", open_streaks: {} },
  [`streams/${STREAM}/rollup/users-0`]: { users: { "u-ana": { coins: 500 } } },
  ["dead_letters/m1"]: { reason: "invalid event", data: "e30=" },
  ["ops/dead_letters"]: { count: 1 },
  ["secrets/s1"]: { value: "not for clients" },
};
for (let seq = 1; seq <= 25; seq += 1) {
  SEED[`streams/${STREAM}/alerts/${alertId(seq)}`] = { seq, created_at: now, items: [] };
}
for (const e of ENTRIES) {
  SEED[`leaderboards/${BOARD}/entries/${e.user_id}`] = {
    ...e, handle: `@${e.user_id}`, name: e.user_id, updated_at: now,
  };
}

export async function seed(env) {
  await env.clearFirestore();
  await env.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    await Promise.all(Object.entries(SEED).map(([path, data]) => setDoc(doc(db, path), data)));
  });
}
