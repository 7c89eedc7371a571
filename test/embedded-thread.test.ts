/**
 * The embedded database on its own thread (src/db/pglite-client.ts): the event loop runs while a
 * statement does, and what in-process PGlite guaranteed still holds (order, transactions that
 * hold the session, Postgres errors with their codes, a query's own parsers, bytea).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { messages } from "@electric-sql/pglite";
import { PGliteThreadClient } from "../src/db/pglite-client.js";

describe("embedded database thread", () => {
  let dir: string;
  let db: PGliteThreadClient;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gv-thread-"));
    db = await PGliteThreadClient.start({ dir: path.join(dir, "pgdata") });
    await db.exec("CREATE TABLE t (id int PRIMARY KEY, note text)");
  });
  after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("timers keep firing while a long statement runs", async () => {
    let last = performance.now();
    let worstGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 5);
    const t0 = performance.now();
    const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM generate_series(1, 2500) a, generate_series(1, 2500) b");
    const took = performance.now() - t0;
    clearInterval(timer);
    worstGap = Math.max(worstGap, performance.now() - last); // a timer that never fired counts too
    assert.equal(r.rows[0].n, 6_250_000);
    // The statement must be long enough for the check to mean something (in-process it blocks the whole time).
    assert.ok(took > 150, `the statement took only ${took.toFixed(0)} ms`);
    assert.ok(
      worstGap < Math.min(100, took / 2),
      `the event loop stalled ${worstGap.toFixed(0)} ms during a ${took.toFixed(0)} ms statement`,
    );
  });

  test("statements run in the order issued", async () => {
    const writes = Array.from({ length: 20 }, (_, i) => db.query("INSERT INTO t VALUES ($1, $2)", [i, `n${i}`]));
    const read = db.query<{ n: number }>("SELECT count(*)::int AS n FROM t");
    await Promise.all(writes);
    assert.equal((await read).rows[0].n, 20);
    await db.exec("DELETE FROM t");
  });

  test("a transaction holds the session: others wait for it, and a rollback undoes it", async () => {
    let outside: Promise<number> | undefined;
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO t VALUES (100, 'in a transaction')");
      // Issued while the transaction is open: it must neither see the row nor become part of it.
      outside = db.query<{ n: number }>("SELECT count(*)::int AS n FROM t").then((r) => r.rows[0].n);
      await tx.rollback();
    });
    assert.equal(await outside, 0);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES (101, 'then fails')");
        throw new Error("callback failed");
      }),
      /callback failed/,
    );
    await db.transaction(async (tx) => void (await tx.query("INSERT INTO t VALUES (102, 'committed')")));
    assert.deepEqual((await db.query<{ id: number }>("SELECT id FROM t")).rows, [{ id: 102 }]);
    await db.exec("DELETE FROM t");
  });

  test("Postgres errors arrive as DatabaseError with their fields", async () => {
    await db.query("INSERT INTO t VALUES (1, 'a')");
    const err = await db.query("INSERT INTO t VALUES (1, 'b')").catch((e: unknown) => e);
    assert.ok(err instanceof messages.DatabaseError, "a DatabaseError");
    assert.equal((err as messages.DatabaseError).code, "23505");
    assert.equal((err as messages.DatabaseError).constraint, "t_pkey");
    assert.equal((err as messages.DatabaseError).severity, "ERROR");
    await db.exec("DELETE FROM t");
  });

  test("a query's own parsers apply, other types keep PGlite's; bytea comes back as bytes", async () => {
    const r = await db.query<unknown[]>("SELECT 7::int4, 8::int8, 'x'::text, '\\x0102ff'::bytea, now()", [], {
      rowMode: "array",
      parsers: { 23: (v: string) => `int4:${v}` },
    });
    const [i4, i8, text, bytes, now] = r.rows[0];
    assert.equal(i4, "int4:7");
    assert.equal(i8, 8);
    assert.equal(text, "x");
    assert.deepEqual(Array.from(bytes as Uint8Array), [1, 2, 255]);
    assert.ok(now instanceof Date);
    const bin = await db.query<{ b: Uint8Array }>("SELECT $1::bytea AS b", [Buffer.from([9, 8, 7])]);
    assert.deepEqual(Array.from(bin.rows[0].b), [9, 8, 7]);
  });
});
