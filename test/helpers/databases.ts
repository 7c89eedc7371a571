/**
 * The two storage modes every storage and cache test runs against: embedded PGlite (a fresh
 * temp directory) and a PostgreSQL/PostGIS server (a fresh database on TEST_DATABASE_URL).
 * Without TEST_DATABASE_URL the server mode is skipped locally; CI sets it, so there it runs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";

export interface TestDatabase {
  mode: "embedded" | "server";
  /** DATABASE_URL for server mode; undefined for embedded. */
  databaseUrl?: string;
  dataDir: string;
  drop(): Promise<void>;
}

export const SERVER_URL = process.env.TEST_DATABASE_URL;
export const MODES: ("embedded" | "server")[] = ["embedded", "server"];

export function skipReason(mode: "embedded" | "server"): string | false {
  return mode === "server" && !SERVER_URL ? "TEST_DATABASE_URL is not set (CI sets it): server mode skipped" : false;
}

let counter = 0;

export async function createTestDatabase(mode: "embedded" | "server"): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "gv-test-"));
  if (mode === "embedded") {
    return {
      mode,
      dataDir,
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `gv_test_${process.pid}_${Date.now()}_${counter++}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVER_URL as string);
  url.pathname = `/${name}`;
  return {
    mode,
    dataDir,
    databaseUrl: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      // pg's pool.end() resolves before its sockets close: a connection the test has just ended
      // may still be open. Forcing the drop then sends it "terminating connection", which its
      // pool re-emits as an 'error' nobody listens to any more, and the test process crashes
      // (CI, 2026-11-25). So wait for the test's own connections to go first; force only those
      // still open after 5 s (a test that leaked a connection should not stop the suite).
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const r = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [name]);
        if (r.rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
