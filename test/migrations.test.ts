/** Migrations on an empty database, re-applied idempotently, recorded the way Prisma does. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { openDatabase } from "../src/db/database.js";
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from "../src/db/migrate.js";
import { createTestDatabase, MODES, skipReason } from "./helpers/databases.js";

for (const mode of MODES) {
  describe(`migrations (${mode})`, { skip: skipReason(mode) }, () => {
    test("apply to an empty database, then re-apply as a no-op", async () => {
      const t = await createTestDatabase(mode);
      try {
        const opts = {
          databaseUrl: t.databaseUrl,
          dataDir: t.dataDir,
          poolSize: 2,
        };
        const first = await openDatabase(opts);
        const files = await readMigrations();
        assert.deepEqual(
          first.migrations.applied,
          files.map((f) => f.name),
        );
        const rows = await first.prisma.$queryRaw<
          {
            migration_name: string;
            checksum: string;
            finished_at: Date | null;
            applied_steps_count: number;
          }[]
        >`
          SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name`;
        assert.equal(rows.length, files.length);
        for (const [i, f] of files.entries()) {
          assert.equal(rows[i].migration_name, f.name);
          const sql = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, f.name, "migration.sql"), "utf8");
          assert.equal(rows[i].checksum, createHash("sha256").update(sql).digest("hex"), "Prisma's checksum: sha256 of the file");
          assert.ok(rows[i].finished_at instanceof Date);
          assert.equal(rows[i].applied_steps_count, 1);
        }
        const ext = await first.prisma.$queryRaw<{ extname: string }[]>`SELECT extname FROM pg_extension ORDER BY extname`;
        assert.ok(ext.some((e) => e.extname === "postgis") && ext.some((e) => e.extname === "cube"));
        const idx = await first.prisma.$queryRaw<
          { indexdef: string }[]
        >`SELECT indexdef FROM pg_indexes WHERE tablename IN ('satellite_tile', 'tile_analysis')`;
        assert.ok(idx.some((i) => /satellite_tile_bounds_idx.*USING gist/.test(i.indexdef)));
        assert.ok(idx.some((i) => /tile_analysis_latent_cube_idx.*USING gist/.test(i.indexdef)));
        await first.close();
        const second = await openDatabase(opts);
        assert.deepEqual(second.migrations.applied, []);
        assert.deepEqual(
          second.migrations.alreadyApplied,
          files.map((f) => f.name),
        );
        await second.close();
      } finally {
        await t.drop();
      }
    });

    test("a failing migration leaves no trace and can be retried; an edited one stops start-up", async () => {
      const t = await createTestDatabase(mode);
      const dir = await mkdtemp(path.join(tmpdir(), "gv-mig-"));
      try {
        await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
        const opts = {
          databaseUrl: t.databaseUrl,
          dataDir: t.dataDir,
          poolSize: 2,
          migrationsDir: dir,
        };
        const bad = path.join(dir, "99990101000000_broken");
        await mkdir(bad);
        await writeFile(path.join(bad, "migration.sql"), "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n");
        await assert.rejects(openDatabase(opts), /migration 99990101000000_broken failed/);
        await rm(bad, { recursive: true });
        const db = await openDatabase(opts);
        const tables = await db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_tables WHERE tablename = 'half_done'`;
        assert.equal(Number(tables[0].n), 0, "the failed migration's first statement was rolled back");
        const rows = await db.prisma.$queryRaw<{ rolled_back_at: Date | null; logs: string | null }[]>`
          SELECT rolled_back_at, logs FROM _prisma_migrations WHERE migration_name = '99990101000000_broken'`;
        assert.ok(rows[0].rolled_back_at instanceof Date);
        assert.match(rows[0].logs ?? "", /no_such_function/);
        await db.close();
        const first = (await readMigrations(dir))[0].name;
        await writeFile(
          path.join(dir, first, "migration.sql"),
          "-- edited\n" + (await readFile(path.join(dir, first, "migration.sql"), "utf8")),
        );
        await assert.rejects(openDatabase(opts), /was modified after it was applied/);
      } finally {
        await t.drop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
