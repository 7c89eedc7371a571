/**
 * Applies prisma/migrations/<name>/migration.sql at start-up, recording each one in Prisma's
 * own `_prisma_migrations` table (same columns, same sha256 checksums), so a database
 * migrated here is one that `prisma migrate deploy` also considers up to date, and vice versa.
 * Prisma's migrate engine is not used because it must be downloaded (see README).
 */
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlRunner } from "./sql-runner.js";

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/migrations", import.meta.url));

/** The advisory-lock key Prisma's migrate engine uses, so both never run at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {}

/** Reads the migration folders in name order (Prisma's timestamp prefixes sort by time). */
export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      return {
        name,
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    }),
  );
}

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Brings the database up to the newest migration. Idempotent; safe to run from several
 * processes at once (they serialise on Prisma's advisory lock). A migration whose file
 * changed after it was applied, or one that failed earlier, stops start-up with a message.
 */
export async function migrate(db: SqlRunner, dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationReport> {
  const files = await readMigrations(dir);
  await db.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK})`);
  try {
    await db.exec(CREATE_TABLE);
    const rows = await db.query<Row>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const report: MigrationReport = { applied: [], alreadyApplied: [] };
    for (const file of files) {
      const row = rows.find((r) => r.migration_name === file.name);
      if (row && row.finished_at === null) {
        throw new MigrationError(
          `migration ${file.name} failed earlier and was not resolved; see _prisma_migrations.logs (prisma migrate resolve)`,
        );
      }
      if (row) {
        if (row.checksum !== file.checksum) {
          throw new MigrationError(`migration ${file.name} was modified after it was applied (checksum differs)`);
        }
        report.alreadyApplied.push(file.name);
        continue;
      }
      await applyOne(db, file);
      report.applied.push(file.name);
    }
    return report;
  } finally {
    await db.query(`SELECT pg_advisory_unlock(${PRISMA_MIGRATE_LOCK})`);
  }
}

async function applyOne(db: SqlRunner, file: MigrationFile): Promise<void> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
    [id, file.checksum, file.name],
  );
  try {
    // One transaction per migration: a failure leaves no half-applied schema behind.
    await db.exec(`BEGIN;\n${file.sql}\n;COMMIT;`);
  } catch (err) {
    await db.exec("ROLLBACK").catch(() => undefined);
    // Rolled back cleanly, so mark it rolled back: the next start may try it again.
    await db.query(`UPDATE "_prisma_migrations" SET logs = $2, rolled_back_at = now() WHERE id = $1`, [
      id,
      String((err as Error).message ?? err),
    ]);
    throw new MigrationError(`migration ${file.name} failed: ${(err as Error).message}`);
  }
  await db.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
}
