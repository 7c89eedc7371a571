/**
 * Opens the database in one of two modes with the same schema and code paths:
 * embedded (PGlite + PostGIS + cube, persisted under GROUNDVIEW_DATA_DIR) when DATABASE_URL
 * is absent, or a PostgreSQL/PostGIS server through Prisma's pg adapter.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.js";
import { DEFAULT_MIGRATIONS_DIR, migrate, type MigrationReport } from "./migrate.js";
import { lockDataDir } from "./data-dir-lock.js";
import { PGliteThreadClient } from "./pglite-client.js";
import type { SqlRunner } from "./sql-runner.js";

export type DatabaseKind = "embedded" | "server";

export interface Database {
  readonly kind: DatabaseKind;
  readonly prisma: PrismaClient;
  readonly migrations: MigrationReport;
  /** The server's connection pool (server mode only), for what shares counters across processes. */
  readonly pool?: pg.Pool;
  /** Raw SQL for the job queue (pg-boss's `db` option): one statement with parameters, or a script without. */
  readonly executeSql: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  /** Defaults to the repository's prisma/migrations. */
  migrationsDir?: string;
}

/** Opens, migrates and returns the database. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const dir = opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  return opts.databaseUrl ? openServer(opts.databaseUrl, opts.poolSize, dir) : openEmbedded(opts.dataDir, dir);
}

/**
 * PGlite runs on a thread of its own (pglite-thread.ts): it executes each statement
 * synchronously on the thread that calls it, which on the main thread stalled every other
 * request for the length of each write and merge. (It runs at the process's priority: a
 * lower one for this thread, as the inference threads have, made a cached reader's p99
 * beside a terrainFilter flood no better in the bench: 2.4-2.9x at nice 5, 2.1-2.5x at 0.)
 */
async function openEmbedded(dataDir: string, migrationsDir: string): Promise<Database> {
  const dir = path.join(dataDir, "pgdata");
  await mkdir(dir, { recursive: true });
  // One process per embedded store (data-dir-lock.ts): taken before PGlite reads anything.
  const lock = await lockDataDir(dataDir);
  let lite: PGliteThreadClient;
  try {
    lite = await PGliteThreadClient.start({ dir });
  } catch (err) {
    await lock.release();
    throw err;
  }
  const runner: SqlRunner = {
    query: async <T>(sql: string, params?: unknown[]) => (await lite.query<T>(sql, params)).rows,
    exec: async (sql) => void (await lite.exec(sql)),
    close: () => lite.close(),
  };
  let migrations: MigrationReport;
  try {
    migrations = await migrate(runner, migrationsDir);
  } catch (err) {
    await lite.close();
    await lock.release();
    throw err;
  }
  // The adapter needs only query, exec and transaction, which the thread's client provides.
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite as unknown as PGlite) });
  return {
    kind: "embedded",
    prisma,
    migrations,
    executeSql: async (text, values) => {
      if (values?.length) return { rows: (await lite.query(text, values)).rows };
      // A script of several statements (pg-boss's locked maintenance commands) needs exec().
      const results = await lite.exec(text);
      return { rows: results.at(-1)?.rows ?? [] };
    },
    ping: async () => void (await lite.query("SELECT 1")),
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
      await lock.release();
    },
  };
}

async function openServer(url: string, poolSize: number, migrationsDir: string): Promise<Database> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const runner: SqlRunner = {
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    exec: async (sql) => void (await client.query(sql)),
    close: () => client.end(),
  };
  let migrations: MigrationReport;
  try {
    migrations = await migrate(runner, migrationsDir);
  } finally {
    await client.end();
  }
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle connection that fails (the server restarted, an administrator ended it) is dropped
  // from the pool; without a listener its 'error' would crash the process. Prisma's adapter
  // listens only while connected, so the pool keeps its own listener, quiet once closing
  // (pool.end() resolves before the sockets are closed).
  let closing = false;
  pool.on("error", (err) => {
    if (!closing) console.error(`database: an idle connection failed and was dropped: ${err.message}`);
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: "server",
    prisma,
    migrations,
    pool,
    executeSql: async (text, values) => {
      const r = (await pool.query(text, values)) as pg.QueryResult | pg.QueryResult[];
      return { rows: Array.isArray(r) ? (r.at(-1)?.rows ?? []) : r.rows };
    },
    ping: async () => void (await pool.query("SELECT 1")),
    close: async () => {
      closing = true;
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
